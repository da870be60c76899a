//! Ownership without a state file: the tags the tool writes, the marker of a stack's env, and
//! what a resource's tags say about who owns it (adopt by name, block another env's, delete
//! only with the marker).

use std::collections::BTreeMap;

use crate::plan::{ResourceChange, Step};
use crate::spec::refs::RefContext;
use crate::spec::{Desired, Lifecycle, OnRemoval};

use crate::kinds::Planned;

/// The tags of a live resource (the ones it carries in AWS).
pub type Tags = BTreeMap<String, String>;

/// A live resource that carries tags: what ownership is decided by.
pub trait Owned {
    fn tags(&self) -> &Tags;

    /// Already on its way out (a table DELETING): neither pruned nor deleted again.
    fn going(&self) -> bool {
        false
    }
}

/// The ownership marker's tag: its value is [`owner_id`], a digest of the stack and env.
pub const OWNER_TAG: &str = "cruddur-infra:owner";

/// Set on a resource whose spec says `lifecycle.on_removal: retain`: read when the spec no
/// longer declares it.
pub const ON_REMOVAL_TAG: &str = "cruddur-infra:on-removal";

/// Names which endpoint of the spec a (nameless) gateway endpoint is.
pub const NAME_TAG: &str = "cruddur-infra:name";

/// Recorded on a table whose spec autoscales it, so that the next plan reads its scaling even
/// after the spec stops saying `autoscale` (and can deregister it). Without it, a table's
/// scaling is read only when its spec autoscales it or its capacity differs from the spec's.
pub const AUTOSCALE_TAG: &str = "cruddur-infra:autoscale";

/// The tags that say who owns a resource: `forget` removes them all.
pub const OWNERSHIP_TAGS: &[&str] =
    &["managed-by", "cruddur-infra:stack", "cruddur-infra:env", OWNER_TAG, ON_REMOVAL_TAG, NAME_TAG, AUTOSCALE_TAG];

/// The ownership marker of this stack's env (as Kubernetes ApplySets name their sets): a
/// versioned digest of stack and env, so that no hand-typed tag matches it by accident and
/// a resource tagged for another stack or env never does.
pub fn owner_id(desired: &Desired) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("cruddur-infra\0{}\0{}", desired.stack, desired.env));
    format!("v1-{}", crate::ids::hex(&digest[..16]))
}

/// The tags the tool puts on everything it manages, beside the user's own.
pub fn own_tags(desired: &Desired) -> BTreeMap<String, String> {
    let mut t = identity_tags(desired);
    t.insert(OWNER_TAG.to_string(), owner_id(desired));
    t
}

/// The readable tags naming this stack's env (resources made before the ownership marker
/// carry only these: they are still found by name, and gain the marker on the next apply).
pub fn identity_tags(desired: &Desired) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("managed-by".to_string(), "cruddur-infra".to_string()),
        ("cruddur-infra:stack".to_string(), desired.stack.clone()),
        ("cruddur-infra:env".to_string(), desired.env.clone()),
    ])
}

/// True when `tags` carry this stack env's ownership marker (and name it): only such a
/// resource is ever deleted or released without being declared.
pub fn owned(tags: &BTreeMap<String, String>, desired: &Desired) -> bool {
    ours(tags, desired) && tags.get(OWNER_TAG) == Some(&owner_id(desired))
}

/// True when `tags` say this stack's env made the resource.
pub fn ours(tags: &BTreeMap<String, String>, desired: &Desired) -> bool {
    // The readable tags only: a resource made before the marker existed is still ours.
    identity_tags(desired).iter().all(|(k, v)| tags.get(k) == Some(v))
}

/// The owner a resource's tags name, when it is another stack or env of this tool
/// ("stack cruddur, env local"). Untagged resources have none here (adopting them is import's
/// business).
pub fn other_owner(tags: &BTreeMap<String, String>, desired: &Desired) -> Option<String> {
    if tags.get("managed-by").map(String::as_str) != Some("cruddur-infra") {
        return None;
    }
    let stack = tags.get("cruddur-infra:stack").map(String::as_str).unwrap_or("?");
    let env = tags.get("cruddur-infra:env").map(String::as_str).unwrap_or("?");
    (stack != desired.stack || env != desired.env).then(|| format!("stack {stack}, env {env}"))
}

/// The user's tags with references resolved, and the tool's own.
pub fn resolved_tags(user: &BTreeMap<String, String>, desired: &Desired, refs: &RefContext) -> BTreeMap<String, String> {
    let mut tags = own_tags(desired);
    for (k, v) in user {
        tags.insert(k.clone(), refs.resolve(v).0);
    }
    tags
}

/// A resource's tags as apply writes them: the user's (references resolved), the tool's own,
/// and the `on_removal: retain` mark when its lifecycle says so.
pub fn spec_tags(user: &BTreeMap<String, String>, lifecycle: &Lifecycle, desired: &Desired, refs: &RefContext) -> Tags {
    let mut tags = resolved_tags(user, desired, refs);
    if lifecycle.on_removal == OnRemoval::Retain {
        tags.insert(ON_REMOVAL_TAG.into(), "retain".into());
    }
    tags
}

/// Whether any of these tags holds a `${...}` reference: a kind whose resources' ARNs are made
/// of their names needs the account id only then.
pub fn tags_refer<'a>(mut tags: impl Iterator<Item = &'a BTreeMap<String, String>>) -> bool {
    tags.any(|t| t.values().any(|v| v.contains("${")))
}

/// Blocks a planned change of a resource found by name that another stack or env owns: it
/// is never adopted, changed or deleted (no steps), and the plan names the owner.
pub fn block_if_owned_elsewhere(p: &mut Planned, tags: Option<&BTreeMap<String, String>>, desired: &Desired) {
    let Some(owner) = tags.and_then(|t| other_owner(t, desired)) else { return };
    let same_stack = tags.and_then(|t| t.get("cruddur-infra:stack")) == Some(&desired.stack);
    p.change.blocked = Some(if same_stack {
        format!(
            "owned by {owner}: env `{}` never adopts, changes or deletes it. To run both envs in one account, give this env \
             its own names (`name_suffix: -{}` under environments.{}), or use another account.",
            desired.env, desired.env, desired.env
        )
    } else {
        format!(
            "owned by {owner}: stack `{}` never adopts, changes or deletes it. Give this resource another name in this spec \
             (or this env a `name_suffix`), or use another account.",
            desired.stack
        )
    });
    p.steps.clear();
    p.changes_references.clear();
}

/// What a kind found by name planned: its pure diff (made with the AWS name, the env's
/// `name_suffix` included), addressed by the spec key, and blocked when the live resource's
/// tags name another stack or env.
pub fn found_by_name(
    kind: &str,
    key: &str,
    desired: &Desired,
    live_tags: Option<&BTreeMap<String, String>>,
    diff: (ResourceChange, Vec<Step>),
) -> Planned {
    let mut p = Planned::new(readdress(diff, &format!("{kind}.{key}")));
    block_if_owned_elsewhere(&mut p, live_tags, desired);
    p
}

/// A kind's pure diff made with a resource's AWS name, addressed by its spec key.
pub fn readdress((mut change, mut steps): (ResourceChange, Vec<Step>), address: &str) -> (ResourceChange, Vec<Step>) {
    if change.address != address {
        // Messages that name the address (`--allow-replace ADDRESS`) name the spec's.
        for text in [&mut change.reason, &mut change.blocked].into_iter().flatten() {
            *text = text.replace(&change.address, address);
        }
    }
    change.address = address.to_string();
    for s in &mut steps {
        s.address = address.to_string();
    }
    (change, steps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::ResourceChange;

    fn desired(stack: &str, env: &str) -> Desired {
        let doc = crate::spec::SpecDocument::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("infra.yaml")).unwrap();
        let (mut d, _) = doc.resolve("local").unwrap();
        (d.stack, d.env) = (stack.into(), env.into());
        d
    }

    #[test]
    fn the_marker_is_per_stack_and_env_and_deletion_needs_it() {
        let (a, b, c) = (desired("s", "dev"), desired("s", "prod"), desired("t", "dev"));
        assert_ne!(owner_id(&a), owner_id(&b));
        assert_ne!(owner_id(&a), owner_id(&c));
        assert!(owner_id(&a).starts_with("v1-") && owner_id(&a).len() == 35);
        let readable = identity_tags(&a);
        assert!(ours(&readable, &a) && !owned(&readable, &a), "readable tags alone never allow a prune");
        assert!(owned(&own_tags(&a), &a) && !owned(&own_tags(&a), &b) && !owned(&own_tags(&c), &a));
    }

    #[test]
    fn a_resource_of_another_stack_or_env_is_blocked_with_the_right_advice() {
        let me = desired("s", "dev");
        let mut p = Planned::new((ResourceChange::new("dynamodb_table.t", crate::plan::Action::Update), vec![]));
        block_if_owned_elsewhere(&mut p, Some(&own_tags(&desired("s", "prod"))), &me);
        assert!(p.change.blocked.as_deref().unwrap().contains("name_suffix: -dev"), "{:?}", p.change.blocked);
        let mut p = Planned::new((ResourceChange::new("dynamodb_table.t", crate::plan::Action::Update), vec![]));
        block_if_owned_elsewhere(&mut p, Some(&own_tags(&desired("other", "dev"))), &me);
        let b = p.change.blocked.unwrap();
        assert!(b.contains("owned by stack other, env dev") && b.contains("another name in this spec"), "{b}");
    }
}
