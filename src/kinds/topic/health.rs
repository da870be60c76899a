//! `status` of the topics: an alarm that notifies a topic nobody has confirmed tells nobody.

use anyhow::Result;

use super::{observe, LiveTopic, KIND};
use crate::aws::AwsContext;
use crate::spec::Desired;
use crate::status::Health;

/// A topic is unhealthy when it is missing, or when the spec subscribes someone and no
/// subscription is confirmed yet (an email recipient confirms by a link; SNS deletes a
/// subscription left unconfirmed for 48 hours, rule 42).
pub(super) fn judge(mut h: Health, wanted: usize, t: Option<&LiveTopic>) -> Health {
    let Some(t) = t else { return h.problem("the topic does not exist: nobody would be told (apply makes it)") };
    let confirmed = t.subscriptions.iter().filter(|s| s.confirmed()).count();
    let pending = t.subscriptions.iter().filter(|s| s.pending()).count();
    h = h.fact("confirmed_subscriptions", confirmed).fact("pending_subscriptions", pending);
    if wanted > 0 && confirmed == 0 {
        h = h.problem(if pending > 0 {
            format!("no subscription is confirmed: alarms reach nobody until a recipient confirms ({pending} pending, deleted by SNS after 48 h unconfirmed)")
        } else {
            "no subscription is confirmed: alarms reach nobody".to_string()
        });
    }
    h
}

pub(super) async fn health(ctx: &AwsContext, desired: &Desired) -> Result<Vec<Health>> {
    let mut out = Vec::new();
    for (key, spec) in &desired.resources.topics {
        let live = observe(ctx, &desired.aws_name(key)).await?;
        out.push(judge(Health::new(format!("{KIND}.{key}")), spec.subscriptions.len(), live.as_ref()));
    }
    Ok(out)
}
