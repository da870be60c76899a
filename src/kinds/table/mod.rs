//! `dynamodb_table`: a table, found by name, with its indexes, stream, protection and tags, under
//! rules 1–6 of docs/aws-behaviour.md. Its feature slices, each with its own rules: `scaling`
//! (Application Auto Scaling), `storage` (encryption, table class), `ttl` (time to live), and
//! point-in-time recovery in the diff. The files: `observe.rs` reads, `diff.rs` is the pure diff,
//! `execute.rs` runs the operations, `flex.rs` converts between the spec and the SDK,
//! `import.rs` writes a live table back as spec.

mod cost;
mod diff;
mod execute;
mod flex;
mod import;
mod observe;
pub(crate) mod scaling;
pub(crate) mod storage;
#[cfg(test)]
pub(super) mod tests;
pub(crate) mod ttl;

use std::collections::BTreeMap;

use anyhow::Result;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::aws::AwsContext;
use crate::discover::Tagged;
use crate::plan::{Action, Op, ResourceChange, Step};
use crate::spec::refs::RefContext;
use crate::spec::{AttrType, Billing, Capacity, Desired, GsiSpec, KeySpec, Projection, Resources, StreamView, TableSpec};

use super::support::ownership::{self, Owned, Tags};
use super::support::{changes, cloudwatch, import::spec_value, reading};
use super::{Declared, Discovered, Fingerprint, Imported, Kind, Live, Observed, PlanContext, Planned};
use observe::{observe_with_extras, Extras, TagHint};
use scaling::{Dim, LiveScaling};

pub use diff::diff;
pub use execute::wait_table;
pub use observe::observe;

pub const KIND: &str = "dynamodb_table";

/// The Resource Groups Tagging API's type of tables.
const TAGGING_TYPE: &str = "dynamodb:table";

/// The table kind.
pub struct Tables;

impl Kind for Tables {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn namespace(&self) -> Option<&'static str> {
        Some("tables")
    }

    fn declared(&self, desired: &Desired) -> Vec<Declared> {
        let tables = desired.resources.tables.keys();
        tables.map(|n| Declared { address: format!("{KIND}.{n}"), refers_to: vec![], needs_first: vec![] }).collect()
    }

    /// Only a reference in a tag value (an ARN) needs the account.
    fn needs_account(&self, desired: &Desired) -> bool {
        ownership::tags_refer(desired.resources.tables.values().map(|t| &t.tags))
    }

    fn retain(&self, resources: &mut Resources, keep: &dyn Fn(&str) -> bool) {
        resources.tables.retain(|n, _| keep(&format!("{KIND}.{n}")));
    }

    fn observe<'a>(&'a self, ctx: &'a AwsContext, desired: &'a Desired, tagged: &'a Tagged<'a>) -> Observed<'a> {
        Box::pin(reading::observe_each(KIND, &desired.resources.tables, move |name, spec| {
            let aws = desired.aws_name(name);
            // The tags the spec wants, when they are known before anything is read (no
            // reference in them): then the Tagging API's listing may stand for the table's.
            let refer = ownership::tags_refer(std::iter::once(&spec.tags));
            let hint = (!refer).then(|| TagHint { tagged, spec, want: wanted_tags(spec, desired, &RefContext::default()) });
            async move { observe_with_extras(ctx, &aws, Extras::AsSpecSays(Some(spec)), hint).await }
        }))
    }

    fn reference_values(&self, live: &Live) -> BTreeMap<String, String> {
        let all = live.all::<Option<LiveTable>>(KIND).into_iter().flatten();
        all.filter_map(|(n, t)| Some((format!("tables.{n}.stream_arn"), t.as_ref()?.stream_arn.clone()?))).collect()
    }

    fn read_reference_values<'a>(&'a self, ctx: &'a AwsContext, name: &'a str) -> BoxFuture<'a, Result<BTreeMap<String, String>>> {
        Box::pin(async move {
            let arn = observe(ctx, &format!("{name}{}", ctx.name_suffix)).await?.and_then(|t| t.stream_arn);
            Ok(arn.map(|a| (format!("tables.{name}.stream_arn"), a)).into_iter().collect())
        })
    }

    fn diff(&self, cx: &PlanContext) -> Vec<Planned> {
        let mut out = Vec::new();
        for (name, spec) in &cx.desired.resources.tables {
            let tags = wanted_tags(spec, cx.desired, cx.refs);
            let live = declared_live(cx.live, name);
            let aws = cx.desired.aws_name(name);
            let mut p = ownership::found_by_name(KIND, name, cx.desired, live.map(|t| &t.tags), diff(&aws, spec, &tags, live));
            p.change.cost = cost::cost(&cx.desired.region, Some(spec), live);
            // A new table or a re-enabled stream has a new stream ARN, known after apply.
            if p.steps.iter().any(|s| matches!(s.op.get::<TableOp>(), Some(TableOp::CreateTable { .. } | TableOp::EnableStream { .. }))) {
                p.changes_references.push(format!("tables.{name}.stream_arn"));
            }
            out.push(p);
        }
        out
    }

    fn destroy(&self, cx: &PlanContext) -> Vec<(ResourceChange, Vec<Step>)> {
        let tables = cx.desired.resources.tables.keys();
        tables
            .map(|name| {
                let address = format!("{KIND}.{name}");
                match declared_live(cx.live, name) {
                    Some(t) if t.deletion_protection => changes::destroy_change(
                        address,
                        vec![],
                        Some("deletion protection is on: a protected table is never deleted".into()),
                    ),
                    live => {
                        let delete = || live.map(|t| diff::delete_steps(&address, t)).unwrap_or_default();
                        let (mut c, steps) = changes::destroy_found(address.clone(), cx.desired, live.map(|t| &t.tags), delete);
                        c.destructive = c.action == Action::Delete;
                        if c.action == Action::Delete {
                            c.cost = cost::cost(&cx.desired.region, None, live);
                        }
                        (c, steps)
                    }
                }
            })
            .collect()
    }

    fn tagging_type(&self) -> Option<&'static str> {
        Some(TAGGING_TYPE)
    }

    fn discover<'a>(&'a self, ctx: &'a AwsContext, desired: &'a Desired, tagged: &'a Tagged<'a>) -> Discovered<'a> {
        let declared = |k: &str| desired.resources.tables.contains_key(k);
        let read = move |aws: String| async move { observe_with_extras(ctx, &aws, Extras::AsSpecSays(None), None).await };
        Box::pin(reading::discover_tagged(KIND, TAGGING_TYPE, tagged, desired, declared, read))
    }

    /// A dropped table's deletion loses its items: it needs consent by name, and is blocked
    /// while deletion protection is on.
    fn prune(&self, cx: &PlanContext) -> Vec<Planned> {
        let orphans = cx.live.orphans::<LiveTable>(KIND);
        let mut planned = changes::prune_owned(cx, KIND, diff::delete_steps, diff::untag);
        for p in planned.iter_mut().filter(|p| p.change.action == Action::Delete) {
            let key = p.change.address[KIND.len() + 1..].to_string();
            if let Some(t) = orphans.and_then(|o| o.get(&key)) {
                diff::guard_deletion(p, t);
                p.change.cost = cost::cost(&cx.desired.region, None, Some(t));
            }
        }
        planned
    }

    fn forget(&self, cx: &PlanContext, address: &str) -> Option<(ResourceChange, Vec<Step>)> {
        changes::forget_found(cx, KIND, address, |key| declared_live(cx.live, key), |t, remove| diff::untag(address, t, remove))
    }

    fn import<'a>(&'a self, ctx: &'a AwsContext, name: &'a str) -> BoxFuture<'a, Result<Option<Imported>>> {
        Box::pin(async move {
            let Some(t) = observe_with_extras(ctx, name, Extras::All, None).await? else { return Ok(None) };
            let (spec, comments, notes) = import::spec_of(&t);
            let mut i = Imported::new("tables", name, spec_value(&spec), t.tags.clone());
            (i.comments, i.notes) = (comments, notes);
            i.refs.push((t.arn.clone(), format!("${{tables.{name}.arn}}")));
            if let Some(s) = &t.stream_arn {
                i.refs.push((s.clone(), format!("${{tables.{name}.stream_arn}}")));
            }
            i.refs.push((name.to_string(), format!("${{tables.{name}.name}}")));
            // The alarms on its throttling, and on each index's.
            let indexes = std::iter::once(None).chain(t.indexes.keys().map(|k| Some(k.as_str())));
            for index in indexes {
                let mut dims = vec![("TableName", name)];
                dims.extend(index.map(|i| ("GlobalSecondaryIndexName", i)));
                for metric in ["ReadThrottleEvents", "WriteThrottleEvents"] {
                    for alarm in cloudwatch::alarms_for(ctx, "AWS/DynamoDB", metric, &dims).await? {
                        i.follow.push(("alarms", alarm));
                    }
                }
            }
            Ok(Some(i))
        })
    }

    fn execute<'a>(&'a self, ctx: &'a AwsContext, op: &'a Op) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { execute::execute(ctx, op.expect::<TableOp>()?).await })
    }
}

/// The tags a table's spec wants: its own (references resolved), the tool's, and the mark of
/// a table whose capacity the spec autoscales.
fn wanted_tags(spec: &TableSpec, desired: &Desired, refs: &RefContext) -> Tags {
    let mut tags = ownership::spec_tags(&spec.tags, &spec.lifecycle, desired, refs);
    if !scaling::wanted(spec).is_empty() {
        tags.insert(scaling::AUTOSCALE_TAG.into(), "true".into());
    }
    tags
}

/// The live table of a declared one (None: it does not exist).
fn declared_live<'a>(live: &'a Live, name: &str) -> Option<&'a LiveTable> {
    live.get::<Option<LiveTable>>(KIND, name).and_then(Option::as_ref)
}

/// A table's fingerprint leaves out what changes on its own: its status (but DELETING) and its
/// indexes', time to live ENABLING/ENABLED, and the capacity of a dimension the spec autoscales
/// while it is within the spec's range (the plan leaves that to the scaler; outside the range, or
/// not autoscaled, the capacity is the plan's business and counts).
impl Fingerprint for LiveTable {
    fn fingerprint(&self, key: &str, desired: &Desired) -> String {
        let mut t = self.clone();
        t.size_bytes = 0;
        if t.status != "DELETING" {
            t.status.clear();
        }
        t.indexes.values_mut().for_each(|i| i.status.clear());
        if let Some(ttl) = t.ttl.as_mut() {
            ttl.status = if ttl.on() { "ENABLED" } else { "DISABLED" }.into();
        }
        if let Some(spec) = desired.resources.tables.get(key) {
            for ((index, dim), range) in scaling::wanted(spec) {
                let capacity = match &index {
                    None => &mut t.capacity,
                    Some(i) => match t.indexes.get_mut(i) {
                        Some(index) => &mut index.capacity,
                        None => continue,
                    },
                };
                let units = if dim == Dim::Read { &mut capacity.read } else { &mut capacity.write };
                if (range.min..=range.max).contains(units) {
                    *units = -1;
                }
            }
        }
        crate::ids::hash(&t)
    }
}

impl Owned for LiveTable {
    fn tags(&self) -> &Tags {
        &self.tags
    }

    fn going(&self) -> bool {
        self.status == "DELETING"
    }
}

/// What a table is, as read from AWS.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LiveTable {
    pub name: String,
    pub arn: String,
    pub status: String,
    pub partition_key: KeySpec,
    pub sort_key: Option<KeySpec>,
    pub billing: Billing,
    pub capacity: Capacity,
    pub indexes: BTreeMap<String, LiveIndex>,
    pub stream: StreamView,
    pub stream_arn: Option<String>,
    pub deletion_protection: bool,
    pub tags: BTreeMap<String, String>,
    /// Point-in-time recovery (read only when the spec manages it, and by import).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pitr: Option<LivePitr>,
    /// The KMS key that encrypts it (its ARN); None: an AWS owned key, AWS's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key: Option<String>,
    #[serde(default)]
    pub table_class: crate::spec::TableClass,
    /// Time to live (read only when the spec manages it, and by import).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<ttl::LiveTtl>,
    /// Its Application Auto Scaling targets (read only when `scaling::must_read` says so).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scaling: Vec<LiveScaling>,
    /// DescribeTable's TableSizeBytes (AWS updates it about every six hours): what point-in-time
    /// recovery is charged on. Not part of the fingerprint.
    #[serde(default)]
    pub size_bytes: i64,
}

/// Point-in-time recovery as DescribeContinuousBackups says.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct LivePitr {
    pub enabled: bool,
    pub recovery_period_days: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LiveIndex {
    pub partition_key: KeySpec,
    pub sort_key: Option<KeySpec>,
    pub projection: Projection,
    pub capacity: Capacity,
    pub status: String,
}

/// The table operations that apply runs. Each is one API call or one wait.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum TableOp {
    CreateTable {
        name: String,
        spec: TableSpec,
        tags: BTreeMap<String, String>,
    },
    /// Only ever planned for a replacement the user allowed by name.
    DeleteTable {
        name: String,
    },
    WaitActive {
        name: String,
    },
    WaitDeleted {
        name: String,
    },
    SetDeletionProtection {
        name: String,
        enabled: bool,
    },
    DeleteIndex {
        name: String,
        index: String,
    },
    /// UpdateTable's SSESpecification: an AWS owned key (`kms_key` None, `kms` false), the AWS
    /// managed key (`kms`, no key), or a customer managed one.
    SetEncryption {
        name: String,
        kms: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kms_key: Option<String>,
    },
    /// UpdateTable's TableClass.
    SetTableClass {
        name: String,
        class: crate::spec::TableClass,
    },
    /// UpdateTimeToLive: on with this attribute, or off (naming the attribute it had).
    SetTtl {
        name: String,
        attribute: String,
        enabled: bool,
    },
    /// UpdateContinuousBackups: point-in-time recovery on (with a period) or off.
    SetPitr {
        name: String,
        enabled: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        recovery_period_days: Option<i64>,
    },
    /// Billing-mode switch and/or throughput deltas (only what differs).
    UpdateThroughput {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        billing: Option<Billing>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        table: Option<Capacity>,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        indexes: BTreeMap<String, Capacity>,
    },
    DisableStream {
        name: String,
    },
    EnableStream {
        name: String,
        view: StreamView,
    },
    CreateIndex {
        name: String,
        index: String,
        spec: GsiSpec,
        billing: Billing,
        /// Every attribute the table and its indexes need after this step.
        attributes: BTreeMap<String, AttrType>,
    },
    /// TagResource / UntagResource, then the wait until the change shows (rule 33).
    Tag {
        name: String,
        set: BTreeMap<String, String>,
        remove: Vec<String>,
    },
    /// Waits until a new table's tags show (rule 33).
    WaitTags {
        name: String,
        tags: BTreeMap<String, String>,
    },
    /// Application Auto Scaling: register (or re-register with a new range) one dimension.
    RegisterScaling {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        index: Option<String>,
        dimension: Dim,
        min: i64,
        max: i64,
    },
    /// Its target-tracking policy (an existing name is updated in place).
    PutScalingPolicy {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        index: Option<String>,
        dimension: Dim,
        policy: String,
        target_utilization: f64,
    },
    /// Deregister one dimension (AWS deletes its policies with it).
    DeregisterScaling {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        index: Option<String>,
        dimension: Dim,
    },
}
