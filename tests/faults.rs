//! Reliability: apply converges under AWS's real behaviour, injected faults and interruption,
//! and never leaves two of anything.

mod common;

use std::time::Duration;

use common::*;

const ONE_OF_EACH: &str = "tables=1 roles=1 functions=1 mappings=1 endpoints=1 queues=1 topics=1 alarms=8";

#[test]
fn a_fresh_apply_converges_under_throttling_5xx_dropped_connections_and_lost_answers() {
    for seed in ["7", "11"] {
        let emu = Emulator::with_args(&[
            "--aws-rules",
            "--busy-seconds",
            "0.5",
            "--iam-delay",
            "1.5",
            "--seed",
            seed,
            "--throttle-rate",
            "0.10",
            "--error-rate",
            "0.05",
            "--drop-rate",
            "0.03",
            "--lose-rate",
            "0.05",
        ]);
        let ws = Workspace::shipped();
        let run = emu.cli(ws.path(), &["apply", "--yes"]);
        run.expect(0);
        // Reads under the same faults agree that nothing is left to do.
        emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
        // Applying again under faults changes nothing and duplicates nothing.
        emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
        let injected = emu.injected();
        for kind in ["throttle", "error", "drop", "lose"] {
            assert!(injected[kind].as_u64().unwrap() > 0, "no {kind} fault was injected: {injected}");
        }
        emu.faults_off();
        assert_eq!(emu.census(), ONE_OF_EACH, "seed {seed}");
        emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
    }
}

#[test]
fn apply_killed_at_any_moment_then_run_again_converges_with_nothing_duplicated() {
    let mut interrupted = 0;
    for after_ms in [150, 700, 1500, 2600, 4000] {
        let emu = Emulator::with_args(&["--aws-rules", "--busy-seconds", "0.6", "--iam-delay", "1.0", "--latency-ms", "15"]);
        let ws = Workspace::shipped();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_cruddur-infra"));
        cmd.current_dir(ws.path()).args(["--endpoint-url", &emu.url, "-q", "apply", "--yes"]);
        let mut child = isolated(&mut cmd).stdout(std::process::Stdio::null()).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(after_ms));
        if child.try_wait().unwrap().is_none() {
            interrupted += 1;
        }
        let _ = child.kill(); // SIGKILL: no cleanup of any kind
        let _ = child.wait();
        let run = emu.cli(ws.path(), &["apply", "--yes"]);
        run.expect(0);
        emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
        assert_eq!(emu.census(), ONE_OF_EACH, "killed after {after_ms} ms");
    }
    assert!(interrupted >= 4, "only {interrupted} of the kills landed during an apply");
}

fn timed_run(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)], unset_creds: bool) -> (Run, Duration) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_cruddur-infra"));
    cmd.current_dir(dir).args(args);
    isolated(&mut cmd);
    if unset_creds {
        cmd.env_remove("AWS_ACCESS_KEY_ID").env_remove("AWS_SECRET_ACCESS_KEY");
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let start = std::time::Instant::now();
    let run: Run = cmd.output().unwrap().into();
    (run, start.elapsed())
}

#[test]
fn an_unreachable_endpoint_missing_credentials_or_an_expired_token_fail_fast_and_say_what_to_fix() {
    let ws = Workspace::new(&table_spec(BASE_TABLE));
    // Nothing listens on port 9: a refusal on this machine is final at once (no retry can start
    // the emulator), where eight backed-off attempts took 18 to 35 s.
    let (run, took) = timed_run(ws.path(), &["--endpoint-url", "http://127.0.0.1:9", "plan"], &[], false);
    run.expect(1);
    assert!(run.stderr.contains("cannot be reached") && !run.stderr.contains("DispatchFailure {"), "{}", run.stderr);
    assert!(took < Duration::from_secs(10), "{took:?}");
    // No credentials anywhere (and no instance metadata lookup: nothing leaves this machine,
    // since credentials are resolved before any request).
    let (run, took) =
        timed_run(ws.path(), &["--endpoint-url", "http://aws.invalid", "plan"], &[("AWS_EC2_METADATA_DISABLED", "true")], true);
    run.expect(1);
    assert!(run.stderr.contains("set AWS credentials"), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"));
    assert!(took < Duration::from_secs(30), "{took:?}");
    // An expired session token.
    let emu = Emulator::with_args(&["--expired-token"]);
    let (run, took) = timed_run(ws.path(), &["--endpoint-url", &emu.url, "plan"], &[], false);
    run.expect(1);
    assert!(run.stderr.contains("ExpiredToken") && run.stderr.contains("refresh your credentials"), "{}", run.stderr);
    assert!(took < Duration::from_secs(30), "{took:?}");
}
