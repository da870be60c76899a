//! Envs in other accounts (issue 20 A): an env reached with `assume_role` plans and applies in
//! the assumed account, the account guard checks the assumed identity, and `--all-envs` reads
//! every env concurrently in one report.

mod common;

use common::*;

const PROD_ROLE: &str = "arn:aws:iam::111111111111:role/deployer";

fn spec(extra_envs: &str) -> String {
    format!(
        "version: 1\nstack: accounts\ndefault_env: dev\nenvironments:\n  dev:\n    region: us-east-1\n  prod:\n    region: us-east-1\n    \
         account_id: \"111111111111\"\n    assume_role: {{ arn: \"{PROD_ROLE}\", external_id: cruddur-ci, session_name: ci-drift }}\n\
         {extra_envs}tables:\n  messages:\n    partition_key: {{ name: pk, type: S }}\n    billing: on_demand\n    tags: {{ arn: \"${{tables.messages.arn}}\" }}\n"
    )
}

#[test]
fn an_env_with_assume_role_works_in_the_assumed_account_and_the_guard_checks_it() {
    let emu = Emulator::start();
    let ws = Workspace::new(&spec("  wrong:\n    region: us-east-1\n    account_id: \"222222222222\"\n    assume_role: { arn: \"arn:aws:iam::111111111111:role/deployer\" }\n"));
    emu.cli(ws.path(), &["--env", "prod", "apply", "--yes"]).expect(0);
    let plan = emu.cli(ws.path(), &["--env", "prod", "plan", "--output", "json", "--detailed-exitcode"]).expect(0).json();
    assert_eq!(plan["account_id"], "111111111111");
    // The table is in the assumed account, not in the base one.
    assert_eq!(emu.py("print(ddb.list_tables()['TableNames'])").trim(), "[]");
    let dev = emu.cli(ws.path(), &["plan", "--output", "json"]).expect(0).json();
    assert_eq!((dev["account_id"].as_str(), dev["summary"]["create"].as_u64()), (Some("123456789012"), Some(1)));
    assert!(emu.calls().iter().any(|c| c.service == "sts" && c.action == "AssumeRole"), "no AssumeRole call");
    // The guard judges the assumed identity.
    let run = emu.cli(ws.path(), &["--env", "wrong", "plan"]);
    run.expect(1);
    assert!(run.stderr.contains("refusing to touch account 111111111111") && run.stderr.contains("222222222222"), "{}", run.stderr);
}

#[test]
fn a_bad_assume_role_is_a_spec_error_naming_the_field() {
    let ws = Workspace::new(&spec("").replace(PROD_ROLE, "arn:aws:iam::prod:user/me"));
    let run = Run::from(
        isolated(std::process::Command::new(env!("CARGO_BIN_EXE_cruddur-infra")).current_dir(ws.path()).arg("validate")).output().unwrap(),
    );
    run.expect(1);
    assert!(run.stderr.contains("infra.yaml:") && run.stderr.contains("environments.prod.assume_role.arn"), "{}", run.stderr);
}

#[test]
fn a_role_that_cannot_be_assumed_is_one_plain_error_with_a_hint() {
    // Nothing listens on port 9: STS cannot be reached to assume the role.
    let ws = Workspace::new(&spec(""));
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_cruddur-infra"));
    cmd.current_dir(ws.path()).args(["--endpoint-url", "http://127.0.0.1:9", "--env", "prod", "plan"]);
    let run = Run::from(isolated(&mut cmd).output().unwrap());
    run.expect(1);
    assert!(run.stderr.starts_with("error: ") && run.stderr.contains("hint: the credentials could not be loaded"), "{}", run.stderr);
    for debug in [" { ", "Some(", "DispatchFailure", "Error {"] {
        assert!(!run.stderr.contains(debug), "debug syntax `{debug}` in:\n{}", run.stderr);
    }
}

#[test]
fn all_envs_reports_every_env_and_exits_1_when_one_cannot_be_read() {
    let emu = Emulator::start();
    // `down`'s DynamoDB endpoint has nothing listening: it cannot be read; the others can.
    let ws = Workspace::new(&spec("  down:\n    region: us-east-1\n    endpoints: { dynamodb: \"http://127.0.0.1:9\" }\n"));
    emu.cli(ws.path(), &["--env", "prod", "apply", "--yes"]).expect(0);

    let run = emu.cli(ws.path(), &["drift", "--all-envs", "--output", "json"]);
    run.expect(1);
    let doc = run.json();
    let envs = doc["envs"].as_object().unwrap();
    assert_eq!(envs.keys().collect::<Vec<_>>(), ["dev", "down", "prod"]);
    assert_eq!(envs["prod"]["account_id"], "111111111111");
    assert_eq!(envs["prod"]["summary"]["no_op"], 1, "{doc:#}");
    assert_eq!(envs["dev"]["summary"]["create"], 1, "{doc:#}");
    assert!(envs["down"]["error"].as_str().unwrap().contains("cannot be reached"), "{doc:#}");

    let md = emu.cli(ws.path(), &["drift", "--all-envs", "--output", "markdown"]);
    md.expect(1);
    assert!(md.stdout.starts_with("<!-- cruddur-infra: stack="), "{}", md.stdout);
    assert!(md.stdout.contains("| `prod` | in sync | 0 | 1 | 0 |"), "{}", md.stdout);
    assert!(md.stdout.contains("| `dev` | drifted | 1 | 0 |"), "{}", md.stdout);
    assert!(md.stdout.contains("- `+` `dynamodb_table.messages` missing"), "{}", md.stdout);
    assert!(md.stdout.contains("| `down` | error:"), "{}", md.stdout);
    for env in ["dev", "prod"] {
        assert!(md.stdout.contains(&format!("### cruddur-infra drift: {env} (")), "no section for {env}:\n{}", md.stdout);
    }

    // Without the unreachable env: drift in dev only → exit 2; once dev is applied, 0.
    ws.write_spec(&spec(""));
    emu.cli(ws.path(), &["drift", "--all-envs"]).expect(2);
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    let human = emu.cli(ws.path(), &["drift", "--all-envs"]);
    human.expect(0);
    assert!(human.stdout.contains("=== env prod ===") && human.stdout.contains("=== env dev ==="), "{}", human.stdout);
    emu.cli(ws.path(), &["plan", "--all-envs", "--detailed-exitcode"]).expect(0);
    // --all-envs is every env: --env with it is a contradiction.
    emu.cli(ws.path(), &["--env", "dev", "drift", "--all-envs"]).expect(1);
}
