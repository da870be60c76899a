//! A table's Application Auto Scaling (`capacity.autoscale`): read, pure plan, execute.
//!
//! Part of the table kind, not a kind of its own: the scaling is an attribute of a capacity,
//! and its steps are ordered with the table's (rule 23 of docs/aws-behaviour.md): an index's targets
//! are deregistered before the index is deleted and before a billing switch, registered after
//! the index (or the table) is ACTIVE. While a dimension is autoscaled, the table's diff takes
//! any live capacity within [min, max] as in sync and never sends its throughput, except to
//! bring it back inside the range.

use std::collections::BTreeMap;

use anyhow::Result;
use aws_sdk_applicationautoscaling::types as aas;
use futures::future::try_join_all;
use serde::{Deserialize, Serialize};

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::aws::{aws_error, code, AwsContext};
use crate::plan::FieldDiff;
use crate::spec::{Autoscale, Billing, Capacity, TableSpec};

use super::LiveTable;

/// Recorded on a table whose spec autoscales it, so that the next plan reads its scaling even
/// after the spec stops saying `autoscale` (and can deregister it). Without it, a table's
/// scaling is read only when its spec autoscales it or its capacity differs from the spec's.
pub const AUTOSCALE_TAG: &str = "cruddur-infra:autoscale";

const SERVICE: &str = "Application Auto Scaling";

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Dim {
    Read,
    Write,
}

impl Dim {
    pub const BOTH: [Dim; 2] = [Dim::Read, Dim::Write];

    fn word(self) -> &'static str {
        match self {
            Dim::Read => "read",
            Dim::Write => "write",
        }
    }

    fn units(self, c: &Capacity) -> i64 {
        match self {
            Dim::Read => c.read,
            Dim::Write => c.write,
        }
    }

    /// The predefined target-tracking metric of this dimension.
    fn metric(self) -> &'static str {
        match self {
            Dim::Read => "DynamoDBReadCapacityUtilization",
            Dim::Write => "DynamoDBWriteCapacityUtilization",
        }
    }
}

/// One scalable dimension (of the table, or of an index) as Application Auto Scaling has it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LiveScaling {
    pub index: Option<String>,
    pub dim: Dim,
    pub min: i64,
    pub max: i64,
    /// The target of its target-tracking policy on the dimension's utilization metric.
    pub target_utilization: Option<f64>,
    /// That policy's name (the console's and ours: `DynamoDBReadCapacityUtilization:table/NAME`).
    pub policy: Option<String>,
}

/// `table/NAME` or `table/NAME/index/INDEX`.
pub fn resource_id(table: &str, index: Option<&str>) -> String {
    match index {
        None => format!("table/{table}"),
        Some(i) => format!("table/{table}/index/{i}"),
    }
}

/// `dynamodb:table:ReadCapacityUnits`, `dynamodb:index:WriteCapacityUnits`, ...
pub fn dimension(index: Option<&str>, dim: Dim) -> String {
    let unit = match dim {
        Dim::Read => "ReadCapacityUnits",
        Dim::Write => "WriteCapacityUnits",
    };
    format!("dynamodb:{}:{unit}", if index.is_some() { "index" } else { "table" })
}

/// The name a policy gets when the tool makes it (the console's naming).
pub fn policy_name(table: &str, index: Option<&str>, dim: Dim) -> String {
    format!("{}:{}", dim.metric(), resource_id(table, index))
}

/// Where a scaling is: the table (None) or one of its indexes, and the dimension.
pub type Key = (Option<String>, Dim);

/// The scaling the spec asks for, by index and dimension (nothing for an on-demand table).
pub fn wanted(spec: &TableSpec) -> BTreeMap<Key, Autoscale> {
    let mut out = BTreeMap::new();
    if spec.billing != Billing::Provisioned {
        return out;
    }
    let caps = std::iter::once((None, spec.capacity.as_ref()))
        .chain(spec.global_secondary_indexes.iter().map(|(i, g)| (Some(i.clone()), g.capacity.as_ref())));
    for (index, cap) in caps {
        if let Some(a) = cap.and_then(|c| c.autoscale) {
            for d in Dim::BOTH {
                out.insert((index.clone(), d), a);
            }
        }
    }
    out
}

/// Whether a table's scaling must be read: only a provisioned table can be scaled, and it is
/// read when the spec autoscales it, when the tool recorded that it did, or when its capacity is
/// not the spec's (a scaler may have moved it: then the plan deregisters it instead of fighting
/// it). A table that needs none of these costs no request, and a DynamoDB-only endpoint
/// (DynamoDB Local) serves it.
pub fn must_read(spec: Option<&TableSpec>, live: &LiveTable) -> bool {
    if live.billing != Billing::Provisioned {
        return false;
    }
    if live.tags.contains_key(AUTOSCALE_TAG) {
        return true;
    }
    let Some(spec) = spec else { return false };
    if !wanted(spec).is_empty() {
        return true;
    }
    let differs = |want: Option<&Capacity>, have: &Capacity| want.is_some_and(|w| w.units() != have.units());
    differs(spec.capacity.as_ref(), &live.capacity)
        || spec.global_secondary_indexes.iter().any(|(i, g)| live.indexes.get(i).is_some_and(|l| differs(g.capacity.as_ref(), &l.capacity)))
}

/// The capacity apply should leave on a dimension: the spec's units, or, while it is
/// autoscaled, the live units clamped into [min, max] (with a note when they were outside).
pub fn effective(dim: Dim, spec: &Capacity, live: &Capacity) -> (i64, Option<String>) {
    match spec.autoscale {
        None => (dim.units(spec), None),
        Some(a) => {
            let have = dim.units(live);
            let want = have.clamp(a.min, a.max);
            let note = (want != have).then(|| {
                format!("outside autoscale's {}..{}: brought back to the nearest bound; the scaler moves it from there", a.min, a.max)
            });
            (want, note)
        }
    }
}

/// The plan's value of one scaling: `{min, max, target_utilization}`.
fn value(min: i64, max: i64, target: Option<f64>) -> serde_json::Value {
    serde_json::json!({ "min": min, "max": max, "target_utilization": target })
}

/// The field of one scaling in the plan: `read_autoscale`, `global_secondary_indexes.I.write_autoscale`.
pub fn field(index: Option<&str>, dim: Dim) -> String {
    match index {
        None => format!("{}_autoscale", dim.word()),
        Some(i) => format!("global_secondary_indexes.{i}.{}_autoscale", dim.word()),
    }
}

/// A scaling to remove: its field diff.
pub fn removed(s: &LiveScaling, why: Option<&str>) -> FieldDiff {
    let d = FieldDiff::new(field(s.index.as_deref(), s.dim), value(s.min, s.max, s.target_utilization), None::<String>);
    match why {
        Some(w) => d.note(w),
        None => d,
    }
}

/// What registering (or updating) one wanted scaling takes, given what is live (None when
/// there is nothing, or it is about to be deregistered): whether the target must be
/// (re-)registered, whether the policy must be put, and the field diff if any.
pub fn to_register(index: Option<&str>, dim: Dim, want: &Autoscale, live: Option<&LiveScaling>) -> (bool, bool, Option<FieldDiff>) {
    let register = live.is_none_or(|l| (l.min, l.max) != (want.min, want.max));
    let put = live.is_none_or(|l| l.target_utilization != Some(want.target_utilization));
    let diff = (register || put).then(|| {
        let before = live.map(|l| value(l.min, l.max, l.target_utilization));
        let mut d = FieldDiff::new(field(index, dim), before, value(want.min, want.max, Some(want.target_utilization)));
        if live.is_some() && !register {
            d = d.note("only the scaling policy's target changes");
        }
        d
    });
    (register, put, diff)
}

/// `import`: one capacity as spec, from its live units and scaling. Autoscaled (read and write
/// alike, each with a target-tracking policy), the units become the starting values, clamped
/// into the range. Returns the capacity, a comment for the spec and a note of what the short
/// form cannot say.
pub fn imported(scaling: &[LiveScaling], index: Option<&str>, live: &Capacity) -> (Capacity, Option<String>, Option<String>) {
    let of = |dim| scaling.iter().find(|s| s.index.as_deref() == index && s.dim == dim);
    match (of(Dim::Read), of(Dim::Write)) {
        (None, None) => (Capacity::new(live.read, live.write), None, None),
        (Some(r), Some(w))
            if (r.min, r.max, r.target_utilization) == (w.min, w.max, w.target_utilization) && r.target_utilization.is_some() =>
        {
            let a = Autoscale { min: r.min, max: r.max, target_utilization: r.target_utilization.unwrap_or(70.0) };
            let c = Capacity { read: live.read.clamp(a.min, a.max), write: live.write.clamp(a.min, a.max), autoscale: Some(a) };
            (c, Some("read and write: the scaler's capacity when imported (autoscaled, they are only the starting values)".into()), None)
        }
        _ => {
            let what = index.map_or("the table".to_string(), |i| format!("index {i}"));
            let note = format!(
                "{what}: read and write are scaled differently (or without a target-tracking policy), which `autoscale` cannot \
                 say; written as fixed capacity, so a plan would deregister the scaling: add the `autoscale` you want first"
            );
            (Capacity::new(live.read, live.write), None, Some(note))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// read

/// Whether `e` says the endpoint does not serve Application Auto Scaling at all (DynamoDB Local
/// answers every other service UnknownOperationException).
pub fn unserved(e: &anyhow::Error) -> bool {
    e.downcast_ref::<crate::aws::AwsError>().is_some_and(|a| a.code == "UnknownOperationException" || a.message.starts_with("not a "))
}

/// Reads the scalable targets of a table and its indexes, and their target-tracking policies:
/// one DescribeScalableTargets, then one DescribeScalingPolicies per scaled resource.
pub async fn observe(ctx: &AwsContext, table: &str, indexes: impl Iterator<Item = &String>) -> Result<Vec<LiveScaling>> {
    let ids: Vec<String> = std::iter::once(resource_id(table, None)).chain(indexes.map(|i| resource_id(table, Some(i)))).collect();
    let mut targets = Vec::new();
    let mut token = None;
    loop {
        let out = ctx
            .autoscaling
            .describe_scalable_targets()
            .service_namespace(aas::ServiceNamespace::Dynamodb)
            .set_resource_ids(Some(ids.clone()))
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| aws_error(SERVICE, "DescribeScalableTargets", &resource_id(table, None), e))?;
        targets.extend(out.scalable_targets().iter().cloned());
        token = out.next_token;
        if token.is_none() {
            break;
        }
    }
    let mut scaled: Vec<&str> = targets.iter().map(|t| t.resource_id()).collect();
    scaled.sort();
    scaled.dedup();
    let policies = try_join_all(scaled.into_iter().map(|rid| policies_of(ctx, rid))).await?.into_iter().flatten().collect::<Vec<_>>();
    let mut out = Vec::new();
    for t in &targets {
        let index = t.resource_id().split("/index/").nth(1).map(str::to_string);
        let Some(dim) = Dim::BOTH.into_iter().find(|d| dimension(index.as_deref(), *d) == t.scalable_dimension().as_str()) else {
            continue;
        };
        // Its target-tracking policy on the dimension's metric; ours (the console's name) first.
        let ours = policy_name(table, index.as_deref(), dim);
        let mut found: Vec<(&str, f64)> = policies
            .iter()
            .filter(|p| p.resource_id() == t.resource_id() && p.scalable_dimension() == t.scalable_dimension())
            .filter_map(|p| {
                let c = p.target_tracking_scaling_policy_configuration()?;
                let metric = c.predefined_metric_specification()?.predefined_metric_type().as_str();
                (metric == dim.metric()).then_some((p.policy_name(), c.target_value()))
            })
            .collect();
        found.sort_by_key(|(name, _)| *name != ours);
        out.push(LiveScaling {
            index,
            dim,
            min: t.min_capacity().into(),
            max: t.max_capacity().into(),
            target_utilization: found.first().map(|f| f.1),
            policy: found.first().map(|f| f.0.to_string()),
        });
    }
    out.sort_by(|a, b| (&a.index, a.dim).cmp(&(&b.index, b.dim)));
    Ok(out)
}

async fn policies_of(ctx: &AwsContext, rid: &str) -> Result<Vec<aas::ScalingPolicy>> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = ctx
            .autoscaling
            .describe_scaling_policies()
            .service_namespace(aas::ServiceNamespace::Dynamodb)
            .resource_id(rid)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| aws_error(SERVICE, "DescribeScalingPolicies", rid, e))?;
        out.extend(page.scaling_policies().iter().cloned());
        token = page.next_token;
        if token.is_none() {
            return Ok(out);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// execute

fn units(v: i64) -> i32 {
    v.clamp(0, i32::MAX as i64) as i32
}

/// How long Application Auto Scaling may take to show its own writes (rule 35; Terraform's
/// provider allows 2 minutes), and how many reads in a row must show them.
const PROPAGATION: std::time::Duration = std::time::Duration::from_secs(120);
const READS_IN_A_ROW: crate::kinds::support::wait::Reads =
    crate::kinds::support::wait::Reads { times: 2, apart: std::time::Duration::from_secs(1) };

/// Application Auto Scaling's refusals that pass (rule 35), as Terraform's provider retries
/// them: a target just registered is not found yet (ObjectNotFoundException), another update of
/// it is pending (ConcurrentUpdateException), the service cannot reach DynamoDB yet
/// (FailedResourceAccessException: rate exceeded, or a permission still propagating), or cannot
/// assume its service-linked role while the account's first one is being made
/// (ValidationException "Unable to assume IAM role"). Retried by the one retry policy; anything
/// else is final.
fn passes(code: Option<&str>, message: &str) -> bool {
    match code {
        Some("ObjectNotFoundException" | "ConcurrentUpdateException" | "FailedResourceAccessException") => true,
        Some("ValidationException") => message.contains("Unable to assume IAM role"),
        _ => false,
    }
}
async fn eventually<T, E, F, Fut>(what: &str, rid: &str, operation: &'static str, call: F) -> Result<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    use crate::kinds::support::retry::{self, Next, Policy};
    let policy = Policy { deadline: PROPAGATION, ..retry::AWS };
    retry::retry(what, policy, || async {
        match call().await {
            Ok(t) => Ok(t),
            Err(e) if passes(code(&e), e.message().unwrap_or("")) => {
                Err(Next::Retry(format!("{} ({})", e.message().unwrap_or("not visible yet"), code(&e).unwrap_or(""))))
            }
            Err(e) => Err(Next::Fail(aws_error(SERVICE, operation, rid, e).into())),
        }
    })
    .await
}

/// The scalable target of one dimension as DescribeScalableTargets answers now: (min, max).
async fn target(ctx: &AwsContext, rid: &str, dim: &str) -> Result<Option<(i64, i64)>> {
    let out = eventually(&format!("the scalable target {rid} {dim}"), rid, "DescribeScalableTargets", || {
        ctx.autoscaling
            .describe_scalable_targets()
            .service_namespace(aas::ServiceNamespace::Dynamodb)
            .resource_ids(rid)
            .scalable_dimension(aas::ScalableDimension::from(dim))
            .send()
    })
    .await?;
    Ok(out.scalable_targets().first().map(|t| (t.min_capacity().into(), t.max_capacity().into())))
}

/// Waits until DescribeScalableTargets shows the target as `want` (None: gone), a few reads in a
/// row: right after a write it may answer an empty list or the old range.
async fn wait_target(ctx: &AwsContext, rid: &str, dim: &str, want: Option<(i64, i64)>) -> Result<()> {
    let what = match want {
        Some((min, max)) => format!("the scalable target {rid} {dim} to show {min}..{max}"),
        None => format!("the scalable target {rid} {dim} to be gone"),
    };
    crate::kinds::support::wait::settled(&what, PROPAGATION, READS_IN_A_ROW, || async {
        let now = target(ctx, rid, dim).await?;
        Ok(if now == want {
            crate::kinds::support::wait::Poll::Done
        } else {
            crate::kinds::support::wait::Poll::Pending(match now {
                Some((a, b)) => format!("it shows {a}..{b}"),
                None => "not listed".into(),
            })
        })
    })
    .await
}

/// RegisterScalableTarget: idempotent, and re-registering changes min and max; then the wait
/// until the target shows (its policy is refused until then, rule 35).
pub async fn register(ctx: &AwsContext, table: &str, index: Option<&str>, dim: Dim, min: i64, max: i64) -> Result<()> {
    let rid = resource_id(table, index);
    let dimension = dimension(index, dim);
    eventually(&format!("the registration of {rid} {dimension}"), &rid, "RegisterScalableTarget", || {
        ctx.autoscaling
            .register_scalable_target()
            .service_namespace(aas::ServiceNamespace::Dynamodb)
            .resource_id(&rid)
            .scalable_dimension(aas::ScalableDimension::from(dimension.as_str()))
            .min_capacity(units(min))
            .max_capacity(units(max))
            .send()
    })
    .await?;
    wait_target(ctx, &rid, &dimension, Some((units(min).into(), units(max).into()))).await
}

/// PutScalingPolicy: a target-tracking policy on the dimension's utilization (an existing name
/// is updated in place); refused while the target is not visible yet, which is retried.
pub async fn put_policy(ctx: &AwsContext, table: &str, index: Option<&str>, dim: Dim, policy: &str, target: f64) -> Result<()> {
    let rid = resource_id(table, index);
    let metric = aas::PredefinedMetricSpecification::builder().predefined_metric_type(aas::MetricType::from(dim.metric())).build()?;
    let config =
        aas::TargetTrackingScalingPolicyConfiguration::builder().target_value(target).predefined_metric_specification(metric).build()?;
    eventually(&format!("the scaling policy {policy}"), &rid, "PutScalingPolicy", || {
        ctx.autoscaling
            .put_scaling_policy()
            .policy_name(policy)
            .service_namespace(aas::ServiceNamespace::Dynamodb)
            .resource_id(&rid)
            .scalable_dimension(aas::ScalableDimension::from(dimension(index, dim).as_str()))
            .policy_type(aas::PolicyType::TargetTrackingScaling)
            .target_tracking_scaling_policy_configuration(config.clone())
            .send()
    })
    .await?;
    Ok(())
}

/// DeregisterScalableTarget (its policies go with it); a target already gone is done. Then the
/// wait until it is no longer listed.
pub async fn deregister(ctx: &AwsContext, table: &str, index: Option<&str>, dim: Dim) -> Result<()> {
    use crate::kinds::support::retry::{self, Next, Policy};
    let rid = resource_id(table, index);
    let dimension = dimension(index, dim);
    let policy = Policy { deadline: PROPAGATION, ..retry::AWS };
    retry::retry(&format!("the deregistration of {rid} {dimension}"), policy, || async {
        match ctx
            .autoscaling
            .deregister_scalable_target()
            .service_namespace(aas::ServiceNamespace::Dynamodb)
            .resource_id(&rid)
            .scalable_dimension(aas::ScalableDimension::from(dimension.as_str()))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if code(&e) == Some("ObjectNotFoundException") => Ok(()),
            Err(e) if passes(code(&e), e.message().unwrap_or("")) => {
                Err(Next::Retry(format!("{} ({})", e.message().unwrap_or("pending"), code(&e).unwrap_or(""))))
            }
            Err(e) => Err(Next::Fail(aws_error(SERVICE, "DeregisterScalableTarget", &rid, e).into())),
        }
    })
    .await?;
    wait_target(ctx, &rid, &dimension, None).await
}
