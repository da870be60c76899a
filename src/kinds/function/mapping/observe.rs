//! Reading a function's triggers: ListEventSourceMappings by its name and by its ARN, merged.

use anyhow::Result;

use super::flex::live_of;
use super::LiveMapping;
use crate::aws::{aws_error, AwsContext};

/// Every mapping of a function: listed by its name and by its ARN (a mapping made with one is
/// not always listed by the other), both at once.
pub(super) async fn observe_function(ctx: &AwsContext, name: &str) -> Result<Vec<LiveMapping>> {
    let by_arn = async {
        let id = ctx.identity().await?;
        list(ctx, &format!("arn:{}:lambda:{}:{}:function:{name}", id.partition, ctx.region, id.account_id)).await
    };
    let (mut all, more) = tokio::try_join!(by_arn, list(ctx, name))?;
    merge(&mut all, more);
    Ok(all)
}

/// Every mapping of a function, by its name or its ARN (a mapping made with one is not always
/// listed by the other, so observe lists both and merges them).
pub async fn list(ctx: &AwsContext, function: &str) -> Result<Vec<LiveMapping>> {
    let mut out = Vec::new();
    let mut marker = None;
    loop {
        let o = ctx
            .lambda
            .list_event_source_mappings()
            .function_name(function)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| aws_error("Lambda", "ListEventSourceMappings", function, e))?;
        out.extend(o.event_source_mappings().iter().map(live_of));
        marker = o.next_marker().map(str::to_string);
        if marker.is_none() {
            return Ok(out);
        }
    }
}

/// Adds the mappings of `more` not already in `all` (by UUID), keeping UUID order.
pub fn merge(all: &mut Vec<LiveMapping>, more: Vec<LiveMapping>) {
    for m in more {
        if !all.iter().any(|x| x.uuid == m.uuid) {
            all.push(m);
        }
    }
    all.sort_by(|a, b| a.uuid.cmp(&b.uuid));
}
