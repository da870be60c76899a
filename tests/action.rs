//! Distribution (issue 33): the composite action's scripts, run here with the built binary
//! against the emulator and a stand-in `gh` that keeps the pull request's comments in a file;
//! the release workflow's shape; and install.sh fetching a release and checking its SHA-256.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

/// A stand-in for `gh api`: the comments of one pull request in `comments.json`, every call in
/// `calls.log`. It answers the three requests action/run.sh makes, as GitHub and gh would.
const GH: &str = r#"#!/usr/bin/env python3
import json, os, sys
state = os.path.join(os.environ["GH_STATE"], "comments.json")
comments = json.load(open(state)) if os.path.exists(state) else []
args = sys.argv[1:]
open(os.path.join(os.environ["GH_STATE"], "calls.log"), "a").write(" ".join(args) + "\n")
assert args[0] == "api", args
method = args[args.index("-X") + 1] if "-X" in args else "GET"
path = [a for a in args[1:] if a.startswith("repos/")][0]
body = next((open(a[len("body=@"):]).read() for a in args if a.startswith("body=@")), None)
if method == "GET":
    assert "--paginate" in args and "--jq" in args, args
    for c in comments:
        print(f"{c['id']}\t{c['body'].split(chr(10))[0]}")
elif method == "POST":
    comments.append({"id": 1000 + len(comments), "body": body})
elif method == "PATCH":
    cid = int(path.rsplit("/", 1)[1])
    [c for c in comments if c["id"] == cid][0]["body"] = body
json.dump(comments, open(state, "w"))
"#;

fn run_action(emu: &Emulator, dir: &Path, state: &Path, env: &str) -> (i32, String) {
    let mut cmd = Command::new(repo().join("action/run.sh"));
    let out = isolated(&mut cmd)
        .current_dir(dir)
        .env("AWS_ENDPOINT_URL", &emu.url)
        .env("PATH", format!("{}:{}", state.display(), std::env::var("PATH").unwrap()))
        .env("GH_STATE", state)
        .env("COMMAND", "plan")
        .env("ENV", env)
        .env("BIN", env!("CARGO_BIN_EXE_cruddur-infra"))
        .env("PR_NUMBER", "7")
        .env("GITHUB_REPOSITORY", "octo/cruddur")
        .env("GITHUB_STEP_SUMMARY", state.join("summary.md"))
        .env("GITHUB_OUTPUT", state.join("output"))
        .env("OUT", state.join("plan.md"))
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn comments(state: &Path) -> Vec<serde_json::Value> {
    serde_json::from_str(&std::fs::read_to_string(state.join("comments.json")).unwrap()).unwrap()
}

#[test]
fn the_action_comments_once_then_updates_that_comment_and_leaves_others_alone() {
    let emu = Emulator::start();
    let ws = Workspace::shipped();
    let state = tempfile::tempdir().unwrap();
    std::fs::write(state.path().join("gh"), GH).unwrap();
    std::process::Command::new("chmod").arg("+x").arg(state.path().join("gh")).status().unwrap();
    // Somebody else's comment, and another env's report, are already there.
    std::fs::write(
        state.path().join("comments.json"),
        r#"[{"id": 1, "body": "LGTM"}, {"id": 2, "body": "<!-- cruddur-infra: stack=cruddur env=prod -->\nold"}]"#,
    )
    .unwrap();
    let (code, err) = run_action(&emu, ws.path(), state.path(), "local");
    assert_eq!(code, 0, "a plan with changes passes by default: {err}");
    let c = comments(state.path());
    assert_eq!(c.len(), 3, "{c:?}");
    let ours = c[2]["body"].as_str().unwrap();
    assert!(ours.starts_with("<!-- cruddur-infra: stack=cruddur env=local -->\n## cruddur-infra plan: local"), "{ours}");
    assert!(ours.contains("to add") && ours.contains("Cost: +\\$"), "{ours}");
    let summary = std::fs::read_to_string(state.path().join("summary.md")).unwrap();
    assert_eq!(summary, ours, "the job summary has the same report");
    assert!(std::fs::read_to_string(state.path().join("output")).unwrap().contains("exit-code=2"));

    // Applied, then run again: the same comment is updated, no second one.
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    let (code, err) = run_action(&emu, ws.path(), state.path(), "local");
    assert_eq!(code, 0, "{err}");
    let c = comments(state.path());
    assert_eq!(c.len(), 3, "never two comments: {c:?}");
    assert!(c[2]["body"].as_str().unwrap().contains("no changes"), "{}", c[2]["body"]);
    assert_eq!(c[0]["body"], "LGTM");
    assert!(c[1]["body"].as_str().unwrap().ends_with("old"), "prod's comment is left alone");
    let calls = std::fs::read_to_string(state.path().join("calls.log")).unwrap();
    assert_eq!(calls.matches("-X POST repos/octo/cruddur/issues/7/comments").count(), 1, "{calls}");
    assert_eq!(calls.matches("-X PATCH repos/octo/cruddur/issues/comments/1002").count(), 1, "{calls}");
}

#[test]
fn install_fetches_the_pinned_release_and_refuses_a_wrong_checksum() {
    // A release laid out as GitHub serves it, under a file:// base URL.
    let base = tempfile::tempdir().unwrap();
    let arch = match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => "x86_64-unknown-linux-gnu",
        ("linux", "aarch64") => "aarch64-unknown-linux-gnu",
        ("macos", "aarch64") => "aarch64-apple-darwin",
        _ => return,
    };
    let rel = base.path().join("octo/cruddur/releases/download/v9.9.9");
    std::fs::create_dir_all(&rel).unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_cruddur-infra"));
    let archive = format!("cruddur-infra-v9.9.9-{arch}.tar.gz");
    let ok =
        Command::new("tar").arg("-czf").arg(rel.join(&archive)).arg("-C").arg(bin.parent().unwrap()).arg("cruddur-infra").status().unwrap();
    assert!(ok.success());
    let sum = Command::new("sha256sum").arg(&archive).current_dir(&rel).output().unwrap();
    std::fs::write(rel.join("SHA256SUMS"), &sum.stdout).unwrap();
    let digest = String::from_utf8_lossy(&sum.stdout).split_whitespace().next().unwrap().to_string();

    let install_of = |version: &str, sha: &str| {
        let dest = tempfile::tempdir().unwrap();
        let out = Command::new(repo().join("action/install.sh"))
            .env("VERSION", version)
            .env("SHA256", sha)
            .env("REPO", "octo/cruddur")
            .env("BASE_URL", format!("file://{}", base.path().display()))
            .env("DEST", dest.path())
            .env("SRC", "/nonexistent")
            .env_remove("GITHUB_PATH")
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned(), dest.path().join("cruddur-infra").exists(), dest)
    };
    let install = |sha: &str| install_of("v9.9.9", sha);
    // Pinned checksum, and the release's SHA256SUMS: both install it.
    for sha in [digest.as_str(), ""] {
        let (code, err, there, _d) = install(sha);
        assert_eq!(code, Some(0), "{err}");
        assert!(there && err.contains(&format!("sha256 {digest}")), "{err}");
    }
    // A wrong pin is an error, never a fallback to something else.
    let (code, err, there, _d) = install(&"0".repeat(64));
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("checksum mismatch") && !there, "{err}");
    // A pinned release that is not there is an error too, not a build.
    let (code, err, there, _d) = install_of("v0.0.0", "");
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("in release v0.0.0 of octo/cruddur") && !err.contains("building") && !there, "{err}");
}

#[test]
fn the_release_workflow_builds_three_platforms_with_checksums_and_the_action_declares_its_inputs() {
    let wf: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(repo().join(".github/workflows/release.yml")).unwrap()).unwrap();
    assert_eq!(wf["on"]["push"]["tags"][0], "v*");
    let targets: Vec<&str> =
        wf["jobs"]["build"]["strategy"]["matrix"]["include"].as_sequence().unwrap().iter().filter_map(|m| m["target"].as_str()).collect();
    assert_eq!(targets, ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu", "aarch64-apple-darwin"]);
    let text = serde_yaml::to_string(&wf["jobs"]).unwrap();
    assert!(
        text.contains("--locked") && text.contains("shasum -a 256") && text.contains("SHA256SUMS") && text.contains("gh release create"),
        "{text}"
    );
    assert_eq!(wf["jobs"]["release"]["permissions"]["contents"], "write");
    let action: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(repo().join("action.yml")).unwrap()).unwrap();
    for input in ["command", "env", "spec", "version", "repo", "sha256", "install", "comment", "fail-on-changes", "github-token"] {
        assert!(action["inputs"].get(input).is_some(), "input {input}");
    }
    assert_eq!(action["runs"]["using"], "composite");
}
