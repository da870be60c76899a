//! `import`: a live topic written back as spec, its subscriptions as a set, its ARN a reference.

use anyhow::Result;

use super::observe;
use crate::aws::AwsContext;
use crate::kinds::support::import::{spec_value, user_tags};
use crate::kinds::Imported;
use crate::spec::{Subscription, TopicSpec};

pub(super) async fn import(ctx: &AwsContext, name: &str) -> Result<Option<Imported>> {
    let Some(t) = observe(ctx, name).await? else { return Ok(None) };
    let retain = t.tags.get(crate::kinds::support::ownership::ON_REMOVAL_TAG).is_some_and(|v| v == "retain");
    let spec = TopicSpec {
        subscriptions: t
            .subscriptions
            .iter()
            .map(|s| Subscription { protocol: s.protocol.clone(), endpoint: s.endpoint.clone() })
            .collect(),
        lifecycle: crate::spec::Lifecycle {
            on_removal: if retain { crate::spec::OnRemoval::Retain } else { crate::spec::OnRemoval::Delete },
        },
        tags: user_tags(&t.tags, &[]),
    };
    let mut i = Imported::new("topics", name, spec_value(&spec), t.tags.clone());
    i.refs.push((t.arn.clone(), format!("${{topics.{name}.arn}}")));
    if t.subscriptions.iter().any(|s| s.pending()) {
        i.notes.push("a subscription is still pending confirmation: it is written as declared, and is no drift until confirmed".into());
    }
    Ok(Some(i))
}
