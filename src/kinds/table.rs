//! `dynamodb_table`: observe, diff (pure) and execute, under rules 1–6 of aws-rules.md.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use aws_sdk_dynamodb::types as ddb;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::aws::{aws_error, code, AwsContext};
use crate::plan::{Action, FieldDiff, ResourceChange, Step};
use crate::spec::{AttrType, Billing, Capacity, GsiSpec, KeySpec, Projection, StreamView, TableSpec};

use super::{wait, Declared, Kind, LiveData, Op, PlanContext, Planned};

pub(crate) mod scaling;
pub(crate) mod storage;
pub(crate) mod ttl;
use scaling::{Dim, LiveScaling};

pub const KIND: &str = "dynamodb_table";

/// The table kind.
pub struct Tables;

impl Kind for Tables {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn namespace(&self) -> Option<&'static str> {
        Some("tables")
    }

    fn declared(&self, desired: &crate::spec::Desired) -> Vec<Declared> {
        desired
            .resources
            .tables
            .keys()
            .map(|n| Declared { address: format!("{KIND}.{n}"), refers_to: vec![], needs_first: vec![] })
            .collect()
    }

    /// Only a reference in a tag value (an ARN) needs the account.
    fn needs_account(&self, desired: &crate::spec::Desired) -> bool {
        super::tags_refer(desired.resources.tables.values().map(|t| &t.tags))
    }

    fn retain(&self, resources: &mut crate::spec::Resources, keep: &dyn Fn(&str) -> bool) {
        resources.tables.retain(|n, _| keep(&format!("{KIND}.{n}")));
    }

    fn observe<'a>(&'a self, ctx: &'a AwsContext, desired: &'a crate::spec::Desired) -> BoxFuture<'a, Result<Box<dyn LiveData>>> {
        Box::pin(async move {
            let read = super::read_each(KIND, &desired.resources.tables, |name, spec| {
                let aws = desired.aws_name(name);
                async move { observe_with_extras(ctx, &aws, Extras::AsSpecSays(Some(spec))).await }
            });
            super::boxed(read.await)
        })
    }

    fn reference_values(&self, live: &super::Live) -> BTreeMap<String, String> {
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
            let mut tags = super::resolved_tags(&spec.tags, cx.desired, cx.refs);
            if spec.lifecycle.on_removal == crate::spec::OnRemoval::Retain {
                tags.insert(super::ON_REMOVAL_TAG.into(), "retain".into());
            }
            if !scaling::wanted(spec).is_empty() {
                tags.insert(scaling::AUTOSCALE_TAG.into(), "true".into());
            }
            let live = cx.live.get::<Option<LiveTable>>(KIND, name).and_then(Option::as_ref);
            let aws = cx.desired.aws_name(name);
            let mut p = super::found_by_name(KIND, name, cx.desired, live.map(|t| &t.tags), diff(&aws, spec, &tags, live));
            // A new table or a re-enabled stream has a new stream ARN, known after apply.
            if p.steps.iter().any(|s| matches!(s.op.get::<TableOp>(), Some(TableOp::CreateTable { .. } | TableOp::EnableStream { .. }))) {
                p.changes_references.push(format!("tables.{name}.stream_arn"));
            }
            out.push(p);
        }
        out
    }

    fn destroy(&self, cx: &PlanContext) -> Vec<(ResourceChange, Vec<Step>)> {
        let mut out = Vec::new();
        for name in cx.desired.resources.tables.keys() {
            let address = format!("{KIND}.{name}");
            out.push(match cx.live.get::<Option<LiveTable>>(KIND, name).and_then(Option::as_ref) {
                None => super::destroy_change(address, vec![], None),
                Some(t) if t.deletion_protection => {
                    super::destroy_change(address, vec![], Some("deletion protection is on: a protected table is never deleted".into()))
                }
                Some(t) if !super::ours(&t.tags, cx.desired) => super::destroy_change(address, vec![], Some(super::NOT_OURS.into())),
                Some(t) => {
                    let (mut c, steps) = super::destroy_change(address.clone(), delete_steps(&address, t), None);
                    c.destructive = true;
                    (c, steps)
                }
            });
        }
        out
    }

    fn tagging_type(&self) -> Option<&'static str> {
        Some("dynamodb:table")
    }

    fn discover<'a>(
        &'a self,
        ctx: &'a AwsContext,
        desired: &'a crate::spec::Desired,
        tagged: &'a super::Tagged<'a>,
    ) -> BoxFuture<'a, Result<Option<Box<dyn LiveData>>>> {
        Box::pin(async move {
            let names = tagged.names("dynamodb:table").await?;
            let declared = |k: &str| desired.resources.tables.contains_key(k);
            super::read_undeclared(KIND, names, desired, declared, |aws| async move {
                observe_with_extras(ctx, &aws, Extras::AsSpecSays(None)).await
            })
            .await
        })
    }

    fn prune(&self, cx: &PlanContext) -> Vec<Planned> {
        let all = cx.live.orphans::<LiveTable>(KIND).into_iter().flatten();
        all.filter(|(_, t)| super::owned(&t.tags, cx.desired) && t.status != "DELETING")
            .map(|(key, t)| {
                let address = format!("{KIND}.{key}");
                let mut p = super::orphan_change(address.clone(), cx.desired, &t.tags, delete_steps(&address, t), |remove| {
                    untag(&address, t, remove)
                });
                if p.change.action == Action::Delete {
                    guard_deletion(&mut p, t);
                }
                p
            })
            .collect()
    }

    fn forget(&self, cx: &PlanContext, address: &str) -> Option<(ResourceChange, Vec<Step>)> {
        let key = address.strip_prefix(&format!("{KIND}."))?;
        let declared = cx.live.get::<Option<LiveTable>>(KIND, key).and_then(Option::as_ref);
        let t = declared.or_else(|| cx.live.orphans::<LiveTable>(KIND)?.get(key))?;
        super::ours(&t.tags, cx.desired).then(|| super::forget_change(address, &t.tags, |remove| untag(address, t, remove)))
    }

    fn import<'a>(&'a self, ctx: &'a AwsContext, name: &'a str) -> BoxFuture<'a, Result<Option<super::Imported>>> {
        Box::pin(async move {
            let Some(t) = observe_with_extras(ctx, name, Extras::All).await? else { return Ok(None) };
            let (spec, comments, notes) = spec_of(&t);
            let mut i = super::Imported::new("tables", name, super::spec_value(&spec), t.tags.clone());
            (i.comments, i.notes) = (comments, notes);
            i.refs.push((t.arn.clone(), format!("${{tables.{name}.arn}}")));
            if let Some(s) = &t.stream_arn {
                i.refs.push((s.clone(), format!("${{tables.{name}.stream_arn}}")));
            }
            i.refs.push((name.to_string(), format!("${{tables.{name}.name}}")));
            Ok(Some(i))
        })
    }

    fn parse_op(&self, call: serde_json::Value) -> Result<Op, serde_json::Error> {
        super::parse_op::<TableOp>(KIND, call)
    }

    fn execute<'a>(&'a self, ctx: &'a AwsContext, op: &'a Op) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { execute(ctx, op.expect::<TableOp>()?).await })
    }
}

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
    let retain = t.tags.get(super::ON_REMOVAL_TAG).is_some_and(|v| v == "retain");
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
        tags: super::user_tags(&t.tags, &[]),
    };
    (spec, comments, notes)
}

/// The steps that delete a table: its scaling first (AWS keeps a deleted table's scalable
/// targets), then the table.
fn delete_steps(address: &str, t: &LiveTable) -> Vec<Step> {
    let name = &t.name;
    let mut steps: Vec<Step> = t.scaling.iter().map(|s| deregister_step(address, name, s)).collect();
    steps.push(step(address, format!("delete table {name} (all items are lost)"), TableOp::DeleteTable { name: name.clone() }));
    steps.push(step(address, format!("wait until table {name} is deleted"), TableOp::WaitDeleted { name: name.clone() }));
    steps
}

/// A dropped table's deletion: destructive (it needs consent by name), and blocked while
/// deletion protection is on.
fn guard_deletion(p: &mut Planned, t: &LiveTable) {
    p.change.destructive = true;
    if t.deletion_protection {
        p.change.blocked = Some(format!(
            "deletion protection is on: a protected table is never deleted. Turn protection off to delete it, or run \
             `cruddur-infra forget {}` to keep it and stop managing it.",
            p.change.address
        ));
        p.steps.clear();
    }
}

/// The step that removes this stack's tags from a table.
fn untag(address: &str, t: &LiveTable, remove: Vec<String>) -> Vec<Step> {
    let op = TableOp::Tag { name: t.name.clone(), set: BTreeMap::new(), remove };
    vec![step(address, format!("remove this stack's tags from table {}", t.name), op)]
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
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
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
    Tag {
        name: String,
        set: BTreeMap<String, String>,
        remove: Vec<String>,
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

// ---------------------------------------------------------------------------------------------
// observe

fn attr_type(t: &ddb::ScalarAttributeType) -> Result<AttrType> {
    Ok(match t {
        ddb::ScalarAttributeType::S => AttrType::S,
        ddb::ScalarAttributeType::N => AttrType::N,
        ddb::ScalarAttributeType::B => AttrType::B,
        other => bail!("unknown attribute type {other:?}"),
    })
}

fn keys(schema: &[ddb::KeySchemaElement], types: &BTreeMap<String, AttrType>) -> Result<(KeySpec, Option<KeySpec>)> {
    let find = |kt: ddb::KeyType| -> Option<KeySpec> {
        schema
            .iter()
            .find(|k| k.key_type == kt)
            .map(|k| KeySpec { name: k.attribute_name.clone(), ty: types.get(&k.attribute_name).copied().unwrap_or(AttrType::S) })
    };
    let pk = find(ddb::KeyType::Hash).context("key schema without a HASH key")?;
    Ok((pk, find(ddb::KeyType::Range)))
}

fn capacity(p: Option<&ddb::ProvisionedThroughputDescription>) -> Capacity {
    Capacity::new(p.and_then(|p| p.read_capacity_units).unwrap_or(0), p.and_then(|p| p.write_capacity_units).unwrap_or(0))
}

fn projection(p: Option<&ddb::Projection>) -> Projection {
    match p.and_then(|p| p.projection_type.as_ref()) {
        Some(ddb::ProjectionType::KeysOnly) => Projection::KeysOnly,
        Some(ddb::ProjectionType::Include) => {
            let mut attrs = p.and_then(|p| p.non_key_attributes.clone()).unwrap_or_default();
            attrs.sort();
            Projection::Include(attrs)
        }
        _ => Projection::All,
    }
}

fn stream_view(t: &ddb::StreamViewType) -> StreamView {
    match t {
        ddb::StreamViewType::KeysOnly => StreamView::KeysOnly,
        ddb::StreamViewType::NewImage => StreamView::NewImage,
        ddb::StreamViewType::OldImage => StreamView::OldImage,
        _ => StreamView::NewAndOldImages,
    }
}

fn view_type(v: StreamView) -> Option<ddb::StreamViewType> {
    Some(match v {
        StreamView::Off => return None,
        StreamView::KeysOnly => ddb::StreamViewType::KeysOnly,
        StreamView::NewImage => ddb::StreamViewType::NewImage,
        StreamView::OldImage => ddb::StreamViewType::OldImage,
        StreamView::NewAndOldImages => ddb::StreamViewType::NewAndOldImages,
    })
}

/// Reads a table by name (not its scaling); `None` when it does not exist.
pub async fn observe(ctx: &AwsContext, name: &str) -> Result<Option<LiveTable>> {
    let out = match ctx.dynamodb.describe_table().table_name(name).send().await {
        Ok(o) => o,
        Err(e) if code(&e) == Some("ResourceNotFoundException") => return Ok(None),
        Err(e) => return Err(aws_error("DynamoDB", "DescribeTable", name, e).into()),
    };
    let t = out.table.context("DescribeTable returned no table")?;
    let mut types = BTreeMap::new();
    for a in t.attribute_definitions() {
        types.insert(a.attribute_name.clone(), attr_type(&a.attribute_type)?);
    }
    let (partition_key, sort_key) = keys(t.key_schema(), &types)?;
    let billing = match t.billing_mode_summary.as_ref().and_then(|b| b.billing_mode.as_ref()) {
        Some(ddb::BillingMode::PayPerRequest) => Billing::OnDemand,
        _ => Billing::Provisioned,
    };
    let mut indexes = BTreeMap::new();
    for g in t.global_secondary_indexes() {
        let Some(iname) = g.index_name.clone() else { continue };
        let (pk, sk) = keys(g.key_schema(), &types)?;
        indexes.insert(
            iname,
            LiveIndex {
                partition_key: pk,
                sort_key: sk,
                projection: projection(g.projection.as_ref()),
                capacity: capacity(g.provisioned_throughput.as_ref()),
                status: g.index_status.as_ref().map(|s| s.as_str().to_string()).unwrap_or_else(|| "ACTIVE".into()),
            },
        );
    }
    let stream = match &t.stream_specification {
        Some(s) if s.stream_enabled => s.stream_view_type.as_ref().map(stream_view).unwrap_or(StreamView::NewAndOldImages),
        _ => StreamView::Off,
    };
    let arn = t.table_arn.clone().unwrap_or_default();
    let tags = observe_tags(ctx, name, &arn).await?;
    Ok(Some(LiveTable {
        name: name.to_string(),
        arn,
        status: t.table_status.as_ref().map(|s| s.as_str().to_string()).unwrap_or_default(),
        partition_key,
        sort_key,
        billing,
        capacity: capacity(t.provisioned_throughput.as_ref()),
        indexes,
        stream,
        stream_arn: if stream == StreamView::Off { None } else { t.latest_stream_arn.clone() },
        deletion_protection: t.deletion_protection_enabled.unwrap_or(false),
        tags,
        pitr: None,
        ttl: None,
        kms_key: storage::kms_key(&t),
        table_class: storage::class(&t),
        scaling: Vec::new(),
    }))
}

/// DescribeContinuousBackups: point-in-time recovery on or off, and its period.
async fn observe_pitr(ctx: &AwsContext, name: &str) -> Result<LivePitr> {
    let out = ctx
        .dynamodb
        .describe_continuous_backups()
        .table_name(name)
        .send()
        .await
        .map_err(|e| aws_error("DynamoDB", "DescribeContinuousBackups", name, e))?;
    let p = out.continuous_backups_description().and_then(|d| d.point_in_time_recovery_description());
    Ok(LivePitr {
        enabled: p.and_then(|p| p.point_in_time_recovery_status()) == Some(&ddb::PointInTimeRecoveryStatus::Enabled),
        recovery_period_days: p.and_then(|p| p.recovery_period_in_days()).map(i64::from),
    })
}

/// Which of a table's other reads (point-in-time recovery, scaling) to make.
enum Extras<'a> {
    /// What the table's spec (None: a table the spec does not declare) needs: point-in-time
    /// recovery when it manages it, scaling when `scaling::must_read` says it matters.
    AsSpecSays(Option<&'a TableSpec>),
    /// Everything there is (import).
    All,
}

/// What `read` reads when `needed`; None (and no request) otherwise.
async fn read_if<T>(needed: bool, read: impl std::future::Future<Output = Result<T>>) -> Result<Option<T>> {
    match needed {
        true => read.await.map(Some),
        false => Ok(None),
    }
}

/// Reads a table and, beside each other, the other reads `extras` asks for.
async fn observe_with_extras(ctx: &AwsContext, name: &str, extras: Extras<'_>) -> Result<Option<LiveTable>> {
    let Some(mut t) = observe(ctx, name).await? else { return Ok(None) };
    let (pitr_needed, ttl_needed, scaling_needed) = match extras {
        Extras::AsSpecSays(spec) => {
            (spec.is_some_and(|s| s.point_in_time_recovery.is_some()), spec.is_some_and(|s| s.ttl.is_some()), scaling::must_read(spec, &t))
        }
        Extras::All => (true, true, t.billing == Billing::Provisioned),
    };
    let pitr = read_if(pitr_needed, observe_pitr(ctx, name));
    let ttl = read_if(ttl_needed, ttl::observe(ctx, name));
    let scaled = read_if(scaling_needed, scaling::observe(ctx, name, t.indexes.keys()));
    let (pitr, ttl, scaled) = tokio::try_join!(pitr, ttl, scaled)?;
    (t.pitr, t.ttl, t.scaling) = (pitr, ttl, scaled.unwrap_or_default());
    Ok(Some(t))
}

async fn observe_tags(ctx: &AwsContext, name: &str, arn: &str) -> Result<BTreeMap<String, String>> {
    let mut tags = BTreeMap::new();
    let mut token = None;
    loop {
        let out = ctx
            .dynamodb
            .list_tags_of_resource()
            .resource_arn(arn)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| aws_error("DynamoDB", "ListTagsOfResource", name, e))?;
        // A later entry for the same key wins (the emulator can list a re-tagged key twice).
        for t in out.tags() {
            tags.insert(t.key.clone(), t.value.clone());
        }
        token = out.next_token;
        if token.is_none() {
            return Ok(tags);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// diff (pure)

fn step(address: &str, description: String, op: TableOp) -> Step {
    super::step(KIND, address, description, op)
}

fn wait_step(address: &str, name: &str) -> Step {
    step(address, format!("wait until table {name} and its indexes are ACTIVE"), TableOp::WaitActive { name: name.into() })
}

fn key_str(k: &Option<KeySpec>) -> Option<String> {
    k.as_ref().map(|k| k.to_string())
}

/// The attributes the table needs for its keys and the given indexes.
fn attributes<'a>(spec: &TableSpec, indexes: impl Iterator<Item = &'a GsiSpec>) -> BTreeMap<String, AttrType> {
    let mut out = BTreeMap::new();
    let mut add = |k: &KeySpec| {
        out.insert(k.name.clone(), k.ty);
    };
    add(&spec.partition_key);
    if let Some(s) = &spec.sort_key {
        add(s);
    }
    for g in indexes {
        add(&g.partition_key);
        if let Some(s) = &g.sort_key {
            add(s);
        }
    }
    out
}

/// Why an existing index must be rebuilt to match the spec, if it must.
fn index_rebuild_reason(want: &GsiSpec, live: &LiveIndex) -> Option<String> {
    if want.partition_key != live.partition_key || want.sort_key != live.sort_key {
        return Some("its key schema changed".into());
    }
    let norm = |p: &Projection| match p {
        Projection::Include(a) => {
            let mut a = a.clone();
            a.sort();
            Projection::Include(a)
        }
        other => other.clone(),
    };
    if norm(&want.projection) != norm(&live.projection) {
        return Some("its projection changed".into());
    }
    None
}

fn capacity_diffs(prefix: &str, before: Option<Capacity>, after: Option<Capacity>, out: &mut Vec<FieldDiff>) {
    let b = before.map(|c| (c.read, c.write));
    let a = after.map(|c| (c.read, c.write));
    if b.map(|x| x.0) != a.map(|x| x.0) {
        out.push(FieldDiff::new(format!("{prefix}read_capacity"), b.map(|x| x.0), a.map(|x| x.0)));
    }
    if b.map(|x| x.1) != a.map(|x| x.1) {
        out.push(FieldDiff::new(format!("{prefix}write_capacity"), b.map(|x| x.1), a.map(|x| x.1)));
    }
}

/// The throughput update one capacity needs (None: none). Autoscaled, the live units stay
/// where the scaler put them unless they are outside [min, max]; fixed, they are the spec's. A
/// billing switch sends the spec's units (the starting values) for the table and every index.
fn capacity_update(prefix: &str, spec: &Capacity, live: &Capacity, switching: bool, diffs: &mut Vec<FieldDiff>) -> Option<Capacity> {
    if switching {
        capacity_diffs(prefix, None, Some(*spec), diffs);
        return Some(Capacity::new(spec.read, spec.write));
    }
    let (read, read_note) = scaling::effective(Dim::Read, spec, live);
    let (write, write_note) = scaling::effective(Dim::Write, spec, live);
    for (field, before, after, note) in [("read", live.read, read, read_note), ("write", live.write, write, write_note)] {
        if before != after {
            let d = FieldDiff::new(format!("{prefix}{field}_capacity"), before, after);
            diffs.push(match note {
                Some(n) => d.note(n),
                None => d,
            });
        }
    }
    ((read, write) != live.units()).then(|| Capacity::new(read, write))
}

/// Point-in-time recovery as the spec says, when it says (None: not managed). `live` None: a
/// new table (off). `true` keeps whatever period the table has; a period is compared.
fn pitr_steps(address: &str, name: &str, spec: &TableSpec, live: Option<LivePitr>, diffs: &mut Vec<FieldDiff>) -> Vec<Step> {
    let Some(want) = spec.point_in_time_recovery else { return Vec::new() };
    let have = live.unwrap_or(LivePitr { enabled: false, recovery_period_days: None });
    let same = have.enabled == want.enabled() && (!want.enabled() || want.days().is_none() || want.days() == have.recovery_period_days);
    if same {
        return Vec::new();
    }
    let before = match (have.enabled, have.recovery_period_days) {
        (false, _) => serde_json::json!(false),
        (true, Some(d)) if want.days().is_some() => serde_json::json!({ "recovery_period_days": d }),
        (true, _) => serde_json::json!(true),
    };
    let mut d = FieldDiff::new("point_in_time_recovery", before, serde_json::to_value(want).unwrap_or_default());
    if have.enabled && !want.enabled() {
        d = d.note("point-in-time recovery is turned off: the table can no longer be restored to a moment before now");
    }
    diffs.push(d);
    let what = match (want.enabled(), want.days()) {
        (false, _) => "turn off".to_string(),
        (true, Some(days)) => format!("turn on ({days} days)"),
        (true, None) => "turn on".to_string(),
    };
    vec![step(
        address,
        format!("{what} point-in-time recovery of table {name}"),
        TableOp::SetPitr { name: name.into(), enabled: want.enabled(), recovery_period_days: want.days() },
    )]
}

/// The step that deregisters one live scaling.
fn deregister_step(address: &str, name: &str, s: &LiveScaling) -> Step {
    step(
        address,
        format!("deregister the autoscaling of {}", scaled(name, s.index.as_deref(), s.dim)),
        TableOp::DeregisterScaling { name: name.into(), index: s.index.clone(), dimension: s.dim },
    )
}

/// `table T read capacity`, `index I of table T write capacity`.
fn scaled(name: &str, index: Option<&str>, dim: Dim) -> String {
    let what = if dim == Dim::Read { "read" } else { "write" };
    match index {
        None => format!("table {name} {what} capacity"),
        Some(i) => format!("index {i} of table {name} {what} capacity"),
    }
}

/// The registrations and policies the spec's scaling needs, given the live table (None: a table
/// about to be created). An index rebuilt lost its targets (deregistered before it was
/// deleted): they are registered again, and the diff says only what really changes.
fn register_steps(
    address: &str,
    name: &str,
    spec: &TableSpec,
    live: Option<&LiveTable>,
    rebuilt: &BTreeSet<String>,
    diffs: &mut Vec<FieldDiff>,
) -> Vec<Step> {
    let mut steps = Vec::new();
    for ((index, dim), want) in scaling::wanted(spec) {
        let i = index.as_deref();
        let current = live.and_then(|t| t.scaling.iter().find(|s| s.index == index && s.dim == dim));
        let (mut register, mut put, diff) = scaling::to_register(i, dim, &want, current);
        diffs.extend(diff);
        if index.as_ref().is_some_and(|i| rebuilt.contains(i)) {
            (register, put) = (true, true);
        }
        if register {
            steps.push(step(
                address,
                format!("register the autoscaling of {} ({}..{})", scaled(name, i, dim), want.min, want.max),
                TableOp::RegisterScaling { name: name.into(), index: index.clone(), dimension: dim, min: want.min, max: want.max },
            ));
        }
        if put {
            let policy = current.and_then(|c| c.policy.clone()).unwrap_or_else(|| scaling::policy_name(name, i, dim));
            steps.push(step(
                address,
                format!("set the target-tracking policy of {} to {} %", scaled(name, i, dim), want.target_utilization),
                TableOp::PutScalingPolicy {
                    name: name.into(),
                    index: index.clone(),
                    dimension: dim,
                    policy,
                    target_utilization: want.target_utilization,
                },
            ));
        }
    }
    steps
}

fn index_value(g: &GsiSpec) -> serde_json::Value {
    serde_json::to_value(g).unwrap_or_default()
}

/// The steps that create a table as the spec says.
fn create_steps(address: &str, name: &str, spec: &TableSpec, tags: &BTreeMap<String, String>) -> Vec<Step> {
    vec![
        step(address, format!("create table {name}"), TableOp::CreateTable { name: name.into(), spec: spec.clone(), tags: tags.clone() }),
        wait_step(address, name),
    ]
}

/// Diffs one table. `tags` are the desired tags with the tool's own tags added and
/// references resolved.
pub fn diff(name: &str, spec: &TableSpec, tags: &BTreeMap<String, String>, live: Option<&LiveTable>) -> (ResourceChange, Vec<Step>) {
    let address = format!("{KIND}.{name}");
    let Some(live) = live else {
        let mut change = ResourceChange::new(&address, Action::Create);
        let d = &mut change.diffs;
        d.push(FieldDiff::new("partition_key", None::<String>, spec.partition_key.to_string()));
        if spec.sort_key.is_some() {
            d.push(FieldDiff::new("sort_key", None::<String>, key_str(&spec.sort_key)));
        }
        d.push(FieldDiff::new("billing", None::<Billing>, spec.billing));
        if spec.billing == Billing::Provisioned {
            capacity_diffs("", None, spec.capacity, d);
        }
        for (iname, g) in &spec.global_secondary_indexes {
            d.push(FieldDiff::new(format!("global_secondary_indexes.{iname}"), None::<String>, index_value(g)));
        }
        d.push(FieldDiff::new("stream", None::<String>, spec.stream));
        d.push(FieldDiff::new("deletion_protection", None::<bool>, spec.deletion_protection));
        for (k, v) in tags {
            d.push(FieldDiff::new(format!("tags.{k}"), None::<String>, v));
        }
        storage::create_diffs(spec, d);
        let mut steps = create_steps(&address, name, spec, tags);
        steps.extend(pitr_steps(&address, name, spec, None, d));
        steps.extend(ttl::steps(&address, name, spec, None, d).0);
        steps.extend(register_steps(&address, name, spec, None, &BTreeSet::new(), d));
        return (change, steps);
    };

    // Replacement: the key schema of a table cannot change in place.
    let mut key_diffs = Vec::new();
    if spec.partition_key != live.partition_key {
        key_diffs.push(
            FieldDiff::new("partition_key", live.partition_key.to_string(), spec.partition_key.to_string()).note("forces replacement"),
        );
    }
    if spec.sort_key != live.sort_key {
        key_diffs.push(FieldDiff::new("sort_key", key_str(&live.sort_key), key_str(&spec.sort_key)).note("forces replacement"));
    }
    if !key_diffs.is_empty() {
        let mut change = ResourceChange::new(&address, Action::Replace);
        change.diffs = key_diffs;
        change.destructive = true;
        change.reason = Some(format!(
            "DynamoDB cannot change a table's key schema in place: table {name} must be deleted and created again, \
             which destroys all of its items. apply refuses unless run with --allow-data-loss {address}"
        ));
        if live.deletion_protection {
            change.blocked = Some(format!(
                "table {name} has deletion protection on; it is never deleted. To replace it, first apply \
                 `deletion_protection: false` for it, then apply the key change with --allow-data-loss {address}"
            ));
        }
        let mut steps = delete_steps(&address, live);
        steps.extend(create_steps(&address, name, spec, tags));
        steps.extend(register_steps(&address, name, spec, None, &BTreeSet::new(), &mut Vec::new()));
        return (change, steps);
    }

    let mut diffs = Vec::new();
    let mut steps = Vec::new();

    // 1. Deletion protection first: turning it on early is the safe order.
    if spec.deletion_protection != live.deletion_protection {
        diffs.push(FieldDiff::new("deletion_protection", live.deletion_protection, spec.deletion_protection));
        steps.push(step(
            &address,
            format!("{} deletion protection of table {name}", if spec.deletion_protection { "turn on" } else { "turn off" }),
            TableOp::SetDeletionProtection { name: name.into(), enabled: spec.deletion_protection },
        ));
        steps.push(wait_step(&address, name));
    }

    // 1b. Point-in-time recovery, when the spec manages it: another API, on an ACTIVE table.
    steps.extend(pitr_steps(&address, name, spec, live.pitr, &mut diffs));

    // 1b'. Encryption and table class, when the spec manages them: one UpdateTable each, waiting
    //      after each (the table is UPDATING meanwhile).
    steps.extend(storage::steps(&address, name, spec, live, &mut diffs));

    // 1c. Time to live, when the spec manages it: once an hour at most (rule 18).
    let (ttl_steps, ttl_blocked) = ttl::steps(&address, name, spec, live.ttl.as_ref(), &mut diffs);
    steps.extend(ttl_steps);

    // 2. Index deletes, one per UpdateTable, waiting after each (rule 1), after the scaling
    //    that goes (2a, inserted here once the rebuilt indexes are known).
    let deregister_at = steps.len();
    let mut rebuilt = BTreeSet::new();
    for (iname, li) in &live.indexes {
        let path = format!("global_secondary_indexes.{iname}");
        match spec.global_secondary_indexes.get(iname) {
            None => {
                diffs.push(FieldDiff::new(&path, serde_json::to_value(li).unwrap_or_default(), None::<String>));
                steps.push(step(
                    &address,
                    format!("delete index {iname} of table {name}"),
                    TableOp::DeleteIndex { name: name.into(), index: iname.clone() },
                ));
                steps.push(wait_step(&address, name));
            }
            Some(want) => {
                if let Some(why) = index_rebuild_reason(want, li) {
                    let before =
                        serde_json::json!({"partition_key": li.partition_key, "sort_key": li.sort_key, "projection": li.projection});
                    let after =
                        serde_json::json!({"partition_key": want.partition_key, "sort_key": want.sort_key, "projection": want.projection});
                    diffs.push(FieldDiff::new(&path, before, after).note(format!(
                        "index is rebuilt because {why}: deleted, then created again; queries on it fail until it is ACTIVE"
                    )));
                    rebuilt.insert(iname.clone());
                    steps.push(step(
                        &address,
                        format!("delete index {iname} of table {name} (to rebuild it)"),
                        TableOp::DeleteIndex { name: name.into(), index: iname.clone() },
                    ));
                    steps.push(wait_step(&address, name));
                }
            }
        }
    }
    let surviving: Vec<&String> =
        live.indexes.keys().filter(|i| spec.global_secondary_indexes.contains_key(*i) && !rebuilt.contains(*i)).collect();

    // 2a. Scaling that goes: before its index is deleted or rebuilt, before a billing switch,
    //     and before the throughput is pinned back to the spec's value (rule 23).
    let wanted = scaling::wanted(spec);
    let mut deregister = Vec::new();
    for s in &live.scaling {
        let index_gone = s.index.as_ref().is_some_and(|i| !spec.global_secondary_indexes.contains_key(i));
        let keep = !index_gone && wanted.contains_key(&(s.index.clone(), s.dim));
        if keep && s.index.as_ref().is_some_and(|i| rebuilt.contains(i)) {
            // Registered again once the new index is ACTIVE (5b); the diff is there.
            deregister.push(deregister_step(&address, name, s));
        } else if !keep {
            let why = if index_gone {
                "deregistered before its index is deleted"
            } else if spec.billing == Billing::OnDemand {
                "an on-demand table has no provisioned capacity to scale"
            } else {
                "no longer autoscaled: the capacity goes back to the spec's value"
            };
            diffs.push(scaling::removed(s, Some(why)));
            deregister.push(deregister_step(&address, name, s));
        }
    }
    steps.splice(deregister_at..deregister_at, deregister);

    // 3. Billing and throughput: one call with only what differs (rule 2).
    let mut billing_change = None;
    let mut table_cap = None;
    let mut index_caps = BTreeMap::new();
    if spec.billing != live.billing {
        diffs.push(
            FieldDiff::new("billing", live.billing, spec.billing)
                .note("AWS allows a billing-mode switch only a limited number of times per day"),
        );
        billing_change = Some(spec.billing);
    }
    if spec.billing == Billing::Provisioned {
        let switching = billing_change.is_some();
        let want = spec.capacity.unwrap_or(Capacity::new(1, 1));
        table_cap = capacity_update("", &want, &live.capacity, switching, &mut diffs);
        for iname in &surviving {
            let wantg = spec.global_secondary_indexes[*iname].capacity.unwrap_or(Capacity::new(1, 1));
            let prefix = format!("global_secondary_indexes.{iname}.");
            if let Some(c) = capacity_update(&prefix, &wantg, &live.indexes[*iname].capacity, switching, &mut diffs) {
                index_caps.insert((*iname).clone(), c);
            }
        }
    }
    if billing_change.is_some() || table_cap.is_some() || !index_caps.is_empty() {
        let mut what = Vec::new();
        if let Some(b) = billing_change {
            what.push(format!("billing to {}", serde_json::to_value(b).unwrap_or_default().as_str().unwrap_or("")));
        }
        if let Some(c) = table_cap {
            what.push(format!("table capacity to {}/{}", c.read, c.write));
        }
        for (i, c) in &index_caps {
            what.push(format!("index {i} capacity to {}/{}", c.read, c.write));
        }
        steps.push(step(
            &address,
            format!("update table {name}: {}", what.join(", ")),
            TableOp::UpdateThroughput { name: name.into(), billing: billing_change, table: table_cap, indexes: index_caps },
        ));
        steps.push(wait_step(&address, name));
    }

    // 4. Stream: never combined with another change; a view change is disable → wait → enable.
    if spec.stream != live.stream {
        let mut d = FieldDiff::new("stream", live.stream, spec.stream);
        if live.stream != StreamView::Off {
            d = d.note(if spec.stream == StreamView::Off {
                "the stream is disabled: records not yet read are lost, and its triggers stop".to_string()
            } else {
                "the view type cannot change in place: the stream is disabled and enabled again, which gives a new \
                 stream ARN; records not yet read are lost and event source mappings on the old stream are replaced"
                    .to_string()
            });
        }
        diffs.push(d);
        if live.stream != StreamView::Off {
            steps.push(step(&address, format!("disable the stream of table {name}"), TableOp::DisableStream { name: name.into() }));
            steps.push(wait_step(&address, name));
        }
        if spec.stream != StreamView::Off {
            steps.push(step(
                &address,
                format!(
                    "enable the stream of table {name} ({})",
                    serde_json::to_value(spec.stream).unwrap_or_default().as_str().unwrap_or("")
                ),
                TableOp::EnableStream { name: name.into(), view: spec.stream },
            ));
            steps.push(wait_step(&address, name));
        }
    }

    // 5. Index creates, one per UpdateTable, waiting after each (rule 1).
    let mut present: Vec<&GsiSpec> = surviving.iter().map(|i| &spec.global_secondary_indexes[*i]).collect();
    for (iname, g) in &spec.global_secondary_indexes {
        let new = !live.indexes.contains_key(iname);
        if !new && !rebuilt.contains(iname) {
            continue;
        }
        if new {
            diffs.push(FieldDiff::new(format!("global_secondary_indexes.{iname}"), None::<String>, index_value(g)));
        }
        present.push(g);
        steps.push(step(
            &address,
            format!("create index {iname} of table {name}"),
            TableOp::CreateIndex {
                name: name.into(),
                index: iname.clone(),
                spec: g.clone(),
                billing: spec.billing,
                attributes: attributes(spec, present.iter().copied()),
            },
        ));
        steps.push(wait_step(&address, name));
    }

    // 5b. Scaling that comes or changes: after the table and its new indexes are ACTIVE.
    steps.extend(register_steps(&address, name, spec, Some(live), &rebuilt, &mut diffs));

    // 6. Tags. Keys under `aws:` belong to AWS and are left alone.
    let (tag_diffs, set, remove) = crate::plan::tag_delta(tags, &live.tags);
    diffs.extend(tag_diffs);
    if !set.is_empty() || !remove.is_empty() {
        steps.push(step(&address, format!("update the tags of table {name}"), TableOp::Tag { name: name.into(), set, remove }));
    }

    let action = if diffs.is_empty() { Action::NoOp } else { Action::Update };
    let mut change = ResourceChange::new(&address, action);
    change.diffs = diffs;
    change.blocked = ttl_blocked;
    (change, steps)
}

// ---------------------------------------------------------------------------------------------
// execute

fn throughput(c: Capacity) -> Result<ddb::ProvisionedThroughput> {
    Ok(ddb::ProvisionedThroughput::builder().read_capacity_units(c.read).write_capacity_units(c.write).build()?)
}

fn key_schema(pk: &KeySpec, sk: &Option<KeySpec>) -> Result<Vec<ddb::KeySchemaElement>> {
    let mut out = vec![ddb::KeySchemaElement::builder().attribute_name(&pk.name).key_type(ddb::KeyType::Hash).build()?];
    if let Some(sk) = sk {
        out.push(ddb::KeySchemaElement::builder().attribute_name(&sk.name).key_type(ddb::KeyType::Range).build()?);
    }
    Ok(out)
}

fn attribute_definitions(attrs: &BTreeMap<String, AttrType>) -> Result<Vec<ddb::AttributeDefinition>> {
    attrs
        .iter()
        .map(|(n, t)| {
            let ty = match t {
                AttrType::S => ddb::ScalarAttributeType::S,
                AttrType::N => ddb::ScalarAttributeType::N,
                AttrType::B => ddb::ScalarAttributeType::B,
            };
            Ok(ddb::AttributeDefinition::builder().attribute_name(n).attribute_type(ty).build()?)
        })
        .collect()
}

fn ddb_projection(p: &Projection) -> ddb::Projection {
    match p {
        Projection::All => ddb::Projection::builder().projection_type(ddb::ProjectionType::All).build(),
        Projection::KeysOnly => ddb::Projection::builder().projection_type(ddb::ProjectionType::KeysOnly).build(),
        Projection::Include(a) => {
            ddb::Projection::builder().projection_type(ddb::ProjectionType::Include).set_non_key_attributes(Some(a.clone())).build()
        }
    }
}

fn billing_mode(b: Billing) -> ddb::BillingMode {
    match b {
        Billing::Provisioned => ddb::BillingMode::Provisioned,
        Billing::OnDemand => ddb::BillingMode::PayPerRequest,
    }
}

/// What a refused UpdateTable means (rules 1 and 30).
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    /// The table or an index is busy with another change (or another index operation is under
    /// way): wait until it is ACTIVE, then try again.
    Busy,
    /// Too many control-plane operations in the account at once: back off and try again.
    TooManyAtOnce,
    /// The quota of throughput decreases per table per UTC day is used up: retrying does not
    /// help.
    DecreaseQuota,
    Other,
}

fn refusal(code: Option<&str>, message: &str) -> Refusal {
    let m = message.to_ascii_lowercase();
    match code {
        Some("ResourceInUseException") => Refusal::Busy,
        Some("LimitExceededException") if m.contains("decrease") => Refusal::DecreaseQuota,
        Some("LimitExceededException") if m.contains("index") => Refusal::Busy,
        Some("LimitExceededException") => Refusal::TooManyAtOnce,
        _ => Refusal::Other,
    }
}

/// How AWS says that an update is already in effect: the SDK retried a call whose first
/// answer was lost, and the first one took. The convergence check re-reads it anyway.
const ALREADY_DONE: &[&str] = &[
    "will not change",               // throughput equal to the current value
    "which already exists",          // index create
    "already has an enabled stream", // stream enable (the view is checked after apply)
    "already disabled",              // stream disable
];

async fn update_table(
    ctx: &AwsContext,
    name: &str,
    build: impl Fn() -> Result<aws_sdk_dynamodb::operation::update_table::builders::UpdateTableFluentBuilder>,
) -> Result<()> {
    use super::retry::{self, Next};
    use aws_smithy_types::error::metadata::ProvideErrorMetadata as _;
    retry::retry(&format!("the update of table {name}"), retry::AWS, || async {
        let e = match build().map_err(Next::Fail)?.send().await {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        let message = e.message().unwrap_or("").to_string();
        if ALREADY_DONE.iter().any(|f| message.contains(f)) {
            crate::log::debug(&format!("table {name}: {message}: already in effect"));
            return Ok(());
        }
        let c = code(&e).unwrap_or("").to_string();
        match refusal(code(&e), &message) {
            Refusal::Busy => {
                wait_table(ctx, name, false).await.map_err(Next::Fail)?;
                Err(Next::RetryNow(format!("table {name} is busy ({c}); waited until it was ACTIVE")))
            }
            Refusal::TooManyAtOnce => Err(Next::Retry(format!("too many table operations in the account at once ({c})"))),
            Refusal::DecreaseQuota => {
                let mut err = aws_error("DynamoDB", "UpdateTable", name, e);
                err.hint = Some(
                    "AWS limits throughput decreases per table per UTC day, and retrying does not help: apply again \
                     after the time AWS names (or tomorrow, UTC), or keep the current capacity in the spec for now"
                        .into(),
                );
                Err(Next::Fail(err.into()))
            }
            Refusal::Other => Err(Next::Fail(aws_error("DynamoDB", "UpdateTable", name, e).into())),
        }
    })
    .await
}

/// Waits until the table and all its indexes are ACTIVE (or, with `deleted`, until it is gone).
pub async fn wait_table(ctx: &AwsContext, name: &str, deleted: bool) -> Result<()> {
    let what = if deleted { format!("table {name} to be deleted") } else { format!("table {name} to be ACTIVE") };
    wait::until(&what, Duration::from_secs(3600), || async {
        match ctx.dynamodb.describe_table().table_name(name).send().await {
            Err(e) if code(&e) == Some("ResourceNotFoundException") => {
                if deleted {
                    Ok(wait::Poll::Done)
                } else {
                    Ok(wait::Poll::Pending(format!("table {name} not found yet")))
                }
            }
            Err(e) => Err(aws_error("DynamoDB", "DescribeTable", name, e).into()),
            Ok(out) => {
                let t = out.table.context("DescribeTable returned no table")?;
                let status = t.table_status.as_ref().map(|s| s.as_str().to_string()).unwrap_or_default();
                if deleted {
                    return Ok(wait::Poll::Pending(format!("status {status}")));
                }
                let busy: Vec<String> = t
                    .global_secondary_indexes()
                    .iter()
                    .filter(|g| g.index_status.as_ref().is_some_and(|s| *s != ddb::IndexStatus::Active))
                    .map(|g| {
                        format!("index {} {}", g.index_name().unwrap_or("?"), g.index_status.as_ref().map(|s| s.as_str()).unwrap_or(""))
                    })
                    .collect();
                if status == "ACTIVE" && busy.is_empty() {
                    Ok(wait::Poll::Done)
                } else {
                    let mut s = format!("status {status}");
                    for b in busy {
                        s.push_str(", ");
                        s.push_str(&b);
                    }
                    Ok(wait::Poll::Pending(s))
                }
            }
        }
    })
    .await
}

pub async fn execute(ctx: &AwsContext, op: &TableOp) -> Result<()> {
    match op {
        TableOp::CreateTable { name, spec, tags } => {
            let attrs = attributes(spec, spec.global_secondary_indexes.values());
            let mut req = ctx
                .dynamodb
                .create_table()
                .table_name(name)
                .set_attribute_definitions(Some(attribute_definitions(&attrs)?))
                .set_key_schema(Some(key_schema(&spec.partition_key, &spec.sort_key)?))
                .billing_mode(billing_mode(spec.billing))
                .deletion_protection_enabled(spec.deletion_protection);
            if spec.billing == Billing::Provisioned {
                req = req.provisioned_throughput(throughput(spec.capacity.context("provisioned table without capacity")?)?);
            }
            for (iname, g) in &spec.global_secondary_indexes {
                let mut gb = ddb::GlobalSecondaryIndex::builder()
                    .index_name(iname)
                    .set_key_schema(Some(key_schema(&g.partition_key, &g.sort_key)?))
                    .projection(ddb_projection(&g.projection));
                if spec.billing == Billing::Provisioned {
                    gb = gb.provisioned_throughput(throughput(g.capacity.context("provisioned index without capacity")?)?);
                }
                req = req.global_secondary_indexes(gb.build()?);
            }
            if let Some(v) = view_type(spec.stream) {
                req = req.stream_specification(ddb::StreamSpecification::builder().stream_enabled(true).stream_view_type(v).build()?);
            }
            let (kms, kms_key) = storage::wanted_sse(spec);
            if kms {
                req = req.sse_specification(storage::sse(true, kms_key));
            }
            if let Some(c) = spec.table_class {
                req = req.table_class(storage::table_class(c));
            }
            for (k, v) in tags {
                req = req.tags(ddb::Tag::builder().key(k).value(v).build()?);
            }
            match req.send().await {
                Ok(_) => Ok(()),
                // An earlier attempt may have created it before its answer was lost: find it.
                Err(e) if code(&e) == Some("ResourceInUseException") => {
                    crate::log::info(&format!("  table {name} already exists: using it (re-checked after apply)"));
                    Ok(())
                }
                Err(e) => Err(aws_error("DynamoDB", "CreateTable", name, e).into()),
            }
        }
        TableOp::DeleteTable { name } => {
            let live = observe(ctx, name).await?;
            if live.as_ref().is_some_and(|t| t.deletion_protection) {
                bail!("table {name} has deletion protection on: it is never deleted");
            }
            match ctx.dynamodb.delete_table().table_name(name).send().await {
                Ok(_) => Ok(()),
                Err(e) if code(&e) == Some("ResourceNotFoundException") => Ok(()),
                Err(e) => Err(aws_error("DynamoDB", "DeleteTable", name, e).into()),
            }
        }
        TableOp::WaitActive { name } => wait_table(ctx, name, false).await,
        TableOp::WaitDeleted { name } => wait_table(ctx, name, true).await,
        TableOp::SetDeletionProtection { name, enabled } => {
            update_table(ctx, name, || Ok(ctx.dynamodb.update_table().table_name(name).deletion_protection_enabled(*enabled))).await
        }
        TableOp::DeleteIndex { name, index } => {
            // Gone already (a retried delete whose first answer was lost): nothing to do.
            if observe(ctx, name).await?.is_some_and(|t| !t.indexes.contains_key(index)) {
                return Ok(());
            }
            update_table(ctx, name, || {
                Ok(ctx.dynamodb.update_table().table_name(name).global_secondary_index_updates(
                    ddb::GlobalSecondaryIndexUpdate::builder()
                        .delete(ddb::DeleteGlobalSecondaryIndexAction::builder().index_name(index).build()?)
                        .build(),
                ))
            })
            .await
        }
        TableOp::UpdateThroughput { name, billing, table, indexes } => {
            update_table(ctx, name, || {
                let mut req = ctx.dynamodb.update_table().table_name(name);
                if let Some(b) = billing {
                    req = req.billing_mode(billing_mode(*b));
                }
                if let Some(c) = table {
                    req = req.provisioned_throughput(throughput(*c)?);
                }
                for (iname, c) in indexes {
                    req = req.global_secondary_index_updates(
                        ddb::GlobalSecondaryIndexUpdate::builder()
                            .update(
                                ddb::UpdateGlobalSecondaryIndexAction::builder()
                                    .index_name(iname)
                                    .provisioned_throughput(throughput(*c)?)
                                    .build()?,
                            )
                            .build(),
                    );
                }
                Ok(req)
            })
            .await
        }
        TableOp::DisableStream { name } => {
            update_table(ctx, name, || {
                Ok(ctx
                    .dynamodb
                    .update_table()
                    .table_name(name)
                    .stream_specification(ddb::StreamSpecification::builder().stream_enabled(false).build()?))
            })
            .await
        }
        TableOp::EnableStream { name, view } => {
            let v = view_type(*view).context("enable a stream with view type off")?;
            update_table(ctx, name, || {
                Ok(ctx
                    .dynamodb
                    .update_table()
                    .table_name(name)
                    .stream_specification(ddb::StreamSpecification::builder().stream_enabled(true).stream_view_type(v.clone()).build()?))
            })
            .await
        }
        TableOp::CreateIndex { name, index, spec, billing, attributes } => {
            update_table(ctx, name, || {
                let mut create = ddb::CreateGlobalSecondaryIndexAction::builder()
                    .index_name(index)
                    .set_key_schema(Some(key_schema(&spec.partition_key, &spec.sort_key)?))
                    .projection(ddb_projection(&spec.projection));
                if *billing == Billing::Provisioned {
                    create = create.provisioned_throughput(throughput(spec.capacity.context("provisioned index without capacity")?)?);
                }
                Ok(ctx
                    .dynamodb
                    .update_table()
                    .table_name(name)
                    .set_attribute_definitions(Some(attribute_definitions(attributes)?))
                    .global_secondary_index_updates(ddb::GlobalSecondaryIndexUpdate::builder().create(create.build()?).build()))
            })
            .await
        }
        TableOp::Tag { name, set, remove } => {
            let live = observe(ctx, name).await?.with_context(|| format!("table {name} does not exist"))?;
            // Keys whose value changes are removed first: the emulator would list both values.
            let mut untag: Vec<String> = remove.clone();
            untag.extend(set.keys().filter(|k| live.tags.contains_key(*k)).cloned());
            if !untag.is_empty() {
                ctx.dynamodb
                    .untag_resource()
                    .resource_arn(&live.arn)
                    .set_tag_keys(Some(untag))
                    .send()
                    .await
                    .map_err(|e| aws_error("DynamoDB", "UntagResource", name, e))?;
            }
            if !set.is_empty() {
                let tags = set.iter().map(|(k, v)| ddb::Tag::builder().key(k).value(v).build()).collect::<Result<Vec<_>, _>>()?;
                ctx.dynamodb
                    .tag_resource()
                    .resource_arn(&live.arn)
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .map_err(|e| aws_error("DynamoDB", "TagResource", name, e))?;
            }
            Ok(())
        }
        TableOp::SetTtl { name, attribute, enabled } => ttl::set(ctx, name, attribute, *enabled).await,
        TableOp::SetEncryption { name, kms, kms_key } => {
            update_table(ctx, name, || {
                Ok(ctx.dynamodb.update_table().table_name(name).sse_specification(storage::sse(*kms, kms_key.as_deref())))
            })
            .await
        }
        TableOp::SetTableClass { name, class } => {
            update_table(ctx, name, || Ok(ctx.dynamodb.update_table().table_name(name).table_class(storage::table_class(*class)))).await
        }
        TableOp::SetPitr { name, enabled, recovery_period_days } => {
            use super::retry::{self, Next};
            let mut p = ddb::PointInTimeRecoverySpecification::builder().point_in_time_recovery_enabled(*enabled);
            if let Some(d) = recovery_period_days {
                p = p.recovery_period_in_days(*d as i32);
            }
            let p = p.build()?;
            retry::retry(&format!("point-in-time recovery of table {name}"), retry::AWS, || {
                let p = p.clone();
                async move {
                    match ctx.dynamodb.update_continuous_backups().table_name(name).point_in_time_recovery_specification(p).send().await {
                        Ok(_) => Ok(()),
                        // A table just created or updated: "Backups are being enabled for the table".
                        Err(e) if code(&e) == Some("ContinuousBackupsUnavailableException") => {
                            Err(Next::Retry(format!("backups of table {name} are not available yet")))
                        }
                        Err(e) => Err(Next::Fail(aws_error("DynamoDB", "UpdateContinuousBackups", name, e).into())),
                    }
                }
            })
            .await
        }
        TableOp::RegisterScaling { name, index, dimension, min, max } => {
            scaling::register(ctx, name, index.as_deref(), *dimension, *min, *max).await
        }
        TableOp::PutScalingPolicy { name, index, dimension, policy, target_utilization } => {
            scaling::put_policy(ctx, name, index.as_deref(), *dimension, policy, *target_utilization).await
        }
        TableOp::DeregisterScaling { name, index, dimension } => scaling::deregister(ctx, name, index.as_deref(), *dimension).await,
    }
}

#[cfg(test)]
mod refusals {
    use super::*;

    #[test]
    fn limit_exceeded_has_two_meanings() {
        let daily = "Subscriber limit exceeded: Provisioned throughput decreases are limited within a given UTC day. \
                     After the first 4 decreases, each subsequent decrease in the same UTC day can be performed at most once every 3600 seconds.";
        assert_eq!(refusal(Some("LimitExceededException"), daily), Refusal::DecreaseQuota);
        let many = "Subscriber limit exceeded: There is a limit of 500 tables in the CREATING, UPDATING or DELETING state";
        assert_eq!(refusal(Some("LimitExceededException"), many), Refusal::TooManyAtOnce);
        let index = "Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table";
        assert_eq!(refusal(Some("LimitExceededException"), index), Refusal::Busy);
        assert_eq!(refusal(Some("ResourceInUseException"), "Table is being updated"), Refusal::Busy);
        assert_eq!(refusal(Some("ValidationException"), "bad"), Refusal::Other);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Autoscale;

    fn key(n: &str) -> KeySpec {
        KeySpec { name: n.into(), ty: AttrType::S }
    }

    fn cap(r: i64, w: i64) -> Option<Capacity> {
        Some(Capacity::new(r, w))
    }

    fn gsi(pk: &str, c: Option<Capacity>) -> GsiSpec {
        GsiSpec { partition_key: key(pk), sort_key: Some(key("sk")), projection: Projection::All, capacity: c }
    }

    fn spec() -> TableSpec {
        TableSpec {
            partition_key: key("pk"),
            sort_key: Some(key("sk")),
            billing: Billing::Provisioned,
            capacity: cap(5, 5),
            global_secondary_indexes: BTreeMap::from([("g1".to_string(), gsi("a", cap(5, 5)))]),
            stream: StreamView::NewImage,
            deletion_protection: false,
            point_in_time_recovery: None,
            ttl: None,
            encryption: None,
            table_class: None,
            lifecycle: Default::default(),
            tags: BTreeMap::new(),
        }
    }

    /// The spec switched to on-demand (no capacity anywhere).
    fn on_demand() -> TableSpec {
        let mut s = spec();
        s.billing = Billing::OnDemand;
        s.capacity = None;
        s.global_secondary_indexes.get_mut("g1").unwrap().capacity = None;
        s
    }

    fn tags() -> BTreeMap<String, String> {
        BTreeMap::from([("managed-by".into(), "cruddur-infra".into())])
    }

    /// A table as AWS describes it after creating the tests' usual spec.
    pub(super) fn live_table() -> LiveTable {
        live_of(&spec())
    }

    /// The table as AWS would describe it after creating `s`.
    fn live_of(s: &TableSpec) -> LiveTable {
        LiveTable {
            name: "t".into(),
            arn: "arn:aws:dynamodb:us-east-1:1:table/t".into(),
            status: "ACTIVE".into(),
            partition_key: s.partition_key.clone(),
            sort_key: s.sort_key.clone(),
            billing: s.billing,
            capacity: s.capacity.unwrap_or(Capacity::new(0, 0)),
            indexes: s
                .global_secondary_indexes
                .iter()
                .map(|(n, g)| {
                    (
                        n.clone(),
                        LiveIndex {
                            partition_key: g.partition_key.clone(),
                            sort_key: g.sort_key.clone(),
                            projection: g.projection.clone(),
                            capacity: g.capacity.unwrap_or(Capacity::new(0, 0)),
                            status: "ACTIVE".into(),
                        },
                    )
                })
                .collect(),
            stream: s.stream,
            stream_arn: Some("arn:stream/1".into()),
            deletion_protection: s.deletion_protection,
            tags: tags(),
            pitr: None,
            ttl: None,
            kms_key: None,
            table_class: crate::spec::TableClass::Standard,
            scaling: vec![],
        }
    }

    fn ops(steps: &[Step]) -> Vec<TableOp> {
        steps.iter().map(|s| s.op.get::<TableOp>().cloned().unwrap_or_else(|| panic!("not a table op: {:?}", s.op))).collect()
    }

    /// A compact view of the step sequence: op names, with the index for index ops.
    fn shape(steps: &[Step]) -> Vec<String> {
        ops(steps)
            .iter()
            .map(|o| match o {
                TableOp::CreateIndex { index, .. } => format!("create_index {index}"),
                TableOp::DeleteIndex { index, .. } => format!("delete_index {index}"),
                other => serde_json::to_value(other).unwrap()["op"].as_str().unwrap().to_string(),
            })
            .collect()
    }

    #[test]
    fn absent_table_is_created_then_waited_for() {
        let (c, steps) = diff("t", &spec(), &tags(), None);
        assert_eq!(c.action, Action::Create);
        assert_eq!(c.address, "dynamodb_table.t");
        assert_eq!(shape(&steps), ["create_table", "wait_active"]);
        assert!(c.diffs.iter().any(|d| d.path == "global_secondary_indexes.g1" && d.before.is_null()));
    }

    #[test]
    fn same_table_is_a_no_op_without_steps() {
        let s = spec();
        let (c, steps) = diff("t", &s, &tags(), Some(&live_of(&s)));
        assert_eq!(c.action, Action::NoOp);
        assert!(c.diffs.is_empty() && steps.is_empty());
    }

    fn auto(min: i64, max: i64, target: f64) -> Option<Autoscale> {
        Some(Autoscale { min, max, target_utilization: target })
    }

    /// The spec with the table and its index autoscaled 5..50 at 70 %.
    fn scaled_spec() -> TableSpec {
        let mut s = spec();
        s.capacity.as_mut().unwrap().autoscale = auto(5, 50, 70.0);
        s.global_secondary_indexes.get_mut("g1").unwrap().capacity.as_mut().unwrap().autoscale = auto(5, 50, 70.0);
        s
    }

    /// The live table with `s`'s scaling registered as it says.
    fn live_scaled(s: &TableSpec) -> LiveTable {
        let mut live = live_of(s);
        for ((index, dim), a) in scaling::wanted(s) {
            let policy = Some(scaling::policy_name("t", index.as_deref(), dim));
            live.scaling.push(LiveScaling { index, dim, min: a.min, max: a.max, target_utilization: Some(a.target_utilization), policy });
        }
        live
    }

    fn paths(c: &ResourceChange) -> Vec<&str> {
        c.diffs.iter().map(|d| d.path.as_str()).collect()
    }

    #[test]
    fn scaled_capacity_within_the_range_is_in_sync_and_never_sent() {
        let s = scaled_spec();
        let mut live = live_scaled(&s);
        live.capacity = Capacity::new(50, 17);
        live.indexes.get_mut("g1").unwrap().capacity = Capacity::new(5, 33);
        let (c, steps) = diff("t", &s, &tags(), Some(&live));
        assert_eq!(c.action, Action::NoOp, "{:?}", c.diffs);
        assert!(steps.is_empty());
    }

    #[test]
    fn scaled_capacity_outside_the_range_is_brought_to_the_nearest_bound_only() {
        let s = scaled_spec();
        let mut live = live_scaled(&s);
        live.capacity = Capacity::new(60, 20);
        live.indexes.get_mut("g1").unwrap().capacity = Capacity::new(3, 5);
        let (c, steps) = diff("t", &s, &tags(), Some(&live));
        assert_eq!(paths(&c), ["read_capacity", "global_secondary_indexes.g1.read_capacity"]);
        assert!(c.diffs[0].note.as_deref().unwrap_or("").contains("outside autoscale's 5..50"));
        assert_eq!(
            ops(&steps)[0],
            TableOp::UpdateThroughput {
                name: "t".into(),
                billing: None,
                table: cap(50, 20),
                indexes: BTreeMap::from([("g1".into(), Capacity::new(5, 5))])
            }
        );
        assert_eq!(shape(&steps), ["update_throughput", "wait_active"]);
    }

    #[test]
    fn turning_autoscale_on_registers_targets_and_policies_without_touching_the_throughput() {
        let s = scaled_spec();
        let mut live = live_of(&spec());
        live.capacity = Capacity::new(7, 9);
        let (c, steps) = diff("t", &s, &tags(), Some(&live));
        assert_eq!(
            paths(&c),
            [
                "read_autoscale",
                "write_autoscale",
                "global_secondary_indexes.g1.read_autoscale",
                "global_secondary_indexes.g1.write_autoscale"
            ]
        );
        assert!(c.diffs[0].before.is_null());
        assert_eq!(c.diffs[0].after, serde_json::json!({"min": 5, "max": 50, "target_utilization": 70.0}));
        assert_eq!(
            shape(&steps),
            [
                "register_scaling",
                "put_scaling_policy",
                "register_scaling",
                "put_scaling_policy",
                "register_scaling",
                "put_scaling_policy",
                "register_scaling",
                "put_scaling_policy"
            ]
        );
        assert_eq!(ops(&steps)[0], TableOp::RegisterScaling { name: "t".into(), index: None, dimension: Dim::Read, min: 5, max: 50 });
        assert_eq!(
            ops(&steps)[7],
            TableOp::PutScalingPolicy {
                name: "t".into(),
                index: Some("g1".into()),
                dimension: Dim::Write,
                policy: "DynamoDBWriteCapacityUtilization:table/t/index/g1".into(),
                target_utilization: 70.0
            }
        );
    }

    #[test]
    fn a_new_range_re_registers_and_a_new_target_puts_the_policy_it_found() {
        let s = scaled_spec();
        let mut live = live_scaled(&s);
        live.scaling.iter_mut().for_each(|l| l.policy = Some("console-made".into()));
        let mut want = scaled_spec();
        want.capacity.as_mut().unwrap().autoscale = auto(5, 80, 70.0);
        want.global_secondary_indexes.get_mut("g1").unwrap().capacity.as_mut().unwrap().autoscale = auto(5, 50, 50.0);
        let (c, steps) = diff("t", &want, &tags(), Some(&live));
        assert_eq!(
            paths(&c),
            [
                "read_autoscale",
                "write_autoscale",
                "global_secondary_indexes.g1.read_autoscale",
                "global_secondary_indexes.g1.write_autoscale"
            ]
        );
        assert_eq!(shape(&steps), ["register_scaling", "register_scaling", "put_scaling_policy", "put_scaling_policy"]);
        assert!(
            matches!(&ops(&steps)[2], TableOp::PutScalingPolicy { policy, target_utilization, .. } if policy == "console-made" && *target_utilization == 50.0)
        );
    }

    #[test]
    fn turning_autoscale_off_deregisters_then_pins_the_spec_capacity() {
        let s = scaled_spec();
        let mut live = live_scaled(&s);
        live.capacity = Capacity::new(40, 12);
        let (c, steps) = diff("t", &spec(), &tags(), Some(&live));
        assert!(paths(&c).contains(&"read_autoscale") && paths(&c).contains(&"global_secondary_indexes.g1.write_autoscale"));
        assert!(c.diffs.iter().any(|d| d.path == "read_capacity" && d.before == 40 && d.after == 5));
        assert_eq!(
            shape(&steps),
            ["deregister_scaling", "deregister_scaling", "deregister_scaling", "deregister_scaling", "update_throughput", "wait_active"]
        );
    }

    #[test]
    fn an_index_loses_its_targets_before_it_is_deleted_and_a_new_one_gets_them_once_active() {
        let s = scaled_spec();
        let live = live_scaled(&s);
        let mut want = scaled_spec();
        let g = want.global_secondary_indexes.remove("g1").unwrap();
        want.global_secondary_indexes.insert("g2".into(), GsiSpec { partition_key: key("b"), ..g });
        let (_, steps) = diff("t", &want, &tags(), Some(&live));
        assert_eq!(
            shape(&steps),
            [
                "deregister_scaling",
                "deregister_scaling",
                "delete_index g1",
                "wait_active",
                "create_index g2",
                "wait_active",
                "register_scaling",
                "put_scaling_policy",
                "register_scaling",
                "put_scaling_policy"
            ]
        );
        assert!(matches!(&ops(&steps)[0], TableOp::DeregisterScaling { index: Some(i), .. } if i == "g1"));
        assert!(matches!(&ops(&steps)[6], TableOp::RegisterScaling { index: Some(i), .. } if i == "g2"));

        // A rebuilt index is deregistered first and registered again after, with no diff of its own.
        let mut want = scaled_spec();
        want.global_secondary_indexes.get_mut("g1").unwrap().projection = Projection::KeysOnly;
        let (c, steps) = diff("t", &want, &tags(), Some(&live));
        assert_eq!(paths(&c), ["global_secondary_indexes.g1"]);
        assert_eq!(shape(&steps)[..3], ["deregister_scaling", "deregister_scaling", "delete_index g1"]);
        assert_eq!(
            shape(&steps)[4..],
            ["create_index g1", "wait_active", "register_scaling", "put_scaling_policy", "register_scaling", "put_scaling_policy"]
        );
    }

    #[test]
    fn a_new_scaled_table_is_registered_after_it_is_active_and_deleting_deregisters_first() {
        let (c, steps) = diff("t", &scaled_spec(), &tags(), None);
        assert_eq!(shape(&steps)[..3], ["create_table", "wait_active", "register_scaling"]);
        assert_eq!(steps.len(), 2 + 8);
        assert!(paths(&c).contains(&"global_secondary_indexes.g1.write_autoscale"));
        let live = live_scaled(&scaled_spec());
        assert_eq!(
            shape(&delete_steps("dynamodb_table.t", &live)),
            ["deregister_scaling"; 4].iter().copied().chain(["delete_table", "wait_deleted"]).collect::<Vec<_>>()
        );
    }

    #[test]
    fn switching_to_on_demand_removes_the_scaling_first() {
        let live = live_scaled(&scaled_spec());
        let (c, steps) = diff("t", &on_demand(), &tags(), Some(&live));
        assert_eq!(
            shape(&steps)[..5],
            ["deregister_scaling", "deregister_scaling", "deregister_scaling", "deregister_scaling", "update_throughput"]
        );
        assert!(c.diffs.iter().any(|d| d.path == "read_autoscale" && d.note.as_deref().unwrap_or("").contains("on-demand")));
    }

    #[test]
    fn import_writes_what_is_live_and_autoscale_only_where_the_short_form_says_it() {
        let mut live = live_scaled(&scaled_spec());
        live.capacity = Capacity::new(60, 9);
        live.tags.insert(scaling::AUTOSCALE_TAG.into(), "true".into());
        live.tags.insert("app".into(), "x".into());
        let (spec, comments, notes) = spec_of(&live);
        let c = spec.capacity.unwrap();
        assert_eq!((c.read, c.write, c.autoscale), (50, 9, auto(5, 50, 70.0)), "clamped into the range: a valid starting value");
        assert!(comments.contains_key("capacity") && comments.contains_key("global_secondary_indexes.g1.capacity"));
        assert!(notes.is_empty());
        assert_eq!(spec.tags, BTreeMap::from([("app".to_string(), "x".to_string())]), "the tool's own tags are not spec");
        // The imported spec of a live table, applied to it, changes nothing but the capacity clamped.
        let (change, _) = diff("t", &spec, &live.tags, Some(&live));
        assert_eq!(paths(&change), ["read_capacity"]);

        // Read and write scaled differently: the short form cannot say it, and import says so.
        live.scaling.retain(|s| !(s.index.is_none() && s.dim == Dim::Write));
        let (spec, _, notes) = spec_of(&live);
        assert_eq!(spec.capacity.unwrap().autoscale, None);
        assert!(notes.len() == 1 && notes[0].starts_with("the table: read and write are scaled differently"), "{notes:?}");
    }

    #[test]
    fn point_in_time_recovery_is_managed_only_when_the_spec_says_it() {
        use crate::spec::Pitr;
        let mut live = live_of(&spec());
        // Not in the spec: not read, never changed.
        assert_eq!(diff("t", &spec(), &tags(), Some(&live)).0.action, Action::NoOp);
        let mut want = spec();
        want.point_in_time_recovery = Some(Pitr::Switch(true));
        live.pitr = Some(LivePitr { enabled: false, recovery_period_days: None });
        let (c, steps) = diff("t", &want, &tags(), Some(&live));
        assert_eq!(c.diffs, vec![FieldDiff::new("point_in_time_recovery", false, true)]);
        assert_eq!(ops(&steps), [TableOp::SetPitr { name: "t".into(), enabled: true, recovery_period_days: None }]);
        // `true` keeps whatever period it has; a period is compared.
        live.pitr = Some(LivePitr { enabled: true, recovery_period_days: Some(35) });
        assert_eq!(diff("t", &want, &tags(), Some(&live)).0.action, Action::NoOp);
        want.point_in_time_recovery = Some(Pitr::Period { recovery_period_days: 7 });
        let (c, steps) = diff("t", &want, &tags(), Some(&live));
        assert_eq!(c.diffs[0].before, serde_json::json!({"recovery_period_days": 35}));
        assert_eq!(ops(&steps), [TableOp::SetPitr { name: "t".into(), enabled: true, recovery_period_days: Some(7) }]);
        // Off says what is lost; a new table turns it on once ACTIVE.
        want.point_in_time_recovery = Some(Pitr::Switch(false));
        assert!(diff("t", &want, &tags(), Some(&live)).0.diffs[0].note.as_deref().unwrap_or("").contains("can no longer be restored"));
        want.point_in_time_recovery = Some(Pitr::Switch(true));
        assert_eq!(shape(&diff("t", &want, &tags(), None).1), ["create_table", "wait_active", "set_pitr"]);
    }

    #[test]
    fn scaling_is_read_only_when_it_can_matter() {
        let fixed = spec();
        let live = live_of(&fixed);
        assert!(!scaling::must_read(Some(&fixed), &live), "fixed capacity as the spec says: no request");
        assert!(!scaling::must_read(None, &live));
        assert!(scaling::must_read(Some(&scaled_spec()), &live));
        let mut moved = live.clone();
        moved.indexes.get_mut("g1").unwrap().capacity = Capacity::new(9, 5);
        assert!(scaling::must_read(Some(&fixed), &moved), "moved by someone: perhaps a scaler");
        let mut tagged = live.clone();
        tagged.tags.insert(scaling::AUTOSCALE_TAG.into(), "true".into());
        assert!(scaling::must_read(None, &tagged), "a dropped table the tool scaled");
        let mut on_demand = tagged;
        on_demand.billing = Billing::OnDemand;
        assert!(!scaling::must_read(Some(&scaled_spec()), &on_demand));
    }

    #[test]
    fn throughput_sends_only_what_differs() {
        let live = live_of(&spec());
        let mut s = spec();
        s.capacity = cap(10, 5);
        let (c, steps) = diff("t", &s, &tags(), Some(&live));
        assert_eq!(c.action, Action::Update);
        assert_eq!(c.diffs, vec![FieldDiff::new("read_capacity", 5, 10)]);
        assert_eq!(
            ops(&steps)[0],
            TableOp::UpdateThroughput { name: "t".into(), billing: None, table: cap(10, 5), indexes: BTreeMap::new() }
        );

        // Only the index's capacity: the table's is not sent.
        let mut s = spec();
        s.global_secondary_indexes.get_mut("g1").unwrap().capacity = cap(5, 7);
        let (c, steps) = diff("t", &s, &tags(), Some(&live));
        assert_eq!(c.diffs, vec![FieldDiff::new("global_secondary_indexes.g1.write_capacity", 5, 7)]);
        assert_eq!(
            ops(&steps)[0],
            TableOp::UpdateThroughput {
                name: "t".into(),
                billing: None,
                table: None,
                indexes: BTreeMap::from([("g1".into(), Capacity::new(5, 7))])
            }
        );
        assert_eq!(shape(&steps), ["update_throughput", "wait_active"]);
    }

    #[test]
    fn index_churn_deletes_then_updates_then_creates_one_at_a_time() {
        let mut before = spec();
        before.global_secondary_indexes.insert("old".into(), gsi("o", cap(1, 1)));
        let live = live_of(&before);
        let mut s = spec();
        s.capacity = cap(6, 6);
        s.global_secondary_indexes.insert("new-a".into(), gsi("na", cap(2, 2)));
        s.global_secondary_indexes.insert("new-b".into(), gsi("nb", cap(3, 3)));
        let (c, steps) = diff("t", &s, &tags(), Some(&live));
        assert_eq!(c.action, Action::Update);
        assert_eq!(
            shape(&steps),
            [
                "delete_index old",
                "wait_active",
                "update_throughput",
                "wait_active",
                "create_index new-a",
                "wait_active",
                "create_index new-b",
                "wait_active"
            ]
        );
        // Each create sends every attribute the table needs by then (the first index's keys too).
        let TableOp::CreateIndex { attributes, .. } = &ops(&steps)[6] else { panic!() };
        let names: Vec<&str> = attributes.keys().map(String::as_str).collect();
        assert_eq!(names, ["a", "na", "nb", "pk", "sk"]);
        assert!(!attributes.contains_key("o"));
    }

    #[test]
    fn index_with_new_projection_is_rebuilt_not_the_table() {
        let live = live_of(&spec());
        let mut s = spec();
        s.global_secondary_indexes.get_mut("g1").unwrap().projection = Projection::KeysOnly;
        let (c, steps) = diff("t", &s, &tags(), Some(&live));
        assert_eq!(c.action, Action::Update);
        assert!(c.diffs[0].note.as_deref().unwrap().contains("rebuilt"));
        assert_eq!(shape(&steps), ["delete_index g1", "wait_active", "create_index g1", "wait_active"]);
    }

    #[test]
    fn stream_view_change_is_disable_wait_enable_and_says_the_arn_changes() {
        let live = live_of(&spec());
        let mut s = spec();
        s.stream = StreamView::NewAndOldImages;
        s.capacity = cap(9, 9);
        let (c, steps) = diff("t", &s, &tags(), Some(&live));
        assert_eq!(shape(&steps), ["update_throughput", "wait_active", "disable_stream", "wait_active", "enable_stream", "wait_active"]);
        let d = c.diffs.iter().find(|d| d.path == "stream").unwrap();
        assert!(d.note.as_deref().unwrap().contains("new stream ARN"));
        assert!(d.note.as_deref().unwrap().contains("lost"));

        let mut off = spec();
        off.stream = StreamView::Off;
        let (_, steps) = diff("t", &spec(), &tags(), Some(&live_of(&off)));
        assert_eq!(shape(&steps), ["enable_stream", "wait_active"]);
    }

    #[test]
    fn key_change_is_a_destructive_replace_and_protection_blocks_it() {
        let live = live_of(&spec());
        let mut s = spec();
        s.sort_key = Some(KeySpec { name: "sk".into(), ty: AttrType::N });
        let (c, steps) = diff("t", &s, &tags(), Some(&live));
        assert_eq!(c.action, Action::Replace);
        assert!(c.destructive);
        assert!(c.reason.as_deref().unwrap().contains("--allow-data-loss dynamodb_table.t"));
        assert_eq!(c.diffs, vec![FieldDiff::new("sort_key", "sk (S)", "sk (N)").note("forces replacement")]);
        assert_eq!(shape(&steps), ["delete_table", "wait_deleted", "create_table", "wait_active"]);
        assert!(c.blocked.is_none());

        let mut protected = spec();
        protected.deletion_protection = true;
        let (c, _) = diff("t", &s, &tags(), Some(&live_of(&protected)));
        assert!(c.blocked.as_deref().unwrap().contains("deletion protection"));
    }

    #[test]
    fn billing_switches_send_what_aws_requires() {
        let live = live_of(&spec());
        let (_, steps) = diff("t", &on_demand(), &tags(), Some(&live));
        assert_eq!(
            ops(&steps)[0],
            TableOp::UpdateThroughput { name: "t".into(), billing: Some(Billing::OnDemand), table: None, indexes: BTreeMap::new() }
        );
        // Back to provisioned: the table's and every index's throughput go with the switch.
        let (_, steps) = diff("t", &spec(), &tags(), Some(&live_of(&on_demand())));
        assert_eq!(
            ops(&steps)[0],
            TableOp::UpdateThroughput {
                name: "t".into(),
                billing: Some(Billing::Provisioned),
                table: cap(5, 5),
                indexes: BTreeMap::from([("g1".into(), Capacity::new(5, 5))])
            }
        );
    }

    #[test]
    fn protection_goes_first_and_tags_last() {
        let mut live = live_of(&spec());
        live.tags.insert("old".into(), "x".into());
        live.tags.insert("aws:cloudformation:stack-name".into(), "y".into());
        let mut s = spec();
        s.deletion_protection = true;
        s.capacity = cap(5, 6);
        let mut want = tags();
        want.insert("app".into(), "cruddur".into());
        let (c, steps) = diff("t", &s, &want, Some(&live));
        assert_eq!(shape(&steps), ["set_deletion_protection", "wait_active", "update_throughput", "wait_active", "tag"]);
        assert_eq!(
            ops(&steps)[4],
            TableOp::Tag { name: "t".into(), set: BTreeMap::from([("app".into(), "cruddur".into())]), remove: vec!["old".into()] }
        );
        assert!(c.diffs.iter().all(|d| !d.path.contains("aws:")));
    }

    #[test]
    fn steps_round_trip_through_json() {
        let (_, steps) = diff("t", &spec(), &tags(), None);
        let text = serde_json::to_string(&steps).unwrap();
        let back: Vec<Step> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, steps);
    }
}
