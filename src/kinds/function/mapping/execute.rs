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

/// Updates a mapping with every setting. `role_changes`: its function's role changed in this
/// apply, so a refusal of what the new permissions allow (an on-failure queue) is retried while
/// IAM propagates; otherwise it fails at once.
pub(super) async fn update(ctx: &AwsContext, function: &str, uuid: &str, s: &MappingSettings, role_changes: bool) -> Result<()> {
    use crate::kinds::support::retry::{self, Next};
    let start = Instant::now();
    retry::retry(&format!("the update of the mapping of {function}"), retry::AWS, || async move {
        match with_settings!(ctx.lambda.update_event_source_mapping().uuid(uuid), s).destination_config(destination(s)).send().await {
            Ok(_) => Ok(()),
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
                crate::log::info(&format!("  the mapping of {function} on this stream already exists ({}): updating it", m.uuid));
                return update(ctx, function, &m.uuid, settings, false).await;
            }
            use crate::kinds::support::retry::{self, Next};
            let start = Instant::now();
            let source = &source;
            retry::retry(&format!("the creation of the mapping of {function}"), retry::AWS, || async move {
                let create = ctx
                    .lambda
                    .create_event_source_mapping()
                    .function_name(function)
                    .event_source_arn(source)
                    .starting_position(lam::EventSourcePosition::from(position(settings.starting_position)));
                let dest = (!settings.tuning.on_failure.is_empty()).then(|| destination(settings));
                let r = with_settings!(create, settings).set_destination_config(dest).send().await;
                match r {
                    Ok(_) => Ok(()),
                    Err(e) if e.code() == Some("ResourceConflictException") => {
                        let found = find(ctx, function, source).await.map_err(Next::Fail)?;
                        match found {
                            Some(m) => update(ctx, function, &m.uuid, settings, false).await.map_err(Next::Fail),
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
            match ctx.lambda.delete_event_source_mapping().uuid(uuid).send().await {
                Ok(_) => {}
                Err(e) if e.code() == Some("ResourceNotFoundException") => return Ok(()),
                Err(e) => return Err(aws_error("Lambda", "DeleteEventSourceMapping", uuid, e).into()),
            }
            wait_gone(ctx, function, uuid).await
        }
        MappingOp::WaitSettled { function, uuid_or_table } => {
            wait::until(&format!("the mapping of {function} to settle"), Duration::from_secs(600), || async {
                let all = list(ctx, function).await?;
                let m = all
                    .iter()
                    .filter(|m| !m.dying())
                    .find(|m| &m.uuid == uuid_or_table || m.source_arn.contains(&format!(":table/{uuid_or_table}/stream/")));
                Ok(match m.map(|m| m.state.as_str()) {
                    Some("Enabled" | "Disabled") => wait::Poll::Done,
                    Some(s) => wait::Poll::Pending(format!("state {s}")),
                    None => wait::Poll::Pending("not listed yet".into()),
                })
            })
            .await
        }
    }
}
