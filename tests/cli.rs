//! The command line a Terraform or AWS CLI user expects: help, version, completions, schema,
//! --target.

mod common;

use std::process::Command;

use common::*;

fn bin(args: &[&str]) -> Run {
    isolated(Command::new(env!("CARGO_BIN_EXE_cruddur-infra")).current_dir(repo()).args(args)).output().unwrap().into()
}

#[test]
fn every_command_has_help_with_examples_and_there_is_a_version() {
    for cmd in ["plan", "apply", "drift", "destroy", "validate", "completions"] {
        let run = bin(&[cmd, "--help"]);
        run.expect(0);
        assert!(run.stdout.contains("Examples:"), "{cmd} --help has no examples:\n{}", run.stdout);
    }
    let top = bin(&["--help"]);
    assert!(top.stdout.contains("Exit codes: 0 success"));
    let v = bin(&["--version"]);
    v.expect(0);
    assert_eq!(v.stdout.trim(), format!("cruddur-infra {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn completions_generate_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let run = bin(&["completions", shell]);
        run.expect(0);
        assert!(run.stdout.contains("cruddur-infra") && run.stdout.contains("drift"), "{shell}");
    }
}

#[test]
fn the_committed_schema_is_the_generated_one() {
    let run = bin(&["schema"]);
    run.expect(0);
    let committed = std::fs::read_to_string(repo().join("docs/infra.schema.json")).unwrap();
    assert_eq!(run.stdout, committed, "docs/infra.schema.json is stale: run `cruddur-infra schema > docs/infra.schema.json`");
    let shipped = std::fs::read_to_string(repo().join("infra.yaml")).unwrap();
    assert!(shipped.starts_with("# yaml-language-server: $schema=./docs/infra.schema.json\n"));
}

/// Validates YAML text against the committed schema with Python's jsonschema; returns the errors.
fn schema_errors(yaml: &str) -> String {
    let ws = Workspace::new(yaml);
    let code = format!(
        "import json, sys, yaml, jsonschema\n\
         schema = json.load(open('{}'))\n\
         doc = yaml.safe_load(open('{}'))\n\
         v = jsonschema.Draft202012Validator(schema)\n\
         print('\\n'.join(sorted(e.message for e in v.iter_errors(doc))))",
        repo().join("docs/infra.schema.json").display(),
        ws.path().join("infra.yaml").display()
    );
    let out = Command::new(repo().join(".venv/bin/python")).arg("-c").arg(code).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_schema_accepts_the_shipped_spec_and_rejects_a_broken_one() {
    let shipped = std::fs::read_to_string(repo().join("infra.yaml")).unwrap();
    assert_eq!(schema_errors(&shipped).trim(), "");
    let broken = shipped.replace("billing: provisioned", "billing: sometimes").replace("    stream: new_image", "    streem: new_image");
    let errors = schema_errors(&broken);
    assert!(errors.contains("'sometimes' is not one of"), "{errors}");
    assert!(errors.contains("'streem'"), "{errors}");
}

#[test]
fn target_limits_the_plan_to_a_resource_and_its_dependencies() {
    let emu = Emulator::start();
    let ws = Workspace::shipped();
    let run = emu.cli(ws.path(), &["plan", "--output", "json", "--target", "lambda_function.cruddur-messaging-stream"]);
    run.expect(0);
    let addresses: Vec<String> =
        run.json()["changes"].as_array().unwrap().iter().map(|c| c["address"].as_str().unwrap().to_string()).collect();
    assert_eq!(
        addresses,
        [
            "dynamodb_table.cruddur-messages",
            // The role's policy names the dead-letter queue.
            "sqs_queue.cruddur-messaging-stream-dlq",
            "iam_role.cruddur-messaging-stream",
            "lambda_function.cruddur-messaging-stream"
        ]
    );
    // The endpoint is not even read.
    assert_eq!(emu.count("DescribeVpcEndpoints"), 0);
    emu.cli(ws.path(), &["apply", "--yes", "--target", "lambda_event_source_mapping.cruddur-messaging-stream"]).expect(0);
    let run = emu.cli(ws.path(), &["plan", "--output", "json"]);
    let pending: Vec<String> = run.json()["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "no-op")
        .map(|c| c["address"].as_str().unwrap().to_string())
        .collect();
    // What the trigger does not depend on: the endpoint, the alerts topic and the alarms.
    let (alarms, rest): (Vec<&String>, Vec<&String>) = pending.iter().partition(|a| a.starts_with("cloudwatch_alarm."));
    assert_eq!(rest, ["sns_topic.cruddur-alerts", "vpc_endpoint.dynamodb"]);
    assert_eq!(alarms.len(), 8, "{alarms:?}");
    let bad = emu.cli(ws.path(), &["plan", "--target", "iam_role.nope"]);
    bad.expect(1);
    assert!(bad.stderr.contains("no such resource") && bad.stderr.contains("iam_role.cruddur-messaging-stream"), "{}", bad.stderr);
}

#[test]
fn no_color_and_pipes_get_plain_text() {
    let emu = Emulator::start();
    let ws = Workspace::shipped();
    let run = emu.cli(ws.path(), &["plan"]);
    assert!(!run.stdout.contains('\u{1b}'), "colour in a pipe");
    // On a terminal, colour shows, unless NO_COLOR is set: the check can fail.
    let on_tty = |no_color: Option<&str>| -> String {
        let mut cmd = std::process::Command::new(repo().join(".venv/bin/python"));
        cmd.current_dir(ws.path())
            .arg("-c")
            .arg("import pty, sys; pty.spawn(sys.argv[1:])")
            .arg(env!("CARGO_BIN_EXE_cruddur-infra"))
            .args(["--endpoint-url", &emu.url, "plan"]);
        isolated(&mut cmd).env_remove("NO_COLOR").env("TERM", "xterm");
        if let Some(v) = no_color {
            cmd.env("NO_COLOR", v);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let coloured = on_tty(None);
    assert!(coloured.contains("\u{1b}["), "no colour on a terminal:\n{coloured}");
    assert!(coloured.contains("will be created"), "{coloured}");
    let plain = on_tty(Some("1"));
    assert!(plain.contains("will be created") && !plain.contains('\u{1b}'), "NO_COLOR on a terminal:\n{plain}");
}

/// `--strict`: an unwaived production check fails validate and plan, before any AWS call; the
/// shipped spec meets every check.
#[test]
fn strict_refuses_an_unwaived_production_check_before_reading_aws_and_a_waiver_lets_it_pass() {
    let emu = Emulator::start();
    let ws = Workspace::shipped();
    emu.cli(ws.path(), &["validate", "--strict"]).expect(0);
    let spec = std::fs::read_to_string(ws.path().join("infra.yaml")).unwrap();
    let without =
        spec.replace("    log_retention_days: 14                   # the log group is made with it, before the first log line\n", "");
    assert_ne!(without, spec);
    ws.write_spec(&without);
    // A warning, not an error, without --strict; and not in the unprotected local env.
    let run = emu.cli(ws.path(), &["--env", "prod", "validate"]);
    run.expect(0);
    assert!(run.stderr.contains("[log-retention] function `cruddur-messaging-stream` keeps its logs forever"), "{}", run.stderr);
    for args in [&["validate", "--strict"][..], &["--env", "prod", "plan", "--strict"]] {
        let run = emu.cli(ws.path(), args);
        run.expect(1);
        assert!(run.stderr.contains("1 production check(s) not met (log-retention)"), "{args:?}: {}", run.stderr);
    }
    assert!(emu.calls().is_empty(), "{:?}", emu.calls());
    emu.cli(ws.path(), &["plan", "--strict"]).expect(0);
    ws.write_spec(&format!("{without}waive:\n  log-retention: \"the account's log subscription keeps them 30 days\"\n"));
    let run = emu.cli(ws.path(), &["validate", "--strict"]);
    run.expect(0);
    assert!(!run.stderr.contains("log-retention"), "{}", run.stderr);
}
