//! The pure diff of a function: its log group first, then configuration (one update, then a
//! wait), code (by hash, or by content when the hashes differ), concurrency, tags.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{log_group_name, DesiredFunction, FunctionConfig, FunctionOp, LiveFunction, LiveFunctionSide, LiveLogGroup, KIND, MASK};
use crate::plan::{Action, FieldDiff, ResourceChange, Step};

pub(super) fn step(address: &str, description: String, op: FunctionOp) -> Step {
    Step::new(KIND, address, description, op)
}

/// The step that deletes a function.
pub(super) fn delete(address: &str, name: &str) -> Step {
    step(address, format!("delete function {name}"), FunctionOp::Delete { name: name.to_string() })
}

/// The step that removes this stack's tags from a function.
pub(super) fn untag(address: &str, f: &LiveFunction, remove: Vec<String>) -> Vec<Step> {
    let name = f.name();
    let op = FunctionOp::Tag { name: name.to_string(), set: BTreeMap::new(), remove };
    vec![step(address, format!("remove this stack's tags from function {name}"), op)]
}

/// Reserved concurrency as the spec says, when it says.
pub(super) fn concurrency_steps(address: &str, name: &str, want: Option<i64>, live: Option<i64>, diffs: &mut Vec<FieldDiff>) -> Vec<Step> {
    match want {
        Some(n) if live != Some(n) => {
            let mut d = FieldDiff::new("reserved_concurrency", live, n);
            if n == 0 {
                d = d.note("0 reserved executions: the function is never invoked (its trigger's records wait)");
            }
            diffs.push(d);
            vec![step(
                address,
                format!("reserve {n} concurrent executions for function {name}"),
                FunctionOp::SetConcurrency { name: name.into(), reserved: n },
            )]
        }
        _ => Vec::new(),
    }
}

/// The log group's steps, first of the function's: made (with its retention) before the
/// function can write to it, or its retention changed.
pub(super) fn log_steps(
    address: &str,
    name: &str,
    want: Option<i64>,
    live: Option<&LiveLogGroup>,
    diffs: &mut Vec<FieldDiff>,
) -> Vec<Step> {
    let Some(days) = want else { return Vec::new() };
    let have = live.copied().unwrap_or(LiveLogGroup { exists: false, retention_days: None });
    if have.exists && have.retention_days == Some(days) {
        return Vec::new();
    }
    let before = match (have.exists, have.retention_days) {
        (false, _) => serde_json::Value::Null,
        (true, None) => serde_json::json!("never expire"),
        (true, Some(d)) => serde_json::json!(d),
    };
    diffs.push(FieldDiff::new("log_retention_days", before, days));
    let group = log_group_name(name);
    let mut steps = Vec::new();
    if !have.exists {
        steps.push(step(address, format!("create the log group {group}"), FunctionOp::CreateLogGroup { group: group.clone() }));
    }
    steps.push(step(address, format!("keep the logs in {group} {days} days"), FunctionOp::SetLogRetention { group, days }));
    steps
}

pub(super) fn config_diffs(before: Option<&FunctionConfig>, after: &FunctionConfig, out: &mut Vec<FieldDiff>) {
    fn v<T: Serialize>(x: T) -> serde_json::Value {
        serde_json::to_value(x).unwrap_or_default()
    }
    let b = before;
    let fields = [
        ("runtime", b.map(|c| v(&c.runtime)), v(&after.runtime)),
        ("handler", b.map(|c| v(&c.handler)), v(&after.handler)),
        ("role", b.map(|c| v(&c.role_arn)), v(&after.role_arn)),
        ("memory_mb", b.map(|c| v(c.memory_mb)), v(after.memory_mb)),
        ("timeout_s", b.map(|c| v(c.timeout_s)), v(after.timeout_s)),
        ("vpc.subnets", b.map(|c| v(&c.subnets)), v(&after.subnets)),
        ("vpc.security_groups", b.map(|c| v(&c.security_groups)), v(&after.security_groups)),
    ];
    for (path, bv, av) in fields {
        if bv.as_ref() != Some(&av) {
            out.push(FieldDiff::new(path, bv, av));
        }
    }
    // Tracing, like the description, only when the spec sets it.
    if let Some(t) = &after.tracing {
        let live = b.and_then(|c| c.tracing.as_ref());
        if live != Some(t) {
            out.push(FieldDiff::new("tracing", live, t));
        }
    }
    // The description is managed only when the spec sets one.
    if let Some(d) = &after.description {
        let live = b.and_then(|c| c.description.as_ref());
        if live != Some(d) {
            out.push(FieldDiff::new("description", live, d));
        }
    }
    let empty = BTreeMap::new();
    let live_env = b.map(|c| &c.environment).unwrap_or(&empty);
    let hide =
        |k: &str, v: Option<&String>| -> Option<String> { v.map(|v| if after.is_sensitive(k) { MASK.to_string() } else { v.clone() }) };
    for (k, val) in after.environment.iter().chain(after.late_environment.iter()) {
        if live_env.get(k) != Some(val) {
            let d = FieldDiff::new(format!("environment.{k}"), hide(k, live_env.get(k)), hide(k, Some(val)));
            out.push(if hide(k, Some(val)).as_deref() == Some(MASK) { d.note("sensitive: the value is not shown") } else { d });
        }
    }
    for (k, val) in live_env {
        if !after.environment.contains_key(k) && !after.late_environment.contains_key(k) {
            out.push(FieldDiff::new(format!("environment.{k}"), hide(k, Some(val)), None::<String>));
        }
    }
}

pub fn diff(name: &str, want: &DesiredFunction, live: &LiveFunctionSide) -> (ResourceChange, Vec<Step>) {
    let address = format!("{KIND}.{name}");
    let mut diffs = Vec::new();
    let mut steps = log_steps(&address, name, want.log_retention_days, live.log_group.as_ref(), &mut diffs);
    let Some(f) = &live.function else {
        config_diffs(None, &want.config, &mut diffs);
        diffs.push(FieldDiff::new("code_sha256", None::<String>, &want.code_sha256));
        for (k, v) in &want.tags {
            diffs.push(FieldDiff::new(format!("tags.{k}"), None::<String>, v));
        }
        steps.push(step(
            &address,
            format!("create function {name}"),
            FunctionOp::Create {
                name: name.into(),
                config: want.config.clone(),
                source: want.source.clone(),
                code_sha256: want.code_sha256.clone(),
                architecture: want.architecture.clone(),
                tags: want.tags.clone(),
            },
        ));
        steps.push(step(&address, format!("wait until function {name} is Active"), FunctionOp::WaitReady { name: name.into() }));
        steps.extend(concurrency_steps(&address, name, want.reserved_concurrency, None, &mut diffs));
        let (deploy_diffs, deploy_steps) = super::deploy::plan(&address, name, want, live, true, &want.code_sha256);
        diffs.extend(deploy_diffs);
        steps.extend(deploy_steps);
        let mut change = ResourceChange::new(&address, Action::Create);
        change.diffs = diffs;
        return (change, steps);
    };
    let before = diffs.len();
    config_diffs(Some(&f.config), &want.config, &mut diffs);
    if diffs.len() > before || !want.config.late_environment.is_empty() {
        steps.push(step(
            &address,
            format!("update the configuration of function {name}"),
            FunctionOp::UpdateConfig { name: name.into(), config: want.config.clone() },
        ));
        steps.push(step(
            &address,
            format!("wait until the update of function {name} is Successful"),
            FunctionOp::WaitReady { name: name.into() },
        ));
    }
    let same_content = f.code_files_differ.as_ref().is_some_and(Vec::is_empty);
    let new_arch = want.architecture.as_ref().filter(|a| **a != f.architecture);
    if let Some(a) = new_arch {
        diffs.push(FieldDiff::new("architecture", &f.architecture, a).note("the code is deployed again, built for this instruction set"));
    }
    let new_code = f.code_sha256 != want.code_sha256 && !same_content;
    if new_code || new_arch.is_some() {
        let which = match &f.code_files_differ {
            Some(files) => format!(": {}", files.join(", ")),
            None => String::new(),
        };
        if new_code {
            diffs.push(
                FieldDiff::new("code_sha256", &f.code_sha256, &want.code_sha256)
                    .note(format!("the code in {} differs from the deployed code{which}", want.source.display())),
            );
        }
        steps.push(step(
            &address,
            format!("deploy the code of function {name}"),
            FunctionOp::UpdateCode {
                name: name.into(),
                source: want.source.clone(),
                code_sha256: want.code_sha256.clone(),
                architecture: want.architecture.clone(),
            },
        ));
        steps.push(step(
            &address,
            format!("wait until the code update of function {name} is Successful"),
            FunctionOp::WaitReady { name: name.into() },
        ));
    }
    // What a version captures changed: a new one is published (and the alias moved) after it.
    let changed =
        steps.iter().any(|s| matches!(s.op.get::<FunctionOp>(), Some(FunctionOp::UpdateConfig { .. } | FunctionOp::UpdateCode { .. })));
    // The code $LATEST will have: the spec's when it is deployed now, else the deployed one
    // (the same files in another zip are not deployed again, so a version has that hash).
    let uploads = steps.iter().any(|s| matches!(s.op.get::<FunctionOp>(), Some(FunctionOp::UpdateCode { .. })));
    let code_sha256 = if uploads { want.code_sha256.as_str() } else { f.code_sha256.as_str() };
    let (deploy_diffs, deploy_steps) = super::deploy::plan(&address, name, want, live, changed, code_sha256);
    diffs.extend(deploy_diffs);
    steps.extend(deploy_steps);
    steps.extend(concurrency_steps(&address, name, want.reserved_concurrency, live.reserved_concurrency.flatten(), &mut diffs));
    let (tag_diffs, set, remove) = crate::plan::tag_delta(&want.tags, &f.tags);
    diffs.extend(tag_diffs);
    if !set.is_empty() || !remove.is_empty() {
        steps.push(step(&address, format!("update the tags of function {name}"), FunctionOp::Tag { name: name.into(), set, remove }));
    }
    let mut change = ResourceChange::new(&address, if diffs.is_empty() { Action::NoOp } else { Action::Update });
    change.diffs = diffs;
    (change, steps)
}
