//! Reading a table: DescribeTable and its tags, then the other reads the spec needs (point-in-time
//! recovery, time to live, scaling) beside each other.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use aws_sdk_dynamodb::types as ddb;

use super::flex::{attr_type, capacity, keys, projection, stream_view};
use super::{scaling, storage, ttl, LiveIndex, LivePitr, LiveTable};
use crate::aws::{aws_error, code, AwsContext};
use crate::discover::{hint_agrees, Tagged};
use crate::kinds::support::reading::read_if;
use crate::plan::Action;
use crate::spec::{Billing, StreamView, TableSpec};

/// Reads a table by name (not its scaling); `None` when it does not exist.
pub async fn observe(ctx: &AwsContext, name: &str) -> Result<Option<LiveTable>> {
    Ok(observe_hinted(ctx, name, None).await?.map(|(t, _)| t))
}

/// Where a table's tags may come from without ListTagsOfResource (10 a second per account,
/// rule 46): the Tagging API's listing, used when it agrees with the tags the spec wants.
pub(super) struct TagHint<'a> {
    pub tagged: &'a Tagged<'a>,
    pub spec: &'a TableSpec,
    pub want: BTreeMap<String, String>,
}

/// A table's tags, and whether they are the hint's (when it agrees with the spec) rather than
/// its own (ListTagsOfResource).
async fn tags_of(ctx: &AwsContext, name: &str, arn: &str, hint: Option<&TagHint<'_>>) -> Result<(BTreeMap<String, String>, bool)> {
    if let Some(h) = hint {
        if let Some(tags) = h.tagged.hint(super::TAGGING_TYPE, arn).await.filter(|t| hint_agrees(&h.want, t)) {
            return Ok((tags.clone(), true));
        }
    }
    Ok((observe_tags(ctx, name, arn).await?, false))
}

/// [`observe`], its tags from `hint` where that may stand for them (then true).
async fn observe_hinted(ctx: &AwsContext, name: &str, hint: Option<&TagHint<'_>>) -> Result<Option<(LiveTable, bool)>> {
    let out = match ctx.dynamodb.describe_table().table_name(name).send().await {
        Ok(o) => o,
        Err(e) if code(&e) == Some("ResourceNotFoundException") => return Ok(None),
        Err(e) => return Err(aws_error("DynamoDB", "DescribeTable", name, e).into()),
    };
    let t = out.table.context("DescribeTable returned no table")?;
    let mut types = BTreeMap::new();
    for a in t.attribute_definitions() {
        types.insert(a.attribute_name.clone(), attr_type(&a.attribute_type)?);
    }
    let (partition_key, sort_key) = keys(t.key_schema(), &types)?;
    let billing = match t.billing_mode_summary.as_ref().and_then(|b| b.billing_mode.as_ref()) {
        Some(ddb::BillingMode::PayPerRequest) => Billing::OnDemand,
        _ => Billing::Provisioned,
    };
    let mut indexes = BTreeMap::new();
    for g in t.global_secondary_indexes() {
        let Some(iname) = g.index_name.clone() else { continue };
        let (pk, sk) = keys(g.key_schema(), &types)?;
        indexes.insert(
            iname,
            LiveIndex {
                partition_key: pk,
                sort_key: sk,
                projection: projection(g.projection.as_ref()),
                capacity: capacity(g.provisioned_throughput.as_ref()),
                status: g.index_status.as_ref().map(|s| s.as_str().to_string()).unwrap_or_else(|| "ACTIVE".into()),
            },
        );
    }
    let stream = match &t.stream_specification {
        Some(s) if s.stream_enabled => s.stream_view_type.as_ref().map(stream_view).unwrap_or(StreamView::NewAndOldImages),
        _ => StreamView::Off,
    };
    let arn = t.table_arn.clone().unwrap_or_default();
    let (tags, hinted) = tags_of(ctx, name, &arn, hint).await?;
    let table = LiveTable {
        name: name.to_string(),
        arn,
        status: t.table_status.as_ref().map(|s| s.as_str().to_string()).unwrap_or_default(),
        partition_key,
        sort_key,
        billing,
        capacity: capacity(t.provisioned_throughput.as_ref()),
        indexes,
        stream,
        stream_arn: if stream == StreamView::Off { None } else { t.latest_stream_arn.clone() },
        deletion_protection: t.deletion_protection_enabled.unwrap_or(false),
        tags,
        pitr: None,
        ttl: None,
        kms_key: storage::kms_key(&t),
        table_class: storage::class(&t),
        scaling: Vec::new(),
        size_bytes: t.table_size_bytes.unwrap_or(0),
    };
    Ok(Some((table, hinted)))
}

/// DescribeContinuousBackups: point-in-time recovery on or off, and its period.
pub(super) async fn observe_pitr(ctx: &AwsContext, name: &str) -> Result<LivePitr> {
    let out = ctx
        .dynamodb
        .describe_continuous_backups()
        .table_name(name)
        .send()
        .await
        .map_err(|e| aws_error("DynamoDB", "DescribeContinuousBackups", name, e))?;
    let p = out.continuous_backups_description().and_then(|d| d.point_in_time_recovery_description());
    Ok(LivePitr {
        enabled: p.and_then(|p| p.point_in_time_recovery_status()) == Some(&ddb::PointInTimeRecoveryStatus::Enabled),
        recovery_period_days: p.and_then(|p| p.recovery_period_in_days()).map(i64::from),
    })
}

/// Which of a table's other reads (point-in-time recovery, scaling) to make.
pub(super) enum Extras<'a> {
    /// What the table's spec (None: a table the spec does not declare) needs: point-in-time
    /// recovery when it manages it, scaling when `scaling::must_read` says it matters.
    AsSpecSays(Option<&'a TableSpec>),
    /// Everything there is (import).
    All,
}

/// Reads a table and, beside each other, the other reads `extras` asks for.
pub(super) async fn observe_with_extras(
    ctx: &AwsContext,
    name: &str,
    extras: Extras<'_>,
    hint: Option<TagHint<'_>>,
) -> Result<Option<LiveTable>> {
    let Some((mut t, hinted)) = observe_hinted(ctx, name, hint.as_ref()).await? else { return Ok(None) };
    let (pitr_needed, ttl_needed, scaling_needed) = match extras {
        Extras::AsSpecSays(spec) => {
            (spec.is_some_and(|s| s.point_in_time_recovery.is_some()), spec.is_some_and(|s| s.ttl.is_some()), scaling::must_read(spec, &t))
        }
        Extras::All => (true, true, t.billing == Billing::Provisioned),
    };
    // Read only in case a scaler moved the capacity (the spec does not autoscale it): an endpoint
    // that serves no Application Auto Scaling (DynamoDB Local) has no scaler either.
    let scaling_optional = match extras {
        Extras::AsSpecSays(spec) => spec.is_none_or(|s| scaling::wanted(s).is_empty()) && !t.tags.contains_key(scaling::AUTOSCALE_TAG),
        Extras::All => true,
    };
    let pitr = read_if(pitr_needed, observe_pitr(ctx, name));
    let ttl = read_if(ttl_needed, ttl::observe(ctx, name));
    let scaled = async {
        match read_if(scaling_needed, scaling::observe(ctx, name, t.indexes.keys())).await {
            Err(e) if scaling_optional && scaling::unserved(&e) => {
                crate::log::debug(&format!("table {name}: the endpoint serves no Application Auto Scaling: its capacity is fixed"));
                Ok(None)
            }
            r => r,
        }
    };
    let (pitr, ttl, scaled) = tokio::try_join!(pitr, ttl, scaled)?;
    (t.pitr, t.ttl, t.scaling) = (pitr, ttl, scaled.unwrap_or_default());
    // The hint stands only for a table with nothing to change: any change (and the ownership
    // it depends on) is planned from the table's own tags, never from the Tagging API's copy,
    // which may still show a deleted table of the same name (rule 47).
    if let Some(h) = hint.filter(|_| hinted) {
        let (change, steps) = super::diff(name, h.spec, &h.want, Some(&t));
        if change.action != Action::NoOp || !steps.is_empty() {
            t.tags = observe_tags(ctx, name, &t.arn).await?;
        }
    }
    Ok(Some(t))
}

pub(super) async fn observe_tags(ctx: &AwsContext, name: &str, arn: &str) -> Result<BTreeMap<String, String>> {
    let mut tags = BTreeMap::new();
    let mut token = None;
    loop {
        let out = ctx
            .dynamodb
            .list_tags_of_resource()
            .resource_arn(arn)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| aws_error("DynamoDB", "ListTagsOfResource", name, e))?;
        // A later entry for the same key wins (the emulator can list a re-tagged key twice).
        for t in out.tags() {
            tags.insert(t.key.clone(), t.value.clone());
        }
        token = out.next_token;
        if token.is_none() {
            return Ok(tags);
        }
    }
}
