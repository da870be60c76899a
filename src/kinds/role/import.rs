//! `import`: a live role written back as spec, its inline policies as files.

use serde_json::Value;

use super::{trust_document, LiveRole};
use crate::kinds::support::import::{spec_value, user_tags};
use crate::kinds::Imported;
use crate::policy;
use crate::spec::RoleSpec;

/// A live role as spec (`import`): its inline policies as files `policies/NAME.json`.
pub(super) fn imported(r: &LiveRole) -> Imported {
    let services = services_of(&r.trust);
    let mut notes = Vec::new();
    if !policy::equivalent(&trust_document(&services), &r.trust) {
        notes.push(format!(
            "its trust policy says more than which services may assume it ({}); the spec says only the services, \
             so a plan would narrow it: {}",
            services.join(", "),
            r.trust
        ));
    }
    let inline = r.inline.keys().map(|p| (p.clone(), format!("policies/{p}.json"))).collect();
    let spec = RoleSpec {
        path: (r.path != crate::spec::refs::ROLE_PATH && !r.path.is_empty()).then(|| r.path.clone()),
        trust: services,
        managed_policies: r.managed.iter().cloned().collect(),
        inline_policies: inline,
        description: r.description.clone().filter(|d| !d.is_empty()),
        tags: user_tags(&r.tags, &[]),
    };
    let mut i = Imported::new("roles", &r.name, spec_value(&spec), r.tags.clone());
    i.notes = notes;
    for (p, doc) in &r.inline {
        let text = serde_json::to_string_pretty(doc).unwrap_or_default() + "\n";
        i.files.push((format!("policies/{p}.json"), text.into_bytes()));
    }
    i.refs.push((r.arn.clone(), format!("${{roles.{}.arn}}", r.name)));
    i.refs.push((r.name.clone(), format!("${{roles.{}.name}}", r.name)));
    i
}

/// The services a trust policy lets assume the role (`Principal.Service` of its Allow
/// `sts:AssumeRole` statements).
pub(super) fn services_of(trust: &Value) -> Vec<String> {
    let list = |v: &Value| match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
        _ => vec![],
    };
    let statements = match &trust["Statement"] {
        Value::Array(a) => a.clone(),
        one => vec![one.clone()],
    };
    let mut out: Vec<String> = statements
        .iter()
        .filter(|s| s["Effect"] == "Allow" && list(&s["Action"]).iter().any(|a| a == "sts:AssumeRole"))
        .flat_map(|s| list(&s["Principal"]["Service"]))
        .collect();
    out.sort();
    out.dedup();
    out
}
