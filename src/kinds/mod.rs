//! The resource kinds. Each kind is a module with `observe`, a pure `diff` and `execute`;
//! this module reads all of them concurrently, plans them in dependency order and dispatches
//! steps. Adding a kind: a module, a variant of [`Op`], and a line in each function below.

pub mod table;
pub mod wait;

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use futures::{StreamExt, stream};
use serde::{Deserialize, Serialize};

use crate::aws::{AwsContext, aws_error};
use crate::plan::{Action, Plan, ResourceChange, Step};
use crate::spec::refs::RefContext;
use crate::spec::{Desired, Resources};

/// How many reads run at once: enough to overlap round trips, few enough for AWS's limits.
const READ_CONCURRENCY: usize = 16;

/// One step's operation, by kind.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", content = "call", rename_all = "snake_case")]
pub enum Op {
    DynamodbTable(table::TableOp),
}

/// Everything read from AWS for one spec.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Live {
    pub account_id: String,
    pub partition: String,
    pub tables: BTreeMap<String, Option<table::LiveTable>>,
}

/// Reads the caller's identity and every declared resource, concurrently.
pub async fn observe(ctx: &AwsContext, desired: &Desired) -> Result<Live> {
    let identity = async {
        ctx.sts.get_caller_identity().send().await.map_err(|e| aws_error("STS", "GetCallerIdentity", "the caller", e))
    };
    let tables = stream::iter(desired.resources.tables.keys().cloned())
        .map(|name| async move {
            let live = table::observe(ctx, &name).await;
            (name, live)
        })
        .buffer_unordered(READ_CONCURRENCY)
        .collect::<Vec<_>>();
    let (identity, tables) = tokio::join!(identity, tables);
    let identity = identity?;
    let account_id = identity.account.clone().context("GetCallerIdentity returned no account")?;
    let partition = identity.arn().and_then(|a| a.split(':').nth(1)).unwrap_or("aws").to_string();
    if let Some(want) = &desired.account_id {
        if *want != account_id {
            bail!(
                "refusing to touch account {account_id}: env `{}` is pinned to account {want} (environments.{}.account_id). \
                 Use credentials of account {want}, or another --env.",
                desired.env,
                desired.env
            );
        }
    }
    let mut out = BTreeMap::new();
    for (name, live) in tables {
        out.insert(name, live?);
    }
    Ok(Live { account_id, partition, tables: out })
}

/// The tags the tool puts on everything it manages, beside the user's own.
pub fn own_tags(desired: &Desired) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("managed-by".to_string(), "cruddur-infra".to_string()),
        ("cruddur-infra:stack".to_string(), desired.stack.clone()),
        ("cruddur-infra:env".to_string(), desired.env.clone()),
    ])
}

fn resolved_tags(user: &BTreeMap<String, String>, desired: &Desired, refs: &RefContext) -> BTreeMap<String, String> {
    let mut tags = own_tags(desired);
    for (k, v) in user {
        tags.insert(k.clone(), refs.resolve(v, &desired.resources).0);
    }
    tags
}

pub fn ref_context(desired: &Desired, live: &Live) -> RefContext {
    RefContext {
        region: desired.region.clone(),
        account_id: Some(live.account_id.clone()),
        partition: live.partition.clone(),
        stream_arns: live
            .tables
            .iter()
            .filter_map(|(n, t)| Some((n.clone(), t.as_ref()?.stream_arn.clone()?)))
            .collect(),
    }
}

fn unsupported(address: String, what: &str) -> ResourceChange {
    let mut c = ResourceChange::new(address, Action::Unsupported);
    c.reason = Some(format!("managing {what} is not implemented in this version: it was not read and will not be changed"));
    c
}

/// The addresses of the resources a spec declares, in dependency order.
pub fn addresses(r: &Resources) -> Vec<String> {
    let mut out: Vec<String> = r.tables.keys().map(|n| format!("{}.{n}", table::KIND)).collect();
    out.extend(r.vpc_endpoints.keys().map(|n| format!("vpc_endpoint.{n}")));
    out.extend(r.roles.keys().map(|n| format!("iam_role.{n}")));
    out.extend(r.functions.keys().map(|n| format!("lambda_function.{n}")));
    for (n, f) in &r.functions {
        out.extend(mapping_addresses(n, f));
    }
    out
}

/// A function's mapping is `lambda_event_source_mapping.FUNCTION`, or `FUNCTION.TABLE` when
/// the function has several triggers.
fn mapping_addresses(name: &str, f: &crate::spec::FunctionSpec) -> Vec<String> {
    match f.triggers.as_slice() {
        [] => vec![],
        [_] => vec![format!("lambda_event_source_mapping.{name}")],
        many => many.iter().map(|t| format!("lambda_event_source_mapping.{name}.{}", t.table)).collect(),
    }
}

/// The pure diff of the whole spec: every declared resource appears, in dependency order.
pub fn plan(desired: &Desired, live: &Live) -> Plan {
    let mut plan = Plan::new(&desired.stack, &desired.env, &desired.region, &live.account_id);
    let refs = ref_context(desired, live);
    let r = &desired.resources;
    for (name, spec) in &r.tables {
        let tags = resolved_tags(&spec.tags, desired, &refs);
        let live_t = live.tables.get(name).and_then(|t| t.as_ref());
        let (change, steps) = table::diff(name, spec, &tags, live_t);
        plan.push(change, steps);
    }
    for n in r.vpc_endpoints.keys() {
        plan.push(unsupported(format!("vpc_endpoint.{n}"), "VPC endpoints"), vec![]);
    }
    for n in r.roles.keys() {
        plan.push(unsupported(format!("iam_role.{n}"), "IAM roles"), vec![]);
    }
    for n in r.functions.keys() {
        plan.push(unsupported(format!("lambda_function.{n}"), "Lambda functions"), vec![]);
    }
    for (n, f) in &r.functions {
        for a in mapping_addresses(n, f) {
            plan.push(unsupported(a, "event source mappings"), vec![]);
        }
    }
    plan
}

/// Runs one step.
pub async fn execute(ctx: &AwsContext, step: &Step) -> Result<()> {
    match &step.op {
        Op::DynamodbTable(op) => table::execute(ctx, op).await,
    }
}
