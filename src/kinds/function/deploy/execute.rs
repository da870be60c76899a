//! Running a deploy: publish exactly what apply set, wait for the version, move the alias
//! (recording the version it replaces), bake, prune; and the rollback's move back
//! (docs/aws-behaviour.md rule 43).

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use aws_sdk_lambda::types as lam;
use aws_smithy_types::error::metadata::ProvideErrorMetadata as _;

use super::observe::{alias, aliases, versions};
use super::{prunable, LiveAlias, LiveDeploy, Record};
use crate::aws::{aws_error, code, AwsContext};
use crate::kinds::function::diff::config_diffs;
use crate::kinds::function::execute::{readiness, wait_ready};
use crate::kinds::function::flex::config_of;
use crate::kinds::function::{FunctionConfig, FunctionOp, KIND};
use crate::kinds::support::cloudwatch::alarm_states;
use crate::kinds::support::ownership;
use crate::kinds::support::retry::{self, Next, Policy};
use crate::kinds::support::wait::{self, Poll};
use crate::plan::{Action, FieldDiff, ResourceChange, Step};
use crate::spec::Desired;

/// A deploy that failed its bake: apply stops here (exit 1), naming the alarm and both versions.
#[derive(Debug, thiserror::Error)]
#[error("the bake of function {function} failed: alarm {alarm} is in ALARM; {what}")]
pub struct BakeFailed {
    pub function: String,
    pub alarm: String,
    pub what: String,
}

/// How long a bake keeps trying to read the alarms before it stops, unfinished.
const ALARM_READS: Policy = Policy { deadline: Duration::from_secs(60), first: Duration::from_secs(1), max: Duration::from_secs(10) };

pub async fn execute(ctx: &AwsContext, op: &FunctionOp) -> Result<()> {
    match op {
        FunctionOp::PublishAndMove { name, alias: a, code_sha256, config, watch, bakes } => {
            let version = publish(ctx, name, code_sha256, config).await?;
            // Unchanged (nothing new was published): the Bake step that follows finds the
            // alias's record baked already, or still baking from an apply cut short.
            move_alias(ctx, name, a, &version, watch, *bakes).await.map(|_| ())
        }
        FunctionOp::Bake { name, alias: a, bake_s, rollback, watch } => bake(ctx, name, a, *bake_s, *rollback, watch).await,
        FunctionOp::PruneVersions { name, keep } => prune(ctx, name, *keep).await,
        FunctionOp::RollBack { name, alias: a, from, to } => {
            let Some(live) = alias(ctx, name, a).await? else { bail!("function {name} has no alias {a}") };
            if live.version != *from {
                bail!(
                    "alias {a} of function {name} moved to version {} since this was planned (not {from}); nothing was changed",
                    live.version
                );
            }
            update_alias(ctx, name, a, to, &Record::RolledBack { from: from.clone(), to: to.clone() }, live.revision_id).await?;
            crate::log::info(&format!("  alias {a} of function {name}: version {from} → {to} (rolled back)"));
            Ok(())
        }
        _ => bail!("not a deploy operation"),
    }
}

/// Whether $LATEST's configuration is what apply set (every field a version captures that the
/// spec manages; a late environment variable only by its name, its value read during apply).
fn same_config(live: &FunctionConfig, want: &FunctionConfig) -> bool {
    let mut resolved = want.clone();
    for k in want.late_environment.keys() {
        if let Some(v) = live.environment.get(k) {
            resolved.environment.insert(k.clone(), v.clone());
        }
    }
    resolved.late_environment.clear();
    let mut diffs = Vec::new();
    config_diffs(Some(live), &resolved, &mut diffs);
    diffs.is_empty()
}

/// PublishVersion of $LATEST as apply just set it: refused (nothing published) when its code or
/// configuration is not what the plan wants. The check and the RevisionId sent come from one
/// read, once the last update is Successful: a change by anyone after it is refused by AWS.
async fn publish(ctx: &AwsContext, name: &str, code_sha256: &str, config: &FunctionConfig) -> Result<String> {
    let version = retry::retry(&format!("the publication of a version of function {name}"), retry::AWS, || async {
        let got = ctx.lambda.get_function().function_name(name).send().await;
        let got = got.map_err(|e| Next::Fail(aws_error("Lambda", "GetFunction", name, e).into()))?;
        let c = got.configuration().cloned().context("GetFunction returned no configuration").map_err(Next::Fail)?;
        let state = c.state().map_or("Active", |s| s.as_str());
        let update = c.last_update_status().map_or("Successful", |s| s.as_str());
        if let Poll::Pending(s) = readiness(name, state, update, c.last_update_status_reason()).map_err(Next::Fail)? {
            wait_ready(ctx, name).await.map_err(Next::Fail)?;
            return Err(Next::RetryNow(format!("function {name} was settling ({s})")));
        }
        if c.code_sha256() != Some(code_sha256) || !same_config(&config_of(&c), config) {
            return Err(Next::Fail(anyhow::anyhow!(
                "function {name} is not what this apply set (its code or configuration was changed by someone else): \
                 no version was published; plan again"
            )));
        }
        let sent = ctx
            .lambda
            .publish_version()
            .function_name(name)
            .code_sha256(code_sha256)
            .set_revision_id(c.revision_id().map(str::to_string))
            .send()
            .await;
        match sent {
            Ok(v) => Ok(v.version().unwrap_or_default().to_string()),
            Err(e) if e.code() == Some("ResourceConflictException") => {
                Err(Next::Retry(format!("function {name} has an update in progress")))
            }
            // RevisionId refused, or the code is not the hash sent (AWS: InvalidParameterValueException
            // "CodeSHA256 ... is different from current CodeSHA256 in $LATEST").
            Err(e)
                if e.code() == Some("PreconditionFailedException")
                    || (e.code() == Some("InvalidParameterValueException") && e.message().is_some_and(|m| m.contains("CodeSHA256"))) =>
            {
                Err(Next::Fail(anyhow::anyhow!(
                    "function {name} changed between this apply's read and its PublishVersion (refused by its RevisionId or \
                     CodeSha256): no version was published; plan again"
                )))
            }
            Err(e) => Err(Next::Fail(aws_error("Lambda", "PublishVersion", name, e).into())),
        }
    })
    .await?;
    // The version is usable once Active (Terraform's provider waits for it too).
    wait::until(&format!("version {version} of function {name} to be ready"), Duration::from_secs(900), || async {
        let c = ctx
            .lambda
            .get_function_configuration()
            .function_name(name)
            .qualifier(&version)
            .send()
            .await
            .map_err(|e| aws_error("Lambda", "GetFunctionConfiguration", &format!("{name}:{version}"), e))?;
        readiness(
            name,
            c.state().map_or("Active", |s| s.as_str()),
            c.last_update_status().map_or("Successful", |s| s.as_str()),
            c.state_reason(),
        )
    })
    .await?;
    Ok(version)
}

/// Moves (or makes) the alias to `version`, recording the version it replaces (`baking` when a
/// bake follows) and clearing any weighted routing. With `watch`, refused while one of those
/// alarms is already in ALARM: a bake could not tell the versions apart.
async fn move_alias(ctx: &AwsContext, name: &str, a: &str, version: &str, watch: &[String], bakes: bool) -> Result<Alias> {
    let mut conflicts = 0;
    let live = loop {
        if let Some(live) = alias(ctx, name, a).await? {
            break live;
        }
        let first = Record::First { at: version.to_string() };
        match ctx.lambda.create_alias().function_name(name).name(a).function_version(version).description(first.text()).send().await {
            Ok(_) => {
                // The bake that follows reads it: wait until a read shows it.
                wait::until(&format!("alias {a} of function {name} to be readable"), Duration::from_secs(60), || async {
                    Ok(if alias(ctx, name, a).await?.is_some() { Poll::Done } else { Poll::Pending("not found yet".into()) })
                })
                .await?;
                crate::log::info(&format!("  alias {a} of function {name} made at version {version}"));
                return Ok(Alias::Made);
            }
            // Made by an attempt whose answer was lost, or by someone else: read it again (a
            // read just after may still say it does not exist: a few tries, a second apart).
            Err(e) if e.code() == Some("ResourceConflictException") && conflicts < 5 => {
                conflicts += 1;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => return Err(aws_error("Lambda", "CreateAlias", &format!("{name}:{a}"), e).into()),
        }
    };
    if live.version == version && live.routing.is_empty() {
        crate::log::info(&format!("  alias {a} of function {name} is at version {version} already"));
        return Ok(Alias::Unchanged);
    }
    if let Some((alarm, _)) = alarm_states(ctx, watch).await?.into_iter().find(|(_, s)| s == "ALARM") {
        bail!(
            "alarm {alarm} is in ALARM already: a bake could not tell version {version} from version {}; \
             alias {a} was not moved (version {version} is published). Apply again once it is OK",
            live.version
        );
    }
    let previous = if live.version == version {
        Record::of(&live.description, version).kept().unwrap_or(&live.version).to_string()
    } else {
        live.version.clone()
    };
    let record = Record::Replaced { at: version.to_string(), previous: previous.clone(), baking: bakes };
    update_alias(ctx, name, a, version, &record, live.revision_id).await?;
    // UpdateAlias may route to the old version a moment longer (Terraform's provider waits for
    // the weights to clear too).
    wait::until(&format!("alias {a} of function {name} to route to version {version} only"), Duration::from_secs(300), || async {
        let now = alias(ctx, name, a).await?.with_context(|| format!("alias {a} of function {name} is gone"))?;
        Ok(if now.version == version && now.routing.is_empty() {
            Poll::Done
        } else {
            Poll::Pending(format!("at version {}, routing to {:?}", now.version, now.routing))
        })
    })
    .await?;
    crate::log::info(&format!("  alias {a} of function {name}: version {previous} → {version}"));
    Ok(Alias::Moved)
}

/// What [`move_alias`] did to the alias.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Alias {
    /// The alias was made at the version: there is nothing before it to bake against.
    Made,
    /// It was at the version already (PublishVersion returns the last version when nothing
    /// changed since): nothing moved, so nothing is baked.
    Unchanged,
    Moved,
}

/// UpdateAlias to `version` with `record` as its description and no weighted routing, guarded
/// by the alias's RevisionId.
async fn update_alias(ctx: &AwsContext, name: &str, a: &str, version: &str, record: &Record, revision: Option<String>) -> Result<()> {
    // The version it goes to must exist (someone may have deleted an old one); an Inactive one
    // (idle for weeks) is made Active again by Lambda on its first invocations, which fail
    // meanwhile: said, not waited for (a rollback must not wait).
    let target = ctx.lambda.get_function_configuration().function_name(name).qualifier(version).send().await;
    match target {
        Ok(c) if c.state().is_some_and(|s| s.as_str() == "Inactive") => crate::log::warn(&format!(
            "version {version} of function {name} is Inactive: Lambda makes it Active again on its first invocations, which fail until then"
        )),
        Ok(_) => {}
        Err(e) if e.code() == Some("ResourceNotFoundException") => {
            bail!("version {version} of function {name} does not exist any more: alias {a} was not moved")
        }
        Err(e) => return Err(aws_error("Lambda", "GetFunctionConfiguration", &format!("{name}:{version}"), e).into()),
    }
    let mut conflicts = 0;
    loop {
        match send_update_alias(ctx, name, a, version, record, revision.clone()).await {
            // An update of the function in progress: UpdateAlias documents this conflict.
            Err(e) if e.code() == Some("ResourceConflictException") && conflicts < 10 => {
                conflicts += 1;
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            r => return finish_update_alias(ctx, name, a, version, record, r).await,
        }
    }
}

type UpdateAliasResult = std::result::Result<
    aws_sdk_lambda::operation::update_alias::UpdateAliasOutput,
    aws_sdk_lambda::error::SdkError<aws_sdk_lambda::operation::update_alias::UpdateAliasError>,
>;

async fn send_update_alias(
    ctx: &AwsContext,
    name: &str,
    a: &str,
    version: &str,
    record: &Record,
    revision: Option<String>,
) -> UpdateAliasResult {
    ctx.lambda
        .update_alias()
        .function_name(name)
        .name(a)
        .function_version(version)
        .description(record.text())
        .routing_config(lam::AliasRoutingConfiguration::builder().set_additional_version_weights(Some(Default::default())).build())
        .set_revision_id(revision)
        .send()
        .await
}

async fn finish_update_alias(ctx: &AwsContext, name: &str, a: &str, version: &str, record: &Record, r: UpdateAliasResult) -> Result<()> {
    match r {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("PreconditionFailedException") => {
            // A retried call whose first answer was lost has done it already.
            match alias(ctx, name, a).await? {
                Some(l) if l.version == version && Record::parse(&l.description) == *record => Ok(()),
                _ => bail!("alias {a} of function {name} was changed by someone else meanwhile (RevisionId refused); nothing was moved"),
            }
        }
        Err(e) => Err(aws_error("Lambda", "UpdateAlias", &format!("{name}:{a}"), e).into()),
    }
}

/// How often a bake reads the alarms: six times over the bake, between 1 and 10 s apart.
fn poll_every(bake_s: i64) -> Duration {
    Duration::from_secs((bake_s / 6).clamp(1, 10) as u64)
}

/// The watched alarms' states, retried for a minute; an error after that stops the bake
/// unfinished (the alias keeps its `baking` record: the next apply bakes again).
async fn read_alarms(ctx: &AwsContext, name: &str, watch: &[String]) -> Result<std::collections::BTreeMap<String, String>> {
    retry::retry(&format!("reading the alarms of function {name}"), ALARM_READS, || async {
        alarm_states(ctx, watch).await.map_err(|e| Next::Retry(format!("{e:#}")))
    })
    .await
    .context("the bake could not read its alarms: it is not finished (the alias stays at its new version, marked baking; the next apply bakes again, `rollback` moves it back)")
}

async fn bake(ctx: &AwsContext, name: &str, a: &str, bake_s: i64, rollback: bool, watch: &[String]) -> Result<()> {
    let live = alias(ctx, name, a).await?.with_context(|| format!("function {name} has no alias {a}"))?;
    let record = Record::of(&live.description, &live.version);
    let Record::Replaced { previous, baking, .. } = &record else {
        crate::log::info(&format!("  alias {a} of function {name} records no version it replaced: nothing to bake against"));
        return Ok(());
    };
    // Only a version this apply (or one cut short) moved to is baked: one baked already is
    // never rolled back because of an alarm of today.
    if !baking {
        crate::log::info(&format!("  version {} of function {name} was baked already: nothing to bake", live.version));
        return Ok(());
    }
    let start = Instant::now();
    let total = Duration::from_secs(bake_s.max(0) as u64);
    let mut shown = Instant::now();
    crate::log::info(&format!("  baking version {} of function {name} for {bake_s} s, watching {} alarm(s)", live.version, watch.len()));
    loop {
        let states = read_alarms(ctx, name, watch).await?;
        if let Some((alarm, _)) = states.iter().find(|(_, s)| *s == "ALARM") {
            let what = if rollback {
                let now = alias(ctx, name, a).await?.with_context(|| format!("function {name} has no alias {a}"))?;
                if now.version != live.version {
                    bail!(
                        "the bake of function {name} failed: alarm {alarm} is in ALARM, but alias {a} was moved to version {} by \
                         someone else during the bake: it was not moved back",
                        now.version
                    );
                }
                let back = Record::RolledBack { from: live.version.clone(), to: previous.clone() };
                update_alias(ctx, name, a, previous, &back, now.revision_id).await?;
                format!("alias {a} was moved back from version {} to version {previous}", live.version)
            } else {
                format!("alias {a} stays at version {} (rollback: never; version {previous} was the one before)", live.version)
            };
            return Err(BakeFailed { function: name.to_string(), alarm: alarm.clone(), what }.into());
        }
        let elapsed = start.elapsed();
        if elapsed >= total {
            return finish(ctx, name, a, &live, &record, watch, &states, bake_s).await;
        }
        if shown.elapsed() >= Duration::from_secs(10) {
            crate::log::info(&format!("  baking: {} s of {bake_s}, no alarm in ALARM", elapsed.as_secs()));
            shown = Instant::now();
        }
        tokio::time::sleep(poll_every(bake_s).min(total.saturating_sub(elapsed)).max(Duration::from_millis(200))).await;
    }
}

/// A bake that saw no ALARM: baked, unless some watched alarm did not exist (made later in this
/// apply): then nobody watched it, and the record stays `baking` for the next apply.
#[allow(clippy::too_many_arguments)]
async fn finish(
    ctx: &AwsContext,
    name: &str,
    a: &str,
    live: &LiveAlias,
    record: &Record,
    watch: &[String],
    states: &std::collections::BTreeMap<String, String>,
    bake_s: i64,
) -> Result<()> {
    let missing: Vec<&String> = watch.iter().filter(|w| !states.contains_key(*w)).collect();
    if !missing.is_empty() {
        crate::log::warn(&format!(
            "the bake of version {} of function {name} watched no alarm {} (not made yet): it is not finished; the next apply bakes again",
            live.version,
            missing.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", ")
        ));
        return Ok(());
    }
    if let Record::Replaced { at, previous, baking: true } = record {
        let now = alias(ctx, name, a).await?.with_context(|| format!("function {name} has no alias {a}"))?;
        if now.version == *at {
            update_alias(
                ctx,
                name,
                a,
                at,
                &Record::Replaced { at: at.clone(), previous: previous.clone(), baking: false },
                now.revision_id,
            )
            .await?;
        }
    }
    crate::log::info(&format!("  the bake of version {} of function {name} passed: no alarm in {bake_s} s", live.version));
    Ok(())
}

/// Deletes the versions beyond the newest `keep` that no alias points at, routes to or records,
/// and that no trigger invokes (read now: after this apply's move).
async fn prune(ctx: &AwsContext, name: &str, keep: i64) -> Result<()> {
    let (versions, aliases) = tokio::try_join!(versions(ctx, name), aliases(ctx, name))?;
    let mut live = LiveDeploy { versions, ..LiveDeploy::default() };
    for a in &aliases {
        live.aliased.insert(a.version.clone());
        live.aliased.extend(a.routing.iter().cloned());
        if let Some(v) = Record::parse(&a.description).kept() {
            live.recorded.insert(v.to_string());
        }
    }
    let id = ctx.identity().await?;
    for v in prunable(&live, keep) {
        // Deleting a version leaves the mappings on it: one a trigger invokes stays.
        let arn = format!("arn:{}:lambda:{}:{}:function:{name}:{v}", id.partition, ctx.region, id.account_id);
        let on = ctx
            .lambda
            .list_event_source_mappings()
            .function_name(&arn)
            .send()
            .await
            .map_err(|e| aws_error("Lambda", "ListEventSourceMappings", &arn, e))?;
        if !on.event_source_mappings().is_empty() {
            crate::log::warn(&format!("version {v} of function {name} is invoked by a trigger: kept"));
            continue;
        }
        match ctx.lambda.delete_function().function_name(name).qualifier(&v).send().await {
            Ok(_) => crate::log::info(&format!("  deleted version {v} of function {name}")),
            Err(e) if code(&e) == Some("ResourceNotFoundException") => {}
            // An alias moved to it meanwhile: it is kept.
            Err(e) if code(&e) == Some("ResourceConflictException") => {
                crate::log::warn(&format!("version {v} of function {name} is in use (an alias points at it): kept"))
            }
            Err(e) => return Err(aws_error("Lambda", "DeleteFunction", &format!("{name}:{v}"), e).into()),
        }
    }
    Ok(())
}

/// The change and step of `rollback lambda_function.KEY`: the alias back to the version its
/// record says it replaced. An error when it records none (its first version, a description
/// another tool wrote, a record of another version: moved by hand since) or was rolled back
/// already: a rollback goes back one recorded version only. Only this stack env's function.
pub async fn rollback_step(ctx: &AwsContext, desired: &Desired, key: &str) -> Result<(ResourceChange, Vec<Step>)> {
    let address = format!("{KIND}.{key}");
    let spec = desired.resources.functions.get(key).with_context(|| format!("{address}: no such function in the spec"))?;
    let d = spec.deploy.as_ref().with_context(|| format!("{address} has no `deploy:` (no alias to move back); nothing was changed"))?;
    let name = desired.aws_name(key);
    let f = crate::kinds::function::observe::observe(ctx, &name, None).await?.function;
    let f = f.with_context(|| format!("function {name} does not exist"))?;
    if !ownership::ours(&f.tags, desired) {
        bail!("function {name} is not this stack env's (its ownership tags say otherwise): nothing was changed");
    }
    let live = alias(ctx, &name, &d.alias).await?.with_context(|| format!("function {name} has no alias {}: apply makes it", d.alias))?;
    let to = match Record::of(&live.description, &live.version) {
        Record::Replaced { previous, .. } => previous,
        Record::RolledBack { from, to } => bail!(
            "alias {} of function {name} was rolled back already, from version {from} to version {to}: a rollback does not walk \
             further back than the version it records; nothing was changed",
            d.alias
        ),
        Record::First { at } => {
            bail!("alias {} of function {name} is at its first version ({at}): there is nothing to roll back to", d.alias)
        }
        Record::Unknown => bail!(
            "alias {} of function {name} (at version {}) records no version it replaced (its description, {:?}, was not written by \
             this tool, or names another version: it was moved by hand since); nothing was changed",
            d.alias,
            live.version,
            live.description
        ),
    };
    let mut change = ResourceChange::new(&address, Action::Update);
    change.diffs.push(FieldDiff::new(
        format!("alias.{}", d.alias),
        format!("version {}", live.version),
        format!("version {to} (rolled back)"),
    ));
    let step = Step::new(
        KIND,
        &address,
        format!("move alias {} of function {name} back from version {} to version {to}", d.alias, live.version),
        FunctionOp::RollBack { name: name.clone(), alias: d.alias.clone(), from: live.version.clone(), to },
    );
    Ok((change, vec![step]))
}
