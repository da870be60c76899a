//! The trigger's pure diff, without a network.

use super::diff::{diff, Function, TableStream};
use super::flex::{self, destination};
use super::*;
use crate::plan::{Action, Step};

const TABLE_ARN: &str = "arn:aws:dynamodb:us-east-1:1:table/t";

fn trigger() -> TriggerSpec {
    TriggerSpec {
        table: "t".into(),
        starting_position: StartingPosition::Latest,
        batch_size: 1,
        enabled: true,
        report_batch_item_failures: true,
        maximum_retry_attempts: None,
        maximum_record_age_s: None,
        bisect_batch_on_error: None,
        parallelization_factor: None,
        batching_window_s: None,
        filter: vec![],
        on_failure: None,
    }
}

fn live(uuid: &str, stream: &str) -> LiveMapping {
    LiveMapping {
        uuid: uuid.into(),
        qualifier: None,
        source_arn: format!("{TABLE_ARN}/stream/{stream}"),
        batch_size: Some(1),
        starting_position: Some("LATEST".into()),
        state: "Enabled".into(),
        report_batch_item_failures: true,
        tuning: Tuning::aws_default(),
        last_processing_result: None,
    }
}

#[test]
fn tuning_is_sent_in_full_and_a_removed_setting_goes_back_to_aws_default() {
    let mut t = trigger();
    t.maximum_retry_attempts = Some(3);
    t.bisect_batch_on_error = Some(true);
    t.filter = vec![serde_json::json!({"eventName": ["INSERT"], "dynamodb": {"Keys": {"pk": {"S": [{"prefix": "MSG#"}]}}}})];
    let mut m = live("u1", "s1");
    let (c, steps) = diff("m", &F, &t, &stream(Some(&format!("{TABLE_ARN}/stream/s1")), false), std::slice::from_ref(&m));
    let paths: Vec<&str> = c.diffs.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(paths, ["maximum_retry_attempts", "bisect_batch_on_error", "filter"]);
    assert_eq!(ops(&steps), ["update", "wait_settled"]);
    // Compared by meaning: key order, the order of alternatives and of patterns do not count.
    m.tuning = MappingSettings::from(&t).tuning;
    m.tuning.filter =
        vec![serde_json::from_str(r#"{"dynamodb": {"Keys": {"pk": {"S": [{"prefix": "MSG#"}]}}}, "eventName": ["INSERT"]}"#).unwrap()];
    let arn = format!("{TABLE_ARN}/stream/s1");
    assert_eq!(diff("m", &F, &t, &stream(Some(&arn), false), std::slice::from_ref(&m)).0.action, Action::NoOp);
    // Removed from the spec: the update sends AWS's defaults, and the plan says so.
    let (c, steps) = diff("m", &F, &trigger(), &stream(Some(&arn), false), std::slice::from_ref(&m));
    assert!(c.diffs.iter().all(|d| d.note.as_deref() == Some("not in the spec: back to AWS's default")), "{:?}", c.diffs);
    assert_eq!(c.diffs[0].after, -1);
    let sent = steps[0].op.get::<MappingOp>().cloned();
    assert!(matches!(sent, Some(MappingOp::Update { settings, .. }) if settings.tuning == Tuning::aws_default()));
}

#[test]
fn an_on_failure_destination_is_set_and_removed_by_sending_an_empty_one() {
    let arn = format!("{TABLE_ARN}/stream/s1");
    let mut t = trigger();
    t.on_failure = Some("arn:aws:sqs:us-east-1:1:dlq".into());
    let (c, steps) = diff("m", &F, &t, &stream(Some(&arn), false), &[live("u1", "s1")]);
    assert_eq!(c.diffs.len(), 1);
    assert_eq!((c.diffs[0].path.as_str(), &c.diffs[0].after), ("on_failure", &serde_json::json!("arn:aws:sqs:us-east-1:1:dlq")));
    assert_eq!(ops(&steps), ["update", "wait_settled"]);
    let mut m = live("u1", "s1");
    m.tuning.on_failure = "arn:aws:sqs:us-east-1:1:dlq".into();
    assert_eq!(diff("m", &F, &t, &stream(Some(&arn), false), std::slice::from_ref(&m)).0.action, Action::NoOp);
    let (c, steps) = diff("m", &F, &trigger(), &stream(Some(&arn), false), &[m]);
    assert_eq!(c.diffs[0].note.as_deref(), Some("not in the spec: back to AWS's default"));
    assert_eq!(c.diffs[0].after, serde_json::Value::Null);
    let Some(MappingOp::Update { settings, .. }) = steps[0].op.get::<MappingOp>() else { panic!() };
    // The update sends an empty destination: an omitted one would leave it as it is.
    assert_eq!(destination(settings).on_failure().and_then(|o| o.destination()), Some(""));
}

const F: Function = Function { name: "f", role_changes: false, alias: None };

fn stream(current: Option<&str>, changes: bool) -> TableStream<'_> {
    TableStream { name: "t", table_arn: TABLE_ARN.into(), current, changes }
}

fn ops(steps: &[Step]) -> Vec<String> {
    steps
        .iter()
        .map(|s| match s.op.get::<MappingOp>() {
            Some(o) => serde_json::to_value(o).unwrap()["op"].as_str().unwrap().to_string(),
            None => panic!("{:?}", s.op),
        })
        .collect()
}

#[test]
fn the_mapping_on_the_current_stream_is_a_no_op() {
    let cur = format!("{TABLE_ARN}/stream/2");
    let (c, steps) = diff("m", &F, &trigger(), &stream(Some(&cur), false), &[live("u1", "2")]);
    assert_eq!(c.action, Action::NoOp);
    assert!(steps.is_empty());
}

#[test]
fn a_mapping_on_an_old_stream_is_deleted_and_one_is_made_on_the_current_stream() {
    let cur = format!("{TABLE_ARN}/stream/2");
    let (c, steps) = diff("m", &F, &trigger(), &stream(Some(&cur), false), &[live("old", "1")]);
    assert_eq!(c.action, Action::Replace);
    assert_eq!(ops(&steps), ["delete", "create", "wait_settled"]);
    let Some(MappingOp::Create { source_arn, .. }) = steps[1].op.get::<MappingOp>().cloned() else { panic!() };
    assert_eq!(source_arn.as_deref(), Some(cur.as_str()));
    // With the current one present too, only the stale one goes.
    let (c, steps) = diff("m", &F, &trigger(), &stream(Some(&cur), false), &[live("old", "1"), live("u2", "2")]);
    assert_eq!(c.action, Action::Update);
    assert_eq!(ops(&steps), ["delete"]);
}

#[test]
fn a_stream_that_this_apply_changes_replaces_the_mapping_with_a_late_source() {
    let cur = format!("{TABLE_ARN}/stream/2");
    let (c, steps) = diff("m", &F, &trigger(), &stream(Some(&cur), true), &[live("u2", "2")]);
    assert_eq!(c.action, Action::Replace);
    assert!(c.reason.as_deref().unwrap().contains("stream changes → the mapping is replaced"));
    assert_eq!(ops(&steps), ["delete", "create", "wait_settled"]);
    assert!(matches!(steps[1].op.get::<MappingOp>(), Some(MappingOp::Create { source_arn: None, .. })));
    // A table created by this apply: a plain create, source known after apply.
    let (c, _) = diff("m", &F, &trigger(), &stream(None, true), &[]);
    assert_eq!(c.action, Action::Create);
}

#[test]
fn a_mapping_being_deleted_is_neither_the_trigger_nor_deleted_again() {
    let cur = format!("{TABLE_ARN}/stream/2");
    let mut dying = live("u1", "2");
    dying.state = "Deleting".into();
    // Only a dying one on the current stream: the trigger must be created, nothing deleted.
    let (c, steps) = diff("m", &F, &trigger(), &stream(Some(&cur), false), &[dying.clone()]);
    assert_eq!(c.action, Action::Create);
    assert_eq!(ops(&steps), ["create", "wait_settled"]);
    // Beside the live one: no change at all.
    let (c, steps) = diff("m", &F, &trigger(), &stream(Some(&cur), false), &[dying, live("u2", "2")]);
    assert_eq!(c.action, Action::NoOp);
    assert!(steps.is_empty());
}

#[test]
fn settings_update_in_place_but_starting_position_replaces() {
    let cur = format!("{TABLE_ARN}/stream/2");
    let mut t = trigger();
    t.batch_size = 25;
    t.enabled = false;
    let (c, steps) = diff("m", &F, &t, &stream(Some(&cur), false), &[live("u2", "2")]);
    assert_eq!(c.action, Action::Update);
    let paths: Vec<&str> = c.diffs.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(paths, ["batch_size", "enabled"]);
    assert_eq!(ops(&steps), ["update", "wait_settled"]);
    let mut t = trigger();
    t.starting_position = StartingPosition::TrimHorizon;
    let (c, steps) = diff("m", &F, &t, &stream(Some(&cur), false), &[live("u2", "2")]);
    assert_eq!(c.action, Action::Replace);
    assert_eq!(ops(&steps), ["delete", "create", "wait_settled"]);
}

#[test]
fn a_filter_is_sent_as_written_and_compared_by_meaning() {
    // A numeric range is ordered pairs: sorting it (`["<=", ">", 0, 5]`) is a pattern AWS refuses.
    let mut t = trigger();
    t.filter = vec![
        serde_json::json!({"dynamodb": {"NewImage": {"n": {"N": [{"numeric": [">", 0, "<=", 5]}]}}}, "eventName": ["MODIFY", "INSERT"]}),
    ];
    let cur = format!("{TABLE_ARN}/stream/2");
    let (_, steps) = diff("m", &F, &t, &stream(Some(&cur), false), &[]);
    let Some(MappingOp::Create { settings, .. }) = steps[0].op.get::<MappingOp>() else { panic!("{steps:?}") };
    let sent: Vec<String> =
        flex::filter_criteria(&settings.tuning).filters().iter().filter_map(|f| f.pattern().map(str::to_string)).collect();
    assert_eq!(sent, [r#"{"dynamodb":{"NewImage":{"n":{"N":[{"numeric":[">",0,"<=",5]}]}}},"eventName":["MODIFY","INSERT"]}"#]);
    // Read back with its alternatives in another order: no change; with the range's operands swapped: a change.
    let mut m = live("u2", "2");
    m.tuning = settings.tuning.clone();
    m.tuning.filter = vec![
        serde_json::json!({"eventName": ["INSERT", "MODIFY"], "dynamodb": {"NewImage": {"n": {"N": [{"numeric": [">", 0, "<=", 5]}]}}}}),
    ];
    assert_eq!(diff("m", &F, &t, &stream(Some(&cur), false), std::slice::from_ref(&m)).0.action, Action::NoOp);
    m.tuning.filter = vec![
        serde_json::json!({"eventName": ["INSERT", "MODIFY"], "dynamodb": {"NewImage": {"n": {"N": [{"numeric": ["<=", 5, ">", 0]}]}}}}),
    ];
    let (c, _) = diff("m", &F, &t, &stream(Some(&cur), false), &[m]);
    assert_eq!(c.diffs.iter().map(|d| d.path.as_str()).collect::<Vec<_>>(), ["filter"]);
}

#[test]
fn turning_deploy_on_and_off_moves_the_trigger_in_place() {
    let arn = format!("{TABLE_ARN}/stream/s1");
    let on = Function { alias: Some("live"), ..F };
    // On: the same mapping (its UUID, its position) updated to invoke the alias.
    let (c, steps) = diff("m", &on, &trigger(), &stream(Some(&arn), false), &[live("u1", "s1")]);
    assert_eq!(c.action, Action::Update);
    assert_eq!((c.diffs[0].path.as_str(), c.diffs[0].after.as_str()), ("invokes", Some("alias live")));
    assert_eq!(ops(&steps), ["update", "wait_settled"]);
    assert!(
        matches!(steps[0].op.get::<MappingOp>(), Some(MappingOp::Update { uuid, settings, .. }) if uuid == "u1" && settings.alias.as_deref() == Some("live"))
    );
    // Already on the alias: nothing. Off again: back to the function, in place.
    let mut m = live("u1", "s1");
    m.qualifier = Some("live".into());
    assert_eq!(diff("m", &on, &trigger(), &stream(Some(&arn), false), std::slice::from_ref(&m)).0.action, Action::NoOp);
    let (c, steps) = diff("m", &F, &trigger(), &stream(Some(&arn), false), &[m]);
    assert_eq!((c.diffs[0].before.as_str(), c.diffs[0].after.as_str()), (Some("alias live"), Some("the function")));
    assert_eq!(ops(&steps), ["update", "wait_settled"]);
}
