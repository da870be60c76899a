//! Safe deploys (issue 30): `deploy:` publishes a version of each change, moves the alias the
//! trigger invokes, bakes while watching the function's alarms, rolls back on ALARM; `rollback`
//! by hand; old versions pruned. The trigger is the same mapping (UUID) throughout. Rule 43.

mod common;

use common::{isolated, Emulator, Workspace};

const FUNCTION: &str = "lambda_function.cruddur-messaging-stream";
const CODE: &str = "lambda/cruddur-messaging-stream/lambda_function.py";

/// The shipped spec with the function deployed through `live` (its `deploy:` line).
fn with_deploy(ws: &Workspace, deploy: &str) {
    let spec = std::fs::read_to_string(common::repo().join("infra.yaml")).unwrap();
    let at = spec.find("\nfunctions:\n  cruddur-messaging-stream:\n").unwrap() + "\nfunctions:\n  cruddur-messaging-stream:\n".len();
    ws.write_spec(&format!("{}    deploy: {deploy}\n{}", &spec[..at], &spec[at..]));
}

/// A new version of the handler's code (a comment appended).
fn edit_code(ws: &Workspace, n: u32) {
    let code = std::fs::read_to_string(common::repo().join(CODE)).unwrap();
    ws.write(CODE, &format!("{code}\n# revision {n}\n"));
}

/// (alias version, alias description, mapping UUID, what the mapping invokes).
fn state(emu: &Emulator) -> (String, String, String, String) {
    let out = emu.py(
        "a = lam.get_alias(FunctionName='cruddur-messaging-stream', Name='live')\n\
         arn = lam.get_function(FunctionName='cruddur-messaging-stream')['Configuration']['FunctionArn']\n\
         m = lam.list_event_source_mappings(FunctionName=arn + ':live')['EventSourceMappings']\n\
         print(a['FunctionVersion']); print(a.get('Description', '')); print(m[0]['UUID'] if m else '-'); print(m[0]['FunctionArn'].split(':')[-1] if m else '-')",
    );
    let l: Vec<String> = out.lines().map(str::to_string).collect();
    (l[0].clone(), l[1].clone(), l[2].clone(), l[3].clone())
}

fn versions(emu: &Emulator) -> String {
    emu.py("print(' '.join(v['Version'] for v in lam.list_versions_by_function(FunctionName='cruddur-messaging-stream')['Versions'] if v['Version'] != '$LATEST'))")
        .trim()
        .to_string()
}

#[test]
fn a_deploy_publishes_moves_the_alias_bakes_and_keeps_the_trigger() {
    let emu = Emulator::with_delays("0.3", "0.5");
    let ws = Workspace::shipped();
    with_deploy(&ws, "{ alias: live, bake_s: 3, keep_versions: 1 }");
    // The first apply: version 1, the alias made at it, the trigger on the alias.
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    let (version, record, uuid, invokes) = state(&emu);
    assert_eq!((version.as_str(), record.as_str(), invokes.as_str()), ("1", "cruddur-infra: first version 1", "live"));
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);

    // New code: the plan says the alias moves, with the bake and its rule.
    edit_code(&ws, 2);
    let plan = emu.cli(ws.path(), &["plan"]);
    plan.expect(0);
    assert!(plan.stdout.contains("alias.live: version 1 → new, bake 3 s, rollback on alarm"), "{}", plan.stdout);
    let run = emu.cli(ws.path(), &["apply", "--yes"]);
    run.expect(0);
    assert!(run.stderr.contains("bake of version 2") && run.stderr.contains("passed"), "{}", run.stderr);
    let (version, record, same_uuid, _) = state(&emu);
    assert_eq!((version.as_str(), record.as_str()), ("2", "cruddur-infra: version 2 replaced version 1"));
    assert_eq!(same_uuid, uuid, "the trigger was updated in place, never replaced");
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);

    // Two more: keep_versions 1 keeps the alias's version, the one it records, and one more.
    edit_code(&ws, 3);
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    edit_code(&ws, 4);
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    assert_eq!(versions(&emu), "2 3 4");
    assert_eq!(state(&emu).2, uuid);

    // `rollback` moves it back to the recorded version, once; the next plan deploys the spec's
    // code again.
    let run = emu.cli(ws.path(), &["rollback", FUNCTION]);
    run.expect(1);
    assert!(run.stderr.contains("rollback needs --yes"), "{}", run.stderr);
    let run = emu.cli(ws.path(), &["rollback", FUNCTION, "--yes"]);
    run.expect(0);
    assert!(run.stdout.contains("alias.live: version 4 → version 3 (rolled back)"), "{}", run.stdout);
    assert_eq!(state(&emu).0, "3");
    let again = emu.cli(ws.path(), &["rollback", FUNCTION, "--yes"]);
    again.expect(1);
    assert!(again.stderr.contains("rolled back already, from version 4 to version 3"), "{}", again.stderr);
    let plan = emu.cli(ws.path(), &["plan", "--output", "json"]).json();
    let c = plan["changes"].as_array().unwrap().iter().find(|c| c["address"] == FUNCTION).unwrap().clone();
    assert_eq!(c["diffs"][0]["path"], "alias.live", "{c:#}");
    assert_eq!(c["diffs"][0]["before"], "version 3");

    // Turned off: the trigger invokes the function again, in place; versions are left alone.
    let spec = std::fs::read_to_string(common::repo().join("infra.yaml")).unwrap();
    ws.write_spec(&spec);
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    let out = emu.py("m = lam.list_event_source_mappings(FunctionName='cruddur-messaging-stream')['EventSourceMappings']\n\
         print(len(m), m[0]['UUID'], m[0]['FunctionArn'].endswith(':function:cruddur-messaging-stream'))");
    assert_eq!(out.trim(), format!("1 {uuid} True"));
    assert_eq!(versions(&emu), "2 3 4");
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn an_alarm_during_the_bake_moves_the_alias_back_and_fails_the_apply() {
    let emu = Emulator::with_delays("0.3", "0.5");
    let ws = Workspace::shipped();
    with_deploy(&ws, "{ alias: live, bake_s: 30 }");
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    let uuid = state(&emu).2;
    edit_code(&ws, 2);
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_cruddur-infra"));
    cmd.current_dir(ws.path()).args(["--endpoint-url", &emu.url, "apply", "--yes"]);
    let child = isolated(&mut cmd).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    // Once the alias is at the new version, the handler "starts failing".
    let start = std::time::Instant::now();
    while state(&emu).0 != "2" {
        assert!(start.elapsed().as_secs() < 60, "the alias never moved");
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    emu.py("cw.set_alarm_state(AlarmName='cruddur-messaging-stream-errors', StateValue='ALARM', StateReason='errors (set by the test)')");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("alarm cruddur-messaging-stream-errors is in ALARM") && stderr.contains("moved back from version 2 to version 1"),
        "{stderr}"
    );
    assert!(start.elapsed().as_secs() < 28, "the rollback waited for the whole bake");
    let (version, record, same_uuid, invokes) = state(&emu);
    assert_eq!((version.as_str(), record.as_str()), ("1", "cruddur-infra: rolled back from version 2 to version 1"));
    assert_eq!((same_uuid.as_str(), invokes.as_str()), (uuid.as_str(), "live"));
    // While the alarm is in ALARM, a new deploy is refused before the alias moves.
    let run = emu.cli(ws.path(), &["apply", "--yes"]);
    run.expect(1);
    assert!(run.stderr.contains("is in ALARM already") && run.stderr.contains("alias live was not moved"), "{}", run.stderr);
    assert_eq!(state(&emu).0, "1");
    // A version an alias points at is never deleted: AWS refuses it (the emulator too).
    let refused = emu.py("try:\n    lam.delete_function(FunctionName='cruddur-messaging-stream', Qualifier='1')\n    print('deleted')\n\
         except lam.exceptions.ResourceConflictException:\n    print('refused')");
    assert_eq!(refused.trim(), "refused");
}

#[test]
fn import_writes_deploy_for_a_function_whose_trigger_invokes_an_alias() {
    let emu = Emulator::start();
    let ws = Workspace::shipped();
    with_deploy(&ws, "{ alias: live }");
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    let run = emu.cli(ws.path(), &["--region", "us-east-1", "import", "--function", "cruddur-messaging-stream", "--out", "again"]);
    run.expect(0);
    let spec = std::fs::read_to_string(ws.path().join("again/infra.yaml")).unwrap();
    assert!(spec.contains("deploy: { alias: live"), "{spec}");
    emu.cli(&ws.path().join("again"), &["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn a_bake_cut_short_is_finished_by_the_next_apply() {
    let emu = Emulator::with_delays("0.3", "0.5");
    let ws = Workspace::shipped();
    with_deploy(&ws, "{ alias: live, bake_s: 6 }");
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    edit_code(&ws, 2);
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_cruddur-infra"));
    cmd.current_dir(ws.path()).args(["--endpoint-url", &emu.url, "-q", "apply", "--yes"]);
    let mut child = isolated(&mut cmd).stdout(std::process::Stdio::null()).spawn().unwrap();
    let start = std::time::Instant::now();
    while state(&emu).0 != "2" {
        assert!(start.elapsed().as_secs() < 60, "the alias never moved");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let _ = child.kill(); // SIGKILL, during the bake
    let _ = child.wait();
    assert_eq!(state(&emu).1, "cruddur-infra: version 2 replaced version 1 (baking)");
    // The next plan says the bake is not finished; apply runs it, and the record says baked.
    let plan = emu.cli(ws.path(), &["plan"]);
    plan.expect(0);
    assert!(plan.stdout.contains("alias.live: version 2, bake not finished → baked, bake 6 s, rollback on alarm"), "{}", plan.stdout);
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    assert_eq!(state(&emu).1, "cruddur-infra: version 2 replaced version 1");
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
}
