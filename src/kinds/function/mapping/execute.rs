//! Running the trigger's operations: never a second mapping on one stream, deletes waited out
//! (docs/aws-behaviour.md rule 28), IAM's propagation allowed for.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use aws_sdk_lambda::types as lam;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::flex::{destination, filter_criteria, position, with_settings};
use super::observe::list;
use super::{LiveMapping, MappingOp, MappingSettings};
use crate::aws::{aws_error, AwsContext};
use crate::kinds::support::wait;
use crate::kinds::table;

pub(super) const PROPAGATION: Duration = Duration::from_secs(120);

/// The mapping of `function` on `source`, if one exists and is not being deleted.
pub(super) async fn find(ctx: &AwsContext, function: &str, source: &str) -> Result<Option<LiveMapping>> {
    Ok(list(ctx, function).await?.into_iter().find(|m| m.source_arn == source && !m.dying()))
}

/// Waits until a deleted mapping is gone (GetEventSourceMapping says ResourceNotFound): until
/// then AWS refuses a successor on the same source as a duplicate.
pub(super) async fn wait_gone(ctx: &AwsContext, function: &str, uuid: &str) -> Result<()> {
    wait::until(&format!("the mapping {uuid} of {function} to be deleted"), Duration::from_secs(600), || async {
        match ctx.lambda.get_event_source_mapping().uuid(uuid).send().await {
            Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(wait::Poll::Done),
            Err(e) => Err(aws_error("Lambda", "GetEventSourceMapping", uuid, e).into()),
            Ok(m) => Ok(wait::Poll::Pending(format!("state {}", m.state().unwrap_or("?")))),
        }
    })
    .await
}

/// Waits until a mapping (by UUID, or the one on `uuid_or_table`'s stream) is settled: Enabled or
/// Disabled, not Creating, Updating, Enabling or Disabling (rule 36), and returns it as it is then.
pub(super) async fn wait_settled(ctx: &AwsContext, function: &str, uuid_or_table: &str) -> Result<LiveMapping> {
    let settled = std::sync::Mutex::new(None);
    let settled = &settled;
    wait::until(&format!("the mapping of {function} to settle"), Duration::from_secs(600), || async move {
        let all = list(ctx, function).await?;
        let m = all
            .into_iter()
            .filter(|m| !m.dying())
            .find(|m| m.uuid == uuid_or_table || m.source_arn.contains(&format!(":table/{uuid_or_table}/stream/")));
        Ok(match m {
            Some(m) if matches!(m.state.as_str(), "Enabled" | "Disabled") => {
                *settled.lock().unwrap_or_else(|e| e.into_inner()) = Some(m);
                wait::Poll::Done
            }
            Some(m) => wait::Poll::Pending(format!("state {}", m.state)),
            None => wait::Poll::Pending("not listed yet".into()),
        })
    })
    .await?;
    let found = settled.lock().unwrap_or_else(|e| e.into_inner()).take();
    found.context("the mapping settled but was not kept")
}

/// A mapping's state as GetEventSourceMapping says now (None: it is gone).
async fn state(ctx: &AwsContext, uuid: &str) -> Result<Option<String>> {
    match ctx.lambda.get_event_source_mapping().uuid(uuid).send().await {
        Ok(m) => Ok(Some(m.state().unwrap_or("Enabled").to_string())),
        Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(None),
        Err(e) => Err(aws_error("Lambda", "GetEventSourceMapping", uuid, e).into()),
    }
}

/// What a mapping invokes: the function by name, or its alias by ARN (the form
/// CreateEventSourceMapping documents for an alias); an update sends it every time, so that a
/// trigger moves to or from the alias in place (rule 43).
async fn target(ctx: &AwsContext, function: &str, s: &MappingSettings) -> Result<String> {
    Ok(match &s.alias {
        None => function.to_string(),
        Some(a) => {
            let id = ctx.identity().await?;
            format!("arn:{}:lambda:{}:{}:function:{function}:{a}", id.partition, ctx.region, id.account_id)
        }
    })
}

/// Whether a live mapping already has every setting of `s` (then an update is not sent).
fn has(m: &LiveMapping, s: &MappingSettings) -> bool {
    let t = &m.tuning;
    m.qualifier == s.alias
        && m.batch_size.is_none_or(|b| b == s.batch_size)
        && m.enabled() == s.enabled
        && m.report_batch_item_failures == s.report_batch_item_failures
        && t.maximum_retry_attempts == s.tuning.maximum_retry_attempts
        && t.maximum_record_age_s == s.tuning.maximum_record_age_s
        && t.bisect_batch_on_error == s.tuning.bisect_batch_on_error
        && t.parallelization_factor == s.tuning.parallelization_factor
        && t.batching_window_s == s.tuning.batching_window_s
        && crate::spec::filter::same(&t.filter, &s.tuning.filter)
        && t.on_failure == s.tuning.on_failure
}

/// Updates a mapping with every setting. `role_changes`: its function's role changed in this
/// apply, so a refusal of what the new permissions allow (an on-failure queue) is retried while
/// IAM propagates; otherwise it fails at once.
pub(super) async fn update(ctx: &AwsContext, function: &str, uuid: &str, s: &MappingSettings, role_changes: bool) -> Result<()> {
    use crate::kinds::support::retry::{self, Next};
    let start = Instant::now();
    retry::retry(&format!("the update of the mapping of {function}"), retry::AWS, || async move {
        let target = target(ctx, function, s).await.map_err(Next::Fail)?;
        match with_settings!(ctx.lambda.update_event_source_mapping().uuid(uuid), s)
            .function_name(target)
            .destination_config(destination(s))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // Creating or Updating (rule 36): it takes the update once settled. Being deleted
            // (rule 28): it never will.
            Err(e) if e.code() == Some("ResourceInUseException") => match state(ctx, uuid).await.map_err(Next::Fail)?.as_deref() {
                None | Some("Deleting") => {
                    Err(Next::Fail(anyhow::anyhow!("the mapping {uuid} of {function} is being deleted (by someone else): plan again")))
                }
                Some(_) => {
                    wait_settled(ctx, function, uuid).await.map_err(Next::Fail)?;
                    Err(Next::RetryNow(format!("the mapping {uuid} of {function} was busy; it is settled now")))
                }
            },
            Err(e) if role_changes && e.code() == Some("InvalidParameterValueException") && start.elapsed() < PROPAGATION => {
                Err(Next::Retry(format!(
                    "Lambda refuses the update of the mapping of {function} ({}); its role changed in this apply and IAM may \
                     still be propagating",
                    e.message().unwrap_or("")
                )))
            }
            Err(e) => Err(Next::Fail(aws_error("Lambda", "UpdateEventSourceMapping", uuid, e).into())),
        }
    })
    .await
}

/// The mapping of this function on this stream exists already (an attempt whose answer was
/// lost made it): it may still be Creating (rule 36), so it is waited for, then updated only if
/// its settings differ.
async fn adopt(ctx: &AwsContext, function: &str, uuid: &str, settings: &MappingSettings) -> Result<()> {
    crate::log::info(&format!("  the mapping of {function} on this stream already exists ({uuid}): using it"));
    let m = wait_settled(ctx, function, uuid).await?;
    if has(&m, settings) {
        return Ok(());
    }
    update(ctx, function, uuid, settings, false).await
}

pub(super) async fn execute(ctx: &AwsContext, op: &MappingOp) -> Result<()> {
    match op {
        MappingOp::Create { function, table: tname, source_arn, settings } => {
            let source = match source_arn {
                Some(a) => a.clone(),
                None => table::observe(ctx, tname)
                    .await?
                    .and_then(|t| t.stream_arn)
                    .with_context(|| format!("table {tname} has no stream to trigger {function}"))?,
            };
            // Never a second mapping: one may exist from an attempt whose answer was lost.
            if let Some(m) = find(ctx, function, &source).await? {
                return adopt(ctx, function, &m.uuid, settings).await;
            }
            use crate::kinds::support::retry::{self, Next};
            let start = Instant::now();
            let source = &source;
            let target = &target(ctx, function, settings).await?;
            retry::retry(&format!("the creation of the mapping of {function}"), retry::AWS, || async move {
                let create = ctx
                    .lambda
                    .create_event_source_mapping()
                    .function_name(target)
                    .event_source_arn(source)
                    .starting_position(lam::EventSourcePosition::from(position(settings.starting_position)));
                let dest = (!settings.tuning.on_failure.is_empty()).then(|| destination(settings));
                let r = with_settings!(create, settings).set_destination_config(dest).send().await;
                match r {
                    Ok(_) => Ok(()),
                    Err(e) if e.code() == Some("ResourceConflictException") => {
                        let found = find(ctx, function, source).await.map_err(Next::Fail)?;
                        match found {
                            Some(m) => adopt(ctx, function, &m.uuid, settings).await.map_err(Next::Fail),
                            // Only a mapping being deleted is there (rule 28): it will be gone.
                            None => Err(Next::Retry(format!("a mapping of {function} on this stream is still being deleted"))),
                        }
                    }
                    // The role's stream permissions may not have propagated yet (rule 8).
                    Err(e) if e.code() == Some("InvalidParameterValueException") && start.elapsed() < PROPAGATION => {
                        Err(Next::Retry(format!(
                            "Lambda cannot use the stream for {function} yet ({}); IAM may still be propagating",
                            e.message().unwrap_or("")
                        )))
                    }
                    Err(e) => Err(Next::Fail(aws_error("Lambda", "CreateEventSourceMapping", function, e).into())),
                }
            })
            .await
        }
        MappingOp::Update { function, uuid, settings, role_changes } => update(ctx, function, uuid, settings, *role_changes).await,
        MappingOp::Delete { function, uuid } => {
            use crate::kinds::support::retry::{self, Next};
            let gone = retry::retry(&format!("the deletion of the mapping {uuid} of {function}"), retry::AWS, || async {
                match ctx.lambda.delete_event_source_mapping().uuid(uuid).send().await {
                    Ok(_) => Ok(false),
                    Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(true),
                    // Creating or Updating (rule 36): deleted once settled. Already being deleted (a
                    // retried delete whose first answer was lost): waited for below.
                    Err(e) if e.code() == Some("ResourceInUseException") => match state(ctx, uuid).await.map_err(Next::Fail)?.as_deref() {
                        None => Ok(true),
                        Some("Deleting") => Ok(false),
                        Some(_) => {
                            wait_settled(ctx, function, uuid).await.map_err(Next::Fail)?;
                            Err(Next::RetryNow(format!("the mapping {uuid} of {function} was busy; it is settled now")))
                        }
                    },
                    Err(e) => Err(Next::Fail(aws_error("Lambda", "DeleteEventSourceMapping", uuid, e).into())),
                }
            })
            .await?;
            if gone {
                return Ok(());
            }
            wait_gone(ctx, function, uuid).await
        }
        MappingOp::WaitSettled { function, uuid_or_table } => wait_settled(ctx, function, uuid_or_table).await.map(|_| ()),
    }
}
