//! The table's pure diff, its refusals and import, without a network.

use std::collections::BTreeMap;

use super::diff::{delete_steps, diff};
use super::execute::{refusal, Refusal};
use super::import::spec_of;
use super::scaling::{self, Dim, LiveScaling};
use super::*;
use crate::plan::{Action, FieldDiff, ResourceChange, Step};
use crate::spec::{AttrType, Autoscale, Billing, Capacity, GsiSpec, KeySpec, Projection, StreamView, TableSpec};

fn key(n: &str) -> KeySpec {
    KeySpec { name: n.into(), ty: AttrType::S }
}

fn cap(r: i64, w: i64) -> Option<Capacity> {
    Some(Capacity::new(r, w))
}

fn gsi(pk: &str, c: Option<Capacity>) -> GsiSpec {
    GsiSpec { partition_key: key(pk), sort_key: Some(key("sk")), projection: Projection::All, capacity: c }
}

fn spec() -> TableSpec {
    TableSpec {
        sort_key: Some(key("sk")),
        billing: Billing::Provisioned,
        capacity: cap(5, 5),
        global_secondary_indexes: BTreeMap::from([("g1".to_string(), gsi("a", cap(5, 5)))]),
        stream: StreamView::NewImage,
        ..TableSpec::new(key("pk"))
    }
}

/// The spec switched to on-demand (no capacity anywhere).
fn on_demand() -> TableSpec {
    let mut s = spec();
    s.billing = Billing::OnDemand;
    s.capacity = None;
    s.global_secondary_indexes.get_mut("g1").unwrap().capacity = None;
    s
}

fn tags() -> BTreeMap<String, String> {
    BTreeMap::from([("managed-by".into(), "cruddur-infra".into())])
}

/// A table as AWS describes it after creating the tests' usual spec.
pub(super) fn live_table() -> LiveTable {
    live_of(&spec())
}

/// The table as AWS would describe it after creating `s`.
fn live_of(s: &TableSpec) -> LiveTable {
    LiveTable {
        name: "t".into(),
        arn: "arn:aws:dynamodb:us-east-1:1:table/t".into(),
        status: "ACTIVE".into(),
        partition_key: s.partition_key.clone(),
        sort_key: s.sort_key.clone(),
        billing: s.billing,
        capacity: s.capacity.unwrap_or(Capacity::new(0, 0)),
        indexes: s
            .global_secondary_indexes
            .iter()
            .map(|(n, g)| {
                (
                    n.clone(),
                    LiveIndex {
                        partition_key: g.partition_key.clone(),
                        sort_key: g.sort_key.clone(),
                        projection: g.projection.clone(),
                        capacity: g.capacity.unwrap_or(Capacity::new(0, 0)),
                        status: "ACTIVE".into(),
                    },
                )
            })
            .collect(),
        stream: s.stream,
        stream_arn: Some("arn:stream/1".into()),
        deletion_protection: s.deletion_protection,
        tags: tags(),
        pitr: None,
        ttl: None,
        kms_key: None,
        table_class: crate::spec::TableClass::Standard,
        scaling: vec![],
        size_bytes: 0,
    }
}

fn ops(steps: &[Step]) -> Vec<TableOp> {
    steps.iter().map(|s| s.op.get::<TableOp>().cloned().unwrap_or_else(|| panic!("not a table op: {:?}", s.op))).collect()
}

/// A compact view of the step sequence: op names, with the index for index ops.
fn shape(steps: &[Step]) -> Vec<String> {
    ops(steps)
        .iter()
        .map(|o| match o {
            TableOp::CreateIndex { index, .. } => format!("create_index {index}"),
            TableOp::DeleteIndex { index, .. } => format!("delete_index {index}"),
            other => serde_json::to_value(other).unwrap()["op"].as_str().unwrap().to_string(),
        })
        .collect()
}

#[test]
fn absent_table_is_created_then_waited_for() {
    let (c, steps) = diff("t", &spec(), &tags(), None);
    assert_eq!(c.action, Action::Create);
    assert_eq!(c.address, "dynamodb_table.t");
    assert_eq!(shape(&steps), ["create_table", "wait_active", "wait_tags"], "its tags show only a moment later (rule 33)");
    assert!(c.diffs.iter().any(|d| d.path == "global_secondary_indexes.g1" && d.before.is_null()));
}

#[test]
fn same_table_is_a_no_op_without_steps() {
    let s = spec();
    let (c, steps) = diff("t", &s, &tags(), Some(&live_of(&s)));
    assert_eq!(c.action, Action::NoOp);
    assert!(c.diffs.is_empty() && steps.is_empty());
}

fn auto(min: i64, max: i64, target: f64) -> Option<Autoscale> {
    Some(Autoscale { min, max, target_utilization: target })
}

/// The spec with the table and its index autoscaled 5..50 at 70 %.
fn scaled_spec() -> TableSpec {
    let mut s = spec();
    s.capacity.as_mut().unwrap().autoscale = auto(5, 50, 70.0);
    s.global_secondary_indexes.get_mut("g1").unwrap().capacity.as_mut().unwrap().autoscale = auto(5, 50, 70.0);
    s
}

/// The live table with `s`'s scaling registered as it says.
fn live_scaled(s: &TableSpec) -> LiveTable {
    let mut live = live_of(s);
    for ((index, dim), a) in scaling::wanted(s) {
        let policy = Some(scaling::policy_name("t", index.as_deref(), dim));
        live.scaling.push(LiveScaling { index, dim, min: a.min, max: a.max, target_utilization: Some(a.target_utilization), policy });
    }
    live
}

fn paths(c: &ResourceChange) -> Vec<&str> {
    c.diffs.iter().map(|d| d.path.as_str()).collect()
}

#[test]
fn scaled_capacity_within_the_range_is_in_sync_and_never_sent() {
    let s = scaled_spec();
    let mut live = live_scaled(&s);
    live.capacity = Capacity::new(50, 17);
    live.indexes.get_mut("g1").unwrap().capacity = Capacity::new(5, 33);
    let (c, steps) = diff("t", &s, &tags(), Some(&live));
    assert_eq!(c.action, Action::NoOp, "{:?}", c.diffs);
    assert!(steps.is_empty());
}

#[test]
fn scaled_capacity_outside_the_range_is_brought_to_the_nearest_bound_only() {
    let s = scaled_spec();
    let mut live = live_scaled(&s);
    live.capacity = Capacity::new(60, 20);
    live.indexes.get_mut("g1").unwrap().capacity = Capacity::new(3, 5);
    let (c, steps) = diff("t", &s, &tags(), Some(&live));
    assert_eq!(paths(&c), ["read_capacity", "global_secondary_indexes.g1.read_capacity"]);
    assert!(c.diffs[0].note.as_deref().unwrap_or("").contains("outside autoscale's 5..50"));
    assert_eq!(
        ops(&steps)[0],
        TableOp::UpdateThroughput {
            name: "t".into(),
            billing: None,
            table: cap(50, 20),
            indexes: BTreeMap::from([("g1".into(), Capacity::new(5, 5))])
        }
    );
    assert_eq!(shape(&steps), ["update_throughput", "wait_active"]);
}

#[test]
fn turning_autoscale_on_registers_targets_and_policies_without_touching_the_throughput() {
    let s = scaled_spec();
    let mut live = live_of(&spec());
    live.capacity = Capacity::new(7, 9);
    let (c, steps) = diff("t", &s, &tags(), Some(&live));
    assert_eq!(
        paths(&c),
        ["read_autoscale", "write_autoscale", "global_secondary_indexes.g1.read_autoscale", "global_secondary_indexes.g1.write_autoscale"]
    );
    assert!(c.diffs[0].before.is_null());
    assert_eq!(c.diffs[0].after, serde_json::json!({"min": 5, "max": 50, "target_utilization": 70.0}));
    assert_eq!(
        shape(&steps),
        [
            "register_scaling",
            "put_scaling_policy",
            "register_scaling",
            "put_scaling_policy",
            "register_scaling",
            "put_scaling_policy",
            "register_scaling",
            "put_scaling_policy"
        ]
    );
    assert_eq!(ops(&steps)[0], TableOp::RegisterScaling { name: "t".into(), index: None, dimension: Dim::Read, min: 5, max: 50 });
    assert_eq!(
        ops(&steps)[7],
        TableOp::PutScalingPolicy {
            name: "t".into(),
            index: Some("g1".into()),
            dimension: Dim::Write,
            policy: "DynamoDBWriteCapacityUtilization:table/t/index/g1".into(),
            target_utilization: 70.0
        }
    );
}

#[test]
fn a_new_range_re_registers_and_a_new_target_puts_the_policy_it_found() {
    let s = scaled_spec();
    let mut live = live_scaled(&s);
    live.scaling.iter_mut().for_each(|l| l.policy = Some("console-made".into()));
    let mut want = scaled_spec();
    want.capacity.as_mut().unwrap().autoscale = auto(5, 80, 70.0);
    want.global_secondary_indexes.get_mut("g1").unwrap().capacity.as_mut().unwrap().autoscale = auto(5, 50, 50.0);
    let (c, steps) = diff("t", &want, &tags(), Some(&live));
    assert_eq!(
        paths(&c),
        ["read_autoscale", "write_autoscale", "global_secondary_indexes.g1.read_autoscale", "global_secondary_indexes.g1.write_autoscale"]
    );
    assert_eq!(shape(&steps), ["register_scaling", "register_scaling", "put_scaling_policy", "put_scaling_policy"]);
    assert!(
        matches!(&ops(&steps)[2], TableOp::PutScalingPolicy { policy, target_utilization, .. } if policy == "console-made" && *target_utilization == 50.0)
    );
}

#[test]
fn turning_autoscale_off_deregisters_then_pins_the_spec_capacity() {
    let s = scaled_spec();
    let mut live = live_scaled(&s);
    live.capacity = Capacity::new(40, 12);
    let (c, steps) = diff("t", &spec(), &tags(), Some(&live));
    assert!(paths(&c).contains(&"read_autoscale") && paths(&c).contains(&"global_secondary_indexes.g1.write_autoscale"));
    assert!(c.diffs.iter().any(|d| d.path == "read_capacity" && d.before == 40 && d.after == 5));
    assert_eq!(
        shape(&steps),
        ["deregister_scaling", "deregister_scaling", "deregister_scaling", "deregister_scaling", "update_throughput", "wait_active"]
    );
}

#[test]
fn an_index_loses_its_targets_before_it_is_deleted_and_a_new_one_gets_them_once_active() {
    let s = scaled_spec();
    let live = live_scaled(&s);
    let mut want = scaled_spec();
    let g = want.global_secondary_indexes.remove("g1").unwrap();
    want.global_secondary_indexes.insert("g2".into(), GsiSpec { partition_key: key("b"), ..g });
    let (_, steps) = diff("t", &want, &tags(), Some(&live));
    assert_eq!(
        shape(&steps),
        [
            "deregister_scaling",
            "deregister_scaling",
            "delete_index g1",
            "wait_active",
            "create_index g2",
            "wait_active",
            "register_scaling",
            "put_scaling_policy",
            "register_scaling",
            "put_scaling_policy"
        ]
    );
    assert!(matches!(&ops(&steps)[0], TableOp::DeregisterScaling { index: Some(i), .. } if i == "g1"));
    assert!(matches!(&ops(&steps)[6], TableOp::RegisterScaling { index: Some(i), .. } if i == "g2"));

    // A rebuilt index is deregistered first and registered again after, with no diff of its own.
    let mut want = scaled_spec();
    want.global_secondary_indexes.get_mut("g1").unwrap().projection = Projection::KeysOnly;
    let (c, steps) = diff("t", &want, &tags(), Some(&live));
    assert_eq!(paths(&c), ["global_secondary_indexes.g1"]);
    assert_eq!(shape(&steps)[..3], ["deregister_scaling", "deregister_scaling", "delete_index g1"]);
    assert_eq!(
        shape(&steps)[4..],
        ["create_index g1", "wait_active", "register_scaling", "put_scaling_policy", "register_scaling", "put_scaling_policy"]
    );
}

#[test]
fn a_new_scaled_table_is_registered_after_it_is_active_and_deleting_deregisters_first() {
    let (c, steps) = diff("t", &scaled_spec(), &tags(), None);
    assert_eq!(shape(&steps)[..4], ["create_table", "wait_active", "wait_tags", "register_scaling"]);
    assert_eq!(steps.len(), 3 + 8);
    assert!(paths(&c).contains(&"global_secondary_indexes.g1.write_autoscale"));
    let live = live_scaled(&scaled_spec());
    assert_eq!(
        shape(&delete_steps("dynamodb_table.t", &live)),
        ["deregister_scaling"; 4].iter().copied().chain(["delete_table", "wait_deleted"]).collect::<Vec<_>>()
    );
}

#[test]
fn switching_to_on_demand_removes_the_scaling_first() {
    let live = live_scaled(&scaled_spec());
    let (c, steps) = diff("t", &on_demand(), &tags(), Some(&live));
    assert_eq!(
        shape(&steps)[..5],
        ["deregister_scaling", "deregister_scaling", "deregister_scaling", "deregister_scaling", "update_throughput"]
    );
    assert!(c.diffs.iter().any(|d| d.path == "read_autoscale" && d.note.as_deref().unwrap_or("").contains("on-demand")));
}

#[test]
fn import_writes_what_is_live_and_autoscale_only_where_the_short_form_says_it() {
    let mut live = live_scaled(&scaled_spec());
    live.capacity = Capacity::new(60, 9);
    live.tags.insert(scaling::AUTOSCALE_TAG.into(), "true".into());
    live.tags.insert("app".into(), "x".into());
    let (spec, comments, notes) = spec_of(&live);
    let c = spec.capacity.unwrap();
    assert_eq!((c.read, c.write, c.autoscale), (50, 9, auto(5, 50, 70.0)), "clamped into the range: a valid starting value");
    assert!(comments.contains_key("capacity") && comments.contains_key("global_secondary_indexes.g1.capacity"));
    assert!(notes.is_empty());
    assert_eq!(spec.tags, BTreeMap::from([("app".to_string(), "x".to_string())]), "the tool's own tags are not spec");
    // The imported spec of a live table, applied to it, changes nothing but the capacity clamped.
    let (change, _) = diff("t", &spec, &live.tags, Some(&live));
    assert_eq!(paths(&change), ["read_capacity"]);

    // Read and write scaled differently: the short form cannot say it, and import says so.
    live.scaling.retain(|s| !(s.index.is_none() && s.dim == Dim::Write));
    let (spec, _, notes) = spec_of(&live);
    assert_eq!(spec.capacity.unwrap().autoscale, None);
    assert!(notes.len() == 1 && notes[0].starts_with("the table: read and write are scaled differently"), "{notes:?}");
}

#[test]
fn point_in_time_recovery_is_managed_only_when_the_spec_says_it() {
    use crate::spec::Pitr;
    let mut live = live_of(&spec());
    // Not in the spec: not read, never changed.
    assert_eq!(diff("t", &spec(), &tags(), Some(&live)).0.action, Action::NoOp);
    let mut want = spec();
    want.point_in_time_recovery = Some(Pitr::Switch(true));
    live.pitr = Some(LivePitr { enabled: false, recovery_period_days: None });
    let (c, steps) = diff("t", &want, &tags(), Some(&live));
    assert_eq!(c.diffs, vec![FieldDiff::new("point_in_time_recovery", false, true)]);
    assert_eq!(ops(&steps), [TableOp::SetPitr { name: "t".into(), enabled: true, recovery_period_days: None }]);
    // `true` keeps whatever period it has; a period is compared.
    live.pitr = Some(LivePitr { enabled: true, recovery_period_days: Some(35) });
    assert_eq!(diff("t", &want, &tags(), Some(&live)).0.action, Action::NoOp);
    want.point_in_time_recovery = Some(Pitr::Period { recovery_period_days: 7 });
    let (c, steps) = diff("t", &want, &tags(), Some(&live));
    assert_eq!(c.diffs[0].before, serde_json::json!({"recovery_period_days": 35}));
    assert_eq!(ops(&steps), [TableOp::SetPitr { name: "t".into(), enabled: true, recovery_period_days: Some(7) }]);
    // Off says what is lost; a new table turns it on once ACTIVE.
    want.point_in_time_recovery = Some(Pitr::Switch(false));
    assert!(diff("t", &want, &tags(), Some(&live)).0.diffs[0].note.as_deref().unwrap_or("").contains("can no longer be restored"));
    want.point_in_time_recovery = Some(Pitr::Switch(true));
    assert_eq!(shape(&diff("t", &want, &tags(), None).1), ["create_table", "wait_active", "wait_tags", "set_pitr"]);
}

#[test]
fn scaling_is_read_only_when_it_can_matter() {
    let fixed = spec();
    let live = live_of(&fixed);
    assert!(!scaling::must_read(Some(&fixed), &live), "fixed capacity as the spec says: no request");
    assert!(!scaling::must_read(None, &live));
    assert!(scaling::must_read(Some(&scaled_spec()), &live));
    let mut moved = live.clone();
    moved.indexes.get_mut("g1").unwrap().capacity = Capacity::new(9, 5);
    assert!(scaling::must_read(Some(&fixed), &moved), "moved by someone: perhaps a scaler");
    let mut tagged = live.clone();
    tagged.tags.insert(scaling::AUTOSCALE_TAG.into(), "true".into());
    assert!(scaling::must_read(None, &tagged), "a dropped table the tool scaled");
    let mut on_demand = tagged;
    on_demand.billing = Billing::OnDemand;
    assert!(!scaling::must_read(Some(&scaled_spec()), &on_demand));
}

#[test]
fn throughput_sends_only_what_differs() {
    let live = live_of(&spec());
    let mut s = spec();
    s.capacity = cap(10, 5);
    let (c, steps) = diff("t", &s, &tags(), Some(&live));
    assert_eq!(c.action, Action::Update);
    assert_eq!(c.diffs, vec![FieldDiff::new("read_capacity", 5, 10)]);
    assert_eq!(ops(&steps)[0], TableOp::UpdateThroughput { name: "t".into(), billing: None, table: cap(10, 5), indexes: BTreeMap::new() });

    // Only the index's capacity: the table's is not sent.
    let mut s = spec();
    s.global_secondary_indexes.get_mut("g1").unwrap().capacity = cap(5, 7);
    let (c, steps) = diff("t", &s, &tags(), Some(&live));
    assert_eq!(c.diffs, vec![FieldDiff::new("global_secondary_indexes.g1.write_capacity", 5, 7)]);
    assert_eq!(
        ops(&steps)[0],
        TableOp::UpdateThroughput {
            name: "t".into(),
            billing: None,
            table: None,
            indexes: BTreeMap::from([("g1".into(), Capacity::new(5, 7))])
        }
    );
    assert_eq!(shape(&steps), ["update_throughput", "wait_active"]);
}

#[test]
fn index_churn_deletes_then_updates_then_creates_one_at_a_time() {
    let mut before = spec();
    before.global_secondary_indexes.insert("old".into(), gsi("o", cap(1, 1)));
    let live = live_of(&before);
    let mut s = spec();
    s.capacity = cap(6, 6);
    s.global_secondary_indexes.insert("new-a".into(), gsi("na", cap(2, 2)));
    s.global_secondary_indexes.insert("new-b".into(), gsi("nb", cap(3, 3)));
    let (c, steps) = diff("t", &s, &tags(), Some(&live));
    assert_eq!(c.action, Action::Update);
    assert_eq!(
        shape(&steps),
        [
            "delete_index old",
            "wait_active",
            "update_throughput",
            "wait_active",
            "create_index new-a",
            "wait_active",
            "create_index new-b",
            "wait_active"
        ]
    );
    // Each create sends every attribute the table needs by then (the first index's keys too).
    let TableOp::CreateIndex { attributes, .. } = &ops(&steps)[6] else { panic!() };
    let names: Vec<&str> = attributes.keys().map(String::as_str).collect();
    assert_eq!(names, ["a", "na", "nb", "pk", "sk"]);
    assert!(!attributes.contains_key("o"));
}

#[test]
fn index_with_new_projection_is_rebuilt_not_the_table() {
    let live = live_of(&spec());
    let mut s = spec();
    s.global_secondary_indexes.get_mut("g1").unwrap().projection = Projection::KeysOnly;
    let (c, steps) = diff("t", &s, &tags(), Some(&live));
    assert_eq!(c.action, Action::Update);
    assert!(c.diffs[0].note.as_deref().unwrap().contains("rebuilt"));
    assert_eq!(shape(&steps), ["delete_index g1", "wait_active", "create_index g1", "wait_active"]);
}

#[test]
fn stream_view_change_is_disable_wait_enable_and_says_the_arn_changes() {
    let live = live_of(&spec());
    let mut s = spec();
    s.stream = StreamView::NewAndOldImages;
    s.capacity = cap(9, 9);
    let (c, steps) = diff("t", &s, &tags(), Some(&live));
    assert_eq!(shape(&steps), ["update_throughput", "wait_active", "disable_stream", "wait_active", "enable_stream", "wait_active"]);
    let d = c.diffs.iter().find(|d| d.path == "stream").unwrap();
    assert!(d.note.as_deref().unwrap().contains("new stream ARN"));
    assert!(d.note.as_deref().unwrap().contains("lost"));

    let mut off = spec();
    off.stream = StreamView::Off;
    let (_, steps) = diff("t", &spec(), &tags(), Some(&live_of(&off)));
    assert_eq!(shape(&steps), ["enable_stream", "wait_active"]);
}

#[test]
fn key_change_is_a_destructive_replace_and_protection_blocks_it() {
    let live = live_of(&spec());
    let mut s = spec();
    s.sort_key = Some(KeySpec { name: "sk".into(), ty: AttrType::N });
    let (c, steps) = diff("t", &s, &tags(), Some(&live));
    assert_eq!(c.action, Action::Replace);
    assert!(c.destructive);
    assert!(c.reason.as_deref().unwrap().contains("--allow-data-loss dynamodb_table.t"));
    assert_eq!(c.diffs, vec![FieldDiff::new("sort_key", "sk (S)", "sk (N)").note("forces replacement")]);
    assert_eq!(shape(&steps), ["delete_table", "wait_deleted", "create_table", "wait_active", "wait_tags"]);
    assert!(c.blocked.is_none());

    let mut protected = spec();
    protected.deletion_protection = true;
    let (c, _) = diff("t", &s, &tags(), Some(&live_of(&protected)));
    assert!(c.blocked.as_deref().unwrap().contains("deletion protection"));
}

#[test]
fn a_replaced_table_gets_everything_a_created_one_gets() {
    use crate::spec::{Pitr, Ttl};
    let live = live_of(&spec());
    let mut s = spec();
    s.sort_key = Some(KeySpec { name: "sk".into(), ty: AttrType::N });
    s.point_in_time_recovery = Some(Pitr::Switch(true));
    s.ttl = Some(Ttl::On { attribute: "expires".into() });
    let (c, steps) = diff("t", &s, &tags(), Some(&live));
    assert_eq!(c.action, Action::Replace);
    assert_eq!(shape(&steps), ["delete_table", "wait_deleted", "create_table", "wait_active", "wait_tags", "set_pitr", "set_ttl"]);
    assert_eq!(c.diffs.len(), 1, "the diffs are the keys': {:?}", c.diffs);
}

#[test]
fn billing_switches_send_what_aws_requires() {
    let live = live_of(&spec());
    let (_, steps) = diff("t", &on_demand(), &tags(), Some(&live));
    assert_eq!(
        ops(&steps)[0],
        TableOp::UpdateThroughput { name: "t".into(), billing: Some(Billing::OnDemand), table: None, indexes: BTreeMap::new() }
    );
    // Back to provisioned: the table's and every index's throughput go with the switch.
    let (_, steps) = diff("t", &spec(), &tags(), Some(&live_of(&on_demand())));
    assert_eq!(
        ops(&steps)[0],
        TableOp::UpdateThroughput {
            name: "t".into(),
            billing: Some(Billing::Provisioned),
            table: cap(5, 5),
            indexes: BTreeMap::from([("g1".into(), Capacity::new(5, 5))])
        }
    );
}

#[test]
fn protection_goes_first_and_tags_last() {
    let mut live = live_of(&spec());
    live.tags.insert("old".into(), "x".into());
    live.tags.insert("aws:cloudformation:stack-name".into(), "y".into());
    let mut s = spec();
    s.deletion_protection = true;
    s.capacity = cap(5, 6);
    let mut want = tags();
    want.insert("app".into(), "cruddur".into());
    let (c, steps) = diff("t", &s, &want, Some(&live));
    assert_eq!(shape(&steps), ["set_deletion_protection", "wait_active", "update_throughput", "wait_active", "tag"]);
    assert_eq!(
        ops(&steps)[4],
        TableOp::Tag { name: "t".into(), set: BTreeMap::from([("app".into(), "cruddur".into())]), remove: vec!["old".into()] }
    );
    assert!(c.diffs.iter().all(|d| !d.path.contains("aws:")));
}

#[test]
fn steps_serialize_as_their_kind_and_typed_call() {
    // The plan's JSON (and a saved plan) carries each step's operation as data; it is never read
    // back into an operation: `apply FILE` plans again and compares.
    let (_, steps) = diff("t", &spec(), &tags(), None);
    let json = serde_json::to_value(&steps).unwrap();
    assert_eq!(json[0]["op"]["kind"], KIND);
    assert_eq!(json[0]["op"]["call"]["op"], "create_table");
    assert_eq!(json[0]["op"]["call"]["spec"], serde_json::to_value(spec()).unwrap());
    assert_eq!(json[1]["op"], serde_json::json!({"kind": KIND, "call": {"op": "wait_active", "name": "t"}}));
}

#[test]
fn limit_exceeded_has_two_meanings() {
    let daily = "Subscriber limit exceeded: Provisioned throughput decreases are limited within a given UTC day. \
                 After the first 4 decreases, each subsequent decrease in the same UTC day can be performed at most once every 3600 seconds.";
    assert_eq!(refusal(Some("LimitExceededException"), daily), Refusal::DecreaseQuota);
    let many = "Subscriber limit exceeded: There is a limit of 500 tables in the CREATING, UPDATING or DELETING state";
    assert_eq!(refusal(Some("LimitExceededException"), many), Refusal::TooManyAtOnce);
    let index = "Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table";
    assert_eq!(refusal(Some("LimitExceededException"), index), Refusal::Busy);
    assert_eq!(refusal(Some("ResourceInUseException"), "Table is being updated"), Refusal::Busy);
    assert_eq!(refusal(Some("ValidationException"), "bad"), Refusal::Other);
}

#[test]
fn a_fingerprint_leaves_out_what_the_scaler_and_aws_change_on_their_own() {
    use crate::kinds::Fingerprint;
    let mut desired = crate::spec::SpecDocument::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("infra.yaml"))
        .unwrap()
        .resolve("local")
        .unwrap()
        .0;
    desired.resources.tables = BTreeMap::from([("t".to_string(), scaled_spec())]);
    let f = |t: &LiveTable, d: &crate::spec::Desired| t.fingerprint("t", d);
    let base = live_scaled(&scaled_spec());
    let mut moved = base.clone();
    (moved.capacity.read, moved.capacity.write) = (40, 12);
    let g1 = &mut moved.indexes.get_mut("g1").unwrap().capacity;
    (g1.read, g1.write) = (5, 50);
    moved.status = "UPDATING".into();
    assert_eq!(f(&moved, &desired), f(&base, &desired), "within the spec's 5..50, and UPDATING while it moves");
    let mut outside = base.clone();
    outside.capacity.read = 60;
    assert_ne!(f(&outside, &desired), f(&base, &desired), "outside the range the plan changes it");
    // The spec no longer autoscales it: the capacity is the spec's, and a move counts.
    desired.resources.tables.insert("t".into(), spec());
    assert_ne!(f(&moved, &desired), f(&base, &desired), "not autoscaled by the spec: the plan pins it");
}
