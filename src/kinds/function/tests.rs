//! The function's pure diff and readiness, without a network.

use std::collections::{BTreeMap, BTreeSet};

use super::execute::readiness;
use super::*;
use crate::kinds::support::wait;
use crate::plan::{Action, FieldDiff};

/// A small function's configuration (the deploy tests use it too).
pub(crate) fn config() -> FunctionConfig {
    FunctionConfig {
        runtime: "python3.12".into(),
        handler: "h.h".into(),
        role_arn: "arn:aws:iam::1:role/r".into(),
        memory_mb: 128,
        timeout_s: 3,
        environment: BTreeMap::new(),
        sensitive: BTreeSet::new(),
        late_environment: BTreeMap::new(),
        subnets: BTreeSet::new(),
        security_groups: BTreeSet::new(),
        description: None,
        tracing: Some("PassThrough".into()),
    }
}

#[test]
fn deployed_code_with_other_bytes_but_the_same_files_is_no_change() {
    let config = config();
    let want = DesiredFunction {
        config: config.clone(),
        log_retention_days: None,
        reserved_concurrency: None,
        architecture: None,
        source: "src".into(),
        code_sha256: "ours".into(),
        tags: BTreeMap::new(),
        deploy: None,
    };
    let f = |differ: Option<Vec<String>>| LiveFunction {
        arn: "arn:aws:lambda:us-east-1:1:function:f".into(),
        config: config.clone(),
        code_sha256: "console".into(),
        state: "Active".into(),
        last_update_status: "Successful".into(),
        tags: BTreeMap::new(),
        architecture: "x86_64".into(),
        code_location: None,
        code_files_differ: differ,
    };
    let side = |differ| LiveFunctionSide {
        function: Some(f(differ)),
        subnets: BTreeSet::new(),
        security_groups: BTreeSet::new(),
        log_group: None,
        reserved_concurrency: None,
        deploy: None,
    };
    let (c, steps) = diff("f", &want, &side(Some(vec![])));
    assert_eq!(c.action, Action::NoOp);
    assert!(steps.is_empty());
    let (c, steps) = diff("f", &want, &side(Some(vec!["lambda_function.py".into()])));
    assert_eq!(c.diffs[0].path, "code_sha256");
    assert!(c.diffs[0].note.as_deref().unwrap_or("").ends_with("differs from the deployed code: lambda_function.py"), "{:?}", c.diffs);
    assert_eq!(steps.len(), 2);
    // Not compared (no Code.Location): the hashes decide.
    assert_eq!(diff("f", &want, &side(None)).0.action, Action::Update);

    // Another instruction set: the code goes again (UpdateFunctionCode carries it), no hash diff.
    let mut arm = want.clone();
    arm.architecture = Some("arm64".into());
    let (c, steps) = diff("f", &arm, &side(Some(vec![])));
    assert_eq!(c.diffs.iter().map(|d| d.path.as_str()).collect::<Vec<_>>(), ["architecture"]);
    assert!(matches!(steps[0].op.get::<FunctionOp>(), Some(FunctionOp::UpdateCode { architecture: Some(a), .. }) if a == "arm64"));
    // Tracing only when the spec says it.
    let mut active = want.clone();
    active.code_sha256 = "console".into();
    active.config.tracing = Some("Active".into());
    let (c, _) = diff("f", &active, &side(None));
    assert_eq!(c.diffs, vec![FieldDiff::new("tracing", "PassThrough", "Active")]);
    active.config.tracing = None;
    assert_eq!(diff("f", &active, &side(None)).0.action, Action::NoOp);

    // The log group is made with its retention before the function exists to write to it.
    let mut logged = want.clone();
    logged.log_retention_days = Some(14);
    let absent = LiveFunctionSide {
        function: None,
        subnets: BTreeSet::new(),
        security_groups: BTreeSet::new(),
        log_group: None,
        reserved_concurrency: None,
        deploy: None,
    };
    let (_, steps) = diff("f", &logged, &absent);
    let names: Vec<String> = steps
        .iter()
        .map(|s| serde_json::to_value(s.op.get::<FunctionOp>().unwrap()).unwrap()["op"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["create_log_group", "set_log_retention", "create", "wait_ready"]);
    let mut kept = side(None);
    kept.function.as_mut().unwrap().code_sha256 = "ours".into();
    kept.log_group = Some(LiveLogGroup { exists: true, retention_days: None });
    let (c, steps) = diff("f", &logged, &kept);
    assert_eq!(c.diffs, vec![FieldDiff::new("log_retention_days", "never expire", 14)]);
    assert!(matches!(steps[..], [ref s] if matches!(s.op.get::<FunctionOp>(), Some(FunctionOp::SetLogRetention { days: 14, .. }))));

    // Reserved concurrency, when the spec says it; 0 warns that nothing runs.
    let mut reserved = want.clone();
    reserved.code_sha256 = "console".into();
    reserved.reserved_concurrency = Some(0);
    let (c, steps) = diff("f", &reserved, &side(None));
    assert_eq!(c.diffs[0].path, "reserved_concurrency");
    assert!(c.diffs[0].note.as_deref().unwrap_or("").contains("never invoked"));
    assert!(matches!(steps[0].op.get::<FunctionOp>(), Some(FunctionOp::SetConcurrency { reserved: 0, .. })));
    let mut same = side(None);
    same.reserved_concurrency = Some(Some(0));
    assert_eq!(diff("f", &reserved, &same).0.action, Action::NoOp);
}

#[test]
fn an_inactive_function_is_settled_and_pending_ones_are_not() {
    let done = |s, u| matches!(readiness("f", s, u, None).unwrap(), wait::Poll::Done);
    assert!(done("Active", "Successful"));
    assert!(done("Inactive", "Successful"));
    assert!(!done("Pending", "InProgress"));
    assert!(!done("Active", "InProgress"));
    assert!(readiness("f", "Failed", "Successful", Some("bad role")).unwrap_err().to_string().contains("bad role"));
}
