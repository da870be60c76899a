//! Capacity that scales (issue 18): the built binary against moto behind the AWS-rules proxy,
//! which refuses a scalable target on a table or index that is not ACTIVE. The scaler itself
//! never runs in the emulator: tests move the capacity out of band, as it would.

mod common;

use common::*;

const AUTO: &str = "autoscale: { min: 5, max: 50, target_utilization: 70 }";

/// The base table with both capacities autoscaled by `auto`.
fn scaled(auto: &str) -> String {
    table_spec(&BASE_TABLE.replace("capacity: { read: 5, write: 5 }", &format!("capacity: {{ read: 5, write: 5, {auto} }}")))
}

/// Every scalable target of the emulator, one line each: `resource dimension min..max target`.
fn targets(emu: &Emulator) -> Vec<String> {
    let out = emu.py(
        "pol = aas.describe_scaling_policies(ServiceNamespace='dynamodb')['ScalingPolicies']\n\
         for t in sorted(aas.describe_scalable_targets(ServiceNamespace='dynamodb')['ScalableTargets'], key=lambda t: (t['ResourceId'], t['ScalableDimension'])):\n\
         \x20   ps = [p['TargetTrackingScalingPolicyConfiguration']['TargetValue'] for p in pol if p['ResourceId'] == t['ResourceId'] and p['ScalableDimension'] == t['ScalableDimension']]\n\
         \x20   print(t['ResourceId'], t['ScalableDimension'].split(':')[2], f\"{t['MinCapacity']}..{t['MaxCapacity']}\", ps)\n\
         print('policies', len(pol))",
    );
    out.lines().map(str::to_string).collect()
}

/// Sets a capacity out of band, as the scaler would (`index` None: the table's).
fn scale(emu: &Emulator, index: Option<&str>, read: i64, write: i64) {
    let pt = format!("{{'ReadCapacityUnits': {read}, 'WriteCapacityUnits': {write}}}");
    let args = match index {
        None => format!("ProvisionedThroughput={pt}"),
        Some(i) => format!("GlobalSecondaryIndexUpdates=[{{'Update': {{'IndexName': '{i}', 'ProvisionedThroughput': {pt}}}}}]"),
    };
    // The proxy keeps the table UPDATING for a while after each change: wait it out first.
    emu.py(&format!(
        "import time\n\
         for _ in range(60):\n\
         \x20   try:\n\
         \x20       ddb.update_table(TableName='messages', {args}); break\n\
         \x20   except ddb.exceptions.ResourceInUseException:\n\
         \x20       time.sleep(0.5)\n\
         else:\n\
         \x20   raise SystemExit('table stayed busy')"
    ));
}

fn capacity(emu: &Emulator) -> String {
    emu.py(
        "t = ddb.describe_table(TableName='messages')['Table']\n\
         g = t['GlobalSecondaryIndexes'][0]['ProvisionedThroughput']\n\
         print(t['ProvisionedThroughput']['ReadCapacityUnits'], t['ProvisionedThroughput']['WriteCapacityUnits'], g['ReadCapacityUnits'], g['WriteCapacityUnits'])",
    )
    .trim()
    .to_string()
}

#[test]
fn a_scaled_table_is_registered_and_what_the_scaler_does_in_range_is_not_drift() {
    let emu = Emulator::with_aws_rules();
    let ws = Workspace::new(&scaled(AUTO));
    let run = emu.cli(ws.path(), &["apply", "--yes"]);
    run.expect(0);
    assert_eq!(
        targets(&emu),
        [
            "table/messages ReadCapacityUnits 5..50 [70.0]",
            "table/messages WriteCapacityUnits 5..50 [70.0]",
            "table/messages/index/by-group ReadCapacityUnits 5..50 [70.0]",
            "table/messages/index/by-group WriteCapacityUnits 5..50 [70.0]",
            "policies 4",
        ]
    );
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);

    // The scaler moves both capacities inside the range: in sync, and nothing is written.
    scale(&emu, None, 40, 12);
    scale(&emu, Some("by-group"), 7, 50);
    emu.reset_calls();
    emu.cli(ws.path(), &["drift"]).expect(0);
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    assert!(emu.writes().is_empty(), "apply undid the scaler: {:?}", emu.writes());
    assert_eq!(capacity(&emu), "40 12 7 50");

    // Outside the range (someone set it by hand): drift, and apply brings back only that value.
    scale(&emu, None, 80, 12);
    let drift = emu.cli(ws.path(), &["drift", "--output", "json"]);
    drift.expect(2);
    let plan = emu.cli(ws.path(), &["plan", "--output", "json"]);
    let diffs = &plan.json()["changes"][0]["diffs"];
    assert_eq!(diffs.as_array().map(Vec::len), Some(1), "{diffs}");
    assert_eq!(
        (diffs[0]["path"].as_str(), diffs[0]["before"].as_i64(), diffs[0]["after"].as_i64()),
        (Some("read_capacity"), Some(80), Some(50))
    );
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    assert_eq!(capacity(&emu), "50 12 7 50");
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn a_new_range_updates_the_target_not_the_table_and_turning_it_off_pins_the_spec() {
    let emu = Emulator::with_aws_rules();
    let ws = Workspace::new(&scaled(AUTO));
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    scale(&emu, None, 30, 30);

    // min/max and the target change: the scalable targets and policies, never UpdateTable.
    ws.write_spec(&scaled("autoscale: { min: 5, max: 40, target_utilization: 60 }"));
    let plan = emu.cli(ws.path(), &["plan"]);
    plan.expect(0);
    assert!(plan.stdout.contains("read_autoscale") && !plan.stdout.contains("read_capacity"), "{}", plan.stdout);
    emu.reset_calls();
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    assert_eq!(emu.count("UpdateTable"), 0, "{:?}", emu.writes());
    assert_eq!(emu.count("RegisterScalableTarget"), 4);
    // A policy put right after its target's update may be refused as a pending update (rule 35),
    // and is retried: at least one each.
    assert!(emu.count("PutScalingPolicy") >= 4, "{:?}", emu.writes());
    assert!(targets(&emu).iter().take(4).all(|t| t.ends_with("5..40 [60.0]")), "{:?}", targets(&emu));
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);

    // Off: the targets are deregistered (their policies with them), then the spec's 5/5 pinned.
    ws.write_spec(&table_spec(BASE_TABLE));
    let plan = emu.cli(ws.path(), &["plan", "--output", "json"]);
    let doc = plan.json();
    let paths: Vec<&str> = doc["changes"][0]["diffs"].as_array().unwrap().iter().filter_map(|d| d["path"].as_str()).collect();
    assert!(paths.contains(&"read_autoscale") && paths.contains(&"read_capacity"), "{paths:?}");
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    assert_eq!(targets(&emu), ["policies 0"]);
    assert_eq!(capacity(&emu), "5 5 5 5");
    // The record of the scaling is gone with it: a fixed table costs no Application Auto Scaling call.
    emu.reset_calls();
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
    assert!(emu.calls().iter().all(|c| c.service != "application-autoscaling"), "{:?}", emu.calls());
}

#[test]
fn an_index_gets_its_targets_once_active_and_loses_them_before_it_is_deleted() {
    let emu = Emulator::with_aws_rules();
    let fixed_index = BASE_TABLE.replacen("capacity: { read: 5, write: 5 }", &format!("capacity: {{ read: 5, write: 5, {AUTO} }}"), 1);
    let ws = Workspace::new(&table_spec(&fixed_index));
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    assert_eq!(targets(&emu).len(), 3, "{:?}", targets(&emu));

    // A second, autoscaled index: created, waited for, then registered (the proxy refuses a
    // target on an index that is still CREATING).
    let two = fixed_index.replace(
        "    stream: new_image\n",
        "      by-user:\n        partition_key: { name: user_uuid, type: S }\n        projection: keys_only\n        \
         capacity: { read: 5, write: 5, autoscale: { min: 5, max: 20, target_utilization: 50 } }\n    stream: new_image\n",
    );
    ws.write_spec(&table_spec(&two));
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    let t = targets(&emu);
    assert!(t.contains(&"table/messages/index/by-user ReadCapacityUnits 5..20 [50.0]".to_string()), "{t:?}");
    assert_eq!(t.len(), 5, "{t:?}");
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);

    // Removed again: its targets go first, then the index, one change per UpdateTable.
    ws.write_spec(&table_spec(&fixed_index));
    emu.reset_calls();
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    let order: Vec<String> = emu.writes();
    let deregistered = order.iter().position(|w| w.contains("DeregisterScalableTarget")).expect("deregistered");
    let updated = order.iter().position(|w| w.contains("UpdateTable")).expect("index deleted");
    assert!(deregistered < updated, "{order:?}");
    assert_eq!(targets(&emu).len(), 3, "{:?}", targets(&emu));
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn a_dropped_scaled_table_is_deregistered_before_it_is_deleted() {
    let emu = Emulator::with_aws_rules();
    let ws = Workspace::new(&scaled(AUTO));
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    ws.write_spec("version: 1\nstack: test\ndefault_env: local\nenvironments:\n  local:\n    region: us-east-1\n");
    let plan = emu.cli(ws.path(), &["plan"]);
    assert!(plan.stdout.contains("deregister the autoscaling of table messages read capacity"), "{}", plan.stdout);
    emu.cli(ws.path(), &["apply", "--yes", "--allow-data-loss", "dynamodb_table.messages"]).expect(0);
    assert_eq!(targets(&emu), ["policies 0"]);
}

#[test]
fn a_saved_plan_of_a_scaled_table_still_applies_after_the_scaler_moved_capacity_within_range() {
    // What the tool does not treat as drift (a scaler's capacity within its range, the table's
    // UPDATING while it moves) must not make a saved plan stale: planning again finds no change.
    let emu = Emulator::with_aws_rules();
    let ws = Workspace::new(&scaled(AUTO));
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    ws.write_spec(&scaled(AUTO).replace("stream: new_image\n", "stream: new_image\n    tags: { team: chat }\n"));
    emu.cli(ws.path(), &["plan", "--out", "release.plan"]).expect(0);
    scale(&emu, None, 17, 9);
    scale(&emu, Some("by-group"), 30, 6);
    let run = emu.cli(ws.path(), &["apply", "release.plan"]);
    run.expect(0);
    assert!(!run.stderr.contains("changed in AWS"), "{}", run.stderr);
    // Outside the range it is drift, and the saved plan is refused.
    emu.cli(ws.path(), &["plan", "--out", "second.plan"]).expect(0);
    scale(&emu, None, 60, 9);
    let run = emu.cli(ws.path(), &["apply", "second.plan"]);
    run.expect(1);
    assert!(run.stderr.contains("dynamodb_table.messages changed in AWS since the plan was made"), "{}", run.stderr);
}
