//! Reading a function's triggers: ListEventSourceMappings by its name, by its ARN and by each of
//! its aliases' ARNs (a trigger of a function deployed through an alias invokes the alias, and
//! AWS lists it only by that ARN), merged.

use anyhow::Result;

use super::flex::live_of;
use super::LiveMapping;
use crate::aws::{aws_error, AwsContext};

/// Every mapping of a function, on it or on any of its aliases: listed by its name, its ARN
/// and each alias's ARN, at once, and merged.
pub async fn list(ctx: &AwsContext, name: &str) -> Result<Vec<LiveMapping>> {
    let arn = async {
        let id = ctx.identity().await?;
        anyhow::Ok(format!("arn:{}:lambda:{}:{}:function:{name}", id.partition, ctx.region, id.account_id))
    };
    let (arn, aliases) = tokio::try_join!(arn, crate::kinds::function::deploy::aliases(ctx, name))?;
    let mut targets = vec![name.to_string(), arn.clone()];
    targets.extend(aliases.iter().map(|a| format!("{arn}:{}", a.name)));
    let lists = futures::future::try_join_all(targets.iter().map(|t| list_by(ctx, t))).await?;
    let mut all = Vec::new();
    for more in lists {
        merge(&mut all, more);
    }
    Ok(all)
}

/// The mappings ListEventSourceMappings gives for one function name or (qualified) ARN.
async fn list_by(ctx: &AwsContext, function: &str) -> Result<Vec<LiveMapping>> {
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
