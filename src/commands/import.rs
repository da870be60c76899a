//! `import`: reads what exists (made by hand, or by this tool) with read-only clients and
//! writes the spec that says it, so that the first plan there adopts it instead of recreating
//! it. Each kind answers for its own resources (`Kind::import`); this collects and writes.

use crate::exit::ExitStatus;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::Global;
use crate::kinds::{Imported, REGISTRY};
use crate::spec::emit::Writer;
use crate::{aws, log};

pub struct Options {
    pub functions: Vec<String>,
    pub tables: Vec<String>,
    pub queues: Vec<String>,
    pub topics: Vec<String>,
    pub alarms: Vec<String>,
    pub out: PathBuf,
    pub stack: Option<String>,
    pub force: bool,
}

pub async fn run(g: &Global, o: Options) -> Result<ExitStatus> {
    if [&o.functions, &o.tables, &o.queues, &o.topics, &o.alarms].iter().all(|l| l.is_empty()) {
        bail!("import needs at least one resource: --table NAME, --function NAME, --queue NAME, --topic NAME or --alarm NAME (each repeatable)");
    }
    let spec_path = o.out.join("infra.yaml");
    if spec_path.exists() && !o.force {
        bail!("{} exists: import writes a whole project; choose an empty --out folder, or --force to overwrite it", spec_path.display());
    }
    let region = region(g).await?;
    let desired = reader(g, &region);
    let ctx = g.connect(&desired, aws::Access::ReadOnly).await;

    // What was asked for, then what it refers to (a function's role, tables and endpoint), once each.
    let mut queue: std::collections::VecDeque<(&'static str, String, bool)> =
        o.functions.iter().map(|f| ("functions", f.clone(), true)).collect();
    queue.extend(o.tables.iter().map(|t| ("tables", t.clone(), true)));
    queue.extend(o.queues.iter().map(|q| ("queues", q.clone(), true)));
    queue.extend(o.topics.iter().map(|t| ("topics", t.clone(), true)));
    queue.extend(o.alarms.iter().map(|a| ("alarms", a.clone(), true)));
    let mut seen = std::collections::BTreeSet::new();
    let mut found: Vec<Imported> = Vec::new();
    let mut missing = Vec::new();
    while let Some((section, name, asked)) = queue.pop_front() {
        if !seen.insert((section, name.clone())) {
            continue;
        }
        let kind = REGISTRY.iter().find(|k| k.section() == Some(section)).context("no kind answers for this section")?;
        let imported = match kind.import(&ctx, &name).await {
            Err(e) if !asked && e.is::<crate::kinds::CannotSay>() => {
                log::warn(&format!("{e}: not written"));
                continue;
            }
            other => other?,
        };
        match imported {
            Some(i) => {
                queue.extend(i.follow.iter().map(|(s, n)| (*s, n.clone(), false)));
                found.push(i);
            }
            None if asked => bail!("{} {name} does not exist in {region}", kind.kind()),
            None => missing.push(format!("{section} {name}")),
        }
    }
    // The spec lists kinds in dependency order; within a kind, by key.
    found.sort_by_key(|i| (REGISTRY.iter().position(|k| k.section() == Some(i.section)), i.key.clone()));
    refuse_overwrite(&o.out, &found, o.force)?;
    let account = found
        .iter()
        .flat_map(|i| i.refs.iter())
        .find_map(|(v, _)| v.strip_prefix("arn:").and_then(|a| a.split(':').nth(3)).filter(|a| !a.is_empty()).map(str::to_string));
    let refs: Vec<(String, String)> = found.iter().flat_map(|i| i.refs.clone()).collect();
    for i in &mut found {
        references_in_environment(i, &refs);
        references_in_alarm(i, &refs);
        for (path, bytes) in &mut i.files {
            if path.starts_with("policies/") {
                *bytes = references_in_policy(&String::from_utf8_lossy(bytes), &refs, &region, account.as_deref()).into_bytes();
            }
        }
    }

    let stack = pick("stack", o.stack.as_deref(), &found, "cruddur-infra:stack").unwrap_or_else(|| folder_name(&o.out));
    let env = pick("env", g.env.as_deref(), &found, "cruddur-infra:env").unwrap_or_else(|| "local".into());
    let endpoint = aws::resolve_endpoint(g.endpoint_url.as_deref(), &desired);
    let text = write_spec(&stack, &env, &region, endpoint.as_deref(), &found);

    std::fs::create_dir_all(&o.out).with_context(|| format!("creating {}", o.out.display()))?;
    let mut written = 0;
    for (rel, bytes) in found.iter().flat_map(|i| i.files.iter()) {
        let path = o.out.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        written += 1;
    }
    std::fs::write(&spec_path, text).with_context(|| format!("writing {}", spec_path.display()))?;
    let names: Vec<String> = found.iter().map(|i| format!("{}.{}", i.section, i.key)).collect();
    println!("Wrote {} (stack {stack}, env {env}, {region}): {}; and {written} file(s) beside it.", spec_path.display(), names.join(", "));
    for m in &missing {
        log::warn(&format!("{m} is referred to but does not exist: not written"));
    }
    for i in &found {
        for n in &i.notes {
            log::warn(&format!("{}.{}: {n}", i.section, i.key));
        }
    }
    println!("Next: `cruddur-infra plan` there should show only this tool's ownership tags being added.");
    Ok(ExitStatus::Success)
}

/// Files import would write over: refused unless `--force`.
fn refuse_overwrite(out: &Path, found: &[Imported], force: bool) -> Result<()> {
    if force {
        return Ok(());
    }
    let mut tops: Vec<PathBuf> = Vec::new();
    for (rel, _) in found.iter().flat_map(|i| i.files.iter()) {
        // A function's folder as a whole (lambda/NAME), a policy file by itself.
        let parts: Vec<&str> = rel.split('/').collect();
        let top = if parts[0] == "lambda" && parts.len() > 2 { format!("lambda/{}", parts[1]) } else { rel.clone() };
        tops.push(out.join(top));
    }
    if let Some(p) = tops.iter().find(|p| p.exists()) {
        bail!("{} exists: import does not write over it; choose an empty --out folder, or --force", p.display());
    }
    Ok(())
}

/// Environment variables whose value is exactly a value of the project's references (a
/// table's name or ARN) become that reference.
fn references_in_environment(i: &mut Imported, refs: &[(String, String)]) {
    let Some(env) = i.value.get_mut("environment").and_then(|e| e.as_mapping_mut()) else { return };
    for (_, v) in env.iter_mut() {
        if let Some(r) = v.as_str().and_then(|s| refs.iter().find(|(value, _)| value == s)) {
            *v = serde_yaml::Value::from(r.1.clone());
        }
    }
}

/// An alarm's dimension values that are a resource of the project (a function's or table's
/// name) become that reference, and the topics it notifies that are the project's their keys.
fn references_in_alarm(i: &mut Imported, refs: &[(String, String)]) {
    if i.section != "alarms" {
        return;
    }
    let find = |s: &str| refs.iter().find(|(value, _)| value == s).map(|(_, r)| r.clone());
    // A role and a function often share a name: a dimension names the section its key says.
    let find_as = |dimension: &str, s: &str| {
        let section = match dimension {
            "FunctionName" => "${functions.",
            "QueueName" => "${queues.",
            "TableName" => "${tables.",
            _ => "${",
        };
        refs.iter().find(|(value, r)| value == s && r.starts_with(section)).map(|(_, r)| r.clone())
    };
    if let Some(dims) = i.value.get_mut("dimensions").and_then(|d| d.as_mapping_mut()) {
        for (k, v) in dims.iter_mut() {
            let dimension = k.as_str().unwrap_or_default();
            if let Some(r) = v.as_str().and_then(|s| find_as(dimension, s)) {
                *v = serde_yaml::Value::from(r);
            }
        }
    }
    if let Some(notify) = i.value.get_mut("notify").and_then(|n| n.as_sequence_mut()) {
        for v in notify.iter_mut() {
            let key = v.as_str().and_then(find).and_then(|r| r.strip_prefix("${topics.")?.strip_suffix(".arn}").map(str::to_string));
            if let Some(k) = key {
                *v = serde_yaml::Value::from(k);
            }
        }
    }
}

/// A policy document with the project's ARNs turned into references (longest first, so a
/// stream's ARN before its table's), then the account id and the region in the ARNs left.
pub fn references_in_policy(text: &str, refs: &[(String, String)], region: &str, account: Option<&str>) -> String {
    let mut arns: Vec<&(String, String)> = refs.iter().filter(|(v, _)| v.starts_with("arn:")).collect();
    arns.sort_by_key(|(v, _)| std::cmp::Reverse(v.len()));
    let mut out = text.to_string();
    for (value, reference) in arns {
        out = out.replace(value.as_str(), reference);
    }
    if let Some(a) = account {
        out = out
            .replace(&format!(":{region}:{a}:"), ":${aws.region}:${aws.account_id}:")
            .replace(&format!("::{a}:"), "::${aws.account_id}:");
    }
    out.replace(&format!(":{region}:*:"), ":${aws.region}:*:")
}

/// The region import reads: `--region`, else the SDK's chain (AWS_REGION, the profile's).
async fn region(g: &Global) -> Result<String> {
    if let Some(r) = &g.region {
        return Ok(r.clone());
    }
    let mut chain = aws_config::default_provider::region::DefaultRegionChain::builder();
    if let Some(p) = &g.profile {
        chain = chain.profile_name(p);
    }
    let found = chain.build().region().await;
    found.map(|r| r.to_string()).context("import needs a region: --region, AWS_REGION, or a profile with a region")
}

/// The model a read-only connection needs: no spec yet, only where to read.
fn reader(g: &Global, region: &str) -> crate::spec::Desired {
    crate::spec::Desired {
        spec_path: "infra.yaml".into(),
        base_dir: ".".into(),
        stack: String::new(),
        env: g.env.clone().unwrap_or_default(),
        region: region.to_string(),
        endpoint_url: None,
        endpoints: BTreeMap::new(),
        account_id: None,
        protected: false,
        name_suffix: String::new(),
        resources: Default::default(),
        files: BTreeMap::new(),
        code: BTreeMap::new(),
        profile: None,
        assume_role: None,
        partial: true,
        waived: Default::default(),
    }
}

/// The stack (or env) of the new spec: the flag, else what the resources' ownership tags say
/// (when they agree), else None. A flag that differs from the tags is said: those resources
/// would be another stack's, and the plan would block them.
fn pick(what: &str, flag: Option<&str>, found: &[Imported], tag: &str) -> Option<String> {
    let mut tagged: Vec<&str> = found.iter().filter_map(|i| i.tags.get(tag).map(String::as_str)).collect();
    tagged.sort();
    tagged.dedup();
    if let Some(f) = flag {
        if tagged.iter().any(|t| *t != f) {
            log::warn(&format!(
                "the resources' tags say {what} {}, not {f}: a plan for {what} {f} will refuse to adopt them",
                tagged.join(", ")
            ));
        }
        return Some(f.to_string());
    }
    match tagged.as_slice() {
        [one] => Some(one.to_string()),
        [] => None,
        many => {
            log::warn(&format!("the resources' tags name several {what}s ({}): using {}", many.join(", "), many[0]));
            Some(many[0].to_string())
        }
    }
}

fn folder_name(dir: &Path) -> String {
    let abs = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let name = abs.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let clean: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c.to_ascii_lowercase() } else { '-' }).collect();
    if clean.trim_matches('-').is_empty() {
        "imported".into()
    } else {
        clean.trim_matches('-').to_string()
    }
}

/// The whole `infra.yaml`, in docs/contract.md's order and style.
pub fn write_spec(stack: &str, env: &str, region: &str, endpoint: Option<&str>, found: &[Imported]) -> String {
    use serde_yaml::Value;
    let mut w = Writer::new();
    w.comment(0, "Written by `cruddur-infra import`: what exists, as spec. The first `cruddur-infra plan` here");
    w.comment(0, "adds only this tool's ownership tags; after `apply`, this file is the source of truth.");
    let none = |_: &str| None;
    w.field(0, "version", &Value::from(1), &none);
    w.field(0, "stack", &Value::from(stack), &none);
    w.field(0, "default_env", &Value::from(env), &none);
    w.blank();
    w.key(0, "environments");
    w.key(2, env);
    w.field(4, "region", &Value::from(region), &|_| Some("where import read from".into()));
    if let Some(url) = endpoint {
        w.field(4, "endpoint_url", &Value::from(url), &none);
    }
    let mut sections: Vec<&'static str> = Vec::new();
    for k in REGISTRY.iter().filter_map(|k| k.section()) {
        if found.iter().any(|i| i.section == k) && !sections.contains(&k) {
            sections.push(k);
        }
    }
    for section in sections {
        w.blank();
        w.key(0, section);
        for i in found.iter().filter(|i| i.section == section) {
            let comments = |path: &str| path.strip_prefix(&format!("{}.", i.key)).and_then(|p| i.comments.get(p).cloned());
            w.field(2, &i.key, &i.value, &comments);
        }
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_spec_reads_back_as_what_was_imported() {
        let value: serde_yaml::Value = serde_yaml::from_str(
            "partition_key: { name: pk, type: S }\nbilling: on_demand\nstream: new_image\ndeletion_protection: false\ntags: { app: x }\n",
        )
        .unwrap();
        let mut i = Imported::new("tables", "msgs", value.clone(), BTreeMap::new());
        i.comments.insert("billing".into(), "chosen".into());
        let text = write_spec("s", "local", "us-east-1", Some("http://127.0.0.1:4566"), &[i]);
        assert!(text.contains("    # chosen\n    billing: on_demand\n"), "{text}");
        let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(doc["tables"]["msgs"], value);
        assert_eq!(doc["environments"]["local"]["endpoint_url"], "http://127.0.0.1:4566");
        assert_eq!(doc["stack"], "s");
        assert_eq!(folder_name(Path::new("/tmp/My Stack/")), "my-stack");
    }

    #[test]
    fn arns_in_policies_become_references_longest_first() {
        let table = "arn:aws:dynamodb:ca-central-1:111122223333:table/msgs";
        let stream = format!("{table}/stream/2024-01-01T00:00:00.000");
        let refs = vec![
            (table.to_string(), "${tables.msgs.arn}".to_string()),
            (stream.clone(), "${tables.msgs.stream_arn}".to_string()),
            ("msgs".to_string(), "${tables.msgs.name}".to_string()),
        ];
        let doc = format!(
            r#"["{stream}", "{table}/index/by-group", "arn:aws:logs:ca-central-1:111122223333:*", "arn:aws:iam::111122223333:role/x", "msgs"]"#
        );
        assert_eq!(
            references_in_policy(&doc, &refs, "ca-central-1", Some("111122223333")),
            r#"["${tables.msgs.stream_arn}", "${tables.msgs.arn}/index/by-group", "arn:aws:logs:${aws.region}:${aws.account_id}:*", "arn:aws:iam::${aws.account_id}:role/x", "msgs"]"#
        );
    }
}
