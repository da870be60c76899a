//! Reliability: apply converges under AWS's real behaviour, injected faults and interruption,
//! and never leaves two of anything.

mod common;

use std::time::Duration;

use common::*;

const ONE_OF_EACH: &str = "tables=1 roles=1 functions=1 mappings=1 endpoints=1";

#[test]
fn a_fresh_apply_converges_under_throttling_5xx_dropped_connections_and_lost_answers() {
    for seed in ["7", "11"] {
        let emu = Emulator::with_args(&[
            "--aws-rules", "--busy-seconds", "0.5", "--iam-delay", "1.5", "--seed", seed,
            "--throttle-rate", "0.10", "--error-rate", "0.05", "--drop-rate", "0.03", "--lose-rate", "0.05",
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
