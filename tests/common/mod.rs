//! The integration-test harness: a real emulator (moto, optionally behind the AWS-rules proxy
//! of tools/emulator.py) on a free loopback port per test, and the built binary run against it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn python() -> PathBuf {
    let py = repo().join(".venv/bin/python");
    assert!(py.exists(), "{} is missing: run ./scripts/bootstrap (./scripts/test does)", py.display());
    py
}

pub struct Emulator {
    child: Child,
    pub port: u16,
    pub url: String,
    _log: tempfile::NamedTempFile,
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct Call {
    pub service: String,
    pub action: String,
    pub write: bool,
}

impl Emulator {
    /// Plain moto behind the call-recording proxy.
    pub fn start() -> Self {
        Self::launch(&[])
    }

    /// moto behind the proxy that enforces AWS's rules (busy windows, one index change per
    /// UpdateTable, no-op throughput refused, one stream change at a time).
    pub fn with_aws_rules() -> Self {
        Self::with_delays("1.2", "2.5")
    }

    /// The AWS-rules proxy with tables busy for `secs` after each change.
    pub fn with_busy_seconds(secs: &str) -> Self {
        Self::launch(&["--aws-rules", "--busy-seconds", secs, "--iam-delay", "0"])
    }

    /// The AWS-rules proxy with busy windows and an IAM propagation delay for new roles.
    pub fn with_delays(busy: &str, iam: &str) -> Self {
        Self::launch(&["--aws-rules", "--busy-seconds", busy, "--iam-delay", iam])
    }

    fn launch(extra: &[&str]) -> Self {
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut child = Command::new(python())
            .arg(repo().join("tools/emulator.py"))
            .args(["--port", "0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(log.reopen().unwrap())
            .spawn()
            .expect("start the emulator");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port: u16 =
            line.trim().strip_prefix("READY port=").unwrap_or_else(|| panic!("emulator did not start: {line:?}")).parse().unwrap();
        Emulator { child, port, url: format!("http://127.0.0.1:{port}"), _log: log }
    }

    fn http(&self, method: &str, path: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(s, "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n").unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        resp.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default()
    }

    /// Every call the emulator has answered since the last reset.
    pub fn calls(&self) -> Vec<Call> {
        serde_json::from_str(&self.http("GET", "/_proxy/calls")).unwrap()
    }

    pub fn writes(&self) -> Vec<String> {
        self.calls().into_iter().filter(|c| c.write).map(|c| format!("{}:{}", c.service, c.action)).collect()
    }

    pub fn count(&self, action: &str) -> usize {
        self.calls().iter().filter(|c| c.action == action).count()
    }

    pub fn reset_calls(&self) {
        self.http("POST", "/_proxy/calls/reset");
    }

    /// Confirms the pending email subscriptions of `address`, as their recipient would (rule 42).
    pub fn confirm_subscription(&self, address: &str) {
        self.http("POST", &format!("/_proxy/sns/confirm?endpoint={address}"));
    }

    /// Every invocation the emulator's data plane ran (by a trigger or by Invoke), oldest first.
    pub fn invocations(&self) -> Vec<serde_json::Value> {
        serde_json::from_str(&self.http("GET", "/_proxy/invocations")).unwrap()
    }

    /// Trims every stream record written so far, as if the stream's 24 hours had passed.
    pub fn expire_streams(&self) {
        self.http("POST", "/_proxy/streams/expire");
    }

    /// How many faults of each kind were injected.
    pub fn injected(&self) -> serde_json::Value {
        serde_json::from_str(&self.http("GET", "/_proxy/faults")).unwrap()
    }

    /// Stops injecting faults (to check the state the tool left).
    pub fn faults_off(&self) {
        self.http("POST", "/_proxy/faults/off");
    }

    /// The emulator with any extra flags (faults, latency).
    pub fn with_args(args: &[&str]) -> Self {
        Self::launch(args)
    }

    /// How many of each kind of resource the stack has (tables, roles, functions, mappings,
    /// endpoints not deleted, queues), as a line.
    pub fn census(&self) -> String {
        self.py("tables = len(ddb.list_tables()['TableNames'])\n\
             roles = len(iam.list_roles()['Roles'])\n\
             fns = len(lam.list_functions()['Functions'])\n\
             esms = len(lam.list_event_source_mappings()['EventSourceMappings'])\n\
             eps = len([e for e in ec2.describe_vpc_endpoints()['VpcEndpoints'] if e['State'] not in ('deleted', 'deleting')])\n\
             qs = len(sqs.list_queues().get('QueueUrls', []))\n\
             tops = len(sns.list_topics()['Topics'])\n\
             als = len(cw.describe_alarms(MaxRecords=100)['MetricAlarms'])\n\
             print(f'tables={tables} roles={roles} functions={fns} mappings={esms} endpoints={eps} queues={qs} topics={tops} alarms={als}')")
            .trim()
            .to_string()
    }

    /// Runs Python with boto3 pointed at the emulator: for setting up and checking state out
    /// of band, as another actor would. `code` sees clients `ddb`, `iam`, `lam`, `ec2`, `aas`
    /// (Application Auto Scaling), `logs`, `sqs`, `cw` (CloudWatch), `sns` and `tagging` (the Resource
    /// Groups Tagging API).
    pub fn py(&self, code: &str) -> String {
        let prelude = format!(
            "import boto3, json\nfrom botocore.config import Config\n\
             kw = dict(endpoint_url='{}', region_name='us-east-1', aws_access_key_id='test', \
             aws_secret_access_key='test', config=Config(read_timeout=20, retries={{'max_attempts': 2}}))\n\
             ddb = boto3.client('dynamodb', **kw)\niam = boto3.client('iam', **kw)\n\
             lam = boto3.client('lambda', **kw)\nec2 = boto3.client('ec2', **kw)\n\
             aas = boto3.client('application-autoscaling', **kw)\nlogs = boto3.client('logs', **kw)\n\
             sqs = boto3.client('sqs', **kw)\ncw = boto3.client('cloudwatch', **kw)\nsns = boto3.client('sns', **kw)\n\
             tagging = boto3.client('resourcegroupstaggingapi', **kw)\n",
            self.url
        );
        let out = Command::new(python()).arg("-c").arg(format!("{prelude}{code}")).output().unwrap();
        assert!(out.status.success(), "python failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs the built binary in `dir` against this emulator, with no terminal on stdin.
    pub fn cli(&self, dir: &Path, args: &[&str]) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cruddur-infra"));
        cmd.current_dir(dir).arg("--endpoint-url").arg(&self.url).args(args);
        Run::from(isolated(&mut cmd).output().unwrap())
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Clears the AWS settings of whoever runs the tests, so that tests see only what they set.
pub fn isolated(cmd: &mut Command) -> &mut Command {
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    #[track_caller]
    pub fn expect(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "exit code\n--- stdout\n{}\n--- stderr\n{}", self.stdout, self.stderr);
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{}", self.stdout))
    }
}

/// A folder with a spec (and whatever files it names), for one test.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new(spec: &str) -> Self {
        let w = Workspace { dir: tempfile::tempdir().unwrap() };
        w.write_spec(spec);
        w
    }

    /// A copy of the shipped spec with its policies and Lambda sources.
    pub fn shipped() -> Self {
        let w = Workspace { dir: tempfile::tempdir().unwrap() };
        copy_dir(&repo().join("policies"), &w.path().join("policies"));
        copy_dir(&repo().join("lambda"), &w.path().join("lambda"));
        std::fs::copy(repo().join("infra.yaml"), w.path().join("infra.yaml")).unwrap();
        w
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write_spec(&self, spec: &str) {
        std::fs::write(self.path().join("infra.yaml"), spec).unwrap();
    }

    pub fn write(&self, rel: &str, text: &str) {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

/// The shipped spec's text without prod's override of the function (its `deploy:`), for a test
/// that drops the function or its monitoring (an override of what the spec no longer declares
/// is an error).
pub fn without_prod_function_override(spec: &str) -> String {
    let start = spec.find("      functions:\n        cruddur-messaging-stream:\n").expect("prod overrides the function");
    let end = start + spec[start..].find("deploy: ").unwrap();
    let end = end + spec[end..].find('\n').unwrap() + 1;
    format!("{}{}", &spec[..start], &spec[end..])
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            if e.file_name() != "__pycache__" {
                copy_dir(&e.path(), &target);
            }
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// A spec of one table, `messages`, in env `local` (us-east-1), with `table_yaml` as the
/// table's body (indented by four spaces).
pub fn table_spec(table_yaml: &str) -> String {
    format!(
        "version: 1\nstack: test\ndefault_env: local\nenvironments:\n  local:\n    region: us-east-1\n\
         tables:\n  messages:\n{table_yaml}"
    )
}

pub const BASE_TABLE: &str = "    partition_key: { name: pk, type: S }
    sort_key: { name: sk, type: S }
    billing: provisioned
    capacity: { read: 5, write: 5 }
    global_secondary_indexes:
      by-group:
        partition_key: { name: message_group_uuid, type: S }
        sort_key: { name: sk, type: S }
        projection: all
        capacity: { read: 5, write: 5 }
    stream: new_image
";
