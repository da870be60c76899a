//! Safe apply: the account guard, saved plans, secrets masking, the production banner.

mod common;

use common::*;

const SECRET: &str = "hunter2-do-not-print";

/// The shipped stack with a secret environment variable and an env pinned to another account.
fn workspace() -> Workspace {
    let ws = Workspace::shipped();
    let spec = std::fs::read_to_string(ws.path().join("infra.yaml")).unwrap();
    let spec = spec
        .replace("      INDEX_NAME: message-group-sk-index\n", &format!("      INDEX_NAME: message-group-sk-index\n      DB_PASSWORD: {SECRET}\n      PLAIN_LOOKING: also-{SECRET}\n    sensitive: [PLAIN_LOOKING]\n"))
        .replace("environments:\n", "environments:\n  elsewhere:\n    region: us-east-1\n    account_id: \"111111111111\"\n");
    ws.write_spec(&spec);
    ws
}

#[test]
fn the_wrong_account_is_refused_before_any_write_naming_both() {
    let emu = Emulator::start();
    let ws = workspace();
    for args in [&["--env", "elsewhere", "plan"][..], &["--env", "elsewhere", "drift"], &["--env", "elsewhere", "apply", "--yes"]] {
        let run = emu.cli(ws.path(), args);
        run.expect(1);
        assert!(run.stderr.contains("123456789012") && run.stderr.contains("111111111111"), "{}", run.stderr);
    }
    assert!(emu.writes().is_empty(), "{:?}", emu.writes());
}

#[test]
fn a_saved_plan_applies_exactly_and_without_a_question() {
    let emu = Emulator::start();
    let ws = workspace();
    let file = ws.path().join("release.plan");
    emu.cli(ws.path(), &["plan", "--out", file.to_str().unwrap()]).expect(0);
    emu.reset_calls();
    // No terminal and no --yes: the saved plan is the consent.
    let run = emu.cli(ws.path(), &["apply", file.to_str().unwrap()]);
    run.expect(0);
    assert!(run.stdout.contains("Apply complete: 15 added"), "{}", run.stdout);
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
    // The real secret was deployed.
    let env =
        emu.py("print(lam.get_function_configuration(FunctionName='cruddur-messaging-stream')['Environment']['Variables']['DB_PASSWORD'])");
    assert_eq!(env.trim(), SECRET);
}

#[test]
fn a_saved_plan_made_stale_is_refused_saying_what_changed() {
    let emu = Emulator::start();
    let ws = workspace();
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    let spec = std::fs::read_to_string(ws.path().join("infra.yaml")).unwrap();
    ws.write_spec(&spec.replace("memory_mb: 128", "memory_mb: 256"));
    let file = ws.path().join("p.plan");
    emu.cli(ws.path(), &["plan", "--out", file.to_str().unwrap()]).expect(0);
    // Someone changes the table out of band.
    emu.py("ddb.update_table(TableName='cruddur-messages', ProvisionedThroughput={'ReadCapacityUnits': 9, 'WriteCapacityUnits': 5})");
    emu.reset_calls();
    let run = emu.cli(ws.path(), &["apply", file.to_str().unwrap()]);
    run.expect(1);
    assert!(run.stderr.contains("dynamodb_table.cruddur-messages changed in AWS since the plan was made"), "{}", run.stderr);
    assert!(emu.writes().is_empty(), "{:?}", emu.writes());
    // A fresh plan; then the spec changes under it: refused as well.
    emu.cli(ws.path(), &["plan", "--out", file.to_str().unwrap()]).expect(0);
    let spec = std::fs::read_to_string(ws.path().join("infra.yaml")).unwrap();
    ws.write_spec(&spec.replace("memory_mb: 256", "memory_mb: 512"));
    let run = emu.cli(ws.path(), &["apply", file.to_str().unwrap()]);
    run.expect(1);
    assert!(run.stderr.contains("the spec, a policy file or the Lambda code changed"), "{}", run.stderr);
    assert!(emu.writes().is_empty());
}

#[test]
fn secrets_are_masked_in_every_output_and_the_plan_file() {
    let emu = Emulator::start();
    let ws = workspace();
    let file = ws.path().join("p.plan");
    let human = emu.cli(ws.path(), &["plan", "--out", file.to_str().unwrap()]);
    let json = emu.cli(ws.path(), &["plan", "--output", "json"]);
    let saved = std::fs::read_to_string(&file).unwrap();
    for (what, text) in [("human", &human.stdout), ("json", &json.stdout), ("plan file", &saved), ("stderr", &human.stderr)] {
        assert!(!text.contains(SECRET), "the secret is in the {what} output");
    }
    assert!(json.stdout.contains("(sensitive)"));
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    let run = emu.cli(ws.path(), &["drift", "--output", "markdown"]);
    assert!(!run.stdout.contains(SECRET));
    emu.py("lam.update_function_configuration(FunctionName='cruddur-messaging-stream', Environment={'Variables': {'TABLE_NAME': 'cruddur-messages', 'INDEX_NAME': 'message-group-sk-index', 'DB_PASSWORD': 'changed-out-of-band', 'PLAIN_LOOKING': 'x'}})");
    let run = emu.cli(ws.path(), &["drift"]);
    run.expect(2);
    assert!(
        run.stdout.contains("environment.DB_PASSWORD") && !run.stdout.contains("changed-out-of-band") && !run.stdout.contains(SECRET),
        "{}",
        run.stdout
    );
}

#[test]
fn a_protected_env_shows_a_banner_for_broadening_changes() {
    let emu = Emulator::start();
    let ws = Workspace::shipped();
    emu.cli(ws.path(), &["--env", "prod", "apply", "--yes"]).expect(0);
    let policy = ws.path().join("policies/cruddur-message-stream-policy.json");
    let text = std::fs::read_to_string(&policy).unwrap();
    std::fs::write(&policy, text.replace("\"dynamodb:DeleteItem\"", "\"dynamodb:DeleteItem\",\n        \"dynamodb:UpdateItem\"")).unwrap();
    let run = emu.cli(ws.path(), &["--env", "prod", "apply", "--yes"]);
    run.expect(0);
    assert!(run.stdout.contains("PROTECTED ENVIRONMENT `prod`"), "{}", run.stdout);
    assert!(run.stdout.contains("broadens permissions: allows dynamodb:UpdateItem"), "{}", run.stdout);
    // The local env is not protected: no banner.
    std::fs::write(&policy, text).unwrap();
    let run = emu.cli(ws.path(), &["apply", "--yes"]);
    assert!(!run.stdout.contains("PROTECTED"));
}

#[test]
fn destroy_deletes_ours_in_reverse_order_and_leaves_foreign_and_protected_resources_alone() {
    let emu = Emulator::start();
    let ws = Workspace::shipped();
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    // (No items are written: moto would try to run the mapped Lambda in Docker, which is not here.)
    // No terminal, no --yes: refused, nothing deleted (the table is consented to, so that the
    // refusal is for the missing --yes).
    emu.reset_calls();
    let run = emu.cli(ws.path(), &["destroy", "--allow-data-loss", "dynamodb_table.cruddur-messages"]);
    run.expect(1);
    assert!(run.stderr.contains("needs --yes"));
    assert!(emu.writes().is_empty());
    // Someone takes the role over (drops our tags); the table gets deletion protection.
    emu.py("iam.untag_role(RoleName='cruddur-messaging-stream', TagKeys=['managed-by'])\n\
         ddb.update_table(TableName='cruddur-messages', DeletionProtectionEnabled=True)");
    let run = emu.cli(ws.path(), &["destroy", "--yes"]);
    run.expect(0);
    assert!(run.stdout.contains("Destroy complete: 13 deleted."), "{}", run.stdout);
    assert!(run.stdout.contains("not tagged as made by this stack and env: left alone"), "{}", run.stdout);
    assert!(run.stdout.contains("a protected table is never deleted"), "{}", run.stdout);
    let deletes: Vec<String> = emu.writes().into_iter().filter(|w| !w.contains("UntagRole") && !w.contains("UpdateTable")).collect();
    // Reverse dependency order: the alarms first, then the trigger, its function, the endpoint,
    // the topic the alarms told, and the queue.
    let (alarms, rest) = deletes.split_at(8);
    assert!(alarms.iter().all(|w| w == "monitoring:DeleteAlarms"), "{deletes:?}");
    assert_eq!(rest.len(), 5, "{deletes:?}");
    assert!(rest[0].starts_with("lambda:DELETE /2015-03-31/event-source-mappings/"), "{deletes:?}");
    assert_eq!(rest[1], "lambda:DELETE /2015-03-31/functions/cruddur-messaging-stream");
    assert_eq!(rest[2], "ec2:DeleteVpcEndpoints");
    assert_eq!(rest[3], "sns:DeleteTopic");
    assert_eq!(rest[4], "sqs:DeleteQueue");
    let left = emu
        .py("print(len(lam.list_functions()['Functions']), iam.get_role(RoleName='cruddur-messaging-stream')['Role']['RoleName'], \
         ddb.describe_table(TableName='cruddur-messages')['Table']['TableStatus'])");
    assert_eq!(left.trim(), "0 cruddur-messaging-stream ACTIVE");
    // Nothing of ours is left: a second destroy has nothing to do.
    emu.reset_calls();
    emu.cli(ws.path(), &["destroy", "--yes"]).expect(0);
    assert!(emu.writes().is_empty(), "{:?}", emu.writes());
}

/// Issue 22 §7: a saved plan applies only the values it showed. A sensitive value is masked in
/// the plan, so its change would be invisible: the file keeps a salted hash instead.
#[test]
fn a_saved_plan_refuses_a_sensitive_value_changed_since_and_another_tool_version() {
    let emu = Emulator::start();
    let ws = workspace();
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    let spec = std::fs::read_to_string(ws.path().join("infra.yaml")).unwrap();
    ws.write_spec(&spec.replace(&format!("DB_PASSWORD: {SECRET}"), "DB_PASSWORD: two"));
    let file = ws.path().join("p.plan");
    emu.cli(ws.path(), &["plan", "--out", file.to_str().unwrap()]).expect(0);
    let saved = std::fs::read_to_string(&file).unwrap();
    assert!(saved.contains("\"salt\"") && saved.contains("environment.DB_PASSWORD"), "{saved}");
    assert!(!saved.contains(": \"two\"") && !saved.contains(SECRET), "a sensitive value is in the file");
    // The spec changes to "three" after the plan was made and reviewed.
    ws.write_spec(&spec.replace(&format!("DB_PASSWORD: {SECRET}"), "DB_PASSWORD: three"));
    emu.reset_calls();
    let run = emu.cli(ws.path(), &["apply", file.to_str().unwrap()]);
    run.expect(1);
    assert!(
        run.stderr.contains("the sensitive value of lambda_function.cruddur-messaging-stream environment.DB_PASSWORD changed"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("three"), "{}", run.stderr);
    assert!(emu.writes().is_empty(), "{:?}", emu.writes());
    // Back to the planned value: the plan applies exactly.
    ws.write_spec(&spec.replace(&format!("DB_PASSWORD: {SECRET}"), "DB_PASSWORD: two"));
    emu.cli(ws.path(), &["apply", file.to_str().unwrap()]).expect(0);
    let live =
        emu.py("print(lam.get_function_configuration(FunctionName='cruddur-messaging-stream')['Environment']['Variables']['DB_PASSWORD'])");
    assert_eq!(live.trim(), "two");
    // A plan saved by another version of the tool is refused.
    emu.cli(ws.path(), &["plan", "--out", file.to_str().unwrap()]).expect(0);
    let text = std::fs::read_to_string(&file).unwrap();
    let version = env!("CARGO_PKG_VERSION");
    std::fs::write(&file, text.replace(&format!("\"tool_version\": \"{version}\""), "\"tool_version\": \"0.0.1-other\"")).unwrap();
    let run = emu.cli(ws.path(), &["apply", file.to_str().unwrap()]);
    run.expect(1);
    assert!(run.stderr.contains("saved by cruddur-infra 0.0.1-other"), "{}", run.stderr);
}
