//! The spec's event filter patterns of a trigger (EventBridge's pattern syntax, docs/aws-behaviour.md rule
//! 39): sent as written, compared by meaning. Only lists of alternatives are unordered; inside
//! a `numeric` matcher the array is ordered operator/operand pairs (`[">", 0, "<=", 5]`, lower
//! bound first), so sorting it would send a pattern AWS refuses and would confuse a range with
//! its operands swapped.

use serde_json::Value;

/// The most patterns a mapping takes (AWS's default quota) and the longest pattern AWS takes.
pub const MAX_FILTERS: usize = 5;
pub const MAX_PATTERN_CHARS: usize = 4096;

/// Whether two lists of patterns mean the same: neither the order of the patterns, nor key
/// order, nor the order inside a list of alternatives counts; the order inside `numeric` does.
pub fn same(a: &[Value], b: &[Value]) -> bool {
    canonical(a) == canonical(b)
}

/// The patterns in one order for comparison (never sent).
fn canonical(patterns: &[Value]) -> Vec<Value> {
    let mut out: Vec<Value> = patterns.iter().map(pattern).collect();
    out.sort_by_key(Value::to_string);
    out.dedup();
    out
}

/// A pattern: an object whose values are nested patterns or lists of alternatives (`$or`: a
/// list of patterns).
fn pattern(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let v = match (k.as_str(), v) {
                        ("$or", Value::Array(ps)) => Value::Array(canonical(ps)),
                        (_, Value::Array(alternatives)) => alternatives_of(alternatives),
                        _ => pattern(v),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A list of alternatives, in one order: values, or matcher objects.
fn alternatives_of(alternatives: &[Value]) -> Value {
    let mut a: Vec<Value> = alternatives.iter().map(matcher).collect();
    a.sort_by_key(Value::to_string);
    a.dedup();
    Value::Array(a)
}

/// One alternative: a value, or a matcher (`prefix`, `anything-but`, `numeric`, `exists`, ...).
fn matcher(v: &Value) -> Value {
    let Value::Object(m) = v else { return v.clone() };
    let inner = |k: &str, v: &Value| match (k, v) {
        // Ordered operator/operand pairs.
        ("numeric", _) => v.clone(),
        // Anything but these alternatives (one value is a list of one), or but what a matcher
        // matches.
        ("anything-but", Value::Array(a)) => alternatives_of(a),
        ("anything-but", Value::Object(_)) => matcher(v),
        ("anything-but", one) => alternatives_of(std::slice::from_ref(one)),
        // Any other list inside a matcher is a set of alternatives too (`prefix: [...]` under
        // `anything-but`), and a matcher's object a matcher.
        (_, Value::Array(a)) => alternatives_of(a),
        (_, Value::Object(_)) => matcher(v),
        _ => v.clone(),
    };
    Value::Object(m.iter().map(|(k, v)| (k.clone(), inner(k, v))).collect())
}

/// What is wrong with one pattern as AWS reads it, if anything: its length, and each `numeric`
/// matcher's grammar (an operator and a number, or a lower bound `>`/`>=` then an upper bound
/// `<`/`<=` with the lower number first).
pub fn problem(p: &Value) -> Option<String> {
    let text = p.to_string();
    if text.chars().count() > MAX_PATTERN_CHARS {
        return Some(format!("the pattern is {} characters as sent; AWS takes at most {MAX_PATTERN_CHARS}", text.chars().count()));
    }
    let mut found = None;
    visit_numeric(p, &mut |n| {
        if found.is_none() {
            found = numeric_problem(n);
        }
    });
    found
}

/// Calls `f` with every `numeric` matcher of a pattern: a `numeric` key of a matcher object in a
/// list of alternatives (an event field that is itself named `numeric` is no matcher).
fn visit_numeric(pattern: &Value, f: &mut dyn FnMut(&Value)) {
    let Value::Object(m) = pattern else { return };
    for (k, v) in m {
        match v {
            Value::Array(items) if k == "$or" => items.iter().for_each(|p| visit_numeric(p, f)),
            Value::Array(alternatives) => {
                for matcher in alternatives.iter().filter_map(Value::as_object) {
                    if let Some(n) = matcher.get("numeric") {
                        f(n);
                    }
                }
            }
            Value::Object(_) => visit_numeric(v, f),
            _ => {}
        }
    }
}

fn numeric_problem(n: &Value) -> Option<String> {
    const OPS: [&str; 5] = ["<", "<=", "=", ">", ">="];
    let shown = n.to_string();
    let bad = |why: &str| {
        Some(format!("`numeric: {shown}` {why}: write an operator and a number (`[\">\", 0]`), or a range lower bound first (`[\">\", 0, \"<=\", 5]`)"))
    };
    let Value::Array(a) = n else { return bad("is not a list") };
    let pair = |i: usize| -> Option<(&str, f64)> { Some((a.get(i)?.as_str().filter(|o| OPS.contains(o))?, a.get(i + 1)?.as_f64()?)) };
    match a.len() {
        2 => pair(0).is_none().then(|| bad("is not an operator and a number")).flatten(),
        4 => match (pair(0), pair(2)) {
            (Some((lo, a)), Some((hi, b))) if matches!(lo, ">" | ">=") && matches!(hi, "<" | "<=") && a < b => None,
            (Some(_), Some(_)) => bad("is not a range with its lower bound (`>`, `>=`) first and the smaller number"),
            _ => bad("is not two operator and number pairs"),
        },
        _ => bad("has neither 2 nor 4 items"),
    }
}

/// The top-level fields of a DynamoDB stream record that a filter can match (docs/aws-behaviour.md
/// rule 39): a pattern on any other key (SQS's `body`, Kinesis's `data`) never matches.
const RECORD_KEYS: [&str; 8] =
    ["awsRegion", "dynamodb", "eventID", "eventName", "eventSource", "eventSourceARN", "eventVersion", "userIdentity"];

/// The event names a DynamoDB stream record has.
const EVENT_NAMES: [&str; 3] = ["INSERT", "MODIFY", "REMOVE"];

/// What makes a pattern match nothing on the records of a stream of view `view`, if anything:
/// a key a stream record does not have, an event name that is not one, an image the stream does
/// not carry (`NewImage` with `keys_only` or `old_image`, `OldImage` with `keys_only` or
/// `new_image`), or `NewImage` on `REMOVE` events only (a removed item has no new image). AWS
/// accepts all of these; the function is simply never invoked.
pub fn stream_problem(p: &Value, view: super::StreamView) -> Option<String> {
    use super::StreamView as V;
    let Value::Object(m) = p else { return None };
    if let Some(Value::Array(branches)) = m.get("$or") {
        return branches.iter().find_map(|b| stream_problem(b, view));
    }
    if let Some(k) = m.keys().find(|k| !RECORD_KEYS.contains(&k.as_str())) {
        return Some(format!(
            "`{k}` is not a field of a DynamoDB stream record (it has {}): this pattern never matches",
            RECORD_KEYS.join(", ")
        ));
    }
    let mut numeric_on_item = false;
    for image in ["Keys", "NewImage", "OldImage"] {
        if let Some(sub) = m.get("dynamodb").and_then(|d| d.get(image)) {
            visit_numeric(sub, &mut |_| numeric_on_item = true);
        }
    }
    if numeric_on_item {
        return Some(
            "a `numeric` matcher on an item's attribute never matches: a stream record carries DynamoDB numbers as strings \
             (`{\"N\": \"5\"}`), which Lambda compares as strings; match the exact string instead"
                .into(),
        );
    }
    let names = m.get("eventName").and_then(Value::as_array);
    let plain: Vec<&str> = names.into_iter().flatten().filter_map(Value::as_str).collect();
    if let Some(bad) = plain.iter().find(|n| !EVENT_NAMES.contains(n)) {
        return Some(format!("eventName `{bad}` is not one: a stream record's eventName is INSERT, MODIFY or REMOVE"));
    }
    let image = |name: &str| m.get("dynamodb").and_then(|d| d.get(name)).is_some();
    let (new, old) = (image("NewImage"), image("OldImage"));
    let carried = match view {
        V::KeysOnly => "only the keys",
        V::OldImage => "only the old image",
        V::NewImage => "only the new image",
        _ => "",
    };
    if new && matches!(view, V::KeysOnly | V::OldImage) {
        return Some(format!("a pattern on `dynamodb.NewImage`, but the table's stream carries {carried}: it never matches"));
    }
    if old && matches!(view, V::KeysOnly | V::NewImage) {
        return Some(format!("a pattern on `dynamodb.OldImage`, but the table's stream carries {carried}: it never matches"));
    }
    let only_plain = names.is_some_and(|n| n.len() == plain.len());
    if new && only_plain && !plain.is_empty() && plain.iter().all(|n| *n == "REMOVE") {
        return Some("a pattern on `dynamodb.NewImage` for REMOVE events only: a removed item has no new image, it never matches".into());
    }
    None
}

/// Whether an event (a stream record as Lambda delivers it) matches any of the patterns, as
/// Lambda's filtering decides which records reach the function (EventBridge's matching: every
/// key of a pattern must match; a list is alternatives, any of which matches any element of an
/// event list; a missing field matches only `exists: false`). No patterns: every event.
pub fn matches(patterns: &[Value], event: &Value) -> bool {
    patterns.is_empty() || patterns.iter().any(|p| matches_pattern(p, Some(event)))
}

fn matches_pattern(pattern: &Value, event: Option<&Value>) -> bool {
    let Value::Object(m) = pattern else { return false };
    m.iter().all(|(k, want)| match (k.as_str(), want) {
        ("$or", Value::Array(branches)) => branches.iter().any(|b| matches_pattern(b, event)),
        (_, Value::Array(alternatives)) => {
            let field = event.and_then(|e| e.get(k));
            alternatives.iter().any(|a| matches_alternative(a, field))
        }
        // A nested pattern goes into a list too: any element may match (`{"L": {"S": [...]}}`).
        (_, Value::Object(_)) => match event.and_then(|e| e.get(k)) {
            Some(Value::Array(items)) => items.iter().any(|i| matches_pattern(want, Some(i))),
            field => matches_pattern(want, field),
        },
        _ => false,
    })
}

/// One alternative against a field: a missing field, a value, or a list of values (any).
fn matches_alternative(alternative: &Value, field: Option<&Value>) -> bool {
    if let Some(Value::Bool(exists)) = alternative.get("exists") {
        return *exists == field.is_some_and(|f| !f.is_object());
    }
    match field {
        None => false,
        Some(Value::Array(items)) => items.iter().any(|v| matches_value(alternative, v)),
        Some(v) => matches_value(alternative, v),
    }
}

/// A string matcher's argument: one string or a list of them (any), optionally under
/// `equals-ignore-case`.
fn text_matches(arg: &Value, text: Option<&str>, test: fn(&str, &str) -> bool) -> bool {
    let Some(text) = text else { return false };
    match arg {
        Value::String(p) => test(text, p),
        Value::Array(ps) => ps.iter().any(|p| text_matches(p, Some(text), test)),
        Value::Object(inner) => {
            inner.get("equals-ignore-case").is_some_and(|p| text_matches(&lowered(p), Some(&text.to_lowercase()), test))
        }
        _ => false,
    }
}

fn lowered(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(s.to_lowercase()),
        Value::Array(a) => Value::Array(a.iter().map(lowered).collect()),
        other => other.clone(),
    }
}

fn matches_value(alternative: &Value, v: &Value) -> bool {
    let Value::Object(m) = alternative else { return alternative == v };
    let Some((op, arg)) = m.iter().next() else { return false };
    let text = v.as_str();
    match op.as_str() {
        "prefix" => text_matches(arg, text, |t, p| t.starts_with(p)),
        "suffix" => text_matches(arg, text, |t, p| t.ends_with(p)),
        "equals-ignore-case" => text_matches(&lowered(arg), text.map(str::to_lowercase).as_deref(), |t, p| t == p),
        "wildcard" => text_matches(arg, text, wildcard),
        "anything-but" => match arg {
            Value::Array(values) => !values.contains(v),
            Value::Object(_) => !matches_value(arg, v),
            one => one != v,
        },
        // Only a JSON number: a DynamoDB number is a string in the record (`{"N": "5"}`), and
        // Lambda compares it as one (numeric operators never match it).
        "numeric" => v.as_f64().is_some_and(|n| numeric(arg, n)),
        _ => false, // cidr and matchers a stream record's fields never satisfy
    }
}

/// `[op, n]` or `[op, n1, op, n2]`, every pair holding.
fn numeric(arg: &Value, n: f64) -> bool {
    let Some(items) = arg.as_array() else { return false };
    !items.is_empty()
        && items.len() % 2 == 0
        && items.chunks(2).all(|pair| match (pair[0].as_str(), pair[1].as_f64()) {
            (Some("<"), Some(x)) => n < x,
            (Some("<="), Some(x)) => n <= x,
            (Some("="), Some(x)) => n == x,
            (Some(">"), Some(x)) => n > x,
            (Some(">="), Some(x)) => n >= x,
            _ => false,
        })
}

/// `*` stands for any run of characters (`text`, then the pattern).
fn wildcard(text: &str, pattern: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if parts.len() == 1 {
        return pattern == text;
    }
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) || text.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(i) => rest = &rest[i + middle.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn alternatives_are_unordered_but_a_numeric_range_is_not() {
        let a = json!({"eventName": ["INSERT", "MODIFY"], "dynamodb": {"NewImage": {"n": {"N": [{"numeric": [">", 0, "<=", 5]}]}}}});
        let b = json!({"dynamodb": {"NewImage": {"n": {"N": [{"numeric": [">", 0, "<=", 5]}]}}}, "eventName": ["MODIFY", "INSERT"]});
        assert!(same(std::slice::from_ref(&a), std::slice::from_ref(&b)));
        assert!(same(&[a.clone(), json!({"x": [1]})], &[json!({"x": [1]}), b]), "the order of the patterns does not count");
        let swapped = json!({"eventName": ["INSERT", "MODIFY"], "dynamodb": {"NewImage": {"n": {"N": [{"numeric": ["<=", 5, ">", 0]}]}}}});
        assert!(!same(std::slice::from_ref(&a), &[swapped]), "a range with its operands swapped is another pattern");
        let other = json!({"eventName": ["INSERT", "MODIFY"], "dynamodb": {"NewImage": {"n": {"N": [{"numeric": [">", 0, "<=", 6]}]}}}});
        assert!(!same(&[a], &[other]));
        assert!(same(&[json!({"k": [{"anything-but": ["b", "a"]}]})], &[json!({"k": [{"anything-but": ["a", "b"]}]})]));
        assert!(same(&[json!({"k": [{"anything-but": "a"}]})], &[json!({"k": [{"anything-but": ["a"]}]})]));
        assert!(same(
            &[json!({"k": [{"anything-but": {"prefix": ["b", "a"]}}]})],
            &[json!({"k": [{"anything-but": {"prefix": ["a", "b"]}}]})]
        ));
    }

    #[test]
    fn a_numeric_matcher_must_be_ordered_pairs_lower_bound_first() {
        assert_eq!(problem(&json!({"n": [{"numeric": [">", 0, "<=", 5]}]})), None);
        assert_eq!(problem(&json!({"n": [{"numeric": ["=", 3]}]})), None);
        // What sorting the array made of it, and other mistakes.
        for bad in [json!(["<=", ">", 0, 5]), json!(["<=", 5, ">", 0]), json!([">", 5, "<", 1]), json!([">"]), json!(["~", 1])] {
            let p = json!({"n": [{"numeric": bad}]});
            assert!(problem(&p).is_some_and(|m| m.contains("numeric")), "{p}");
        }
        // A field named `numeric` is a field, not a matcher.
        assert_eq!(problem(&json!({"numeric": [1, 2, 3]})), None);
        assert!(problem(&json!({"$or": [{"n": [{"numeric": ["<", 1, ">", 0]}]}]})).is_some());
        let long = json!({"k": ["x".repeat(5000)]});
        assert!(problem(&long).unwrap().contains("at most 4096"));
    }

    #[test]
    fn a_pattern_that_can_never_match_a_stream_record_is_named() {
        use crate::spec::StreamView as V;
        let shipped = json!({"eventName": ["INSERT"], "dynamodb": {"Keys": {"pk": {"S": [{"prefix": "MSG#"}]}}}});
        for view in [V::KeysOnly, V::NewImage, V::OldImage, V::NewAndOldImages] {
            assert_eq!(stream_problem(&shipped, view), None);
        }
        let new = json!({"dynamodb": {"NewImage": {"kind": {"S": ["msg"]}}}});
        assert!(stream_problem(&new, V::KeysOnly).unwrap().contains("only the keys"));
        assert!(stream_problem(&new, V::OldImage).unwrap().contains("only the old image"));
        assert_eq!(stream_problem(&new, V::NewImage), None);
        assert_eq!(stream_problem(&new, V::NewAndOldImages), None);
        let old = json!({"dynamodb": {"OldImage": {"kind": {"S": ["msg"]}}}});
        assert!(stream_problem(&old, V::NewImage).unwrap().contains("OldImage"));
        assert!(stream_problem(&json!({"body": {"pk": ["x"]}}), V::NewImage).unwrap().contains("`body` is not a field"));
        assert!(stream_problem(&json!({"eventName": ["INSERTED"]}), V::NewImage).unwrap().contains("`INSERTED` is not one"));
        let removed = json!({"eventName": ["REMOVE"], "dynamodb": {"NewImage": {"k": {"S": ["x"]}}}});
        assert!(stream_problem(&removed, V::NewAndOldImages).unwrap().contains("REMOVE events only"));
        let both = json!({"eventName": ["REMOVE", "MODIFY"], "dynamodb": {"NewImage": {"k": {"S": ["x"]}}}});
        assert_eq!(stream_problem(&both, V::NewAndOldImages), None);
        let numeric = json!({"dynamodb": {"NewImage": {"n": {"N": [{"numeric": [">", 5]}]}}}});
        assert!(stream_problem(&numeric, V::NewImage).unwrap().contains("as strings"), "a DynamoDB number is a string");
        assert_eq!(stream_problem(&json!({"dynamodb": {"SizeBytes": [{"numeric": [">", 5]}]}}), V::NewImage), None);
        // A branch of `$or` that cannot match is named too.
        assert!(stream_problem(&json!({"$or": [{"eventName": ["INSERT"]}, {"body": ["x"]}]}), V::NewImage).is_some());
    }
    #[test]
    fn matching_a_stream_record_as_lambda_filters_it() {
        let record = json!({"eventName": "INSERT", "dynamodb": {
            "Keys": {"pk": {"S": "MSG#g1"}, "sk": {"S": "2026-12-01"}}, "SizeBytes": 42,
            "NewImage": {"pk": {"S": "MSG#g1"}, "n": {"N": "7"}, "tags": {"SS": ["a", "b"]},
                         "list": {"L": [{"S": "x"}, {"N": "1"}]}}}});
        let shipped = json!({"eventName": ["INSERT"], "dynamodb": {"Keys": {"pk": {"S": [{"prefix": "MSG#"}]}}}});
        assert!(matches(std::slice::from_ref(&shipped), &record));
        let group = json!({"eventName": "MODIFY", "dynamodb": {"Keys": {"pk": {"S": "GRP#u1"}}}});
        assert!(!matches(std::slice::from_ref(&shipped), &group), "a group row is filtered out");
        assert!(matches(&[], &group), "no patterns: every record");
        let cases = [
            // A DynamoDB number is a string in the record: numeric operators never match it.
            (json!({"dynamodb": {"NewImage": {"n": {"N": [{"numeric": [">", 5, "<=", 7]}]}}}}), false),
            (json!({"dynamodb": {"NewImage": {"n": {"N": ["7"]}}}}), true),
            (json!({"dynamodb": {"NewImage": {"n": {"N": [7]}}}}), false),
            (json!({"dynamodb": {"SizeBytes": [{"numeric": [">", 10, "<=", 42]}]}}), true),
            (json!({"dynamodb": {"SizeBytes": [42.0]}}), false),
            (json!({"dynamodb": {"NewImage": {"list": {"L": {"S": [{"exists": true}]}}}}}), true),
            (json!({"dynamodb": {"Keys": {"pk": {"S": [{"anything-but": {"prefix": ["GRP#", "MSG#"]}}]}}}}), false),
            (json!({"dynamodb": {"Keys": {"pk": {"S": [{"anything-but": {"prefix": ["GRP#", "USR#"]}}]}}}}), true),
            (json!({"dynamodb": {"Keys": {"pk": {"S": [{"prefix": {"equals-ignore-case": "msg#"}}]}}}}), true),
            (json!({"dynamodb": {"NewImage": {"missing": [{"exists": false}]}}}), true),
            (json!({"dynamodb": {"NewImage": {"pk": [{"exists": true}]}}}), false),
            (json!({"dynamodb": {"NewImage": {"pk": {"S": [{"exists": true}]}}}}), true),
            (json!({"eventName": [{"anything-but": ["REMOVE", "MODIFY"]}]}), true),
            (json!({"eventName": [{"anything-but": {"prefix": "IN"}}]}), false),
            (json!({"eventName": [{"equals-ignore-case": "insert"}]}), true),
            (json!({"dynamodb": {"Keys": {"pk": {"S": [{"wildcard": "MSG*1"}]}}}}), true),
            (json!({"dynamodb": {"Keys": {"pk": {"S": [{"suffix": "g2"}]}}}}), false),
            (json!({"dynamodb": {"NewImage": {"tags": {"SS": ["b"]}}}}), true),
            (json!({"$or": [{"eventName": ["REMOVE"]}, {"dynamodb": {"Keys": {"sk": {"S": ["2026-12-01"]}}}}]}), true),
            (json!({"body": {"x": ["y"]}}), false),
        ];
        for (pattern, want) in cases {
            assert_eq!(matches(std::slice::from_ref(&pattern), &record), want, "{pattern}");
        }
        assert!(wildcard("axxbyyc", "a*b*c") && !wildcard("acb", "a*b*c") && wildcard("", "*") && !wildcard("aba", "ab*ba"));
    }
}
