//! What every kind's `import` shares: a spec value written without its defaults, and the tags
//! the spec says (the tool's own and AWS's left out).

use std::collections::BTreeMap;

use super::ownership::OWNERSHIP_TAGS;

/// A spec value as `import` writes it: nulls, empty mappings and lists left out.
pub fn spec_value<T: serde::Serialize>(spec: &T) -> serde_yaml::Value {
    fn prune(v: serde_yaml::Value) -> serde_yaml::Value {
        match v {
            serde_yaml::Value::Mapping(m) => serde_yaml::Value::Mapping(
                m.into_iter()
                    .filter(|(_, v)| match v {
                        serde_yaml::Value::Null => false,
                        serde_yaml::Value::Mapping(m) => !m.is_empty(),
                        serde_yaml::Value::Sequence(s) => !s.is_empty(),
                        _ => true,
                    })
                    .map(|(k, v)| (k, prune(v)))
                    .collect(),
            ),
            serde_yaml::Value::Number(n)
                if n.as_f64().is_some_and(|f| f.fract() == 0.0 && f.abs() < 1e15) && !n.is_i64() && !n.is_u64() =>
            {
                serde_yaml::Value::Number((n.as_f64().unwrap_or_default() as i64).into())
            }
            serde_yaml::Value::Sequence(s) => serde_yaml::Value::Sequence(s.into_iter().map(prune).collect()),
            other => other,
        }
    }
    prune(serde_yaml::to_value(spec).unwrap_or_default())
}

/// A resource's tags as its spec says them: the tool's own and AWS's (`aws:`) left out.
pub fn user_tags(tags: &BTreeMap<String, String>, own: &[&str]) -> BTreeMap<String, String> {
    tags.iter()
        .filter(|(k, _)| !k.starts_with("aws:") && !OWNERSHIP_TAGS.contains(&k.as_str()) && !own.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}
