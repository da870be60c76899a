//! IAM policy documents: offline checks for `validate`, and a normal form so that documents
//! are compared by meaning (docs/aws-behaviour.md rule 7): statement order, key order, `"x"` ≡ `["x"]`
//! and order inside Action / Resource / Principal / Condition value lists do not count.

use serde_json::{Map, Value};

/// A problem found in a policy document, with the 1-based position of the offending text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyProblem {
    pub line: usize,
    pub column: usize,
    pub field: String,
    pub message: String,
    pub warning: bool,
}

const TOP_KEYS: &[&str] = &["Version", "Id", "Statement"];
const STATEMENT_KEYS: &[&str] =
    &["Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"];
/// Keys whose value is a string or a list of strings, where order does not count.
const LIST_KEYS: &[&str] = &["Action", "NotAction", "Resource", "NotResource"];

/// Line and column (1-based) of the first occurrence of `needle` in `text`.
pub fn position_of(text: &str, needle: &str) -> (usize, usize) {
    match text.find(needle) {
        Some(off) => {
            let before = &text[..off];
            let line = before.matches('\n').count() + 1;
            let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            (line, col)
        }
        None => (1, 1),
    }
}

fn strings(v: &Value) -> Option<Vec<&str>> {
    match v {
        Value::String(s) => Some(vec![s.as_str()]),
        Value::Array(a) => a.iter().map(|x| x.as_str()).collect(),
        _ => None,
    }
}

fn valid_action(a: &str) -> bool {
    let Some((svc, act)) = a.split_once(':') else { return false };
    !svc.is_empty()
        && svc.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !act.is_empty()
        && act.chars().all(|c| c.is_ascii_alphanumeric() || c == '*' || c == '?')
}

/// Checks a policy document's text: JSON, known keys, Version, Effect, actions of the form
/// `service:Action`. A `*` action is an error; other wildcards are warnings.
pub fn check(text: &str) -> Vec<PolicyProblem> {
    let mut out = Vec::new();
    let mut err = |needle: &str, field: String, message: String, warning: bool| {
        let (line, column) = position_of(text, needle);
        out.push(PolicyProblem { line, column, field, message, warning });
    };
    let doc: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            return vec![PolicyProblem {
                line: e.line().max(1),
                column: e.column().max(1),
                field: String::new(),
                message: format!("not valid JSON: {e}"),
                warning: false,
            }];
        }
    };
    let Some(top) = doc.as_object() else {
        err("", String::new(), "a policy document must be a JSON object".into(), false);
        return out;
    };
    for k in top.keys() {
        if !TOP_KEYS.contains(&k.as_str()) {
            err(&format!("\"{k}\""), k.clone(), format!("unknown key `{k}`; a policy has Version, Id and Statement"), false);
        }
    }
    match top.get("Version").and_then(Value::as_str) {
        Some("2012-10-17") => {}
        Some(v) => err(&format!("\"{v}\""), "Version".into(), format!("Version must be \"2012-10-17\", not \"{v}\""), false),
        None => err("", "Version".into(), "missing \"Version\": \"2012-10-17\" (without it, policy variables do not work)".into(), false),
    }
    let statements: Vec<&Value> = match top.get("Statement") {
        Some(Value::Array(a)) if !a.is_empty() => a.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => {
            err("\"Statement\"", "Statement".into(), "\"Statement\" must be a statement object or a non-empty list of them".into(), false);
            return out;
        }
    };
    for (i, st) in statements.iter().enumerate() {
        let field = |k: &str| format!("Statement[{i}].{k}");
        let Some(st) = st.as_object() else {
            err("\"Statement\"", format!("Statement[{i}]"), "a statement must be a JSON object".into(), false);
            continue;
        };
        for k in st.keys() {
            if !STATEMENT_KEYS.contains(&k.as_str()) {
                err(&format!("\"{k}\""), field(k), format!("unknown statement key `{k}`"), false);
            }
        }
        match st.get("Effect").and_then(Value::as_str) {
            Some("Allow" | "Deny") => {}
            Some(e) => err(&format!("\"{e}\""), field("Effect"), format!("Effect must be \"Allow\" or \"Deny\", not \"{e}\""), false),
            None => err("\"Statement\"", field("Effect"), "missing \"Effect\" (\"Allow\" or \"Deny\")".into(), false),
        }
        if st.get("Action").is_none() && st.get("NotAction").is_none() {
            err("\"Statement\"", field("Action"), "a statement needs \"Action\" (or \"NotAction\")".into(), false);
        }
        for key in LIST_KEYS {
            let Some(v) = st.get(*key) else { continue };
            let Some(items) = strings(v) else {
                err(&format!("\"{key}\""), field(key), format!("\"{key}\" must be a string or a list of strings"), false);
                continue;
            };
            if items.is_empty() {
                err(&format!("\"{key}\""), field(key), format!("\"{key}\" is an empty list"), false);
            }
            for item in items {
                let needle = format!("\"{item}\"");
                if key.ends_with("Action") {
                    if item == "*" {
                        err(&needle, field(key), "the action `*` allows every action of every service; name the actions".into(), false);
                    } else if !valid_action(item) {
                        err(&needle, field(key), format!("`{item}` is not an action of the form `service:Action`"), false);
                    } else if item.contains('*') || item.contains('?') {
                        err(&needle, field(key), format!("wildcard action `{item}` grants more than it names"), true);
                    }
                } else if item == "*" && *key == "Resource" {
                    err(&needle, field(key), "`Resource: *` applies to every resource; name the ARNs".into(), true);
                }
            }
        }
    }
    out
}

fn sorted_unique(mut v: Vec<String>) -> Value {
    v.sort();
    v.dedup();
    Value::Array(v.into_iter().map(Value::String).collect())
}

fn as_string_list(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::Array(a) => a.iter().map(scalar_string).collect(),
        other => scalar_string(other).map(|s| vec![s]),
    }
}

/// IAM compares condition values and principals as strings (`true` ≡ `"true"`).
fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Normalizes a map whose values are string-or-list (Principal, a Condition operator's body).
fn normalize_map_of_lists(m: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    for (k, v) in m {
        let nv = match as_string_list(v) {
            Some(list) => sorted_unique(list),
            None => normalize_value(v),
        };
        out.insert(k.clone(), nv);
    }
    Value::Object(out)
}

fn normalize_value(v: &Value) -> Value {
    match v {
        Value::Object(m) => normalize_map_of_lists(m),
        other => other.clone(),
    }
}

fn normalize_statement(st: &Value) -> Value {
    let Some(m) = st.as_object() else { return st.clone() };
    let mut out = Map::new();
    for (k, v) in m {
        let nv = match k.as_str() {
            "Action" | "NotAction" | "Resource" | "NotResource" => match as_string_list(v) {
                Some(list) => sorted_unique(list),
                None => v.clone(),
            },
            "Principal" | "NotPrincipal" => match v {
                Value::Object(p) => normalize_map_of_lists(p),
                other => other.clone(),
            },
            "Condition" => match v {
                Value::Object(ops) => Value::Object(ops.iter().map(|(op, body)| (op.clone(), normalize_value(body))).collect()),
                other => other.clone(),
            },
            _ => v.clone(),
        };
        out.insert(k.clone(), nv);
    }
    // serde_json's Map keeps keys sorted (no preserve_order feature), so key order is canonical.
    Value::Object(out)
}

/// The normal form of a policy document: statements normalized and sorted, lists sorted and
/// de-duplicated, single strings turned into lists.
pub fn normalize(doc: &Value) -> Value {
    let Some(top) = doc.as_object() else { return doc.clone() };
    let mut out = Map::new();
    for (k, v) in top {
        if k == "Statement" {
            let list: Vec<&Value> = match v {
                Value::Array(a) => a.iter().collect(),
                other => vec![other],
            };
            let mut sts: Vec<Value> = list.into_iter().map(normalize_statement).collect();
            sts.sort_by_cached_key(|s| s.to_string());
            out.insert(k.clone(), Value::Array(sts));
        } else {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

/// Decodes a document as IAM returns it (URL-encoded, RFC 3986) and parses it.
pub fn decode(encoded: &str) -> Result<Value, String> {
    let text = percent_encoding::percent_decode_str(encoded)
        .decode_utf8()
        .map_err(|e| format!("policy document is not UTF-8 after URL-decoding: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("policy document is not JSON: {e}"))
}

/// One permission a statement grants or denies: effect, principal, action, resource, condition.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Grant {
    effect: String,
    principal: String,
    action: String,
    resource: String,
    condition: String,
}

fn grants(doc: &Value) -> Vec<Grant> {
    let norm = normalize(doc);
    let mut out = Vec::new();
    let empty = Vec::new();
    for st in norm.get("Statement").and_then(Value::as_array).unwrap_or(&empty) {
        let effect = st.get("Effect").and_then(Value::as_str).unwrap_or("Allow").to_string();
        let list = |k: &str, not: &str| -> Vec<String> {
            if let Some(v) = st.get(k).and_then(as_string_list) {
                v
            } else if let Some(v) = st.get(not).and_then(as_string_list) {
                vec![format!("everything except {}", v.join(", "))]
            } else {
                vec!["*".into()]
            }
        };
        let principal = st.get("Principal").or_else(|| st.get("NotPrincipal")).map(|p| p.to_string()).unwrap_or_default();
        let condition = st.get("Condition").map(|c| c.to_string()).unwrap_or_default();
        for action in list("Action", "NotAction") {
            for resource in list("Resource", "NotResource") {
                out.push(Grant {
                    effect: effect.clone(),
                    principal: principal.clone(),
                    action: action.clone(),
                    resource: resource.clone(),
                    condition: condition.clone(),
                });
            }
        }
    }
    out
}

/// What `after` allows that `before` did not (a new Allow, or a Deny taken away), in words.
/// Conservative: a grant counts as new unless `before` has the same one with the same or no
/// condition; wildcards are not expanded.
pub fn broadening(before: Option<&Value>, after: &Value) -> Vec<String> {
    let b = before.map(grants).unwrap_or_default();
    let a = grants(after);
    let covered = |g: &Grant, set: &[Grant]| {
        set.iter().any(|x| {
            x.effect == g.effect
                && x.principal == g.principal
                && x.action == g.action
                && x.resource == g.resource
                && (x.condition == g.condition || x.condition.is_empty())
        })
    };
    let who = |g: &Grant| if g.principal.is_empty() { String::new() } else { format!(" to {}", g.principal) };
    let mut out: Vec<String> = a
        .iter()
        .filter(|g| g.effect == "Allow" && !covered(g, &b))
        .map(|g| format!("allows {} on {}{}", g.action, g.resource, who(g)))
        .collect();
    out.extend(
        b.iter()
            .filter(|g| g.effect == "Deny" && !a.iter().any(|x| x.effect == "Deny" && x.action == g.action && x.resource == g.resource))
            .map(|g| format!("no longer denies {} on {}", g.action, g.resource)),
    );
    out.sort();
    out.dedup();
    out
}

/// The document as the plan shows it: normalized, pretty-printed.
pub fn pretty(doc: &Value) -> String {
    serde_json::to_string_pretty(&normalize(doc)).unwrap_or_default()
}

/// True when two documents mean the same.
pub fn equivalent(a: &Value, b: &Value) -> bool {
    normalize(a) == normalize(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn check_accepts_a_good_policy() {
        let text = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["dynamodb:PutItem"],"Resource":"arn:x"}]}"#;
        assert_eq!(check(text), vec![]);
    }

    #[test]
    fn check_reports_each_error_class_with_its_place() {
        let bad_json = check("{\n  \"Version\": ,\n}");
        assert_eq!(bad_json[0].line, 2);
        assert!(bad_json[0].message.contains("not valid JSON"));

        let text = "{\n \"Version\": \"2012-10-17\",\n \"Statement\": [{\"Effect\": \"Allow\",\n  \"Action\": [\"*\", \"PutItem\", \"s3:Get*\"], \"Resource\": \"*\", \"Foo\": 1}]}";
        let p = check(text);
        let msgs: Vec<_> = p.iter().map(|x| (x.line, x.message.as_str(), x.warning)).collect();
        assert!(msgs.iter().any(|(l, m, w)| *l == 4 && m.contains("every action") && !w), "{msgs:?}");
        assert!(msgs.iter().any(|(_, m, w)| m.contains("`PutItem` is not an action") && !w));
        assert!(msgs.iter().any(|(_, m, w)| m.contains("wildcard action `s3:Get*`") && *w));
        assert!(msgs.iter().any(|(_, m, w)| m.contains("Resource: *") && *w));
        assert!(msgs.iter().any(|(_, m, _)| m.contains("unknown statement key `Foo`")));

        let no_version = check(r#"{"Statement":{"Effect":"Maybe","Action":"s3:GetObject"}}"#);
        assert!(no_version.iter().any(|p| p.message.contains("missing \"Version\"")));
        assert!(no_version.iter().any(|p| p.message.contains("not \"Maybe\"")));
    }

    #[test]
    fn normalize_ignores_order_and_string_vs_list() {
        let a = json!({"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"dynamodb:Query","Resource":["b","a"]},
            {"Effect":"Allow","Action":["dynamodb:PutItem","dynamodb:DeleteItem"],"Resource":"t"}]});
        let b = json!({"Statement":[
            {"Resource":"t","Action":["dynamodb:DeleteItem","dynamodb:PutItem"],"Effect":"Allow"},
            {"Resource":["a","b"],"Effect":"Allow","Action":["dynamodb:Query"]}],"Version":"2012-10-17"});
        assert!(equivalent(&a, &b));
        let c = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:Query","Resource":"a"}]});
        assert!(!equivalent(&a, &c));
    }

    #[test]
    fn normalize_handles_principals_and_nested_conditions() {
        let a = json!({"Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},
            "Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:SourceAccount":["2","1"]},"Bool":{"aws:SecureTransport":true}}}]});
        let b = json!({"Statement":[{"Condition":{"Bool":{"aws:SecureTransport":"true"},"StringEquals":{"aws:SourceAccount":["1","2"]}},
            "Action":["sts:AssumeRole"],"Principal":{"Service":["lambda.amazonaws.com"]},"Effect":"Allow"}]});
        assert!(equivalent(&a, &b));
    }

    #[test]
    fn broadening_names_new_grants_and_ignores_narrowing() {
        let before = json!({"Statement":[{"Effect":"Allow","Action":["dynamodb:PutItem","dynamodb:Query"],"Resource":"t"}]});
        let narrower = json!({"Statement":[{"Effect":"Allow","Action":"dynamodb:Query","Resource":"t"}]});
        assert!(broadening(Some(&before), &narrower).is_empty());
        let reordered = json!({"Statement":[{"Resource":["t"],"Action":["dynamodb:Query","dynamodb:PutItem"],"Effect":"Allow"}]});
        assert!(broadening(Some(&before), &reordered).is_empty());
        let wider = json!({"Statement":[{"Effect":"Allow","Action":["dynamodb:PutItem","dynamodb:Query","dynamodb:Scan"],"Resource":"t"}]});
        assert_eq!(broadening(Some(&before), &wider), ["allows dynamodb:Scan on t"]);
        let new_resource = json!({"Statement":[{"Effect":"Allow","Action":"dynamodb:Query","Resource":["t","t/index/*"]}]});
        assert_eq!(broadening(Some(&before), &new_resource), ["allows dynamodb:Query on t/index/*"]);
        // A condition added narrows; a condition removed widens.
        let conditioned = json!({"Statement":[{"Effect":"Allow","Action":"dynamodb:Query","Resource":"t","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]});
        assert!(broadening(Some(&before), &conditioned).is_empty());
        assert_eq!(broadening(Some(&conditioned), &narrower), ["allows dynamodb:Query on t"]);
        // A Deny taken away widens.
        let deny = json!({"Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]});
        assert_eq!(broadening(Some(&deny), &json!({"Statement":[]})), ["no longer denies s3:* on *"]);
        // A new document grants everything in it.
        assert_eq!(broadening(None, &narrower), ["allows dynamodb:Query on t"]);
    }

    #[test]
    fn decode_reads_url_encoded_documents() {
        let enc = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(decode(enc).unwrap(), json!({"Version":"2012-10-17","Statement":[]}));
        assert!(decode("%7Bnot").is_err());
    }
}
