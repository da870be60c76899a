//! The pure diff of a topic: made with its tags, then its subscriptions as a set (by protocol
//! and endpoint); tags kept as the spec says.

use std::collections::BTreeMap;

use super::{LiveTopic, TopicOp, KIND};
use crate::plan::{Action, FieldDiff, ResourceChange, Step};
use crate::spec::Subscription;

fn step(address: &str, description: String, op: TopicOp) -> Step {
    Step::new(KIND, address, description, op)
}

/// The step that deletes a topic (its subscriptions go with it).
pub(super) fn delete(address: &str, t: &LiveTopic) -> Vec<Step> {
    vec![step(address, format!("delete topic {} (and its subscriptions)", t.name), TopicOp::Delete { name: t.name.clone() })]
}

/// The step that removes this stack's tags from a topic.
pub(super) fn untag(address: &str, t: &LiveTopic, remove: Vec<String>) -> Vec<Step> {
    let op = TopicOp::Tag { name: t.name.clone(), set: BTreeMap::new(), remove };
    vec![step(address, format!("remove this stack's tags from topic {}", t.name), op)]
}

fn shown(s: &Subscription) -> String {
    format!("{}:{}", s.protocol, s.endpoint)
}

/// `subscriptions`: the spec's, references resolved; `tags`: with the tool's own.
pub fn diff(
    name: &str,
    subscriptions: &[Subscription],
    tags: &BTreeMap<String, String>,
    live: Option<&LiveTopic>,
) -> (ResourceChange, Vec<Step>) {
    let address = format!("{KIND}.{name}");
    let subscribe = |s: &Subscription| {
        step(
            &address,
            format!("subscribe {} to topic {name}", shown(s)),
            TopicOp::Subscribe { topic: name.into(), protocol: s.protocol.clone(), endpoint: s.endpoint.clone() },
        )
    };
    let Some(t) = live else {
        let mut change = ResourceChange::new(&address, Action::Create);
        let mut steps = vec![step(&address, format!("create topic {name}"), TopicOp::Create { name: name.into(), tags: tags.clone() })];
        for (k, v) in tags {
            change.diffs.push(FieldDiff::new(format!("tags.{k}"), None::<String>, v));
        }
        for s in subscriptions {
            change.diffs.push(FieldDiff::new(format!("subscriptions.{}", shown(s)), None::<String>, "subscribed"));
            steps.push(subscribe(s));
        }
        return (change, steps);
    };
    let mut diffs = Vec::new();
    let mut steps = Vec::new();
    // A pending subscription counts (subscribing again only resends the confirmation); one
    // listed as `Deleted` does not.
    let has = |s: &Subscription| {
        t.subscriptions.iter().any(|l| (l.confirmed() || l.pending()) && l.protocol == s.protocol && l.endpoint == s.endpoint)
    };
    for s in subscriptions.iter().filter(|s| !has(s)) {
        diffs.push(FieldDiff::new(format!("subscriptions.{}", shown(s)), None::<String>, "subscribed"));
        steps.push(subscribe(s));
    }
    let wanted = |l: &super::LiveSubscription| subscriptions.iter().any(|s| l.protocol == s.protocol && l.endpoint == s.endpoint);
    for l in t.subscriptions.iter().filter(|l| !wanted(l)) {
        let path = format!("subscriptions.{}:{}", l.protocol, l.endpoint);
        if !l.confirmed() {
            // Pending: SNS cannot unsubscribe it, and deletes it itself if it stays unconfirmed
            // for 48 hours; `Deleted`: already gone, listed for a while. Not drift (rule 42).
            continue;
        }
        diffs.push(FieldDiff::new(path, "subscribed", None::<String>));
        steps.push(step(
            &address,
            format!("unsubscribe {}:{} from topic {name}", l.protocol, l.endpoint),
            TopicOp::Unsubscribe { topic: name.into(), arn: l.arn.clone() },
        ));
    }
    let (tag_diffs, set, remove) = crate::plan::tag_delta(tags, &t.tags);
    diffs.extend(tag_diffs);
    if !set.is_empty() || !remove.is_empty() {
        steps.push(step(&address, format!("update the tags of topic {name}"), TopicOp::Tag { name: name.into(), set, remove }));
    }
    let action = if diffs.is_empty() { Action::NoOp } else { Action::Update };
    let mut change = ResourceChange::new(&address, action);
    change.diffs = diffs;
    (change, steps)
}
