//! The registry: every kind, in dependency order, and the look-ups by address prefix and by
//! reference namespace. Adding a kind is one line here (docs/architecture.md).

use super::function::mapping;
use super::{endpoint, function, queue, role, table, Kind};

/// Every kind, in dependency order: a kind may refer only to kinds before it. Plans list
/// resources in this order; destroy and prune delete in the reverse order.
pub static REGISTRY: &[&dyn Kind] =
    &[&table::Tables, &queue::Queues, &endpoint::Endpoints, &role::Roles, &function::Functions, &mapping::Mappings];

/// The kind whose addresses start with `prefix`.
pub fn kind_of(prefix: &str) -> Option<&'static dyn Kind> {
    REGISTRY.iter().copied().find(|k| k.kind() == prefix)
}

/// The kind whose resources `${NAMESPACE.NAME.attr}` references name.
pub fn kind_of_namespace(namespace: &str) -> Option<&'static dyn Kind> {
    REGISTRY.iter().copied().find(|k| k.namespace() == Some(namespace))
}
