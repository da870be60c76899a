//! One module per command: each maps its options onto the engine and a renderer. What they
//! share (loading the spec for an env, connecting, observing, asking on the terminal) is here.

pub mod apply;
pub mod completions;
pub mod destroy;
pub mod dlq;
pub mod drift;
pub mod forget;
pub mod import;
pub mod plan;
pub mod rollback;
pub mod schema;
pub mod status;
pub mod validate;

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::aws::{self, AwsContext, ConnectOptions};
use crate::exit::ExitStatus;
use crate::kinds::Live;
use crate::plan::Plan;
use crate::spec::{Desired, SpecDocument, SpecError};
use crate::{engine, log};

/// The options every command shares (the global flags).
#[derive(Debug, Clone, Default)]
pub struct Global {
    pub file: PathBuf,
    pub env: Option<String>,
    pub endpoint_url: Option<String>,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub targets: Vec<String>,
    /// `--strict`: an unwaived production check is an error, before any AWS call.
    pub strict: bool,
}

impl Global {
    /// The spec resolved for the chosen env (or `env`), cut down to the targets.
    /// `--region` is the one region of the run: clients, ARNs, `${aws.region}`, endpoint
    /// service names and saved plans all use it instead of the env's.
    pub fn load(&self, env: Option<&str>) -> Result<Desired> {
        let doc = SpecDocument::load(&self.file)?;
        let env = env.or(self.env.as_deref()).map(str::to_string).unwrap_or_else(|| doc.file.default_env.clone());
        if !doc.file.environments.contains_key(&env) {
            doc.resolve(&env)?; // the unknown-env error, naming the known ones
        }
        let chosen = resolve_every_env(&doc)?.into_iter().find(|(d, _)| d.env == env);
        let (desired, warnings) = chosen.ok_or_else(|| anyhow::anyhow!("env `{env}` was not resolved"))?;
        self.finish(desired, warnings)
    }

    /// Every env of the spec, each as [`Global::load`] gives it, the file read and resolved once.
    pub fn load_every_env(&self) -> Result<Vec<Desired>> {
        let doc = SpecDocument::load(&self.file)?;
        resolve_every_env(&doc)?.into_iter().map(|(d, w)| self.finish(d, w)).collect()
    }

    /// One resolved env made ready to run: `--region` applied, its warnings shown, cut down to
    /// the targets.
    fn finish(&self, mut desired: Desired, warnings: Vec<crate::spec::Problem>) -> Result<Desired> {
        if let Some(region) = &self.region {
            desired.region = region.clone();
        }
        for w in &warnings {
            log::warn(&w.to_string());
        }
        strict_checks(self.strict, &warnings)?;
        if !self.targets.is_empty() {
            desired = engine::targeted(&desired, &self.targets)?;
        }
        Ok(desired)
    }

    fn connect_options(&self) -> ConnectOptions {
        ConnectOptions { endpoint_url: self.endpoint_url.clone(), region: self.region.clone(), profile: self.profile.clone() }
    }

    /// Connects: read-only clients unless `access` says otherwise.
    pub async fn connect(&self, desired: &Desired, access: aws::Access) -> AwsContext {
        let ctx = aws::connect(desired, &self.connect_options(), access).await;
        log::debug(&format!("env {} in {} via {}", desired.env, ctx.region, ctx.endpoint_url.as_deref().unwrap_or("AWS's own endpoints")));
        ctx
    }

    /// Connects and reads live AWS.
    pub async fn observe(&self, desired: &Desired, access: aws::Access) -> Result<(AwsContext, Live)> {
        let ctx = self.connect(desired, access).await;
        let live = read(&ctx, desired).await?;
        Ok((ctx, live))
    }

    /// The plan of `desired` against `live`, restricted to the targets.
    pub fn plan(&self, desired: &Desired, live: &Live) -> Plan {
        engine::restrict_to_targets(desired, &self.targets, engine::plan(desired, live))
    }
}

/// With `--strict`, the production checks' warnings (shown already) are an error.
pub fn strict_checks(strict: bool, warnings: &[crate::spec::Problem]) -> Result<()> {
    let checks: Vec<&str> = warnings.iter().filter_map(|w| w.check).collect();
    if strict && !checks.is_empty() {
        anyhow::bail!(
            "{} production check(s) not met ({}): --strict makes them errors. Change the spec, or waive each with a reason \
             (`waive: {{ ID: \"why\" }}`, at the top of the spec or under the env)",
            checks.len(),
            checks.join(", ")
        );
    }
    Ok(())
}

/// Every env of the spec with its warnings: the whole file is valid or nothing runs (a broken
/// override of another env stops this one too, before any AWS call).
fn resolve_every_env(doc: &SpecDocument) -> Result<Vec<(Desired, Vec<crate::spec::Problem>)>> {
    let (resolved, problems) = doc.resolve_every_env()?;
    if !problems.is_empty() {
        return Err(SpecError::Invalid { problems }.into());
    }
    Ok(resolved.into_iter().map(|(_, d, w)| (d, w)).collect())
}

/// One env's result in an `--all-envs` run: its plan, or why it could not be read.
pub type EnvResult = (String, std::result::Result<Plan, String>);

/// `--all-envs`: every env of the spec read (read-only, each with its own account, region,
/// endpoints and credentials) and planned concurrently. A spec error stops everything before
/// any AWS call; an env that cannot be read is reported beside the others.
pub async fn plan_all_envs(g: &Global) -> Result<Vec<EnvResult>> {
    if let Some(env) = &g.env {
        anyhow::bail!("--all-envs reads every env of the spec: drop --env {env}");
    }
    // The whole file (every env) resolved once, before any AWS call.
    let reads = g.load_every_env()?.into_iter().map(|desired| async move {
        let r = async {
            let (_, live) = g.observe(&desired, aws::Access::ReadOnly).await?;
            anyhow::Ok(g.plan(&desired, &live))
        }
        .await;
        (desired.env.clone(), r.map_err(|e| format!("{e:#}")))
    });
    Ok(futures::future::join_all(reads).await)
}

/// The exit code of an `--all-envs` run: 1 when an env could not be read, else 2 when any
/// has changes (with `changes_exit`), else 0.
pub fn all_envs_exit(results: &[EnvResult], changes_exit: bool) -> ExitStatus {
    if results.iter().any(|(_, r)| r.is_err()) {
        ExitStatus::Failure
    } else if changes_exit && results.iter().any(|(_, r)| r.as_ref().is_ok_and(Plan::has_changes)) {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    }
}

/// Reads live AWS for `desired`.
pub async fn read(ctx: &AwsContext, desired: &Desired) -> Result<Live> {
    engine::observe(ctx, desired).await.context("reading live AWS")
}

/// Colour only on a terminal, and never with NO_COLOR or TERM=dumb.
pub fn use_color() -> bool {
    std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

/// Asks on the terminal (the question on stderr) and returns the answer, trimmed. Without a
/// terminal it refuses: `refusal` says what was not done and which flag skips the question.
pub fn ask(prompt: &str, refusal: &str) -> Result<String> {
    if !std::io::stdin().is_terminal() {
        anyhow::bail!("{refusal}");
    }
    let mut stderr = std::io::stderr();
    write!(stderr, "{prompt}")?;
    stderr.flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_string())
}
