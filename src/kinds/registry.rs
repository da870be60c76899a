//! The registry: every kind, in dependency order, and the look-ups by address prefix and by
//! reference namespace. Adding a kind is one line here (docs/architecture.md).

use super::function::mapping;
use super::{alarm, endpoint, function, queue, role, table, topic, Kind};

/// Every kind, in dependency order: a kind may refer only to kinds before it. Plans list
/// resources in this order; destroy and prune delete in the reverse order.
pub static REGISTRY: &[&dyn Kind] = &[
    &table::Tables,
    &queue::Queues,
    &topic::Topics,
    &endpoint::Endpoints,
    &role::Roles,
    &function::Functions,
    &mapping::Mappings,
    &alarm::Alarms,
];

/// The kind whose addresses start with `prefix`.
pub fn kind_of(prefix: &str) -> Option<&'static dyn Kind> {
    REGISTRY.iter().copied().find(|k| k.kind() == prefix)
}

/// The kind whose resources `${NAMESPACE.NAME.attr}` references name.
pub fn kind_of_namespace(namespace: &str) -> Option<&'static dyn Kind> {
    REGISTRY.iter().copied().find(|k| k.namespace() == Some(namespace))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Each kind of the registry and its folder under `src/kinds/`. A new kind adds a line.
    const FOLDERS: &[(&str, &str)] = &[
        ("dynamodb_table", "table"),
        ("sqs_queue", "queue"),
        ("sns_topic", "topic"),
        ("vpc_endpoint", "endpoint"),
        ("iam_role", "role"),
        ("lambda_function", "function"),
        ("lambda_event_source_mapping", "function/mapping"),
        ("cloudwatch_alarm", "alarm"),
    ];

    /// The kinds' module names another kind's code may name them by (`crate::kinds::role`,
    /// `super::{role, ...}` in a kind's `mod.rs`).
    fn named(text: &str, module: &str, top: bool) -> bool {
        let prefixes: &[&str] = if top { &["kinds::", "super::"] } else { &["kinds::"] };
        prefixes.iter().any(|p| {
            text.contains(&format!("{p}{module}::"))
                || text.contains(&format!("{p}{module};"))
                || text.match_indices(&format!("{p}{{")).any(|(i, m)| {
                    let list = &text[i + m.len()..];
                    let list = &list[..list.find('}').unwrap_or(list.len())];
                    list.split(',').any(|item| item.trim() == module || item.trim().starts_with(&format!("{module}::")))
                })
        })
    }

    #[test]
    fn every_kind_has_its_folder_and_none_names_a_kind_registered_after_it() {
        let kinds: Vec<&str> = super::REGISTRY.iter().map(|k| k.kind()).collect();
        assert_eq!(kinds, FOLDERS.iter().map(|f| f.0).collect::<Vec<_>>(), "a kind was added: give it its folder here");
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/kinds");
        for (i, (kind, folder)) in FOLDERS.iter().enumerate() {
            let dir = root.join(folder);
            // Its own files; a nested kind's folder (function/mapping) is that kind's.
            let files = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "rs"));
            for file in files {
                let text = std::fs::read_to_string(&file).unwrap();
                let top = file.file_name().is_some_and(|n| n == "mod.rs") && !folder.contains('/');
                for (later, later_folder) in &FOLDERS[i + 1..] {
                    let module = later_folder.rsplit('/').next().unwrap();
                    let own_part = later_folder.starts_with(&format!("{folder}/"));
                    assert!(
                        own_part || !named(&text, module, top),
                        "{} ({kind}) names `{module}` ({later}), a kind registered after it",
                        file.display()
                    );
                }
            }
        }
    }
}
