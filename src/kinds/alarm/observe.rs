//! Reading alarms: DescribeAlarms by name (support::cloudwatch::metric_alarms: up to 100 names a
//! call, one call for a whole stack), then each one's tags.

use std::collections::BTreeMap;

use anyhow::Result;

use super::flex::config_of;
use super::LiveAlarm;
use crate::aws::{aws_error, AwsContext};

/// The metric alarms of these names that exist, by name (without their tags).
pub async fn describe(ctx: &AwsContext, names: &[String]) -> Result<BTreeMap<String, LiveAlarm>> {
    let alarms = crate::kinds::support::cloudwatch::metric_alarms(ctx, names).await?;
    Ok(alarms
        .iter()
        .map(|a| {
            let name = a.alarm_name().unwrap_or_default().to_string();
            let live = LiveAlarm {
                name: name.clone(),
                arn: a.alarm_arn().unwrap_or_default().to_string(),
                config: config_of(a),
                state: a.state_value().map(|s| s.as_str().to_string()).unwrap_or_default(),
                tags: BTreeMap::new(),
            };
            (name, live)
        })
        .collect())
}

/// An alarm with its tags read (ListTagsForResource).
pub(super) async fn with_tags(ctx: &AwsContext, mut a: LiveAlarm) -> Result<LiveAlarm> {
    let out = ctx
        .cloudwatch
        .list_tags_for_resource()
        .resource_arn(&a.arn)
        .send()
        .await
        .map_err(|e| aws_error("CloudWatch", "ListTagsForResource", &a.name, e))?;
    a.tags = out.tags().iter().filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string()))).collect();
    Ok(a)
}

/// Reads one alarm by name, with its tags; None when it does not exist.
pub async fn observe(ctx: &AwsContext, name: &str) -> Result<Option<LiveAlarm>> {
    match describe(ctx, &[name.to_string()]).await?.remove(name) {
        Some(a) => with_tags(ctx, a).await.map(Some),
        None => Ok(None),
    }
}
