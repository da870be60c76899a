//! `status` of the triggers: each one's state and its last batch's result (Lambda's
//! LastProcessingResult), and the depth of its on-failure queue.

use anyhow::Result;

use super::observe::list;
use super::{addresses, LiveMapping};
use crate::aws::AwsContext;
use crate::kinds::queue;
use crate::spec::Desired;
use crate::status::Health;

/// A trigger's queue by its AWS name: a queue of the spec, or an SQS ARN's (an SNS topic has no
/// depth).
fn queue_name(desired: &Desired, on_failure: &str) -> Option<String> {
    if desired.resources.queues.contains_key(on_failure) {
        return Some(desired.aws_name(on_failure));
    }
    (on_failure.split(':').nth(2) == Some("sqs")).then(|| on_failure.rsplit(':').next().unwrap_or(on_failure).to_string())
}

/// A trigger the spec enables is unhealthy when it is Disabled or Disabling (it delivers no
/// records; Creating, Enabling and Updating pass on their own, rule 36); any trigger, when its
/// last batch was a PROBLEM or its on-failure queue holds messages (a batch failed for good). One
/// the spec disables is not expected to deliver.
fn judge(mut h: Health, want_enabled: bool, m: Option<&LiveMapping>, depth: Option<i64>, queue: Option<&str>) -> Health {
    let Some(m) = m else { return h.problem("no trigger exists: apply makes it") };
    h = h.fact("uuid", &m.uuid).fact("state", &m.state).fact("last_processing_result", &m.last_processing_result);
    if want_enabled && matches!(m.state.as_str(), "Disabled" | "Disabling") {
        h = h.problem(format!("state {}: it delivers no records (the spec enables it; apply does)", m.state));
    }
    if let Some(r) = m.last_processing_result.as_deref().filter(|r| r.starts_with("PROBLEM")) {
        h = h.problem(format!("its last batch: {r}"));
    }
    if let (Some(q), Some(d)) = (queue, depth) {
        h = h.fact("queue", q).fact("queue_depth", d);
        if d > 0 {
            h = h.problem(format!("{d} failed batch(es) recorded in queue {q}: their records stay in the stream 24 h"));
        }
    }
    h
}

pub(super) async fn health(ctx: &AwsContext, desired: &Desired) -> Result<Vec<Health>> {
    let mut out = Vec::new();
    for (name, spec) in &desired.resources.functions {
        if spec.triggers.is_empty() {
            continue;
        }
        let mappings = list(ctx, &desired.aws_name(name)).await?;
        for (address, t) in addresses(name, spec).into_iter().zip(&spec.triggers) {
            let on_table = format!(":table/{}/stream/", desired.aws_name(&t.table));
            let m = mappings.iter().find(|m| !m.dying() && m.source_arn.contains(&on_table));
            let queue = t.on_failure.as_deref().and_then(|q| queue_name(desired, q));
            let depth = match &queue {
                Some(q) => queue::depth(ctx, q).await?,
                None => None,
            };
            out.push(judge(Health::new(address), t.enabled, m, depth, queue.as_deref()));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(state: &str, result: Option<&str>) -> LiveMapping {
        LiveMapping {
            uuid: "u".into(),
            qualifier: None,
            source_arn: "arn:aws:dynamodb:us-east-1:1:table/t/stream/s".into(),
            batch_size: Some(1),
            starting_position: Some("LATEST".into()),
            state: state.into(),
            report_batch_item_failures: true,
            tuning: super::super::Tuning::aws_default(),
            last_processing_result: result.map(str::to_string),
        }
    }

    #[test]
    fn a_trigger_is_healthy_enabled_with_a_good_last_batch_and_an_empty_queue() {
        let h = |m: &LiveMapping, d| judge(Health::new("m"), true, Some(m), Some(d), Some("q")).problems;
        assert!(h(&mapping("Enabled", Some("OK")), 0).is_empty());
        assert!(h(&mapping("Enabled", Some("No records processed")), 0).is_empty(), "a fresh trigger's");
        assert!(h(&mapping("Enabled", None), 0).is_empty());
        assert!(h(&mapping("Creating", None), 0).is_empty(), "settling on its own");
        assert!(h(&mapping("Updating", Some("OK")), 0).is_empty(), "settling on its own");
        assert!(h(&mapping("Disabled", Some("OK")), 0)[0].contains("state Disabled"));
        assert!(h(&mapping("Enabled", Some("PROBLEM: Function call failed")), 0)[0].contains("PROBLEM"));
        assert!(h(&mapping("Enabled", Some("OK")), 2)[0].contains("2 failed batch(es)"));
        assert_eq!(judge(Health::new("m"), true, None, None, None).problems, ["no trigger exists: apply makes it"]);
        // Disabled as the spec says: not a problem.
        assert!(judge(Health::new("m"), false, Some(&mapping("Disabled", None)), Some(0), Some("q")).problems.is_empty());
    }
}
