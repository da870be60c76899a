//! What one run touches: `apply --target` judges only what it applied, `destroy --target`
//! deletes a resource and its dependents (never its dependencies), a protected env is never
//! destroyed, tables only with `--allow-data-loss`, and `--region` is the one region of the run.
//! Each of these failed before (issue 22 §3–§5).

mod common;

use common::*;

const FUNCTION: &str = "lambda_function.cruddur-messaging-stream";
const TABLE: &str = "dynamodb_table.cruddur-messages";

#[test]
fn apply_with_a_target_checks_convergence_of_the_target_only() {
    let emu = Emulator::start();
    let ws = Workspace::shipped();
    // The function with its dependencies (table, role), not its trigger.
    let run = emu.cli(ws.path(), &["--target", FUNCTION, "apply", "--yes"]);
    run.expect(0);
    // The role's policy names the dead-letter queue's ARN: the queue comes with it.
    assert!(run.stdout.contains("Apply complete: 4 added"), "{}", run.stdout);
    assert_eq!(emu.census(), "tables=1 roles=1 functions=1 mappings=0 endpoints=0 queues=1 topics=0 alarms=0");
    emu.cli(ws.path(), &["--target", FUNCTION, "plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn destroy_with_a_target_deletes_it_and_its_dependents_never_its_dependencies() {
    let emu = Emulator::start();
    let ws = Workspace::shipped();
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    let run = emu.cli(ws.path(), &["--target", FUNCTION, "destroy", "--yes"]);
    run.expect(0);
    assert!(run.stdout.contains("Destroy complete: 6 deleted."), "{}", run.stdout);
    // The function and its trigger are gone; the table (with its data) and the role stay.
    assert_eq!(emu.census(), "tables=1 roles=1 functions=0 mappings=0 endpoints=1 queues=1 topics=1 alarms=4");
}

#[test]
fn destroy_deletes_a_table_only_when_named_and_really_deletes_everything() {
    let emu = Emulator::start();
    let ws = Workspace::shipped();
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    emu.reset_calls();
    let run = emu.cli(ws.path(), &["destroy", "--yes"]);
    run.expect(1);
    assert!(run.stderr.contains(&format!("run again with --allow-data-loss {TABLE}")), "{}", run.stderr);
    assert!(emu.writes().is_empty(), "{:?}", emu.writes());
    // A typo consents to nothing.
    emu.cli(ws.path(), &["destroy", "--yes", "--allow-data-loss", "dynamodb_table.other"]).expect(1);
    assert!(emu.writes().is_empty(), "{:?}", emu.writes());
    let run = emu.cli(ws.path(), &["destroy", "--yes", "--allow-data-loss", TABLE]);
    run.expect(0);
    assert!(run.stdout.contains("Destroy complete: 15 deleted."), "{}", run.stdout);
    // The real deletes happened: the role with its policies (DeleteRole), the table.
    assert_eq!(emu.census(), "tables=0 roles=0 functions=0 mappings=0 endpoints=0 queues=0 topics=0 alarms=0");
    for call in ["DetachRolePolicy", "DeleteRolePolicy", "DeleteRole", "DeleteTable"] {
        assert!(emu.count(call) >= 1, "{call} was not called");
    }
}

#[test]
fn a_protected_env_is_never_destroyed() {
    let emu = Emulator::start();
    let ws = Workspace::shipped();
    let run = emu.cli(ws.path(), &["--env", "prod", "destroy", "--yes", "--allow-data-loss", TABLE]);
    run.expect(1);
    assert!(run.stderr.contains("env `prod` is protected"), "{}", run.stderr);
    assert!(run.stderr.contains("protected: false"), "{}", run.stderr);
    assert!(emu.calls().is_empty(), "{:?}", emu.calls().len());
}

#[test]
fn the_region_flag_is_the_one_region_of_the_run() {
    let emu = Emulator::start();
    let ws = Workspace::shipped();
    // The spec's local env says us-east-1; the flag moves everything, ARNs and policy included.
    let run = emu.cli(ws.path(), &["--region", "us-west-2", "apply", "--yes"]);
    run.expect(0);
    let policy = emu.py("import urllib.parse\n\
         d = iam.get_role_policy(RoleName='cruddur-messaging-stream', PolicyName='cruddur-message-stream-policy')['PolicyDocument']\n\
         print(json.dumps(d) if isinstance(d, dict) else urllib.parse.unquote(d))");
    assert!(policy.contains("arn:aws:dynamodb:us-west-2:"), "{policy}");
    assert!(!policy.contains("us-east-1"), "{policy}");
    let json = emu.cli(ws.path(), &["--region", "us-west-2", "plan", "--output", "json", "--detailed-exitcode"]);
    json.expect(0);
    assert_eq!(json.json()["region"], "us-west-2");
    // Nothing was made in the env's own region.
    assert_eq!(emu.census(), "tables=0 roles=1 functions=0 mappings=0 endpoints=0 queues=0 topics=0 alarms=0");
}
