//! Local-first (issue 19): a DynamoDB-only endpoint (DynamoDB Local) serves a table-only run,
//! per-service endpoints send one service elsewhere, and no answer an endpoint can give turns
//! into SDK debug output.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::*;

const TABLE: &str = "dynamodb_table.cruddur-messages";

#[test]
fn a_dynamodb_only_endpoint_serves_a_table_only_run_with_dynamodb_calls_only() {
    let emu = Emulator::with_args(&["--only", "dynamodb"]);
    let ws = Workspace::shipped();
    emu.cli(ws.path(), &["--target", TABLE, "apply", "--yes"]).expect(0);
    emu.cli(ws.path(), &["--target", TABLE, "plan", "--detailed-exitcode"]).expect(0);
    let others: Vec<String> =
        emu.calls().into_iter().filter(|c| c.service != "dynamodb").map(|c| format!("{}:{}", c.service, c.action)).collect();
    assert!(others.is_empty(), "calls to other services: {others:?}");
    // The whole stack needs services this endpoint does not have: one plain line says which.
    let run = emu.cli(ws.path(), &["plan"]);
    run.expect(1);
    let first = run.stderr.lines().next().unwrap_or("");
    assert!(first.starts_with("error: ") && first.contains("STS GetCallerIdentity"), "{}", run.stderr);
    assert!(run.stderr.contains("--target only what it serves") && run.stderr.contains("AWS_ENDPOINT_URL_STS"), "{}", run.stderr);
}

#[test]
fn a_capacity_change_plans_and_applies_at_a_dynamodb_only_endpoint() {
    // A capacity that differs from the spec makes the plan look for a scaler that may have moved
    // it; DynamoDB Local serves no Application Auto Scaling, so there is none, and the capacity
    // is the spec's to set.
    let emu = Emulator::with_args(&["--only", "dynamodb"]);
    let ws = Workspace::new(&table_spec(BASE_TABLE));
    let target = ["--target", "dynamodb_table.messages"];
    emu.cli(ws.path(), &[&target[..], &["apply", "--yes"]].concat()).expect(0);
    ws.write_spec(&table_spec(&BASE_TABLE.replacen("capacity: { read: 5, write: 5 }", "capacity: { read: 8, write: 5 }", 1)));
    let plan = emu.cli(ws.path(), &[&target[..], &["plan", "--detailed-exitcode"]].concat());
    plan.expect(2);
    assert!(plan.stdout.contains("read_capacity"), "{}", plan.stdout);
    emu.cli(ws.path(), &[&target[..], &["apply", "--yes"]].concat()).expect(0);
    emu.cli(ws.path(), &[&target[..], &["plan", "--detailed-exitcode"]].concat()).expect(0);
    assert_eq!(
        emu.py("print(ddb.describe_table(TableName='messages')['Table']['ProvisionedThroughput']['ReadCapacityUnits'])").trim(),
        "8"
    );
}

#[test]
fn a_service_endpoint_sends_only_that_service_elsewhere() {
    let (main, ddb) = (Emulator::start(), Emulator::start());
    let ws = Workspace::shipped();
    let run = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cruddur-infra"));
        cmd.current_dir(ws.path()).args(["--endpoint-url", &main.url, "--target", "lambda_function.cruddur-messaging-stream"]).args(args);
        Run::from(isolated(&mut cmd).env("AWS_ENDPOINT_URL_DYNAMODB", &ddb.url).output().unwrap())
    };
    run(&["apply", "--yes"]).expect(0);
    run(&["plan", "--detailed-exitcode"]).expect(0);
    let tables = |e: &Emulator| e.py("print(ddb.list_tables()['TableNames'])").trim().to_string();
    assert_eq!(tables(&ddb), "['cruddur-messages']");
    assert_eq!(tables(&main), "[]");
    assert_eq!(main.py("print(len(lam.list_functions()['Functions']))").trim(), "1");
    assert!(ddb.calls().iter().all(|c| c.service == "dynamodb"), "other services reached the DynamoDB endpoint");
}

/// A stand-in endpoint that answers every request the same broken way.
struct BadEndpoint {
    child: std::process::Child,
    url: String,
}

impl BadEndpoint {
    fn start(mode: &str) -> Self {
        let mut child = Command::new(repo().join(".venv/bin/python"))
            .arg(repo().join("tests/support/bad_answers.py"))
            .arg(mode)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line.trim().strip_prefix("READY port=").unwrap().to_string();
        BadEndpoint { child, url: format!("http://127.0.0.1:{port}") }
    }
}

impl Drop for BadEndpoint {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn no_answer_becomes_debug_output() {
    let ws = Workspace::shipped();
    for mode in ["html404", "empty500", "truncated", "xml", "forbidden", "unknown_op"] {
        let bad = BadEndpoint::start(mode);
        // The whole stack asks STS first (query protocol, XML); a table alone asks DynamoDB (JSON).
        for args in [&["plan"][..], &["--target", TABLE, "plan"]] {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_cruddur-infra"));
            cmd.current_dir(ws.path()).arg("--endpoint-url").arg(&bad.url).args(args);
            let run = Run::from(isolated(&mut cmd).output().unwrap());
            let what = format!("{mode} {args:?}");
            run.expect(1);
            assert!(run.stderr.starts_with("error: "), "{what}: {}", run.stderr);
            assert!(run.stderr.len() < 400, "{what}: {} characters:\n{}", run.stderr.len(), run.stderr);
            for debug in [" { ", "Some(", "ServiceError", "Error {", "Unhandled"] {
                assert!(!run.stderr.contains(debug), "{what}: debug syntax `{debug}` in:\n{}", run.stderr);
            }
        }
    }
}
