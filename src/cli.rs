//! The command line: the contract of design.md.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};

use crate::aws::{self, ConnectOptions};
use crate::spec::{Desired, SpecDocument, SpecError};
use crate::{apply, kinds, log, render};

const EXAMPLES: &str = "\
Examples:
  cruddur-infra validate                          check infra.yaml offline
  cruddur-infra plan                              what would change in the default env
  cruddur-infra plan --detailed-exitcode          exit 2 when there are changes
  cruddur-infra --env prod plan --output json     the plan as one JSON document
  cruddur-infra --env prod apply                  show the plan, ask, then apply it
  cruddur-infra apply --yes                       apply without asking (CI)
  cruddur-infra drift --output markdown           read-only drift report for CI

Exit codes: 0 success / no changes, 1 error or refusal, 2 changes present
(plan --detailed-exitcode, drift).";

#[derive(Debug, Parser)]
#[command(
    name = "cruddur-infra",
    version,
    about = "Keep one application's AWS infrastructure exactly as infra.yaml says: plan, apply, drift. No state file.",
    after_help = EXAMPLES
)]
pub struct Cli {
    /// The spec file.
    #[arg(short = 'f', long = "file", global = true, default_value = "infra.yaml", value_name = "FILE")]
    pub file: PathBuf,
    /// The environment of the spec to use (default: the spec's default_env).
    #[arg(long, global = true, value_name = "NAME")]
    pub env: Option<String>,
    /// The AWS endpoint (else AWS_ENDPOINT_URL, else the env's endpoint_url, else AWS's own).
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// The AWS region (default: the env's region in the spec).
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// The AWS profile of your config and credentials files (default: AWS_PROFILE).
    #[arg(long, global = true, value_name = "PROFILE")]
    pub profile: Option<String>,
    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More detail on stderr (also RUST_LOG=debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Limit plan / apply / drift to this resource (KIND.NAME) and what it depends on. Repeatable.
    #[arg(long, global = true, value_name = "ADDRESS")]
    pub target: Vec<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Output {
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DriftOutput {
    Human,
    Json,
    Markdown,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the spec offline (every environment, policy files, Lambda sources); touches nothing.
    #[command(after_help = "Examples:\n  cruddur-infra validate\n  cruddur-infra -f other/infra.yaml validate")]
    Validate,
    /// Read live AWS and show what apply would change, field by field.
    #[command(after_help = "Examples:\n  cruddur-infra plan\n  cruddur-infra --env prod plan --detailed-exitcode\n  \
        cruddur-infra plan --output json | jq '.changes[] | select(.action != \"no-op\")'\n  \
        cruddur-infra --env prod plan --out release.plan\n  cruddur-infra plan --target lambda_function.cruddur-messaging-stream")]
    Plan {
        /// Exit 2 when there are changes (0 when none, 1 on error).
        #[arg(long)]
        detailed_exitcode: bool,
        #[arg(long, value_enum, default_value = "human")]
        output: Output,
        /// Also save the plan to FILE, for `apply FILE` (no credentials; secrets masked).
        #[arg(long, value_name = "PLANFILE")]
        out: Option<PathBuf>,
    },
    /// Show the plan, ask for confirmation, make it so, and check that it converged.
    #[command(after_help = "Examples:\n  cruddur-infra apply\n  cruddur-infra --env prod apply --yes\n  \
        cruddur-infra apply release.plan\n  cruddur-infra apply --allow-replace dynamodb_table.cruddur-messages")]
    Apply {
        /// Do not ask (required when there is no terminal).
        #[arg(long)]
        yes: bool,
        /// Allow the replacement of this resource (data loss). Repeat for several.
        #[arg(long = "allow-replace", value_name = "ADDRESS")]
        allow_replace: Vec<String>,
        /// A plan saved by `plan --out`: applied exactly, without a question, and refused if
        /// anything changed since it was made.
        #[arg(value_name = "PLANFILE")]
        plan_file: Option<PathBuf>,
    },
    /// Delete what the spec declares (for local work): only resources tagged as this stack's
    /// env's, in reverse dependency order, never a table with deletion protection.
    #[command(after_help = "Examples:\n  cruddur-infra destroy            (asks you to type the env's name)\n  cruddur-infra destroy --yes")]
    Destroy {
        /// Do not ask (required when there is no terminal; on one, type the env's name).
        #[arg(long)]
        yes: bool,
    },
    /// Read-only: exit 0 when live AWS matches the spec, 2 on drift, 1 on error.
    #[command(after_help = "Examples:\n  cruddur-infra --env prod drift\n  \
        cruddur-infra --env prod drift --output markdown >> \"$GITHUB_STEP_SUMMARY\"")]
    Drift {
        #[arg(long, value_enum, default_value = "human")]
        output: DriftOutput,
    },
    /// Print the JSON Schema of infra.yaml (for editors: see docs/infra.schema.json).
    Schema,
    /// Print a shell completion script.
    #[command(after_help = "Examples:\n  cruddur-infra completions bash > ~/.local/share/bash-completion/completions/cruddur-infra\n  \
        cruddur-infra completions zsh > ~/.zfunc/_cruddur-infra\n  cruddur-infra completions fish > ~/.config/fish/completions/cruddur-infra.fish")]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

fn use_color() -> bool {
    std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

fn load(cli: &Cli) -> Result<(SpecDocument, Desired)> {
    load_env(cli, cli.env.as_deref())
}

fn load_env(cli: &Cli, env: Option<&str>) -> Result<(SpecDocument, Desired)> {
    let doc = SpecDocument::load(&cli.file)?;
    let env = env.map(str::to_string).unwrap_or_else(|| doc.file.default_env.clone());
    let (mut desired, warnings) = doc.resolve(&env)?;
    for w in warnings {
        log::warn(&w.to_string());
    }
    if !cli.target.is_empty() {
        desired = kinds::targeted(&desired, &cli.target)?;
    }
    Ok((doc, desired))
}

fn connect_options(cli: &Cli) -> ConnectOptions {
    ConnectOptions { endpoint_url: cli.endpoint_url.clone(), region: cli.region.clone(), profile: cli.profile.clone() }
}

async fn observe(cli: &Cli, desired: &Desired, access: aws::Access) -> Result<(aws::AwsContext, kinds::Live)> {
    let ctx = aws::connect(desired, &connect_options(cli), access).await;
    log::debug(&format!(
        "env {} in {} via {}",
        desired.env,
        ctx.region,
        ctx.endpoint_url.as_deref().unwrap_or("AWS's own endpoints")
    ));
    let live = kinds::observe(&ctx, desired).await.context("reading live AWS")?;
    Ok((ctx, live))
}

async fn current_plan(cli: &Cli, desired: &Desired, access: aws::Access) -> Result<(aws::AwsContext, crate::plan::Plan)> {
    let (ctx, live) = observe(cli, desired, access).await?;
    let plan = kinds::plan(desired, &live);
    Ok((ctx, restrict(cli, desired, plan)))
}

/// With --target, the plan keeps only the targeted resources and their dependencies.
fn restrict(cli: &Cli, desired: &Desired, plan: crate::plan::Plan) -> crate::plan::Plan {
    if cli.target.is_empty() { plan } else { kinds::restrict(plan, &kinds::closure(desired, &cli.target)) }
}

/// For a protected (production) env: what in the plan deserves a second look, as a banner.
fn banner(desired: &Desired, plan: &crate::plan::Plan) -> Option<String> {
    if !desired.protected {
        return None;
    }
    let mut lines = Vec::new();
    for c in &plan.changes {
        if matches!(c.action, crate::plan::Action::Replace | crate::plan::Action::Delete) || c.destructive {
            lines.push(format!("{} will be {}", c.address, if c.action == crate::plan::Action::Delete { "DESTROYED" } else { "REPLACED" }));
        }
        for d in &c.diffs {
            if let Some(b) = &d.broadens {
                lines.push(format!("{} {}: broadens permissions: {b}", c.address, d.path));
            }
        }
    }
    if lines.is_empty() {
        return None;
    }
    let mut out = format!("\n!!! PROTECTED ENVIRONMENT `{}` ({}, account {}) !!!\n", desired.env, plan.region, plan.account_id);
    for l in lines {
        out.push_str(&format!("!!!   {l}\n"));
    }
    out.push_str("!!! Read the changes above before you answer.\n");
    Some(out)
}

/// Asks on the terminal (the question on stderr) and returns the answer, trimmed.
fn ask(prompt: &str) -> Result<String> {
    let mut stderr = std::io::stderr();
    write!(stderr, "{prompt}")?;
    stderr.flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_string())
}

async fn run(cli: Cli) -> Result<ExitCode> {
    match &cli.command {
        Command::Validate => {
            let doc = SpecDocument::load(&cli.file)?;
            let mut problems = Vec::new();
            let mut warnings = Vec::new();
            for env in doc.env_names() {
                match doc.resolve(&env) {
                    Ok((_, w)) => warnings.extend(w),
                    Err(SpecError::Invalid { problems: p }) => problems.extend(p),
                    Err(e) => return Err(e.into()),
                }
            }
            warnings.dedup();
            for w in &warnings {
                log::warn(&w.to_string());
            }
            if !problems.is_empty() {
                problems.dedup();
                return Err(SpecError::Invalid { problems }.into());
            }
            println!("{} is valid (environments: {}).", cli.file.display(), doc.env_names().join(", "));
            Ok(ExitCode::SUCCESS)
        }
        Command::Plan { detailed_exitcode, output, out } => {
            let (_, desired) = load(&cli)?;
            let (_, live) = observe(&cli, &desired, aws::Access::ReadOnly).await?;
            let plan = restrict(&cli, &desired, kinds::plan(&desired, &live));
            if let Some(path) = out {
                crate::saved::write(path, &plan, &live)?;
                log::info(&format!("plan saved to {}; apply exactly it with `cruddur-infra apply {}`", path.display(), path.display()));
            }
            match output {
                Output::Human => print!("{}", render::human(&plan, use_color())),
                Output::Json => print!("{}", render::json(&plan)),
            }
            Ok(if *detailed_exitcode && plan.has_changes() { ExitCode::from(2) } else { ExitCode::SUCCESS })
        }
        Command::Drift { output } => {
            let (_, desired) = load(&cli)?;
            let (_, plan) = current_plan(&cli, &desired, aws::Access::ReadOnly).await?;
            match output {
                DriftOutput::Human => print!("{}", render::drift_human(&plan, use_color())),
                DriftOutput::Json => print!("{}", render::json(&plan)),
                DriftOutput::Markdown => print!("{}", render::markdown(&plan)),
            }
            Ok(if plan.has_changes() { ExitCode::from(2) } else { ExitCode::SUCCESS })
        }
        Command::Schema => {
            print!("{}", crate::spec::schema::json());
            Ok(ExitCode::SUCCESS)
        }
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(*shell, &mut cmd, "cruddur-infra", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Destroy { yes } => {
            let (_, desired) = load(&cli)?;
            let (ctx, live) = observe(&cli, &desired, aws::Access::ReadWrite).await?;
            let plan = kinds::destroy_plan(&desired, &live);
            print!("{}", render::human(&plan, use_color()));
            if !plan.has_changes() {
                return Ok(ExitCode::SUCCESS);
            }
            if !yes {
                if !std::io::stdin().is_terminal() {
                    anyhow::bail!("destroy needs --yes when there is no terminal to ask on; nothing was deleted");
                }
                let q = format!("\nThis deletes the resources above, data included. Type the env's name (`{}`) to go on: ", desired.env);
                if ask(&q)? != desired.env {
                    log::info("Destroy cancelled; nothing was deleted.");
                    return Ok(ExitCode::from(1));
                }
            }
            // In order: the plan lists what depends on others first.
            for (i, step) in plan.steps.iter().enumerate() {
                apply::run_step(&ctx, i, plan.steps.len(), step).await?;
            }
            println!("\nDestroy complete: {} deleted.", plan.summary.delete);
            Ok(ExitCode::SUCCESS)
        }
        Command::Apply { yes, allow_replace, plan_file } => {
            let saved = plan_file.as_deref().map(crate::saved::read).transpose()?;
            if let Some(s) = &saved {
                if cli.env.as_ref().is_some_and(|e| *e != s.env) {
                    anyhow::bail!("the saved plan is for env `{}`, not `{}`", s.env, cli.env.as_deref().unwrap_or(""));
                }
            }
            let env = saved.as_ref().map(|s| s.env.as_str()).or(cli.env.as_deref());
            let (_, desired) = load_env(&cli, env)?;
            let (ctx, mut live) = observe(&cli, &desired, aws::Access::ReadWrite).await?;
            if let Some(s) = &saved {
                live.observed_at = s.observed_at.clone();
            }
            let plan = restrict(&cli, &desired, kinds::plan(&desired, &live));
            if let Some(s) = &saved {
                let stale = crate::saved::staleness(s, &live, &plan);
                if !stale.is_empty() {
                    anyhow::bail!(
                        "refusing to apply {}: it no longer describes what apply would do; nothing was changed:\n  {}\nRun `cruddur-infra plan --out FILE` again.",
                        plan_file.as_deref().unwrap_or(std::path::Path::new("")).display(),
                        stale.join("\n  ")
                    );
                }
            }
            print!("{}", render::human(&plan, use_color()));
            if !plan.has_changes() {
                return Ok(ExitCode::SUCCESS);
            }
            apply::guard(&plan, allow_replace)?;
            if let Some(b) = banner(&desired, &plan) {
                print!("{b}");
            }
            if !yes && saved.is_none() {
                if !std::io::stdin().is_terminal() {
                    anyhow::bail!("apply needs --yes when there is no terminal to ask on; nothing was changed");
                }
                let q = format!(
                    "\nApply these changes to env {} ({}, account {})? Only 'yes' is accepted: ",
                    desired.env, plan.region, plan.account_id
                );
                if ask(&q)? != "yes" {
                    log::info("Apply cancelled; nothing was changed.");
                    return Ok(ExitCode::from(1));
                }
            }
            let s = plan.summary.clone();
            apply::run(&ctx, &desired, &plan, allow_replace).await?;
            println!(
                "\nApply complete: {} added, {} changed, {} replaced, {} destroyed. The live state matches the spec.",
                s.create, s.update, s.replace, s.delete
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn report(e: &anyhow::Error) {
    if let Some(SpecError::Invalid { problems }) = e.downcast_ref::<SpecError>() {
        for p in problems {
            eprintln!("error: {p}");
        }
        eprintln!("{} problem(s) in the spec; nothing was read or changed in AWS.", problems.len());
        return;
    }
    eprintln!("error: {e:#}");
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let rust_log_debug = std::env::var("RUST_LOG").is_ok_and(|v| v.contains("debug") || v.contains("trace"));
    log::set_level(if cli.quiet { -1 } else { (cli.verbose as i8).max(rust_log_debug as i8) });
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            report(&e);
            ExitCode::from(1)
        }
    }
}
