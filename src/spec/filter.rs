//! A trigger's event filter patterns (EventBridge's pattern syntax, docs/aws-behaviour.md rule
//! 39): compared by meaning.

/// Filter patterns compared by meaning: key order never counts (JSON objects), the order of
/// values in a list of alternatives does not either, nor the order of the patterns.
pub fn canonical_patterns(patterns: impl Iterator<Item = serde_json::Value>) -> Vec<serde_json::Value> {
    fn canon(v: serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(m) => serde_json::Value::Object(m.into_iter().map(|(k, v)| (k, canon(v))).collect()),
            serde_json::Value::Array(a) => {
                let mut a: Vec<serde_json::Value> = a.into_iter().map(canon).collect();
                a.sort_by_key(|x| x.to_string());
                serde_json::Value::Array(a)
            }
            other => other,
        }
    }
    let mut out: Vec<serde_json::Value> = patterns.map(canon).collect();
    out.sort_by_key(|x| x.to_string());
    out.dedup();
    out
}
