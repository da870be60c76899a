//! `import`: a live metric alarm written back as an `alarms:` entry (its topics by ARN; the
//! command turns the spec's own topics into their keys).

use anyhow::Result;

use super::flex::spec_of;
use super::observe;
use crate::aws::AwsContext;
use crate::kinds::support::import::{spec_value, user_tags};
use crate::kinds::{CannotSay, Imported};

pub(super) async fn import(ctx: &AwsContext, name: &str) -> Result<Option<Imported>> {
    let Some(a) = observe(ctx, name).await? else { return Ok(None) };
    let mut spec = spec_of(&a.config).map_err(|why| CannotSay { kind: super::KIND, name: name.to_string(), why })?;
    spec.tags = user_tags(&a.tags, &[]);
    let mut i = Imported::new("alarms", name, spec_value(&spec), a.tags.clone());
    for arn in &spec.notify {
        if let Some(topic) = arn
            .strip_prefix(&format!("arn:{}:sns:{}:", ctx.identity().await?.partition, ctx.region))
            .and_then(|r| r.split_once(':'))
            .map(|(_, n)| n)
        {
            i.follow.push(("topics", topic.to_string()));
        }
    }
    if !a.config.actions_enabled {
        i.notes.push(format!("alarm {name} has its actions turned off: the spec turns them on"));
    }
    Ok(Some(i))
}
