//! The table kind end to end: the built binary against moto behind the AWS-rules proxy.

mod common;

use common::*;

fn base() -> Workspace {
    Workspace::new(&table_spec(BASE_TABLE))
}

#[test]
fn fresh_create_converges_and_the_second_plan_is_clean() {
    let emu = Emulator::with_busy_seconds("2.5");
    let ws = base();
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(2);
    let run = emu.cli(ws.path(), &["apply", "--yes"]);
    run.expect(0);
    assert!(run.stdout.contains("Apply complete: 1 added"), "{}", run.stdout);
    // The proxy kept the table CREATING for a while: apply waited and said so.
    assert!(run.stderr.contains("waiting for table messages to be ACTIVE"), "{}", run.stderr);
    emu.reset_calls();
    let plan = emu.cli(ws.path(), &["plan", "--detailed-exitcode"]);
    plan.expect(0);
    assert!(plan.stdout.contains("No changes."));
    assert!(emu.writes().is_empty(), "plan wrote: {:?}", emu.writes());
    let described = emu.py("t = ddb.describe_table(TableName='messages')['Table']\n\
         print(t['StreamSpecification']['StreamViewType'], t['ProvisionedThroughput']['ReadCapacityUnits'], \
         [g['IndexName'] for g in t['GlobalSecondaryIndexes']])");
    assert_eq!(described.trim(), "NEW_IMAGE 5 ['by-group']");
}

#[test]
fn capacity_change_plans_exactly_that_field_and_converges() {
    let emu = Emulator::with_aws_rules();
    let ws = base();
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    ws.write_spec(&table_spec(&BASE_TABLE.replacen("capacity: { read: 5, write: 5 }", "capacity: { read: 10, write: 5 }", 1)));
    let plan = emu.cli(ws.path(), &["plan", "--detailed-exitcode", "--output", "json"]);
    plan.expect(2);
    let doc = plan.json();
    let change = &doc["changes"][0];
    assert_eq!(change["address"], "dynamodb_table.messages");
    assert_eq!(change["action"], "update");
    assert_eq!(change["diffs"], serde_json::json!([{"path": "read_capacity", "before": 5, "after": 10}]));
    emu.reset_calls();
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    // One UpdateTable with the table's throughput only: the proxy refuses a no-op index update.
    assert_eq!(emu.count("UpdateTable"), 1);
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn adding_two_indexes_and_removing_one_converges_one_change_at_a_time() {
    let emu = Emulator::with_aws_rules();
    let ws = base();
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    let churn = BASE_TABLE
        .replace(
            "      by-group:\n        partition_key: { name: message_group_uuid, type: S }",
            "      by-user:\n        partition_key: { name: user_uuid, type: S }\n        sort_key: { name: sk, type: S }\n        \
         projection: keys_only\n        capacity: { read: 2, write: 2 }\n      by-handle:\n        \
         partition_key: { name: user_handle, type: S }",
        )
        .replacen("capacity: { read: 5, write: 5 }", "capacity: { read: 6, write: 5 }", 1);
    ws.write_spec(&table_spec(&churn));
    let plan = emu.cli(ws.path(), &["plan", "--output", "json"]).json();
    let ops: Vec<String> = plan["steps"].as_array().unwrap().iter().map(|s| s["op"]["call"]["op"].as_str().unwrap().to_string()).collect();
    assert_eq!(
        ops,
        ["delete_index", "wait_active", "update_throughput", "wait_active", "create_index", "wait_active", "create_index", "wait_active"]
    );
    emu.reset_calls();
    let run = emu.cli(ws.path(), &["apply", "--yes"]);
    run.expect(0);
    assert_eq!(emu.count("UpdateTable"), 4, "{}", run.stderr);
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
    let names =
        emu.py("print(sorted(g['IndexName'] for g in ddb.describe_table(TableName='messages')['Table']['GlobalSecondaryIndexes']))");
    assert_eq!(names.trim(), "['by-handle', 'by-user']");
}

#[test]
fn key_change_plans_replace_and_apply_refuses_with_items_intact() {
    let emu = Emulator::with_aws_rules();
    let ws = base();
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    emu.py("ddb.put_item(TableName='messages', Item={'pk': {'S': 'MSG#1'}, 'sk': {'S': '2026-01-01'}})");
    ws.write_spec(&table_spec(&BASE_TABLE.replacen("sort_key: { name: sk, type: S }", "sort_key: { name: created_at, type: S }", 1)));
    let plan = emu.cli(ws.path(), &["plan", "--detailed-exitcode", "--output", "json"]);
    plan.expect(2);
    let change = &plan.json()["changes"][0];
    assert_eq!(change["action"], "replace");
    assert!(change["reason"].as_str().unwrap().contains("destroys all of its items"));

    emu.reset_calls();
    let run = emu.cli(ws.path(), &["apply", "--yes"]);
    run.expect(1);
    assert!(run.stderr.contains("--allow-data-loss dynamodb_table.messages"), "{}", run.stderr);
    assert!(emu.writes().is_empty(), "refused apply wrote: {:?}", emu.writes());
    assert_eq!(emu.py("print(ddb.scan(TableName='messages')['Count'])").trim(), "1");

    // Naming another address does not allow it either.
    emu.cli(ws.path(), &["apply", "--yes", "--allow-replace", "dynamodb_table.other"]).expect(1);
    assert_eq!(emu.py("print(ddb.scan(TableName='messages')['Count'])").trim(), "1");

    // Named exactly: the table is replaced and the new key schema is live.
    emu.cli(ws.path(), &["apply", "--yes", "--allow-replace", "dynamodb_table.messages"]).expect(0);
    assert_eq!(emu.py("print(ddb.scan(TableName='messages')['Count'])").trim(), "0");
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn a_protected_table_is_never_replaced() {
    let emu = Emulator::with_aws_rules();
    let ws = Workspace::new(&table_spec(&format!("{BASE_TABLE}    deletion_protection: true\n")));
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    ws.write_spec(&table_spec(&format!(
        "{}    deletion_protection: true\n",
        BASE_TABLE.replacen("partition_key: { name: pk, type: S }", "partition_key: { name: id, type: S }", 1)
    )));
    emu.reset_calls();
    let run = emu.cli(ws.path(), &["apply", "--yes", "--allow-replace", "dynamodb_table.messages"]);
    run.expect(1);
    assert!(run.stderr.contains("deletion protection"), "{}", run.stderr);
    assert!(emu.writes().is_empty());
}

#[test]
fn broken_spec_exits_1_naming_the_place_and_touches_nothing() {
    let emu = Emulator::start();
    let ws = Workspace::new(&table_spec(&BASE_TABLE.replacen("billing: provisioned", "billing: provisioned\n    bilingg: x", 1)));
    let run = emu.cli(ws.path(), &["apply", "--yes"]);
    run.expect(1);
    assert!(run.stderr.contains("infra.yaml:12:5: tables.messages.bilingg: unknown field `bilingg`"), "{}", run.stderr);
    let ws2 = Workspace::new(&table_spec(&BASE_TABLE.replacen("capacity: { read: 5, write: 5 }", "capacity: { read: -1, write: 5 }", 1)));
    emu.cli(ws2.path(), &["plan"]).expect(1);
    assert!(emu.calls().is_empty(), "a broken spec reached AWS: {:?}", emu.calls());
}

#[test]
fn apply_without_a_terminal_and_without_yes_refuses_and_changes_nothing() {
    let emu = Emulator::start();
    let ws = base();
    let run = emu.cli(ws.path(), &["apply"]);
    run.expect(1);
    assert!(run.stderr.contains("needs --yes"), "{}", run.stderr);
    assert!(emu.writes().is_empty());
}

#[test]
fn another_writer_keeping_the_table_busy_is_waited_out() {
    let emu = Emulator::with_aws_rules();
    let ws = base();
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    // Someone else changes the table; it stays UPDATING for a moment.
    emu.py("import time\ntime.sleep(1.3)\nddb.update_table(TableName='messages', \
         ProvisionedThroughput={'ReadCapacityUnits': 7, 'WriteCapacityUnits': 7})");
    let run = emu.cli(ws.path(), &["apply", "--yes"]);
    run.expect(0);
    assert!(run.stderr.contains("table messages is busy (ResourceInUseException)"), "{}", run.stderr);
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn stream_off_converges_and_a_view_change_plans_disable_then_enable() {
    let emu = Emulator::with_aws_rules();
    let ws = base();
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    ws.write_spec(&table_spec(&BASE_TABLE.replace("stream: new_image", "stream: new_and_old_images")));
    let plan = emu.cli(ws.path(), &["plan", "--output", "json"]).json();
    let ops: Vec<&str> = plan["steps"].as_array().unwrap().iter().map(|s| s["op"]["call"]["op"].as_str().unwrap()).collect();
    assert_eq!(ops, ["disable_stream", "wait_active", "enable_stream", "wait_active"]);
    let note = plan["changes"][0]["diffs"][0]["note"].as_str().unwrap();
    assert!(note.contains("new stream ARN") && note.contains("lost"), "{note}");
    // moto cannot re-enable a stream once disabled, so only the disable is applied here.
    ws.write_spec(&table_spec(&BASE_TABLE.replace("stream: new_image", "stream: off")));
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn out_of_band_tag_and_protection_changes_are_drift_and_are_reverted() {
    let emu = Emulator::with_aws_rules();
    let ws = Workspace::new(&table_spec(&format!("{BASE_TABLE}    tags: {{ app: cruddur }}\n")));
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    emu.py("import time\narn = ddb.describe_table(TableName='messages')['Table']['TableArn']\n\
         ddb.tag_resource(ResourceArn=arn, Tags=[{'Key': 'owner', 'Value': 'someone'}])\n\
         while not any(t['Key'] == 'owner' for t in ddb.list_tags_of_resource(ResourceArn=arn)['Tags']):\n\
         \x20   time.sleep(0.2)  # a tag shows a moment later (rule 33)\n\
         seen = lambda: tagging.get_resources(ResourceARNList=[arn])['ResourceTagMappingList']\n\
         while not any(t['Key'] == 'owner' for m in seen() for t in m['Tags']):\n\
         \x20   time.sleep(0.2)  # and later still to the Tagging API, which a whole-spec plan reads (rule 47)");
    let run = emu.cli(ws.path(), &["drift", "--output", "json"]);
    run.expect(2);
    let diffs = &run.json()["changes"][0]["diffs"];
    assert_eq!(diffs, &serde_json::json!([{"path": "tags.owner", "before": "someone", "after": null}]));
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    emu.cli(ws.path(), &["drift"]).expect(0);
}

/// Three tagged tables: `messages`, `users`, `groups`.
fn three_tables(app: &str) -> String {
    let tagged = format!("{BASE_TABLE}    tags: {{ app: {app} }}\n");
    let mut spec = table_spec(&tagged);
    for name in ["users", "groups"] {
        spec.push_str(&format!("  {name}:\n{}", tagged.replace("    stream: new_image\n", "")));
    }
    spec
}

#[test]
fn a_whole_spec_plan_reads_tags_in_bulk_and_confirms_a_difference_table_by_table() {
    // The Tagging API follows tag changes 30 s late here (rule 47): what it lists is a hint,
    // read again per table wherever it disagrees with the spec.
    let emu = Emulator::with_args(&["--aws-rules", "--tagging-lag", "30"]);
    let ws = Workspace::new(&three_tables("cruddur"));
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    // Steady state, once the Tagging API shows the new tables: one GetResources, no per-table tag read.
    emu.py("import time\nwhile len(tagging.get_resources(ResourceTypeFilters=['dynamodb:table'])['ResourceTagMappingList']) < 3:\n\
            \x20   time.sleep(0.5)");
    emu.reset_calls();
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
    assert_eq!((emu.count("GetResources"), emu.count("ListTagsOfResource")), (1, 0));
    // Any change to a table is planned from its own tags (the ownership it rests on too).
    let users = three_tables("cruddur").replace("  users:\n    partition_key: { name: pk, type: S }\n    sort_key: { name: sk, type: S }\n    billing: provisioned\n    capacity: { read: 5, write: 5 }",
        "  users:\n    partition_key: { name: pk, type: S }\n    sort_key: { name: sk, type: S }\n    billing: provisioned\n    capacity: { read: 6, write: 5 }");
    assert_ne!(users, three_tables("cruddur"));
    ws.write_spec(&users);
    emu.reset_calls();
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(2);
    assert_eq!(emu.count("ListTagsOfResource"), 1);
    // A tag the spec changes on one table: that table's own tags are read, and the change planned.
    ws.write_spec(&three_tables("cruddur").replacen("app: cruddur", "app: chat", 1));
    emu.reset_calls();
    let plan = emu.cli(ws.path(), &["plan", "--detailed-exitcode", "--output", "json"]);
    plan.expect(2);
    assert_eq!(emu.count("ListTagsOfResource"), 1);
    let doc = plan.json();
    let changed: Vec<&serde_json::Value> = doc["changes"].as_array().unwrap().iter().filter(|c| c["action"] != "no-op").collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0]["diffs"], serde_json::json!([{"path": "tags.app", "before": "cruddur", "after": "chat"}]));
    // Applied: the Tagging API still lists the old value, yet the check after apply and the next
    // plan read that table's own tags and find nothing left to do.
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    let arn = emu.py("print(ddb.describe_table(TableName='messages')['Table']['TableArn'])");
    let listed = emu.py(&format!(
        "print([t['Value'] for m in tagging.get_resources(ResourceARNList=['{}'])['ResourceTagMappingList'] for t in m['Tags'] if t['Key'] == 'app'])",
        arn.trim()
    ));
    assert_eq!(listed.trim(), "['cruddur']", "the Tagging API no longer lags: this test proves nothing");
    emu.reset_calls();
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
    assert_eq!(emu.count("ListTagsOfResource"), 1);
    // Apply decides from each table's own tags, whatever the Tagging API lists.
    emu.reset_calls();
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    assert!(emu.count("ListTagsOfResource") >= 3);
    // A targeted run reads each table's own tags (its endpoint may serve DynamoDB only).
    emu.reset_calls();
    emu.cli(ws.path(), &["--target", "dynamodb_table.users", "plan", "--detailed-exitcode"]).expect(0);
    assert_eq!((emu.count("GetResources"), emu.count("ListTagsOfResource")), (0, 1));
}

#[test]
fn json_plan_follows_the_contract() {
    let emu = Emulator::start();
    let ws = Workspace::shipped();
    let run = emu.cli(ws.path(), &["plan", "--output", "json"]);
    run.expect(0);
    let doc = run.json();
    assert_eq!(doc["format_version"], 1);
    assert_eq!(doc["env"], "local");
    assert_eq!(doc["region"], "us-east-1");
    assert_eq!(doc["account_id"], "123456789012");
    let addresses: Vec<&str> = doc["changes"].as_array().unwrap().iter().map(|c| c["address"].as_str().unwrap()).collect();
    // Every declared resource appears.
    for a in [
        "dynamodb_table.cruddur-messages",
        "vpc_endpoint.dynamodb",
        "iam_role.cruddur-messaging-stream",
        "lambda_function.cruddur-messaging-stream",
        "lambda_event_source_mapping.cruddur-messaging-stream",
    ] {
        assert!(addresses.contains(&a), "{a} missing from {addresses:?}");
    }
    let s = &doc["summary"];
    for k in ["create", "update", "replace", "delete", "no_op"] {
        assert!(s[k].is_u64(), "summary.{k}");
    }
    assert_eq!(doc["changes"][0]["action"], "create");
}

#[test]
fn endpoint_precedence_is_flag_then_env_var_then_spec() {
    let emu = Emulator::start();
    let dead = "http://127.0.0.1:9";
    let ws = Workspace::new(&table_spec(BASE_TABLE).replace("region: us-east-1", &format!("region: us-east-1\n    endpoint_url: {dead}")));
    let bin = env!("CARGO_BIN_EXE_cruddur-infra");
    // AWS_ENDPOINT_URL beats the spec's endpoint_url.
    let run: Run = isolated(std::process::Command::new(bin).current_dir(ws.path()).arg("plan"))
        .env("AWS_ENDPOINT_URL", &emu.url)
        .output()
        .unwrap()
        .into();
    run.expect(0);
    // --endpoint-url beats AWS_ENDPOINT_URL.
    let run: Run = isolated(std::process::Command::new(bin).current_dir(ws.path()).args(["--endpoint-url", &emu.url, "plan"]))
        .env("AWS_ENDPOINT_URL", dead)
        .output()
        .unwrap()
        .into();
    run.expect(0);
    // The spec's endpoint alone (dead): a clear error, exit 1.
    let run: Run = isolated(std::process::Command::new(bin).current_dir(ws.path()).arg("plan")).output().unwrap().into();
    run.expect(1);
    assert!(run.stderr.contains("cannot be reached") || run.stderr.contains("dispatch"), "{}", run.stderr);
}

/// Issue 22 §6: LimitExceededException has two meanings. The daily quota of throughput
/// decreases is reported at once with a hint, never retried.
#[test]
fn the_daily_decrease_quota_is_reported_at_once_not_retried() {
    let emu = Emulator::with_args(&["--aws-rules", "--busy-seconds", "0.3", "--iam-delay", "0", "--decrease-quota", "0"]);
    let ws = Workspace::new(&table_spec(BASE_TABLE));
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    ws.write_spec(&table_spec(&BASE_TABLE.replacen("capacity: { read: 5, write: 5 }", "capacity: { read: 4, write: 5 }", 1)));
    emu.reset_calls();
    let run = emu.cli(ws.path(), &["apply", "--yes"]);
    run.expect(1);
    assert!(run.stderr.contains("LimitExceededException") && run.stderr.contains("decreases are limited"), "{}", run.stderr);
    assert!(run.stderr.contains("retrying does not help"), "{}", run.stderr);
    assert_eq!(emu.count("UpdateTable"), 1, "the quota refusal was retried");
}

/// ... and too many operations at once is retried with backoff until it goes through: first by
/// the SDK (8 attempts per call), then by the tool's retry policy.
#[test]
fn too_many_table_operations_at_once_are_retried_with_backoff() {
    let emu = Emulator::with_args(&["--aws-rules", "--busy-seconds", "0.3", "--iam-delay", "0", "--limit-exceeded", "9"]);
    let ws = Workspace::new(&table_spec(BASE_TABLE));
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    ws.write_spec(&table_spec(&BASE_TABLE.replacen("capacity: { read: 5, write: 5 }", "capacity: { read: 6, write: 5 }", 1)));
    emu.reset_calls();
    let run = emu.cli(ws.path(), &["apply", "--yes"]);
    run.expect(0);
    assert!(run.stderr.contains("too many table operations in the account at once"), "{}", run.stderr);
    assert!(run.stderr.contains("trying again in"), "{}", run.stderr);
    assert_eq!(emu.count("UpdateTable"), 10);
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn point_in_time_recovery_is_turned_on_kept_on_and_its_period_set() {
    let emu = Emulator::with_aws_rules();
    let with = |v: &str| table_spec(&format!("{BASE_TABLE}    point_in_time_recovery: {v}\n"));
    let ws = Workspace::new(&with("true"));
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    let pitr = || {
        emu.py(
            "p = ddb.describe_continuous_backups(TableName='messages')['ContinuousBackupsDescription']['PointInTimeRecoveryDescription']\n\
                print(p['PointInTimeRecoveryStatus'], p.get('RecoveryPeriodInDays'))",
        )
        .trim()
        .to_string()
    };
    assert!(pitr().starts_with("ENABLED"), "{}", pitr());
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);

    // Turned off by hand: drift, and apply turns it on again.
    emu.py("ddb.update_continuous_backups(TableName='messages', PointInTimeRecoverySpecification={'PointInTimeRecoveryEnabled': False})");
    emu.cli(ws.path(), &["drift"]).expect(2);
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    assert!(pitr().starts_with("ENABLED"), "{}", pitr());

    ws.write_spec(&with("{ recovery_period_days: 7 }"));
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    assert_eq!(pitr(), "ENABLED 7");
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);

    ws.write_spec(&with("false"));
    let plan = emu.cli(ws.path(), &["plan"]);
    assert!(plan.stdout.contains("can no longer be restored"), "{}", plan.stdout);
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    assert!(pitr().starts_with("DISABLED"), "{}", pitr());
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
}

/// Time to live (docs/aws-behaviour.md rule 18): the proxy allows one UpdateTimeToLive per table per
/// hour, as AWS does. The plan says so; a change that needs two is refused with the way
/// through; AWS's refusal is one readable error at once, never a retry loop.
#[test]
fn time_to_live_is_set_once_and_the_hourly_rule_is_said_not_retried() {
    let emu = Emulator::with_aws_rules();
    let with = |v: &str| table_spec(&format!("{BASE_TABLE}    ttl: {v}\n"));
    let ws = Workspace::new(&with("{ attribute: expires_at }"));
    let plan = emu.cli(ws.path(), &["plan"]);
    assert!(plan.stdout.contains("set once the table is ACTIVE; AWS allows one time-to-live change per table per hour"), "{}", plan.stdout);
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    let ttl = || {
        emu.py("d = ddb.describe_time_to_live(TableName='messages')['TimeToLiveDescription']\nprint(d['TimeToLiveStatus'], d.get('AttributeName'))")
            .trim()
            .to_string()
    };
    assert_eq!(ttl(), "ENABLED expires_at");
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);

    // Another attribute takes two changes an hour apart: refused, saying how, nothing sent.
    ws.write_spec(&with("{ attribute: gone_at }"));
    emu.reset_calls();
    let run = emu.cli(ws.path(), &["apply", "--yes"]);
    run.expect(1);
    assert!(run.stderr.contains("Set `ttl: false` and apply, then `ttl: { attribute: gone_at }` an hour later"), "{}", run.stderr);
    assert!(emu.writes().is_empty(), "{:?}", emu.writes());

    // Off, within the hour of the last change: AWS refuses; the error says why, at once.
    ws.write_spec(&with("false"));
    let plan = emu.cli(ws.path(), &["plan"]);
    assert!(plan.stdout.contains("items stop expiring"), "{}", plan.stdout);
    let started = std::time::Instant::now();
    let run = emu.cli(ws.path(), &["apply", "--yes"]);
    run.expect(1);
    assert!(run.stderr.contains("DynamoDB UpdateTimeToLive on messages failed"), "{}", run.stderr);
    assert!(run.stderr.contains("apply again an hour after the last change"), "{}", run.stderr);
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "{:?}", started.elapsed());
    assert_eq!(emu.count("UpdateTimeToLive"), 1, "retried: {:?}", emu.calls());
    assert_eq!(ttl(), "ENABLED expires_at");
}

/// Encryption at rest and table class: set at create, kept (drift repaired), changed with one
/// UpdateTable each; the emulator applies both as AWS does (moto's UpdateTable ignores them).
#[test]
fn encryption_and_table_class_are_set_at_create_kept_and_changed_one_update_each() {
    let emu = Emulator::with_aws_rules();
    let with = |extra: &str| table_spec(&format!("{BASE_TABLE}{extra}"));
    let ws = Workspace::new(&with("    encryption: aws_managed\n    table_class: standard_infrequent_access\n"));
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    let storage = || {
        emu.py(
            "t = ddb.describe_table(TableName='messages')['Table']\n\
             print((t.get('SSEDescription') or {}).get('SSEType'), (t.get('SSEDescription') or {}).get('KMSMasterKeyArn', '').split('/')[-1], \
             (t.get('TableClassSummary') or {}).get('TableClass'))",
        )
        .trim()
        .to_string()
    };
    assert_eq!(storage(), "KMS aws-dynamodb-0000-managed STANDARD_INFREQUENT_ACCESS");
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);

    // Changed by hand: drift, repaired.
    emu.py("ddb.update_table(TableName='messages', TableClass='STANDARD')");
    let drift = emu.cli(ws.path(), &["drift", "--output", "json"]);
    drift.expect(2);
    assert!(drift.stdout.contains("table_class"), "{}", drift.stdout);
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    assert_eq!(storage(), "KMS aws-dynamodb-0000-managed STANDARD_INFREQUENT_ACCESS");

    // A customer key, and back to standard: two UpdateTable calls, a wait after each.
    let key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    ws.write_spec(&with(&format!("    encryption: {{ kms_key: {key} }}\n    table_class: standard\n")));
    emu.reset_calls();
    let run = emu.cli(ws.path(), &["apply", "--yes"]);
    run.expect(0);
    assert_eq!(emu.count("UpdateTable"), 2, "{:?}", emu.writes());
    assert_eq!(storage(), "KMS 1234abcd-12ab-34cd-56ef-1234567890ab STANDARD");
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
    // Back to AWS's own key.
    ws.write_spec(&with("    encryption: aws_owned\n"));
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    assert_eq!(storage(), "None  STANDARD");
    // Left out: neither read nor changed.
    ws.write_spec(&with(""));
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
}
