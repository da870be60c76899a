//! References between resources (`${tables.NAME.arn}`): what a resource refers to (for
//! `--target` and apply's waves), documents resolved against what is known now, and values
//! read again during apply when they did not exist at plan time.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;

use crate::aws::AwsContext;
use crate::kinds::registry::kind_of_namespace;
use crate::kinds::Declared;
use crate::spec::refs::RefContext;
use crate::spec::Desired;

/// A policy file resolved against what is known now (null when it does not parse), and
/// whether every value in it was known.
pub fn resolved_document(desired: &Desired, file: &str, refs: &RefContext) -> (serde_json::Value, bool) {
    let template = desired.files.get(file).cloned().unwrap_or_default();
    let (text, complete) = refs.resolve(&template);
    (serde_json::from_str(&text).unwrap_or(serde_json::Value::Null), complete)
}

/// The addresses that references in `text` name (`hard`: only those whose value exists only
/// once the resource does, such as a stream ARN; a name or ARN can be written before).
pub fn referenced(text: &str, hard: bool) -> Vec<String> {
    use crate::spec::refs::{occurrences, parse_syntax};
    occurrences(text)
        .into_iter()
        .filter_map(|o| {
            let r = parse_syntax(&o.expr).ok()?;
            let (namespace, name) = r.target()?;
            if hard && !r.exists_only_once_made() {
                return None;
            }
            Some(format!("{}.{name}", kind_of_namespace(namespace)?.kind()))
        })
        .collect()
}

/// The texts of the policy files `files` names.
pub fn file_texts<'a>(desired: &'a Desired, files: impl IntoIterator<Item = &'a String>) -> Vec<&'a str> {
    files.into_iter().filter_map(|f| desired.files.get(f)).map(String::as_str).collect()
}

/// A declared resource with the references of `texts` (soft and hard) plus `always` (hard).
pub fn declared_with(address: String, texts: &[&str], always: Vec<String>) -> Declared {
    let mut refers_to: Vec<String> = texts.iter().flat_map(|t| referenced(t, false)).collect();
    let mut needs_first: Vec<String> = texts.iter().flat_map(|t| referenced(t, true)).collect();
    refers_to.extend(always.iter().cloned());
    needs_first.extend(always);
    Declared { address, refers_to, needs_first }
}

/// Resolves a template during apply, when values that did not exist at plan time (the stream
/// ARN of a table created by this apply) do: each such reference is read again from its kind.
pub async fn resolve_late(ctx: &AwsContext, template: &str) -> Result<String> {
    use crate::spec::refs::{occurrences, parse_syntax};
    let identity = ctx.identity().await?;
    let mut refs = RefContext {
        region: ctx.region.clone(),
        account_id: Some(identity.account_id.clone()),
        partition: identity.partition.clone(),
        values: BTreeMap::new(),
        name_suffix: ctx.name_suffix.clone(),
        role_paths: BTreeMap::new(),
    };
    let mut read = BTreeSet::new();
    for o in occurrences(template) {
        let Ok(r) = parse_syntax(&o.expr) else { continue };
        let (Some(_), Some((namespace, name))) = (r.key(), r.target()) else { continue };
        let Some(kind) = kind_of_namespace(namespace) else { continue };
        if read.insert((namespace, name.to_string())) {
            refs.values.extend(kind.read_reference_values(ctx, name).await?);
        }
    }
    let (text, complete) = refs.resolve(template);
    if !complete {
        anyhow::bail!("a value in this document is still unknown after the steps before it: {text}");
    }
    Ok(text)
}
