//! `import`: a live table written back as spec, with comments where a value was chosen.

use std::collections::BTreeMap;

use super::{scaling, ttl, LiveTable};
use crate::kinds::support::import::user_tags;
use crate::kinds::support::ownership::ON_REMOVAL_TAG;
use crate::spec::{Billing, Capacity, GsiSpec, TableSpec};

/// A live table as spec (`import`), with comments by field path and notes of what the spec
/// cannot say.
pub fn spec_of(t: &LiveTable) -> (TableSpec, BTreeMap<String, String>, Vec<String>) {
    let mut comments = BTreeMap::new();
    let mut notes = Vec::new();
    let provisioned = t.billing == Billing::Provisioned;
    let mut capacity = |index: Option<&str>, live: &Capacity, path: String| {
        if !provisioned {
            return None;
        }
        let (c, comment, note) = scaling::imported(&t.scaling, index, live);
        if let Some(comment) = comment {
            comments.insert(path, comment);
        }
        notes.extend(note);
        Some(c)
    };
    let table_capacity = capacity(None, &t.capacity, "capacity".into());
    let global_secondary_indexes = t
        .indexes
        .iter()
        .map(|(i, g)| {
            let spec = GsiSpec {
                partition_key: g.partition_key.clone(),
                sort_key: g.sort_key.clone(),
                projection: g.projection.clone(),
                capacity: capacity(Some(i), &g.capacity, format!("global_secondary_indexes.{i}.capacity")),
            };
            (i.clone(), spec)
        })
        .collect();
    let retain = t.tags.get(ON_REMOVAL_TAG).is_some_and(|v| v == "retain");
    let spec = TableSpec {
        partition_key: t.partition_key.clone(),
        sort_key: t.sort_key.clone(),
        billing: t.billing,
        capacity: table_capacity,
        global_secondary_indexes,
        stream: t.stream,
        deletion_protection: t.deletion_protection,
        point_in_time_recovery: t.pitr.filter(|p| p.enabled).map(|p| match p.recovery_period_days {
            Some(days) if days != 35 => crate::spec::Pitr::Period { recovery_period_days: days },
            _ => crate::spec::Pitr::Switch(true),
        }),
        ttl: ttl::spec_of(t.ttl.as_ref()),
        encryption: t.kms_key.as_ref().map(|k| crate::spec::TableEncryption::Kms { kms_key: k.clone() }),
        table_class: (t.table_class != crate::spec::TableClass::Standard).then_some(t.table_class),
        lifecycle: crate::spec::Lifecycle {
            on_removal: if retain { crate::spec::OnRemoval::Retain } else { crate::spec::OnRemoval::Delete },
        },
        monitoring: None,
        tags: user_tags(&t.tags, &[]),
    };
    (spec, comments, notes)
}
