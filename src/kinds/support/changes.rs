//! The changes every kind plans the same way: a resource the spec dropped (deleted or
//! released), one forgotten, one destroyed, and the client token of a create.

use std::collections::BTreeMap;

use crate::plan::{ResourceChange, Step};
use crate::spec::Desired;

use super::ownership::{ours, owned, Owned, Tags, ON_REMOVAL_TAG, OWNERSHIP_TAGS};
use crate::kinds::{PlanContext, Planned};

/// A discovered resource's change: `deleted` by its steps, or released (when its tags say
/// `on_removal: retain`, `release` removes this stack's tags), marked as not in the spec.
pub fn orphan_change(
    address: String,
    desired: &Desired,
    tags: &BTreeMap<String, String>,
    delete: Vec<Step>,
    release: impl FnOnce(Vec<String>) -> Vec<Step>,
) -> Planned {
    use crate::plan::{Action, FieldDiff};
    let file = desired.spec_path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_else(|| "the spec".into());
    let retain = tags.get(ON_REMOVAL_TAG).map(String::as_str) == Some("retain");
    let (mut change, steps) = if retain {
        let (mut c, steps) = forget_change(&address, tags, release);
        c.reason = Some(format!("no longer in {file}; lifecycle.on_removal is retain: kept in place, no longer managed"));
        (c, steps)
    } else {
        let mut c = ResourceChange::new(&address, Action::Delete);
        c.diffs.push(FieldDiff::new("exists", true, false));
        c.reason = Some(format!("no longer in {file}"));
        (c, delete)
    };
    change.not_in_spec = true;
    Planned { change, steps, changes_references: Vec::new() }
}

/// The change of `forget`: this stack's ownership tags removed by `untag`, nothing else.
pub fn forget_change(
    address: &str,
    tags: &BTreeMap<String, String>,
    untag: impl FnOnce(Vec<String>) -> Vec<Step>,
) -> (ResourceChange, Vec<Step>) {
    use crate::plan::{Action, FieldDiff};
    let keys: Vec<String> = OWNERSHIP_TAGS.iter().filter(|k| tags.contains_key(**k)).map(|k| k.to_string()).collect();
    let mut c = ResourceChange::new(address, Action::Update);
    c.diffs = keys.iter().map(|k| FieldDiff::new(format!("tags.{k}"), &tags[k], None::<String>)).collect();
    c.reason = Some("forgotten: left in place, no longer managed by this stack".into());
    (c, untag(keys))
}

/// A destroy change: deleted by `steps`, up to date when there is nothing to delete, or left
/// alone for the reason given (not ours, protected).
pub fn destroy_change(address: String, steps: Vec<Step>, left_alone: Option<String>) -> (ResourceChange, Vec<Step>) {
    use crate::plan::{Action, FieldDiff};
    match left_alone {
        Some(why) => {
            let mut c = ResourceChange::new(address, Action::NoOp);
            c.reason = Some(why);
            (c, vec![])
        }
        None if steps.is_empty() => (ResourceChange::new(address, Action::NoOp), vec![]),
        None => {
            let mut c = ResourceChange::new(address, Action::Delete);
            c.diffs.push(FieldDiff::new("exists", true, false));
            (c, steps)
        }
    }
}

/// Why destroy leaves a resource someone else made.
pub const NOT_OURS: &str = "not tagged as made by this stack and env: left alone";

/// An idempotency token for a create: the same for every retry of one plan's step, new for
/// the next plan (EC2 remembers tokens, so a fixed one could return a deleted endpoint).
pub fn client_token(desired: &Desired, name: &str, observed_at: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{}/{}/{name}/{observed_at}", desired.stack, desired.env));
    crate::ids::hex(&digest[..16])
}

/// A destroy change of a resource found by name: nothing to do when it is not there, left alone
/// when this stack's env did not make it, else deleted by `steps`.
pub fn destroy_found(
    address: String,
    desired: &Desired,
    tags: Option<&Tags>,
    steps: impl FnOnce() -> Vec<Step>,
) -> (ResourceChange, Vec<Step>) {
    match tags {
        None => destroy_change(address, vec![], None),
        Some(t) if !ours(t, desired) => destroy_change(address, vec![], Some(NOT_OURS.into())),
        Some(_) => destroy_change(address, steps(), None),
    }
}

/// A kind's `prune`: every resource it discovered (one `T` per spec key) that carries this
/// env's marker and is not already going, deleted by `delete` (or released by `untag` when it
/// says `on_removal: retain`).
pub fn prune_owned<T: Owned + 'static>(
    cx: &PlanContext,
    kind: &str,
    delete: impl Fn(&str, &T) -> Vec<Step>,
    untag: impl Fn(&str, &T, Vec<String>) -> Vec<Step>,
) -> Vec<Planned> {
    let all = cx.live.orphans::<T>(kind).into_iter().flatten();
    all.filter(|(_, r)| owned(r.tags(), cx.desired) && !r.going())
        .map(|(key, r)| {
            let address = format!("{kind}.{key}");
            orphan_change(address.clone(), cx.desired, r.tags(), delete(&address, r), |remove| untag(&address, r, remove))
        })
        .collect()
}

/// A kind's `forget`: the resource at `address`, declared (`declared` finds its live value by
/// spec key) or discovered, when this stack's env made it; `untag` removes the ownership tags.
pub fn forget_found<'a, T: Owned + 'static>(
    cx: &PlanContext<'a>,
    kind: &str,
    address: &str,
    declared: impl FnOnce(&str) -> Option<&'a T>,
    untag: impl FnOnce(&T, Vec<String>) -> Vec<Step>,
) -> Option<(ResourceChange, Vec<Step>)> {
    let key = address.strip_prefix(&format!("{kind}."))?;
    let live: &'a crate::kinds::Live = cx.live;
    let r = declared(key).or_else(|| live.orphans::<T>(kind)?.get(key))?;
    ours(r.tags(), cx.desired).then(|| forget_change(address, r.tags(), |remove| untag(r, remove)))
}
