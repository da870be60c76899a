//! A deploy's pure plan, without a network.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::kinds::function::{DesiredFunction, FunctionOp, LiveFunctionSide};

use crate::kinds::function::tests::config;

fn want(bake_s: i64, rollback: bool) -> DesiredFunction {
    DesiredFunction {
        config: config(),
        log_retention_days: None,
        reserved_concurrency: None,
        architecture: None,
        source: "src".into(),
        code_sha256: "new".into(),
        tags: BTreeMap::new(),
        deploy: Some(DesiredDeploy { alias: "live".into(), bake_s, rollback, keep_versions: 2, watch: vec!["f-errors".into()] }),
    }
}

fn replaced(at: &str, previous: &str) -> Record {
    Record::Replaced { at: at.into(), previous: previous.into(), baking: false }
}

fn version(n: u32, sha: &str) -> LiveVersion {
    LiveVersion { version: n.to_string(), code_sha256: sha.into(), config: config() }
}

/// Versions 1..=n (the last one with `last_sha`), the alias at `at` recording `description`.
fn live(n: u32, last_sha: &str, at: &str, description: &str) -> LiveFunctionSide {
    let versions: Vec<LiveVersion> = (1..=n).map(|i| version(i, if i == n { last_sha } else { "old" })).collect();
    let alias =
        LiveAlias { name: "live".into(), version: at.into(), description: description.into(), routing: BTreeSet::new(), revision_id: None };
    let recorded = Record::parse(description).kept().map(str::to_string).into_iter().collect();
    LiveFunctionSide {
        function: None,
        subnets: BTreeSet::new(),
        security_groups: BTreeSet::new(),
        log_group: None,
        reserved_concurrency: None,
        deploy: Some(LiveDeploy { alias: Some(alias), versions, aliased: BTreeSet::from([at.to_string()]), recorded }),
    }
}

fn ops(steps: &[crate::plan::Step]) -> Vec<String> {
    steps.iter().map(|s| serde_json::to_value(s.op.get::<FunctionOp>().unwrap()).unwrap()["op"].as_str().unwrap().to_string()).collect()
}

#[test]
fn the_records_an_alias_keeps_read_back() {
    for r in [
        Record::First { at: "1".into() },
        replaced("42", "41"),
        Record::Replaced { at: "42".into(), previous: "41".into(), baking: true },
        Record::RolledBack { from: "42".into(), to: "41".into() },
    ] {
        assert_eq!(Record::parse(&r.text()), r);
    }
    assert_eq!(Record::parse("made by hand"), Record::Unknown);
    assert_eq!(replaced("42", "41").kept(), Some("41"));
    assert_eq!(Record::RolledBack { from: "42".into(), to: "41".into() }.kept(), None, "a rollback keeps nothing to go back to");
    // Believed only while the alias is where it says: moved by hand to 45 since, it is no record.
    assert_eq!(Record::of(&replaced("42", "41").text(), "42"), replaced("42", "41"));
    assert_eq!(Record::of(&replaced("42", "41").text(), "45"), Record::Unknown);
}

#[test]
fn a_first_deploy_publishes_and_makes_the_alias_without_a_bake() {
    let none = LiveFunctionSide { deploy: None, ..live(0, "", "", "") };
    let (diffs, steps) = plan("lambda_function.f", "f", &want(300, true), &none, true, "new");
    assert_eq!(diffs[0].path, "alias.live");
    assert_eq!(diffs[0].before, serde_json::Value::Null);
    assert!(diffs[0].after.as_str().unwrap().contains("first version"), "{diffs:?}");
    assert_eq!(ops(&steps), ["publish_and_move", "prune_versions"]);
    assert!(matches!(steps[0].op.get::<FunctionOp>(), Some(FunctionOp::PublishAndMove { watch, .. }) if watch.is_empty()));
}

#[test]
fn a_change_publishes_moves_bakes_and_prunes() {
    let l = live(3, "old", "3", &replaced("3", "2").text());
    let (diffs, steps) = plan("lambda_function.f", "f", &want(300, true), &l, true, "new");
    assert_eq!((diffs[0].before.as_str(), diffs[0].after.as_str()), (Some("version 3"), Some("new, bake 300 s, rollback on alarm")));
    assert_eq!(ops(&steps), ["publish_and_move", "bake", "prune_versions"]);
    assert!(matches!(steps[0].op.get::<FunctionOp>(), Some(FunctionOp::PublishAndMove { watch, .. }) if watch == &["f-errors"]));
    // Without rollback: baked and reported, the alarms not checked before the move.
    let (diffs, steps) = plan("lambda_function.f", "f", &want(60, false), &l, true, "new");
    assert_eq!(diffs[0].after.as_str(), Some("new, bake 60 s, no rollback"));
    assert!(matches!(steps[0].op.get::<FunctionOp>(), Some(FunctionOp::PublishAndMove { watch, .. }) if watch.is_empty()));
}

#[test]
fn an_alias_at_the_specs_version_is_in_sync_and_one_elsewhere_is_deployed_again() {
    let synced = live(3, "new", "3", &replaced("3", "2").text());
    let (diffs, steps) = plan("lambda_function.f", "f", &want(0, false), &synced, false, "new");
    assert!(diffs.is_empty() && steps.is_empty(), "{diffs:?}");
    // After a rollback the alias is at an older version: the spec's code is a change again.
    let rolled = live(3, "new", "2", &Record::RolledBack { from: "3".into(), to: "2".into() }.text());
    let (diffs, steps) = plan("lambda_function.f", "f", &want(0, false), &rolled, false, "new");
    assert_eq!(diffs[0].before.as_str(), Some("version 2"));
    assert!(diffs[0].note.as_deref().unwrap_or("").contains("rolled back"), "{diffs:?}");
    assert_eq!(ops(&steps), ["publish_and_move", "prune_versions"]);
}

#[test]
fn old_versions_are_pruned_but_never_an_aliased_or_recorded_one() {
    // 6 versions; the alias at 6 records 5; keep 2 of the rest (4, 3): 2 and 1 go.
    let mut l = live(6, "new", "6", &replaced("6", "5").text()).deploy.unwrap();
    assert_eq!(prunable(&l, 2), ["2", "1"]);
    // Another alias at 1 keeps it too.
    l.aliased.insert("1".into());
    assert_eq!(prunable(&l, 2), ["2"]);
    assert!(prunable(&l, 10).is_empty());
    // In sync, with versions beyond keep: a prune of its own.
    let side = live(6, "new", "6", &replaced("6", "5").text());
    let (diffs, steps) = plan("lambda_function.f", "f", &want(0, false), &side, false, "new");
    assert_eq!(diffs[0].path, "versions");
    assert_eq!(diffs[0].after.as_str(), Some("delete 2, 1"));
    assert_eq!(ops(&steps), ["prune_versions"]);
}

#[test]
fn a_bake_rolls_back_by_default() {
    let d = crate::spec::DeploySpec { alias: "live".into(), bake_s: 0, rollback: None, keep_versions: 5 };
    assert!(!d.rolls_back());
    assert!(crate::spec::DeploySpec { bake_s: 60, ..d.clone() }.rolls_back(), "on_alarm is the default with a bake");
}

#[test]
fn a_bake_cut_short_runs_again_and_weighted_routing_is_cleared() {
    let cut = live(3, "new", "3", &Record::Replaced { at: "3".into(), previous: "2".into(), baking: true }.text());
    let (diffs, steps) = plan("lambda_function.f", "f", &want(300, true), &cut, false, "new");
    assert_eq!(diffs[0].before.as_str(), Some("version 3, bake not finished"), "{diffs:?}");
    assert_eq!(ops(&steps), ["bake"]);
    let mut weighted = live(3, "new", "3", &replaced("3", "2").text());
    weighted.deploy.as_mut().unwrap().alias.as_mut().unwrap().routing.insert("2".into());
    let (diffs, steps) = plan("lambda_function.f", "f", &want(0, false), &weighted, false, "new");
    assert!(diffs[0].note.as_deref().unwrap_or("").contains("weighted routing to version(s) 2"), "{diffs:?}");
    assert_eq!(ops(&steps), ["publish_and_move", "prune_versions"]);
}

#[test]
fn the_same_files_in_another_zip_publish_the_deployed_hash() {
    // The function's diff passes the deployed hash when it uploads nothing: a version of it is
    // in sync, and a publish would send that hash (AWS refuses any other).
    let synced = live(3, "deployed", "3", &replaced("3", "2").text());
    assert!(plan("lambda_function.f", "f", &want(0, false), &synced, false, "deployed").1.is_empty());
}

#[test]
fn a_version_rolled_back_from_is_deployed_again_with_a_note() {
    // Version 3 (the spec's code) was rolled back to 2: the plan says apply deploys it again.
    let l = live(3, "new", "2", &Record::RolledBack { from: "3".into(), to: "2".into() }.text());
    let (diffs, _) = plan("lambda_function.f", "f", &want(60, true), &l, false, "new");
    assert!(diffs[0].note.as_deref().unwrap_or("").contains("version 3 was rolled back"), "{diffs:?}");
}
