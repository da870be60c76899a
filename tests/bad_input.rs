//! A corpus of broken specs and policy files (tests/corpus): each gives exit 1, a message that
//! names the place, no panic, and no AWS call. Also the generated extremes (huge files).

mod common;

use std::path::Path;

use common::*;

fn workspace(spec: &[u8], policy: &[u8]) -> Workspace {
    let ws = Workspace::new("");
    std::fs::write(ws.path().join("infra.yaml"), spec).unwrap();
    ws.write("src/lambda_function.py", "def lambda_handler(e, c):\n    return {}\n");
    std::fs::create_dir_all(ws.path().join("policies")).unwrap();
    std::fs::write(ws.path().join("policies/p.json"), policy).unwrap();
    ws
}

const GOOD_POLICY: &[u8] =
    br#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:PutItem","Resource":"${tables.messages.arn}"}]}"#;

#[track_caller]
fn refused(emu: &Emulator, ws: &Workspace, name: &str, expect: &str, place: &str) {
    for cmd in [&["validate"][..], &["plan"], &["apply", "--yes"]] {
        let run = emu.cli(ws.path(), cmd);
        assert_eq!(run.code, 1, "{name}: {cmd:?} exit {}\n{}", run.code, run.stderr);
        assert!(!run.stderr.contains("panicked"), "{name}: panic\n{}", run.stderr);
        assert!(run.stderr.contains(expect), "{name}: expected `{expect}` in\n{}", run.stderr);
        assert!(run.stderr.contains(place), "{name}: the message does not name {place}:\n{}", run.stderr);
    }
    assert!(emu.calls().is_empty(), "{name}: bad input reached AWS: {:?}", emu.calls());
}

#[test]
fn the_good_corpus_base_is_valid() {
    let ok = std::fs::read(repo().join("tests/corpus/ok.yaml")).unwrap();
    let emu = Emulator::start();
    let ws = workspace(&ok, GOOD_POLICY);
    emu.cli(ws.path(), &["validate"]).expect(0);
}

#[test]
fn every_broken_spec_is_refused_naming_the_place() {
    let emu = Emulator::start();
    let mut n = 0;
    for entry in std::fs::read_dir(repo().join("tests/corpus/specs")).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        let expect = text.lines().next().and_then(|l| l.strip_prefix("# expect: ")).unwrap_or("").trim().to_string();
        let ws = workspace(&bytes, GOOD_POLICY);
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        refused(&emu, &ws, &name, &expect, "infra.yaml");
        n += 1;
    }
    assert!(n >= 30, "the corpus has {n} specs");
}

#[test]
fn every_broken_policy_file_is_refused_naming_the_file_and_line() {
    let emu = Emulator::start();
    let ok = std::fs::read(repo().join("tests/corpus/ok.yaml")).unwrap();
    let dir = repo().join("tests/corpus/policies");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let expect = std::fs::read_to_string(path.with_extension("expect")).unwrap();
        let ws = workspace(&ok, &std::fs::read(&path).unwrap());
        refused(&emu, &ws, &path.display().to_string(), expect.trim(), "p.json");
        n += 1;
    }
    assert!(n >= 10);
}

#[test]
fn huge_files_are_refused_before_parsing() {
    let emu = Emulator::start();
    let ok = std::fs::read(repo().join("tests/corpus/ok.yaml")).unwrap();
    let mut huge = ok.clone();
    huge.extend(std::iter::repeat_n(b'#', 2 * 1024 * 1024));
    refused(&emu, &workspace(&huge, GOOD_POLICY), "huge spec", "more than 1048576 is refused", "infra.yaml");
    let mut big_policy = GOOD_POLICY.to_vec();
    big_policy.extend(std::iter::repeat_n(b' ', 100 * 1024));
    refused(&emu, &workspace(&ok, &big_policy), "huge policy", "is refused", "p.json");
    let _ = Path::new("");
}

/// Issue 22 §10: a package over Lambda's direct-upload limits is refused by validate, plan and
/// apply with its size, before any AWS call (sparse files: nothing is written to disk).
#[test]
fn a_lambda_package_over_the_upload_limits_is_refused_with_its_size() {
    let emu = Emulator::start();
    let ws = Workspace::shipped();
    let big = std::fs::File::create(ws.path().join("lambda/cruddur-messaging-stream/model.bin")).unwrap();
    big.set_len(60 * 1024 * 1024).unwrap();
    refused(&emu, &ws, "60 MB package", "would be at least 60.0 MB", "functions.cruddur-messaging-stream.source");
    assert!(emu.calls().is_empty(), "an AWS call was made: {}", emu.calls().len());
    big.set_len(300 * 1024 * 1024).unwrap();
    refused(&emu, &ws, "300 MB function", "a Lambda function may hold at most 250.0 MB unzipped", "infra.yaml");
}

/// Issue 19 §4: the whole file is valid or nothing runs. A typo in prod's overrides stops a
/// plan or apply of local too, naming the place, before any AWS call.
#[test]
fn a_typo_in_another_envs_overrides_stops_every_command() {
    let emu = Emulator::start();
    let ws = Workspace::shipped();
    let spec = std::fs::read_to_string(ws.path().join("infra.yaml")).unwrap();
    ws.write_spec(&spec.replacen("          deletion_protection: true", "          delete_protect: true", 1));
    for cmd in [&["plan"][..], &["apply", "--yes"], &["drift"], &["--env", "local", "plan"]] {
        let run = emu.cli(ws.path(), cmd);
        run.expect(1);
        assert!(run.stderr.contains("unknown field `delete_protect`"), "{cmd:?}: {}", run.stderr);
        assert!(run.stderr.contains("infra.yaml:19:"), "{cmd:?}: the place is not named: {}", run.stderr);
    }
    assert!(emu.calls().is_empty(), "an AWS call was made: {}", emu.calls().len());
}
