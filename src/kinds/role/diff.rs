//! The pure diff of a role: trust, description, inline and managed policies (compared by
//! meaning, broadening marked), tags; a role IAM cannot move is blocked.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{DesiredRole, LiveRole, RoleOp, KIND};
use crate::plan::{Action, FieldDiff, ResourceChange, Step};
use crate::policy;

pub(super) fn step(address: &str, description: String, op: RoleOp) -> Step {
    Step::new(KIND, address, description, op)
}

/// The step that deletes a role (its policies detached and deleted first).
pub(super) fn delete(address: &str, name: &str) -> Step {
    step(address, format!("delete role {name} and its policies"), RoleOp::DeleteRole { name: name.to_string() })
}

/// The step that removes this stack's tags from a role.
pub(super) fn untag(address: &str, r: &LiveRole, remove: Vec<String>) -> Vec<Step> {
    let op = RoleOp::Tag { name: r.name.clone(), set: BTreeMap::new(), remove };
    vec![step(address, format!("remove this stack's tags from role {}", r.name), op)]
}

pub(super) fn policy_diff(path: String, before: Option<&Value>, after: &Value) -> FieldDiff {
    let widen = policy::broadening(before, after);
    let d = FieldDiff::new(path, before.map(policy::normalize), policy::normalize(after));
    if widen.is_empty() {
        d
    } else {
        d.broadens(widen.join("; "))
    }
}

pub fn diff(name: &str, want: &DesiredRole, live: Option<&LiveRole>) -> (ResourceChange, Vec<Step>) {
    let address = format!("{KIND}.{name}");
    let mut diffs = Vec::new();
    let mut steps = Vec::new();
    let empty = LiveRole {
        name: name.into(),
        arn: String::new(),
        path: String::new(),
        trust: Value::Null,
        description: None,
        managed: BTreeSet::new(),
        inline: BTreeMap::new(),
        tags: BTreeMap::new(),
    };
    let action = if live.is_some() { Action::Update } else { Action::Create };
    let live_ref = live.unwrap_or(&empty);

    if live.is_none() {
        diffs.push(policy_diff("trust".into(), None, &want.trust));
        if let Some(d) = &want.description {
            diffs.push(FieldDiff::new("description", None::<String>, d));
        }
        steps.push(step(
            &address,
            format!("create role {name}"),
            RoleOp::CreateRole {
                name: name.into(),
                path: want.path.clone().unwrap_or_else(|| crate::spec::refs::ROLE_PATH.into()),
                trust: want.trust.clone(),
                description: want.description.clone(),
                tags: want.tags.clone(),
            },
        ));
        for (k, v) in &want.tags {
            diffs.push(FieldDiff::new(format!("tags.{k}"), None::<String>, v));
        }
    } else {
        if !policy::equivalent(&live_ref.trust, &want.trust) {
            diffs.push(policy_diff("trust".into(), Some(&live_ref.trust), &want.trust));
            steps.push(step(
                &address,
                format!("update the trust policy of role {name}"),
                RoleOp::UpdateTrust { name: name.into(), trust: want.trust.clone() },
            ));
        }
        if let Some(d) = &want.description {
            if live_ref.description.as_ref() != Some(d) {
                diffs.push(FieldDiff::new("description", &live_ref.description, d));
                steps.push(step(
                    &address,
                    format!("update the description of role {name}"),
                    RoleOp::UpdateDescription { name: name.into(), description: d.clone() },
                ));
            }
        }
    }

    // Inline policies: put new and changed ones, delete the ones the spec no longer has.
    for (p, doc) in &want.inline {
        let before = live_ref.inline.get(p);
        if before.is_some_and(|b| policy::equivalent(b, &doc.document)) {
            continue;
        }
        diffs.push(policy_diff(format!("inline_policies.{p}"), before, &doc.document));
        steps.push(step(
            &address,
            format!("put inline policy {p} on role {name}"),
            RoleOp::PutPolicy { name: name.into(), policy: p.clone(), document: doc.clone() },
        ));
    }
    for (p, doc) in &live_ref.inline {
        if !want.inline.contains_key(p) {
            diffs.push(FieldDiff::new(format!("inline_policies.{p}"), policy::normalize(doc), None::<String>));
            steps.push(step(
                &address,
                format!("delete inline policy {p} from role {name}"),
                RoleOp::DeletePolicy { name: name.into(), policy: p.clone() },
            ));
        }
    }

    // Managed policies: a set; attach and detach only the difference.
    for arn in want.managed.difference(&live_ref.managed) {
        diffs.push(FieldDiff::new(format!("managed_policies.{arn}"), None::<String>, "attached").broadens(format!("attaches {arn}")));
        steps.push(step(&address, format!("attach {arn} to role {name}"), RoleOp::Attach { name: name.into(), arn: arn.clone() }));
    }
    for arn in live_ref.managed.difference(&want.managed) {
        diffs.push(FieldDiff::new(format!("managed_policies.{arn}"), "attached", None::<String>));
        steps.push(step(&address, format!("detach {arn} from role {name}"), RoleOp::Detach { name: name.into(), arn: arn.clone() }));
    }

    if live.is_some() {
        let (tag_diffs, set, remove) = crate::plan::tag_delta(&want.tags, &live_ref.tags);
        diffs.extend(tag_diffs);
        if !set.is_empty() || !remove.is_empty() {
            steps.push(step(&address, format!("update the tags of role {name}"), RoleOp::Tag { name: name.into(), set, remove }));
        }
    }

    // IAM has no call that moves a role: a path the spec names that is not the role's own is
    // refused with the way out, never "fixed" by deleting the role.
    let moved = live.zip(want.path.as_ref()).filter(|(l, p)| &l.path != *p);
    if let Some((l, p)) = moved {
        diffs.insert(0, FieldDiff::new("path", &l.path, p));
    }
    let action = if diffs.is_empty() { Action::NoOp } else { action };
    let mut change = ResourceChange::new(&address, action);
    change.diffs = diffs;
    if let Some((l, p)) = moved {
        change.blocked = Some(format!(
            "role {name} lives at the IAM path {}, and IAM cannot move a role: write `path: {}` (or leave `path` out) \
             to keep it, or delete the role and apply to make it again under {p}",
            l.path, l.path
        ));
        return (change, Vec::new());
    }
    (change, steps)
}
