//! Running the table's operations: UpdateTable with AWS's refusals understood (busy, too many
//! at once, the daily decrease quota), and the waits for ACTIVE.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use aws_sdk_dynamodb::types as ddb;

use super::diff::attributes;
use super::flex::{attribute_definitions, billing_mode, ddb_projection, key_schema, throughput, view_type};
use super::observe::{observe, observe_tags};
use super::{scaling, storage, ttl, TableOp};
use crate::aws::{aws_error, code, AwsContext};
use crate::kinds::support::wait;
use crate::spec::Billing;

/// What a refused UpdateTable means (rules 1 and 30).
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    /// The table or an index is busy with another change (or another index operation is under
    /// way): wait until it is ACTIVE, then try again.
    Busy,
    /// Too many control-plane operations in the account at once: back off and try again.
    TooManyAtOnce,
    /// The quota of throughput decreases per table per UTC day is used up: retrying does not
    /// help.
    DecreaseQuota,
    Other,
}

pub(super) fn refusal(code: Option<&str>, message: &str) -> Refusal {
    let m = message.to_ascii_lowercase();
    match code {
        Some("ResourceInUseException") => Refusal::Busy,
        Some("LimitExceededException") if m.contains("decrease") => Refusal::DecreaseQuota,
        Some("LimitExceededException") if m.contains("index") => Refusal::Busy,
        Some("LimitExceededException") => Refusal::TooManyAtOnce,
        _ => Refusal::Other,
    }
}

/// How AWS says that an update is already in effect: the SDK retried a call whose first
/// answer was lost, and the first one took. The convergence check re-reads it anyway.
pub(super) const ALREADY_DONE: &[&str] = &[
    "will not change",               // throughput equal to the current value
    "which already exists",          // index create
    "already has an enabled stream", // stream enable (the view is checked after apply)
    "already disabled",              // stream disable
];

pub(super) async fn update_table(
    ctx: &AwsContext,
    name: &str,
    build: impl Fn() -> Result<aws_sdk_dynamodb::operation::update_table::builders::UpdateTableFluentBuilder>,
) -> Result<()> {
    use crate::kinds::support::retry::{self, Next};
    use aws_smithy_types::error::metadata::ProvideErrorMetadata as _;
    retry::retry(&format!("the update of table {name}"), retry::AWS, || async {
        let e = match build().map_err(Next::Fail)?.send().await {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        let message = e.message().unwrap_or("").to_string();
        if ALREADY_DONE.iter().any(|f| message.contains(f)) {
            crate::log::debug(&format!("table {name}: {message}: already in effect"));
            return Ok(());
        }
        let c = code(&e).unwrap_or("").to_string();
        match refusal(code(&e), &message) {
            Refusal::Busy => {
                wait_table(ctx, name, false).await.map_err(Next::Fail)?;
                Err(Next::RetryNow(format!("table {name} is busy ({c}); waited until it was ACTIVE")))
            }
            Refusal::TooManyAtOnce => Err(Next::Retry(format!("too many table operations in the account at once ({c})"))),
            Refusal::DecreaseQuota => {
                let mut err = aws_error("DynamoDB", "UpdateTable", name, e);
                err.hint = Some(
                    "AWS limits throughput decreases per table per UTC day, and retrying does not help: apply again \
                     after the time AWS names (or tomorrow, UTC), or keep the current capacity in the spec for now"
                        .into(),
                );
                Err(Next::Fail(err.into()))
            }
            Refusal::Other => Err(Next::Fail(aws_error("DynamoDB", "UpdateTable", name, e).into())),
        }
    })
    .await
}

/// Waits until the table and all its indexes are ACTIVE (or, with `deleted`, until it is gone).
/// How long AWS may take to show a table's tag change (rule 33; Terraform's provider waits up
/// to 2 minutes), and how many reads in a row must show it.
const TAGS_PROPAGATION: Duration = Duration::from_secs(120);
const TAGS_SEEN: wait::Reads = wait::Reads { times: 2, apart: Duration::from_secs(1) };

/// Waits until ListTagsOfResource shows `set` and none of `removed`, twice in a row a second apart: DynamoDB
/// applies tag changes asynchronously, and answers the previous (or an empty) set meanwhile.
pub(super) async fn wait_tags(ctx: &AwsContext, name: &str, arn: &str, set: &BTreeMap<String, String>, removed: &[String]) -> Result<()> {
    let what = format!("the tags of table {name} to show");
    wait::settled(&what, TAGS_PROPAGATION, TAGS_SEEN, || async {
        let live = observe_tags(ctx, name, arn).await?;
        let missing =
            set.iter().filter(|(k, v)| live.get(*k) != Some(*v)).count() + removed.iter().filter(|k| live.contains_key(*k)).count();
        Ok(match missing {
            0 => wait::Poll::Done,
            n => wait::Poll::Pending(format!("{n} tag change(s) not visible yet")),
        })
    })
    .await
}

pub async fn wait_table(ctx: &AwsContext, name: &str, deleted: bool) -> Result<()> {
    let what = if deleted { format!("table {name} to be deleted") } else { format!("table {name} to be ACTIVE") };
    wait::until(&what, Duration::from_secs(3600), || async {
        match ctx.dynamodb.describe_table().table_name(name).send().await {
            Err(e) if code(&e) == Some("ResourceNotFoundException") => {
                if deleted {
                    Ok(wait::Poll::Done)
                } else {
                    Ok(wait::Poll::Pending(format!("table {name} not found yet")))
                }
            }
            Err(e) => Err(aws_error("DynamoDB", "DescribeTable", name, e).into()),
            Ok(out) => {
                let t = out.table.context("DescribeTable returned no table")?;
                let status = t.table_status.as_ref().map(|s| s.as_str().to_string()).unwrap_or_default();
                if deleted {
                    return Ok(wait::Poll::Pending(format!("status {status}")));
                }
                let busy: Vec<String> = t
                    .global_secondary_indexes()
                    .iter()
                    .filter(|g| g.index_status.as_ref().is_some_and(|s| *s != ddb::IndexStatus::Active))
                    .map(|g| {
                        format!("index {} {}", g.index_name().unwrap_or("?"), g.index_status.as_ref().map(|s| s.as_str()).unwrap_or(""))
                    })
                    .collect();
                if status == "ACTIVE" && busy.is_empty() {
                    Ok(wait::Poll::Done)
                } else {
                    let mut s = format!("status {status}");
                    for b in busy {
                        s.push_str(", ");
                        s.push_str(&b);
                    }
                    Ok(wait::Poll::Pending(s))
                }
            }
        }
    })
    .await
}

pub async fn execute(ctx: &AwsContext, op: &TableOp) -> Result<()> {
    match op {
        TableOp::CreateTable { name, spec, tags } => {
            let attrs = attributes(spec, spec.global_secondary_indexes.values());
            let mut req = ctx
                .dynamodb
                .create_table()
                .table_name(name)
                .set_attribute_definitions(Some(attribute_definitions(&attrs)?))
                .set_key_schema(Some(key_schema(&spec.partition_key, &spec.sort_key)?))
                .billing_mode(billing_mode(spec.billing))
                .deletion_protection_enabled(spec.deletion_protection);
            if spec.billing == Billing::Provisioned {
                req = req.provisioned_throughput(throughput(spec.capacity.context("provisioned table without capacity")?)?);
            }
            for (iname, g) in &spec.global_secondary_indexes {
                let mut gb = ddb::GlobalSecondaryIndex::builder()
                    .index_name(iname)
                    .set_key_schema(Some(key_schema(&g.partition_key, &g.sort_key)?))
                    .projection(ddb_projection(&g.projection));
                if spec.billing == Billing::Provisioned {
                    gb = gb.provisioned_throughput(throughput(g.capacity.context("provisioned index without capacity")?)?);
                }
                req = req.global_secondary_indexes(gb.build()?);
            }
            if let Some(v) = view_type(spec.stream) {
                req = req.stream_specification(ddb::StreamSpecification::builder().stream_enabled(true).stream_view_type(v).build()?);
            }
            let (kms, kms_key) = storage::wanted_sse(spec);
            if kms {
                req = req.sse_specification(storage::sse(true, kms_key));
            }
            if let Some(c) = spec.table_class {
                req = req.table_class(storage::table_class(c));
            }
            for (k, v) in tags {
                req = req.tags(ddb::Tag::builder().key(k).value(v).build()?);
            }
            match req.send().await {
                Ok(_) => Ok(()),
                // An earlier attempt may have created it before its answer was lost: find it.
                Err(e) if code(&e) == Some("ResourceInUseException") => {
                    crate::log::info(&format!("  table {name} already exists: using it (re-checked after apply)"));
                    Ok(())
                }
                Err(e) => Err(aws_error("DynamoDB", "CreateTable", name, e).into()),
            }
        }
        TableOp::DeleteTable { name } => {
            let live = observe(ctx, name).await?;
            if live.as_ref().is_some_and(|t| t.deletion_protection) {
                bail!("table {name} has deletion protection on: it is never deleted");
            }
            match ctx.dynamodb.delete_table().table_name(name).send().await {
                Ok(_) => Ok(()),
                Err(e) if code(&e) == Some("ResourceNotFoundException") => Ok(()),
                Err(e) => Err(aws_error("DynamoDB", "DeleteTable", name, e).into()),
            }
        }
        TableOp::WaitActive { name } => wait_table(ctx, name, false).await,
        TableOp::WaitDeleted { name } => wait_table(ctx, name, true).await,
        TableOp::SetDeletionProtection { name, enabled } => {
            update_table(ctx, name, || Ok(ctx.dynamodb.update_table().table_name(name).deletion_protection_enabled(*enabled))).await
        }
        TableOp::DeleteIndex { name, index } => {
            // Gone already (a retried delete whose first answer was lost): nothing to do.
            if observe(ctx, name).await?.is_some_and(|t| !t.indexes.contains_key(index)) {
                return Ok(());
            }
            update_table(ctx, name, || {
                Ok(ctx.dynamodb.update_table().table_name(name).global_secondary_index_updates(
                    ddb::GlobalSecondaryIndexUpdate::builder()
                        .delete(ddb::DeleteGlobalSecondaryIndexAction::builder().index_name(index).build()?)
                        .build(),
                ))
            })
            .await
        }
        TableOp::UpdateThroughput { name, billing, table, indexes } => {
            update_table(ctx, name, || {
                let mut req = ctx.dynamodb.update_table().table_name(name);
                if let Some(b) = billing {
                    req = req.billing_mode(billing_mode(*b));
                }
                if let Some(c) = table {
                    req = req.provisioned_throughput(throughput(*c)?);
                }
                for (iname, c) in indexes {
                    req = req.global_secondary_index_updates(
                        ddb::GlobalSecondaryIndexUpdate::builder()
                            .update(
                                ddb::UpdateGlobalSecondaryIndexAction::builder()
                                    .index_name(iname)
                                    .provisioned_throughput(throughput(*c)?)
                                    .build()?,
                            )
                            .build(),
                    );
                }
                Ok(req)
            })
            .await
        }
        TableOp::DisableStream { name } => {
            update_table(ctx, name, || {
                Ok(ctx
                    .dynamodb
                    .update_table()
                    .table_name(name)
                    .stream_specification(ddb::StreamSpecification::builder().stream_enabled(false).build()?))
            })
            .await
        }
        TableOp::EnableStream { name, view } => {
            let v = view_type(*view).context("enable a stream with view type off")?;
            update_table(ctx, name, || {
                Ok(ctx
                    .dynamodb
                    .update_table()
                    .table_name(name)
                    .stream_specification(ddb::StreamSpecification::builder().stream_enabled(true).stream_view_type(v.clone()).build()?))
            })
            .await
        }
        TableOp::CreateIndex { name, index, spec, billing, attributes } => {
            update_table(ctx, name, || {
                let mut create = ddb::CreateGlobalSecondaryIndexAction::builder()
                    .index_name(index)
                    .set_key_schema(Some(key_schema(&spec.partition_key, &spec.sort_key)?))
                    .projection(ddb_projection(&spec.projection));
                if *billing == Billing::Provisioned {
                    create = create.provisioned_throughput(throughput(spec.capacity.context("provisioned index without capacity")?)?);
                }
                Ok(ctx
                    .dynamodb
                    .update_table()
                    .table_name(name)
                    .set_attribute_definitions(Some(attribute_definitions(attributes)?))
                    .global_secondary_index_updates(ddb::GlobalSecondaryIndexUpdate::builder().create(create.build()?).build()))
            })
            .await
        }
        TableOp::Tag { name, set, remove } => {
            let live = observe(ctx, name).await?.with_context(|| format!("table {name} does not exist"))?;
            // TagResource overwrites a key's value: only the keys the spec drops are untagged
            // (untag-then-tag could lose a tag that is in both, rule 33).
            if !remove.is_empty() {
                ctx.dynamodb
                    .untag_resource()
                    .resource_arn(&live.arn)
                    .set_tag_keys(Some(remove.clone()))
                    .send()
                    .await
                    .map_err(|e| aws_error("DynamoDB", "UntagResource", name, e))?;
            }
            if !set.is_empty() {
                let tags = set.iter().map(|(k, v)| ddb::Tag::builder().key(k).value(v).build()).collect::<Result<Vec<_>, _>>()?;
                ctx.dynamodb
                    .tag_resource()
                    .resource_arn(&live.arn)
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .map_err(|e| aws_error("DynamoDB", "TagResource", name, e))?;
            }
            wait_tags(ctx, name, &live.arn, set, remove).await
        }
        TableOp::WaitTags { name, tags } => {
            let arn = observe(ctx, name).await?.with_context(|| format!("table {name} does not exist"))?.arn;
            wait_tags(ctx, name, &arn, tags, &[]).await
        }
        TableOp::SetTtl { name, attribute, enabled } => ttl::set(ctx, name, attribute, *enabled).await,
        TableOp::SetEncryption { name, kms, kms_key } => {
            update_table(ctx, name, || {
                Ok(ctx.dynamodb.update_table().table_name(name).sse_specification(storage::sse(*kms, kms_key.as_deref())))
            })
            .await
        }
        TableOp::SetTableClass { name, class } => {
            update_table(ctx, name, || Ok(ctx.dynamodb.update_table().table_name(name).table_class(storage::table_class(*class)))).await
        }
        TableOp::SetPitr { name, enabled, recovery_period_days } => {
            use crate::kinds::support::retry::{self, Next};
            let mut p = ddb::PointInTimeRecoverySpecification::builder().point_in_time_recovery_enabled(*enabled);
            if let Some(d) = recovery_period_days {
                p = p.recovery_period_in_days(*d as i32);
            }
            let p = p.build()?;
            retry::retry(&format!("point-in-time recovery of table {name}"), retry::AWS, || {
                let p = p.clone();
                async move {
                    match ctx.dynamodb.update_continuous_backups().table_name(name).point_in_time_recovery_specification(p).send().await {
                        Ok(_) => Ok(()),
                        // A table just created or updated: "Backups are being enabled for the table".
                        Err(e) if code(&e) == Some("ContinuousBackupsUnavailableException") => {
                            Err(Next::Retry(format!("backups of table {name} are not available yet")))
                        }
                        Err(e) => Err(Next::Fail(aws_error("DynamoDB", "UpdateContinuousBackups", name, e).into())),
                    }
                }
            })
            .await
        }
        TableOp::RegisterScaling { name, index, dimension, min, max } => {
            scaling::register(ctx, name, index.as_deref(), *dimension, *min, *max).await
        }
        TableOp::PutScalingPolicy { name, index, dimension, policy, target_utilization } => {
            scaling::put_policy(ctx, name, index.as_deref(), *dimension, policy, *target_utilization).await
        }
        TableOp::DeregisterScaling { name, index, dimension } => scaling::deregister(ctx, name, index.as_deref(), *dimension).await,
    }
}
