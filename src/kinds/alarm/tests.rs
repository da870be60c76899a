//! The alarm's pure diff and the packs, without a network.

use std::collections::{BTreeMap, BTreeSet};

use super::diff::diff;
use super::*;
use crate::plan::Action;
use crate::spec::{monitoring, SpecDocument};

fn config() -> AlarmConfig {
    AlarmConfig {
        namespace: "AWS/Lambda".into(),
        metric: "Errors".into(),
        dimensions: BTreeMap::from([("FunctionName".into(), "f".into())]),
        statistic: "Sum".into(),
        period_s: 60,
        evaluation_periods: 1,
        datapoints_to_alarm: None,
        threshold: 1.0,
        comparison: "GreaterThanOrEqualToThreshold".into(),
        treat_missing_data: "notBreaching".into(),
        unit: None,
        alarm_actions: BTreeSet::from(["arn:aws:sns:us-east-1:1:alerts".to_string()]),
        ok_actions: BTreeSet::from(["arn:aws:sns:us-east-1:1:alerts".to_string()]),
        insufficient_data_actions: BTreeSet::new(),
        actions_enabled: true,
        description: Some("errors".into()),
    }
}

fn live(c: AlarmConfig) -> LiveAlarm {
    LiveAlarm {
        name: "f-errors".into(),
        arn: "arn:aws:cloudwatch:us-east-1:1:alarm:f-errors".into(),
        config: c,
        state: "ALARM".into(),
        tags: BTreeMap::new(),
    }
}

fn ops(steps: &[Step]) -> Vec<AlarmOp> {
    steps.iter().map(|s| s.op.get::<AlarmOp>().cloned().unwrap()).collect()
}

#[test]
fn the_same_alarm_in_alarm_state_is_no_change_and_a_new_one_is_put_with_its_tags() {
    let (c, steps) = diff("f-errors", &config(), &BTreeMap::new(), Some(&live(config())));
    assert_eq!(c.action, Action::NoOp, "its state is not drift: {:?}", c.diffs);
    assert!(steps.is_empty());
    let tags = BTreeMap::from([("managed-by".to_string(), "cruddur-infra".to_string())]);
    let (c, steps) = diff("f-errors", &config(), &tags, None);
    assert_eq!(c.action, Action::Create);
    assert!(matches!(&ops(&steps)[..], [AlarmOp::Put { tags: Some(t), .. }] if t == &tags));
}

#[test]
fn a_changed_threshold_or_actions_turned_off_are_drift_repaired_by_one_whole_put() {
    let mut changed = config();
    changed.threshold = 5.0;
    changed.actions_enabled = false;
    let (c, steps) = diff("f-errors", &config(), &BTreeMap::new(), Some(&live(changed)));
    let paths: Vec<&str> = c.diffs.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(paths, ["threshold", "actions_enabled"]);
    assert!(c.diffs[1].note.as_deref().unwrap_or("").contains("tells nobody"));
    // Every field is sent (PutMetricAlarm replaces the alarm), never only the changed one; tags
    // are not sent again (they apply only at creation).
    assert_eq!(ops(&steps), [AlarmOp::Put { name: "f-errors".into(), config: Box::new(config()), tags: None }]);
    // Datapoints left out means all of the periods.
    let mut explicit = config();
    explicit.datapoints_to_alarm = Some(1);
    assert_eq!(diff("f-errors", &config(), &BTreeMap::new(), Some(&live(explicit))).0.action, Action::NoOp);
}

fn shipped() -> crate::spec::Desired {
    let doc = SpecDocument::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("infra.yaml")).unwrap();
    doc.resolve("local").unwrap().0
}

#[test]
fn the_shipped_spec_derives_the_function_and_table_packs() {
    let d = shipped();
    let all = monitoring::all(&d.resources);
    let keys: Vec<&str> = all.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "cruddur-messages-message-group-sk-index-read-throttles",
            "cruddur-messages-message-group-sk-index-write-throttles",
            "cruddur-messages-read-throttles",
            "cruddur-messages-write-throttles",
            "cruddur-messaging-stream-dlq-depth",
            "cruddur-messaging-stream-errors",
            "cruddur-messaging-stream-iterator-age",
            "cruddur-messaging-stream-throttles",
        ]
    );
    // The trigger bounds no record age: the stream keeps a record 24 h, half of it is past the
    // one-hour cap, so the alarm says an hour (IteratorAge is in milliseconds).
    let (age, _) = &all["cruddur-messaging-stream-iterator-age"];
    assert_eq!((age.metric.as_str(), age.threshold, age.statistic), ("IteratorAge", 3_600_000.0, crate::spec::Statistic::Maximum));
    assert_eq!(age.dimensions["FunctionName"], "${functions.cruddur-messaging-stream.name}");
    let (gsi, _) = &all["cruddur-messages-message-group-sk-index-read-throttles"];
    assert_eq!(gsi.dimensions["GlobalSecondaryIndexName"], "message-group-sk-index");
    assert!(all.values().all(|(a, _)| a.notify == ["cruddur-alerts"]));
}

#[test]
fn the_iterator_age_default_is_half_the_record_age_at_most_an_hour() {
    let mut d = shipped();
    let f = d.resources.functions.get_mut("cruddur-messaging-stream").unwrap();
    f.triggers[0].maximum_record_age_s = Some(600);
    assert_eq!(monitoring::iterator_age_s(f), Some(300.0));
    f.monitoring.as_mut().unwrap().iterator_age_s = Some(crate::spec::Threshold::Switch(false));
    assert_eq!(monitoring::iterator_age_s(f), None);
}

#[test]
fn an_alarm_that_tells_only_of_alarm_imports_as_such_and_plans_no_change() {
    // The common alarm of other tools: AlarmActions only. Imported, then desired again, it is
    // the same alarm (no OK actions added).
    let mut c = config();
    c.ok_actions.clear();
    let spec = flex::spec_of(&c).unwrap();
    assert!(!spec.notify_ok && !spec.notify_insufficient_data);
    let mut d = shipped();
    d.resources.alarms.insert("f-errors".into(), spec.clone());
    let refs = crate::spec::refs::RefContext::default();
    let want = flex::desired(&spec, &d, &refs);
    assert_eq!(diff("f-errors", &want, &BTreeMap::new(), Some(&live(c))).0.action, Action::NoOp);
    // What the spec cannot say is refused with why.
    let mut other = config();
    other.ok_actions = BTreeSet::from(["arn:aws:sns:us-east-1:1:other".to_string()]);
    assert!(flex::spec_of(&other).unwrap_err().contains("different targets"));
    let mut ec2 = config();
    ec2.alarm_actions = BTreeSet::from(["arn:aws:automate:us-east-1:ec2:stop".to_string()]);
    ec2.ok_actions.clear();
    assert!(flex::spec_of(&ec2).unwrap_err().contains("not an SNS topic"));
}

#[test]
fn insufficient_data_actions_and_the_unit_are_compared() {
    let mut c = config();
    c.insufficient_data_actions = c.alarm_actions.clone();
    c.unit = Some("Count".into());
    let (change, steps) = diff("f-errors", &config(), &BTreeMap::new(), Some(&live(c)));
    let paths: Vec<&str> = change.diffs.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(paths, ["unit", "insufficient_data_actions"]);
    assert_eq!(steps.len(), 1);
}

#[test]
fn the_dlq_depth_alarm_keeps_its_state_while_the_queue_reports_nothing() {
    let all = monitoring::all(&shipped().resources);
    let (depth, _) = &all["cruddur-messaging-stream-dlq-depth"];
    assert_eq!(depth.treat_missing_data, crate::spec::MissingData::Ignore);
    let (errors, _) = &all["cruddur-messaging-stream-errors"];
    assert_eq!(errors.treat_missing_data, crate::spec::MissingData::NotBreaching);
}

#[test]
fn a_target_on_the_table_leaves_its_pack_out() {
    let d = shipped();
    let t = crate::engine::targeted(&d, &["dynamodb_table.cruddur-messages".to_string()]).unwrap();
    assert!(monitoring::all(&t.resources).is_empty(), "{:?}", monitoring::all(&t.resources).keys());
    let t = crate::engine::targeted(&d, &["cloudwatch_alarm.cruddur-messages-read-throttles".to_string()]).unwrap();
    let kept: Vec<String> = monitoring::all(&t.resources).into_keys().collect();
    assert_eq!(kept, ["cruddur-messages-read-throttles"]);
}
