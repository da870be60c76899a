//! Writes spec values as people write `infra.yaml` (docs/contract.md's style): keys in the order the
//! types declare them, a small mapping or list on one line (`{ name: pk, type: S }`), a large
//! one as a block, and a comment above a field where the writer has something to say.

use serde_yaml::Value;

/// How wide a one-line (flow) mapping or list may get, indentation included.
const FLOW_WIDTH: usize = 100;

/// One scalar as YAML reads it back unchanged: plain when that is safe, else double-quoted.
pub fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        other => flow(other),
    }
}

fn string(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:@$".contains(c))
        && !s.starts_with(['-', ':', '@', '$', '.'])
        && !s.contains(": ")
        && !s.ends_with(':')
        // What YAML would read as another type.
        && serde_yaml::from_str::<Value>(s).ok().is_some_and(|v| v == Value::String(s.to_string()));
    if plain {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
    }
}

/// A value on one line: `{ a: 1, b: [x, y] }`.
pub fn flow(v: &Value) -> String {
    match v {
        Value::Mapping(m) if m.is_empty() => "{}".into(),
        Value::Mapping(m) => {
            let items: Vec<String> = m.iter().map(|(k, v)| format!("{}: {}", scalar(k), flow(v))).collect();
            format!("{{ {} }}", items.join(", "))
        }
        Value::Sequence(s) => format!("[{}]", s.iter().map(flow).collect::<Vec<_>>().join(", ")),
        Value::Tagged(t) => flow(&t.value),
        other => scalar(other),
    }
}

/// A YAML document being written, line by line.
#[derive(Default)]
pub struct Writer {
    out: String,
}

impl Writer {
    pub fn new() -> Self {
        Self::default()
    }

    /// A comment line at `indent`.
    pub fn comment(&mut self, indent: usize, text: &str) {
        for line in text.lines() {
            self.out.push_str(&format!("{:indent$}# {line}\n", ""));
        }
    }

    /// `key:` alone, the start of a block written by the next fields.
    pub fn key(&mut self, indent: usize, key: &str) {
        self.out.push_str(&format!("{:indent$}{}:\n", "", string(key)));
    }

    pub fn blank(&mut self) {
        self.out.push('\n');
    }

    /// `key: value` at `indent`, on one line when it fits, else as a block. `comments` are
    /// written above a nested field, by its dotted path below `key` (`capacity.read`).
    pub fn field(&mut self, indent: usize, key: &str, value: &Value, comments: &dyn Fn(&str) -> Option<String>) {
        self.field_at(indent, key, key, value, comments);
    }

    fn field_at(&mut self, indent: usize, key: &str, path: &str, value: &Value, comments: &dyn Fn(&str) -> Option<String>) {
        if let Some(c) = comments(path) {
            self.comment(indent, &c);
        }
        let k = string(key);
        let nested_comment = |v: &Value| match v {
            Value::Mapping(m) => m.keys().any(|sub| comments(&format!("{path}.{}", sub.as_str().unwrap_or(""))).is_some()),
            _ => false,
        };
        match value {
            Value::Mapping(m) if !m.is_empty() => {
                let one = format!("{:indent$}{k}: {}", "", flow(value));
                if one.len() <= FLOW_WIDTH && !nested_comment(value) {
                    self.out.push_str(&one);
                    self.out.push('\n');
                } else {
                    self.out.push_str(&format!("{:indent$}{k}:\n", ""));
                    for (sub, v) in m {
                        let sub = sub.as_str().map(str::to_string).unwrap_or_else(|| scalar(sub));
                        self.field_at(indent + 2, &sub, &format!("{path}.{sub}"), v, comments);
                    }
                }
            }
            Value::Sequence(s) if !s.is_empty() => {
                let one = format!("{:indent$}{k}: {}", "", flow(value));
                if one.len() <= FLOW_WIDTH {
                    self.out.push_str(&one);
                    self.out.push('\n');
                } else {
                    self.out.push_str(&format!("{:indent$}{k}:\n", ""));
                    for v in s {
                        self.out.push_str(&format!("{:indent$}  - {}\n", "", flow(v)));
                    }
                }
            }
            other => self.out.push_str(&format!("{:indent$}{k}: {}\n", "", flow(other))),
        }
    }

    pub fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(s: &str) -> Value {
        serde_yaml::from_str(s).unwrap()
    }

    #[test]
    fn scalars_read_back_as_the_same_value() {
        for s in ["pk", "true", "123456789012", "a: b", "", "x,y", "arn:aws:iam::aws:policy/P", "${tables.t.arn}", "-x", "null", "1.5", "#"]
        {
            let text = format!("k: {}", string(s));
            assert_eq!(yaml(&text)["k"], Value::String(s.into()), "{text}");
        }
        assert_eq!(string("pk"), "pk");
        assert_eq!(string("123"), "\"123\"");
    }

    #[test]
    fn small_mappings_go_on_one_line_and_large_ones_in_blocks() {
        let v = yaml("t:\n  partition_key: { name: pk, type: S }\n  tags: { app: \"1\", \"a,b\": x }\n  g:\n    idx:\n      partition_key: { name: a_long_attribute_name, type: S }\n      projection: all\n      capacity: { read: 5, write: 5, autoscale: { min: 5, max: 50, target_utilization: 70 } }\n");
        let mut w = Writer::new();
        w.field(2, "t", &v["t"], &|p| (p == "t.g").then(|| "indexes".to_string()));
        let text = w.finish();
        assert_eq!(
            text,
            "  t:\n    partition_key: { name: pk, type: S }\n    tags: { app: \"1\", \"a,b\": x }\n    # indexes\n    g:\n      idx:\n        \
             partition_key: { name: a_long_attribute_name, type: S }\n        projection: all\n        \
             capacity: { read: 5, write: 5, autoscale: { min: 5, max: 50, target_utilization: 70 } }\n"
        );
        let whole = serde_yaml::Mapping::from_iter([(Value::from("t"), v["t"].clone())]);
        assert_eq!(yaml(&text), Value::Mapping(whole));
    }
}
