//! The pure diff of a table, in the order AWS allows (rules 1–5 of docs/aws-behaviour.md):
//! protection, point-in-time recovery, storage, time to live, index deletes (one at a time),
//! billing and throughput (only what differs), the stream (never with another change), index
//! creates (one at a time), scaling, tags.

use std::collections::{BTreeMap, BTreeSet};

use crate::plan::{Action, FieldDiff, ResourceChange, Step};
use crate::spec::{AttrType, Billing, Capacity, GsiSpec, KeySpec, Projection, StreamView, TableSpec};

use super::scaling::{self, Dim, LiveScaling};
use super::{storage, ttl, LiveIndex, LivePitr, LiveTable, TableOp, KIND};
use crate::kinds::Planned;

pub(super) fn step(address: &str, description: String, op: TableOp) -> Step {
    Step::new(KIND, address, description, op)
}

pub(super) fn wait_step(address: &str, name: &str) -> Step {
    step(address, format!("wait until table {name} and its indexes are ACTIVE"), TableOp::WaitActive { name: name.into() })
}

pub(super) fn key_str(k: &Option<KeySpec>) -> Option<String> {
    k.as_ref().map(|k| k.to_string())
}

/// The attributes the table needs for its keys and the given indexes.
pub(super) fn attributes<'a>(spec: &TableSpec, indexes: impl Iterator<Item = &'a GsiSpec>) -> BTreeMap<String, AttrType> {
    let mut out = BTreeMap::new();
    let mut add = |k: &KeySpec| {
        out.insert(k.name.clone(), k.ty);
    };
    add(&spec.partition_key);
    if let Some(s) = &spec.sort_key {
        add(s);
    }
    for g in indexes {
        add(&g.partition_key);
        if let Some(s) = &g.sort_key {
            add(s);
        }
    }
    out
}

/// Why an existing index must be rebuilt to match the spec, if it must.
pub(super) fn index_rebuild_reason(want: &GsiSpec, live: &LiveIndex) -> Option<String> {
    if want.partition_key != live.partition_key || want.sort_key != live.sort_key {
        return Some("its key schema changed".into());
    }
    let norm = |p: &Projection| match p {
        Projection::Include(a) => {
            let mut a = a.clone();
            a.sort();
            Projection::Include(a)
        }
        other => other.clone(),
    };
    if norm(&want.projection) != norm(&live.projection) {
        return Some("its projection changed".into());
    }
    None
}

pub(super) fn capacity_diffs(prefix: &str, before: Option<Capacity>, after: Option<Capacity>, out: &mut Vec<FieldDiff>) {
    let b = before.map(|c| (c.read, c.write));
    let a = after.map(|c| (c.read, c.write));
    if b.map(|x| x.0) != a.map(|x| x.0) {
        out.push(FieldDiff::new(format!("{prefix}read_capacity"), b.map(|x| x.0), a.map(|x| x.0)));
    }
    if b.map(|x| x.1) != a.map(|x| x.1) {
        out.push(FieldDiff::new(format!("{prefix}write_capacity"), b.map(|x| x.1), a.map(|x| x.1)));
    }
}

/// The throughput update one capacity needs (None: none). Autoscaled, the live units stay
/// where the scaler put them unless they are outside [min, max]; fixed, they are the spec's. A
/// billing switch sends the spec's units (the starting values) for the table and every index.
pub(super) fn capacity_update(
    prefix: &str,
    spec: &Capacity,
    live: &Capacity,
    switching: bool,
    diffs: &mut Vec<FieldDiff>,
) -> Option<Capacity> {
    if switching {
        capacity_diffs(prefix, None, Some(*spec), diffs);
        return Some(Capacity::new(spec.read, spec.write));
    }
    let (read, read_note) = scaling::effective(Dim::Read, spec, live);
    let (write, write_note) = scaling::effective(Dim::Write, spec, live);
    for (field, before, after, note) in [("read", live.read, read, read_note), ("write", live.write, write, write_note)] {
        if before != after {
            let d = FieldDiff::new(format!("{prefix}{field}_capacity"), before, after);
            diffs.push(match note {
                Some(n) => d.note(n),
                None => d,
            });
        }
    }
    ((read, write) != live.units()).then(|| Capacity::new(read, write))
}

/// Point-in-time recovery as the spec says, when it says (None: not managed). `live` None: a
/// new table (off). `true` keeps whatever period the table has; a period is compared.
pub(super) fn pitr_steps(address: &str, name: &str, spec: &TableSpec, live: Option<LivePitr>, diffs: &mut Vec<FieldDiff>) -> Vec<Step> {
    let Some(want) = spec.point_in_time_recovery else { return Vec::new() };
    let have = live.unwrap_or(LivePitr { enabled: false, recovery_period_days: None });
    let same = have.enabled == want.enabled() && (!want.enabled() || want.days().is_none() || want.days() == have.recovery_period_days);
    if same {
        return Vec::new();
    }
    let before = match (have.enabled, have.recovery_period_days) {
        (false, _) => serde_json::json!(false),
        (true, Some(d)) if want.days().is_some() => serde_json::json!({ "recovery_period_days": d }),
        (true, _) => serde_json::json!(true),
    };
    let mut d = FieldDiff::new("point_in_time_recovery", before, serde_json::to_value(want).unwrap_or_default());
    if have.enabled && !want.enabled() {
        d = d.note("point-in-time recovery is turned off: the table can no longer be restored to a moment before now");
    }
    diffs.push(d);
    let what = match (want.enabled(), want.days()) {
        (false, _) => "turn off".to_string(),
        (true, Some(days)) => format!("turn on ({days} days)"),
        (true, None) => "turn on".to_string(),
    };
    vec![step(
        address,
        format!("{what} point-in-time recovery of table {name}"),
        TableOp::SetPitr { name: name.into(), enabled: want.enabled(), recovery_period_days: want.days() },
    )]
}

/// The step that deregisters one live scaling.
pub(super) fn deregister_step(address: &str, name: &str, s: &LiveScaling) -> Step {
    step(
        address,
        format!("deregister the autoscaling of {}", scaled(name, s.index.as_deref(), s.dim)),
        TableOp::DeregisterScaling { name: name.into(), index: s.index.clone(), dimension: s.dim },
    )
}

/// `table T read capacity`, `index I of table T write capacity`.
pub(super) fn scaled(name: &str, index: Option<&str>, dim: Dim) -> String {
    let what = if dim == Dim::Read { "read" } else { "write" };
    match index {
        None => format!("table {name} {what} capacity"),
        Some(i) => format!("index {i} of table {name} {what} capacity"),
    }
}

/// The registrations and policies the spec's scaling needs, given the live table (None: a table
/// about to be created). An index rebuilt lost its targets (deregistered before it was
/// deleted): they are registered again, and the diff says only what really changes.
pub(super) fn register_steps(
    address: &str,
    name: &str,
    spec: &TableSpec,
    live: Option<&LiveTable>,
    rebuilt: &BTreeSet<String>,
    diffs: &mut Vec<FieldDiff>,
) -> Vec<Step> {
    let mut steps = Vec::new();
    for ((index, dim), want) in scaling::wanted(spec) {
        let i = index.as_deref();
        let current = live.and_then(|t| t.scaling.iter().find(|s| s.index == index && s.dim == dim));
        let (mut register, mut put, diff) = scaling::to_register(i, dim, &want, current);
        diffs.extend(diff);
        if index.as_ref().is_some_and(|i| rebuilt.contains(i)) {
            (register, put) = (true, true);
        }
        if register {
            steps.push(step(
                address,
                format!("register the autoscaling of {} ({}..{})", scaled(name, i, dim), want.min, want.max),
                TableOp::RegisterScaling { name: name.into(), index: index.clone(), dimension: dim, min: want.min, max: want.max },
            ));
        }
        if put {
            let policy = current.and_then(|c| c.policy.clone()).unwrap_or_else(|| scaling::policy_name(name, i, dim));
            steps.push(step(
                address,
                format!("set the target-tracking policy of {} to {} %", scaled(name, i, dim), want.target_utilization),
                TableOp::PutScalingPolicy {
                    name: name.into(),
                    index: index.clone(),
                    dimension: dim,
                    policy,
                    target_utilization: want.target_utilization,
                },
            ));
        }
    }
    steps
}

pub(super) fn index_value(g: &GsiSpec) -> serde_json::Value {
    serde_json::to_value(g).unwrap_or_default()
}

/// The steps that make a table as the spec says, with what a new table gets once it is ACTIVE
/// (point-in-time recovery, time to live, scaling): for a create and a replacement alike. Their
/// field diffs go to `diffs`.
pub(super) fn create_steps(
    address: &str,
    name: &str,
    spec: &TableSpec,
    tags: &BTreeMap<String, String>,
    diffs: &mut Vec<FieldDiff>,
) -> Vec<Step> {
    let create = TableOp::CreateTable { name: name.into(), spec: spec.clone(), tags: tags.clone() };
    let mut steps = vec![step(address, format!("create table {name}"), create), wait_step(address, name)];
    if !tags.is_empty() {
        let op = TableOp::WaitTags { name: name.into(), tags: tags.clone() };
        steps.push(step(address, format!("wait until the tags of table {name} show"), op));
    }
    steps.extend(pitr_steps(address, name, spec, None, diffs));
    steps.extend(ttl::steps(address, name, spec, None, diffs).0);
    steps.extend(register_steps(address, name, spec, None, &BTreeSet::new(), diffs));
    steps
}

/// Diffs one table. `tags` are the desired tags with the tool's own tags added and
/// references resolved.
pub fn diff(name: &str, spec: &TableSpec, tags: &BTreeMap<String, String>, live: Option<&LiveTable>) -> (ResourceChange, Vec<Step>) {
    let address = format!("{KIND}.{name}");
    let Some(live) = live else {
        let mut change = ResourceChange::new(&address, Action::Create);
        let d = &mut change.diffs;
        d.push(FieldDiff::new("partition_key", None::<String>, spec.partition_key.to_string()));
        if spec.sort_key.is_some() {
            d.push(FieldDiff::new("sort_key", None::<String>, key_str(&spec.sort_key)));
        }
        d.push(FieldDiff::new("billing", None::<Billing>, spec.billing));
        if spec.billing == Billing::Provisioned {
            capacity_diffs("", None, spec.capacity, d);
        }
        for (iname, g) in &spec.global_secondary_indexes {
            d.push(FieldDiff::new(format!("global_secondary_indexes.{iname}"), None::<String>, index_value(g)));
        }
        d.push(FieldDiff::new("stream", None::<String>, spec.stream));
        d.push(FieldDiff::new("deletion_protection", None::<bool>, spec.deletion_protection));
        for (k, v) in tags {
            d.push(FieldDiff::new(format!("tags.{k}"), None::<String>, v));
        }
        storage::create_diffs(spec, d);
        let steps = create_steps(&address, name, spec, tags, d);
        return (change, steps);
    };

    // Replacement: the key schema of a table cannot change in place.
    let mut key_diffs = Vec::new();
    if spec.partition_key != live.partition_key {
        key_diffs.push(
            FieldDiff::new("partition_key", live.partition_key.to_string(), spec.partition_key.to_string()).note("forces replacement"),
        );
    }
    if spec.sort_key != live.sort_key {
        key_diffs.push(FieldDiff::new("sort_key", key_str(&live.sort_key), key_str(&spec.sort_key)).note("forces replacement"));
    }
    if !key_diffs.is_empty() {
        let mut change = ResourceChange::new(&address, Action::Replace);
        change.diffs = key_diffs;
        change.destructive = true;
        change.reason = Some(format!(
            "DynamoDB cannot change a table's key schema in place: table {name} must be deleted and created again, \
             which destroys all of its items. apply refuses unless run with --allow-data-loss {address}"
        ));
        if live.deletion_protection {
            change.blocked = Some(format!(
                "table {name} has deletion protection on; it is never deleted. To replace it, first apply \
                 `deletion_protection: false` for it, then apply the key change with --allow-data-loss {address}"
            ));
        }
        let mut steps = delete_steps(&address, live);
        // The new table gets everything a created one gets (its point-in-time recovery and time
        // to live included): its diffs are the keys', the rest is as the spec says.
        steps.extend(create_steps(&address, name, spec, tags, &mut Vec::new()));
        return (change, steps);
    }

    let mut diffs = Vec::new();
    let mut steps = Vec::new();

    // 1. Deletion protection first: turning it on early is the safe order.
    if spec.deletion_protection != live.deletion_protection {
        diffs.push(FieldDiff::new("deletion_protection", live.deletion_protection, spec.deletion_protection));
        steps.push(step(
            &address,
            format!("{} deletion protection of table {name}", if spec.deletion_protection { "turn on" } else { "turn off" }),
            TableOp::SetDeletionProtection { name: name.into(), enabled: spec.deletion_protection },
        ));
        steps.push(wait_step(&address, name));
    }

    // 1b. Point-in-time recovery, when the spec manages it: another API, on an ACTIVE table.
    steps.extend(pitr_steps(&address, name, spec, live.pitr, &mut diffs));

    // 1b'. Encryption and table class, when the spec manages them: one UpdateTable each, waiting
    //      after each (the table is UPDATING meanwhile).
    steps.extend(storage::steps(&address, name, spec, live, &mut diffs));

    // 1c. Time to live, when the spec manages it: once an hour at most (rule 18).
    let (ttl_steps, ttl_blocked) = ttl::steps(&address, name, spec, live.ttl.as_ref(), &mut diffs);
    steps.extend(ttl_steps);

    // 2. Index deletes, one per UpdateTable, waiting after each (rule 1), after the scaling
    //    that goes (2a, inserted here once the rebuilt indexes are known).
    let deregister_at = steps.len();
    let mut rebuilt = BTreeSet::new();
    for (iname, li) in &live.indexes {
        let path = format!("global_secondary_indexes.{iname}");
        match spec.global_secondary_indexes.get(iname) {
            None => {
                diffs.push(FieldDiff::new(&path, serde_json::to_value(li).unwrap_or_default(), None::<String>));
                steps.push(step(
                    &address,
                    format!("delete index {iname} of table {name}"),
                    TableOp::DeleteIndex { name: name.into(), index: iname.clone() },
                ));
                steps.push(wait_step(&address, name));
            }
            Some(want) => {
                if let Some(why) = index_rebuild_reason(want, li) {
                    let before =
                        serde_json::json!({"partition_key": li.partition_key, "sort_key": li.sort_key, "projection": li.projection});
                    let after =
                        serde_json::json!({"partition_key": want.partition_key, "sort_key": want.sort_key, "projection": want.projection});
                    diffs.push(FieldDiff::new(&path, before, after).note(format!(
                        "index is rebuilt because {why}: deleted, then created again; queries on it fail until it is ACTIVE"
                    )));
                    rebuilt.insert(iname.clone());
                    steps.push(step(
                        &address,
                        format!("delete index {iname} of table {name} (to rebuild it)"),
                        TableOp::DeleteIndex { name: name.into(), index: iname.clone() },
                    ));
                    steps.push(wait_step(&address, name));
                }
            }
        }
    }
    let surviving: Vec<&String> =
        live.indexes.keys().filter(|i| spec.global_secondary_indexes.contains_key(*i) && !rebuilt.contains(*i)).collect();

    // 2a. Scaling that goes: before its index is deleted or rebuilt, before a billing switch,
    //     and before the throughput is pinned back to the spec's value (rule 23).
    let wanted = scaling::wanted(spec);
    let mut deregister = Vec::new();
    for s in &live.scaling {
        let index_gone = s.index.as_ref().is_some_and(|i| !spec.global_secondary_indexes.contains_key(i));
        let keep = !index_gone && wanted.contains_key(&(s.index.clone(), s.dim));
        if keep && s.index.as_ref().is_some_and(|i| rebuilt.contains(i)) {
            // Registered again once the new index is ACTIVE (5b); the diff is there.
            deregister.push(deregister_step(&address, name, s));
        } else if !keep {
            let why = if index_gone {
                "deregistered before its index is deleted"
            } else if spec.billing == Billing::OnDemand {
                "an on-demand table has no provisioned capacity to scale"
            } else {
                "no longer autoscaled: the capacity goes back to the spec's value"
            };
            diffs.push(scaling::removed(s, Some(why)));
            deregister.push(deregister_step(&address, name, s));
        }
    }
    steps.splice(deregister_at..deregister_at, deregister);

    // 3. Billing and throughput: one call with only what differs (rule 2).
    let mut billing_change = None;
    let mut table_cap = None;
    let mut index_caps = BTreeMap::new();
    if spec.billing != live.billing {
        diffs.push(
            FieldDiff::new("billing", live.billing, spec.billing)
                .note("AWS allows a billing-mode switch only a limited number of times per day"),
        );
        billing_change = Some(spec.billing);
    }
    if spec.billing == Billing::Provisioned {
        let switching = billing_change.is_some();
        let want = spec.capacity.unwrap_or(Capacity::new(1, 1));
        table_cap = capacity_update("", &want, &live.capacity, switching, &mut diffs);
        for iname in &surviving {
            let wantg = spec.global_secondary_indexes[*iname].capacity.unwrap_or(Capacity::new(1, 1));
            let prefix = format!("global_secondary_indexes.{iname}.");
            if let Some(c) = capacity_update(&prefix, &wantg, &live.indexes[*iname].capacity, switching, &mut diffs) {
                index_caps.insert((*iname).clone(), c);
            }
        }
    }
    if billing_change.is_some() || table_cap.is_some() || !index_caps.is_empty() {
        let mut what = Vec::new();
        if let Some(b) = billing_change {
            what.push(format!("billing to {}", serde_json::to_value(b).unwrap_or_default().as_str().unwrap_or("")));
        }
        if let Some(c) = table_cap {
            what.push(format!("table capacity to {}/{}", c.read, c.write));
        }
        for (i, c) in &index_caps {
            what.push(format!("index {i} capacity to {}/{}", c.read, c.write));
        }
        steps.push(step(
            &address,
            format!("update table {name}: {}", what.join(", ")),
            TableOp::UpdateThroughput { name: name.into(), billing: billing_change, table: table_cap, indexes: index_caps },
        ));
        steps.push(wait_step(&address, name));
    }

    // 4. Stream: never combined with another change; a view change is disable → wait → enable.
    if spec.stream != live.stream {
        let mut d = FieldDiff::new("stream", live.stream, spec.stream);
        if live.stream != StreamView::Off {
            d = d.note(if spec.stream == StreamView::Off {
                "the stream is disabled: records not yet read are lost, and its triggers stop".to_string()
            } else {
                "the view type cannot change in place: the stream is disabled and enabled again, which gives a new \
                 stream ARN; records not yet read are lost and event source mappings on the old stream are replaced"
                    .to_string()
            });
        }
        diffs.push(d);
        if live.stream != StreamView::Off {
            steps.push(step(&address, format!("disable the stream of table {name}"), TableOp::DisableStream { name: name.into() }));
            steps.push(wait_step(&address, name));
        }
        if spec.stream != StreamView::Off {
            steps.push(step(
                &address,
                format!(
                    "enable the stream of table {name} ({})",
                    serde_json::to_value(spec.stream).unwrap_or_default().as_str().unwrap_or("")
                ),
                TableOp::EnableStream { name: name.into(), view: spec.stream },
            ));
            steps.push(wait_step(&address, name));
        }
    }

    // 5. Index creates, one per UpdateTable, waiting after each (rule 1).
    let mut present: Vec<&GsiSpec> = surviving.iter().map(|i| &spec.global_secondary_indexes[*i]).collect();
    for (iname, g) in &spec.global_secondary_indexes {
        let new = !live.indexes.contains_key(iname);
        if !new && !rebuilt.contains(iname) {
            continue;
        }
        if new {
            diffs.push(FieldDiff::new(format!("global_secondary_indexes.{iname}"), None::<String>, index_value(g)));
        }
        present.push(g);
        steps.push(step(
            &address,
            format!("create index {iname} of table {name}"),
            TableOp::CreateIndex {
                name: name.into(),
                index: iname.clone(),
                spec: g.clone(),
                billing: spec.billing,
                attributes: attributes(spec, present.iter().copied()),
            },
        ));
        steps.push(wait_step(&address, name));
    }

    // 5b. Scaling that comes or changes: after the table and its new indexes are ACTIVE.
    steps.extend(register_steps(&address, name, spec, Some(live), &rebuilt, &mut diffs));

    // 6. Tags. Keys under `aws:` belong to AWS and are left alone.
    let (tag_diffs, set, remove) = crate::plan::tag_delta(tags, &live.tags);
    diffs.extend(tag_diffs);
    if !set.is_empty() || !remove.is_empty() {
        steps.push(step(&address, format!("update the tags of table {name}"), TableOp::Tag { name: name.into(), set, remove }));
    }

    let action = if diffs.is_empty() { Action::NoOp } else { Action::Update };
    let mut change = ResourceChange::new(&address, action);
    change.diffs = diffs;
    change.blocked = ttl_blocked;
    (change, steps)
}

/// The steps that delete a table: its scaling first (AWS keeps a deleted table's scalable
/// targets), then the table.
pub(super) fn delete_steps(address: &str, t: &LiveTable) -> Vec<Step> {
    let name = &t.name;
    let mut steps: Vec<Step> = t.scaling.iter().map(|s| deregister_step(address, name, s)).collect();
    steps.push(step(address, format!("delete table {name} (all items are lost)"), TableOp::DeleteTable { name: name.clone() }));
    steps.push(step(address, format!("wait until table {name} is deleted"), TableOp::WaitDeleted { name: name.clone() }));
    steps
}

/// A dropped table's deletion: destructive (it needs consent by name), and blocked while
/// deletion protection is on.
pub(super) fn guard_deletion(p: &mut Planned, t: &LiveTable) {
    p.change.destructive = true;
    if t.deletion_protection {
        p.change.blocked = Some(format!(
            "deletion protection is on: a protected table is never deleted. Turn protection off to delete it, or run \
             `cruddur-infra forget {}` to keep it and stop managing it.",
            p.change.address
        ));
        p.steps.clear();
    }
}

/// The step that removes this stack's tags from a table.
pub(super) fn untag(address: &str, t: &LiveTable, remove: Vec<String>) -> Vec<Step> {
    let op = TableOp::Tag { name: t.name.clone(), set: BTreeMap::new(), remove };
    vec![step(address, format!("remove this stack's tags from table {}", t.name), op)]
}
