//! The pure diff of a queue: its settings (AWS's defaults where the spec says nothing) and tags.

use std::collections::BTreeMap;

use crate::plan::{Action, FieldDiff, ResourceChange, Step};
use crate::spec::QueueSpec;

use super::flex::{describe, encryption_attributes, wanted};
use super::{LiveQueue, QueueOp, KIND};

pub(super) fn step(address: &str, description: String, op: QueueOp) -> Step {
    Step::new(KIND, address, description, op)
}

/// The step that deletes a queue.
pub(super) fn delete(address: &str, q: &LiveQueue) -> Vec<Step> {
    vec![step(address, format!("delete queue {} (and the messages in it)", q.name), QueueOp::Delete { name: q.name.clone() })]
}

/// The step that removes this stack's tags from a queue.
pub(super) fn untag(address: &str, q: &LiveQueue, remove: Vec<String>) -> Vec<Step> {
    let op = QueueOp::Tag { name: q.name.clone(), set: BTreeMap::new(), remove };
    vec![step(address, format!("remove this stack's tags from queue {}", q.name), op)]
}

/// `tags`: the spec's tags resolved, with the tool's own.
pub fn diff(name: &str, spec: &QueueSpec, tags: &BTreeMap<String, String>, live: Option<&LiveQueue>) -> (ResourceChange, Vec<Step>) {
    let address = format!("{KIND}.{name}");
    let (retention, visibility, encryption) = wanted(spec);
    let Some(q) = live else {
        let mut change = ResourceChange::new(&address, Action::Create);
        change.diffs.push(FieldDiff::new("message_retention_s", None::<i64>, retention));
        change.diffs.push(FieldDiff::new("visibility_timeout_s", None::<i64>, visibility));
        change.diffs.push(FieldDiff::new("encryption", None::<String>, describe(&encryption)));
        let mut attributes = encryption_attributes(&encryption, None);
        attributes.insert("MessageRetentionPeriod".into(), retention.to_string());
        attributes.insert("VisibilityTimeout".into(), visibility.to_string());
        let op = QueueOp::Create { name: name.into(), attributes, tags: tags.clone() };
        return (change, vec![step(&address, format!("create queue {name}"), op)]);
    };
    let mut diffs = Vec::new();
    let mut attributes = BTreeMap::new();
    let unset = "not in the spec: back to AWS's default";
    if q.message_retention_s != retention {
        let d = FieldDiff::new("message_retention_s", q.message_retention_s, retention);
        diffs.push(if spec.message_retention_s.is_none() { d.note(unset) } else { d });
        attributes.insert("MessageRetentionPeriod".into(), retention.to_string());
    }
    if q.visibility_timeout_s != visibility {
        let d = FieldDiff::new("visibility_timeout_s", q.visibility_timeout_s, visibility);
        diffs.push(if spec.visibility_timeout_s.is_none() { d.note(unset) } else { d });
        attributes.insert("VisibilityTimeout".into(), visibility.to_string());
    }
    if q.encryption != encryption {
        let d = FieldDiff::new("encryption", describe(&q.encryption), describe(&encryption));
        diffs.push(if spec.encryption.is_none() { d.note(unset) } else { d });
        attributes.extend(encryption_attributes(&encryption, Some(&q.encryption)));
    }
    let mut steps = Vec::new();
    if !attributes.is_empty() {
        steps.push(step(
            &address,
            format!("update the attributes of queue {name}"),
            QueueOp::SetAttributes { name: name.into(), attributes },
        ));
    }
    let (tag_diffs, set, remove) = crate::plan::tag_delta(tags, &q.tags);
    diffs.extend(tag_diffs);
    if !set.is_empty() || !remove.is_empty() {
        steps.push(step(&address, format!("tag queue {name}"), QueueOp::Tag { name: name.into(), set, remove }));
    }
    let mut change = ResourceChange::new(&address, if diffs.is_empty() { Action::NoOp } else { Action::Update });
    change.diffs = diffs;
    (change, steps)
}
