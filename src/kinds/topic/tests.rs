//! The topic's pure diff, without a network.

use std::collections::BTreeMap;

use super::diff::diff;
use super::*;
use crate::plan::Action;

fn sub(protocol: &str, endpoint: &str) -> Subscription {
    Subscription { protocol: protocol.into(), endpoint: endpoint.into() }
}

fn live(subs: &[(&str, &str, &str)]) -> LiveTopic {
    LiveTopic {
        name: "alerts".into(),
        arn: "arn:aws:sns:us-east-1:1:alerts".into(),
        subscriptions: subs
            .iter()
            .map(|(p, e, a)| LiveSubscription { protocol: p.to_string(), endpoint: e.to_string(), arn: a.to_string() })
            .collect(),
        tags: BTreeMap::new(),
    }
}

fn ops(steps: &[Step]) -> Vec<TopicOp> {
    steps.iter().map(|s| s.op.get::<TopicOp>().cloned().unwrap()).collect()
}

#[test]
fn a_new_topic_is_created_then_subscribed() {
    let (c, steps) = diff("alerts", &[sub("email", "ops@example.com")], &BTreeMap::new(), None);
    assert_eq!(c.action, Action::Create);
    assert!(matches!(&ops(&steps)[..], [TopicOp::Create { .. }, TopicOp::Subscribe { protocol, .. }] if protocol == "email"));
}

#[test]
fn subscriptions_are_a_set_and_a_pending_one_is_no_drift() {
    let want = [sub("email", "ops@example.com"), sub("sqs", "arn:aws:sqs:us-east-1:1:q")];
    // The same set in another order, the email one not confirmed yet: no change.
    let l = live(&[("sqs", "arn:aws:sqs:us-east-1:1:q", "arn:s1"), ("email", "ops@example.com", PENDING)]);
    let (c, steps) = diff("alerts", &want, &BTreeMap::new(), Some(&l));
    assert_eq!(c.action, Action::NoOp, "{:?}", c.diffs);
    assert!(steps.is_empty());
    // A confirmed one the spec dropped is unsubscribed; a pending one cannot be, and is left.
    let l = live(&[
        ("sqs", "arn:aws:sqs:us-east-1:1:q", "arn:s1"),
        ("email", "old@example.com", PENDING),
        ("email", "ops@example.com", "arn:s2"),
        ("https", "https://x", "arn:s3"),
    ]);
    let (c, steps) = diff("alerts", &want, &BTreeMap::new(), Some(&l));
    assert_eq!(c.diffs.iter().map(|d| d.path.as_str()).collect::<Vec<_>>(), ["subscriptions.https:https://x"]);
    assert_eq!(ops(&steps), [TopicOp::Unsubscribe { topic: "alerts".into(), arn: "arn:s3".into() }]);
}

#[test]
fn a_subscription_listed_as_deleted_is_neither_kept_nor_unsubscribed() {
    // Wanted: subscribed again. Not wanted: no Unsubscribe of `Deleted` (not an ARN).
    let t = live(&[("email", "a@example.com", "Deleted"), ("email", "b@example.com", "Deleted")]);
    let (change, steps) = diff("alerts", &[sub("email", "a@example.com")], &BTreeMap::new(), Some(&t));
    assert_eq!(change.action, Action::Update);
    assert_eq!(ops(&steps), [TopicOp::Subscribe { topic: "alerts".into(), protocol: "email".into(), endpoint: "a@example.com".into() }]);
}

#[test]
fn a_topic_whose_subscriptions_are_all_pending_tells_nobody() {
    use crate::status::Health;
    let pending = live(&[("email", "a@example.com", PENDING)]);
    let confirmed = live(&[("email", "a@example.com", "arn:aws:sns:us-east-1:1:alerts:1b2c")]);
    assert!(health::judge(Health::new("t"), 1, Some(&pending)).problems[0].contains("1 pending"));
    assert!(health::judge(Health::new("t"), 1, Some(&confirmed)).problems.is_empty());
    assert!(health::judge(Health::new("t"), 0, Some(&live(&[]))).problems.is_empty(), "nobody subscribed by the spec");
    assert!(!health::judge(Health::new("t"), 1, None).problems.is_empty());
}
