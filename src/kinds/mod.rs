//! The resource kinds. Each kind is a module with `observe`, a pure `diff` and `execute`;
//! this module reads all of them concurrently, plans them in dependency order and dispatches
//! steps. Adding a kind: a module, a variant of [`Op`], and a line in each function below.

pub mod endpoint;
pub mod function;
pub mod mapping;
pub mod role;
pub mod table;
pub mod wait;

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use futures::{StreamExt, stream};
use serde::{Deserialize, Serialize};

use crate::aws::{AwsContext, aws_error};
use crate::plan::{Plan, Step};
use crate::spec::refs::RefContext;
use crate::spec::{Desired, Resources};

/// How many reads run at once: enough to overlap round trips, few enough for AWS's limits.
const READ_CONCURRENCY: usize = 16;

/// One step's operation, by kind.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", content = "call", rename_all = "snake_case")]
pub enum Op {
    DynamodbTable(table::TableOp),
    IamRole(role::RoleOp),
    VpcEndpoint(endpoint::EndpointOp),
    LambdaFunction(function::FunctionOp),
    LambdaEventSourceMapping(mapping::MappingOp),
}

/// Everything read from AWS for one spec.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Live {
    /// When the reads started (milliseconds since the epoch): seeds client tokens.
    pub observed_at: String,
    pub account_id: String,
    pub partition: String,
    pub tables: BTreeMap<String, Option<table::LiveTable>>,
    pub roles: BTreeMap<String, Option<role::LiveRole>>,
    pub endpoints: BTreeMap<String, endpoint::LiveVpcSide>,
    pub functions: BTreeMap<String, function::LiveFunctionSide>,
    /// Every event source mapping of each declared function.
    pub mappings: BTreeMap<String, Vec<mapping::LiveMapping>>,
}

/// Reads every declared resource of one kind, at most READ_CONCURRENCY at once; an error says
/// which resource it was reading.
async fn read_each<'a, S, T, F, Fut>(kind: &str, items: &'a BTreeMap<String, S>, read: F) -> Result<BTreeMap<String, T>>
where
    F: Fn(&'a String, &'a S) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let results: Vec<(String, Result<T>)> = stream::iter(items.iter().map(|(name, spec)| {
        let read = read(name, spec);
        async move { (name.clone(), read.await) }
    }))
    .buffer_unordered(READ_CONCURRENCY)
    .collect()
    .await;
    results.into_iter().map(|(name, r)| r.with_context(|| format!("reading {kind}.{name}")).map(|t| (name, t))).collect()
}

/// Reads the caller's identity and every declared resource, concurrently.
pub async fn observe(ctx: &AwsContext, desired: &Desired) -> Result<Live> {
    let observed_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis().to_string())
        .unwrap_or_default();
    let r = &desired.resources;
    let identity = async {
        ctx.sts.get_caller_identity().send().await.map_err(|e| aws_error("STS", "GetCallerIdentity", "the caller", e))
    };
    let tables = read_each(table::KIND, &r.tables, |name, _| table::observe(ctx, name));
    let roles = read_each(role::KIND, &r.roles, |name, _| role::observe(ctx, name));
    let endpoints = read_each(endpoint::KIND, &r.vpc_endpoints, |name, spec| async move {
        endpoint::observe(ctx, spec, &endpoint_tags(desired, name)).await
    });
    let functions = read_each(function::KIND, &r.functions, |name, spec| async move {
        let with_triggers = !spec.triggers.is_empty();
        // Mappings by name at once; by ARN (a mapping made with the ARN is not always listed
        // by name) once GetFunction has said it.
        let by_arn = async {
            let f = function::observe(ctx, name, spec.vpc.as_deref()).await?;
            let m = match (&f.function, with_triggers) {
                (Some(x), true) => mapping::list(ctx, &x.arn).await?,
                _ => Vec::new(),
            };
            anyhow::Ok((f, m))
        };
        let by_name = async { if with_triggers { mapping::list(ctx, name).await } else { Ok(Vec::new()) } };
        let ((f, mut m), more) = tokio::try_join!(by_arn, by_name)?;
        mapping::merge(&mut m, more);
        anyhow::Ok((f, m))
    });
    let (identity, tables, roles, endpoints, functions) = tokio::join!(identity, tables, roles, endpoints, functions);
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
    let (tables, roles, endpoints, functions) = (tables?, roles?, endpoints?, functions?);
    let mut live_functions = BTreeMap::new();
    let mut live_mappings = BTreeMap::new();
    for (name, (f, m)) in functions {
        live_functions.insert(name.clone(), f);
        live_mappings.insert(name, m);
    }
    Ok(Live {
        observed_at,
        account_id,
        partition,
        tables,
        roles,
        endpoints,
        functions: live_functions,
        mappings: live_mappings,
    })
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
        tags.insert(k.clone(), refs.resolve(v).0);
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

/// The tags that identify one endpoint of the spec as ours.
pub fn endpoint_tags(desired: &Desired, name: &str) -> BTreeMap<String, String> {
    let mut t = own_tags(desired);
    t.insert(endpoint::NAME_TAG.to_string(), name.to_string());
    t
}

/// An idempotency token for a create: the same for every retry of one plan's step, new for
/// the next plan (EC2 remembers tokens, so a fixed one could return a deleted endpoint).
fn client_token(desired: &Desired, name: &str, observed_at: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{}/{}/{name}/{observed_at}", desired.stack, desired.env));
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// A policy file resolved against what is known now (null when it does not parse), and
/// whether every value in it was known.
fn resolved_document(desired: &Desired, file: &str, refs: &RefContext) -> (serde_json::Value, bool) {
    let template = desired.files.get(file).cloned().unwrap_or_default();
    let (text, complete) = refs.resolve(&template);
    (serde_json::from_str(&text).unwrap_or(serde_json::Value::Null), complete)
}

/// A role as the spec wants it: policy files resolved against what is known now.
fn desired_role(desired: &Desired, spec: &crate::spec::RoleSpec, refs: &RefContext) -> role::DesiredRole {
    let inline = spec
        .inline_policies
        .iter()
        .map(|(p, file)| {
            // Validation proved the template is JSON; a resolved value cannot break that.
            let (document, complete) = resolved_document(desired, file, refs);
            let late_template = (!complete).then(|| desired.files.get(file).cloned().unwrap_or_default());
            (p.clone(), role::InlinePolicy { document, late_template })
        })
        .collect();
    role::DesiredRole {
        trust: role::trust_document(&spec.trust),
        description: spec.description.clone(),
        managed: spec.managed_policies.iter().cloned().collect(),
        inline,
        tags: resolved_tags(&spec.tags, desired, refs),
    }
}

/// A function as the spec wants it: its role's ARN, its network, references resolved.
fn desired_function(
    desired: &Desired,
    live: &Live,
    name: &str,
    spec: &crate::spec::FunctionSpec,
    live_f: &function::LiveFunctionSide,
    refs: &RefContext,
) -> function::DesiredFunction {
    let role_arn = if desired.resources.roles.contains_key(&spec.role) {
        format!("arn:{}:iam::{}:role/{}", live.partition, live.account_id, spec.role)
    } else {
        spec.role.clone()
    };
    let mut environment = BTreeMap::new();
    let mut late_environment = BTreeMap::new();
    for (k, v) in &spec.environment {
        match refs.resolve(v) {
            (text, true) => environment.insert(k.clone(), text),
            (_, false) => late_environment.insert(k.clone(), v.clone()),
        };
    }
    function::DesiredFunction {
        config: function::FunctionConfig {
            runtime: spec.runtime.clone(),
            handler: spec.handler.clone(),
            role_arn,
            memory_mb: spec.memory_mb,
            timeout_s: spec.timeout_s,
            environment,
            late_environment,
            sensitive: spec.sensitive.iter().cloned().collect(),
            subnets: live_f.subnets.clone(),
            security_groups: live_f.security_groups.clone(),
            description: spec.description.as_ref().map(|d| refs.resolve(d).0),
        },
        source: desired.base_dir.join(&spec.source),
        code_sha256: desired.code.get(name).cloned().unwrap_or_default(),
        tags: resolved_tags(&spec.tags, desired, refs),
    }
}

/// Resolves a template during apply, when values that did not exist at plan time (the stream
/// ARN of a table created by this apply) do.
pub async fn resolve_late(ctx: &AwsContext, template: &str) -> Result<String> {
    let identity = ctx.sts.get_caller_identity().send().await.map_err(|e| aws_error("STS", "GetCallerIdentity", "the caller", e))?;
    let mut refs = RefContext {
        region: ctx.region.clone(),
        account_id: identity.account().map(str::to_string),
        partition: identity.arn().and_then(|a| a.split(':').nth(1)).unwrap_or("aws").to_string(),
        stream_arns: BTreeMap::new(),
    };
    for t in crate::spec::refs::stream_tables(template) {
        if let Some(arn) = table::observe(ctx, &t).await?.and_then(|l| l.stream_arn) {
            refs.stream_arns.insert(t, arn);
        }
    }
    let (text, complete) = refs.resolve(template);
    if !complete {
        bail!("a value in this document is still unknown after the steps before it: {text}");
    }
    Ok(text)
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
    for (name, spec) in &r.vpc_endpoints {
        let Some(live_e) = live.endpoints.get(name) else { continue };
        let policy = spec.policy.as_ref().map(|f| resolved_document(desired, f, &refs).0);
        let token = client_token(desired, name, &live.observed_at);
        let (change, steps) = endpoint::diff(name, spec, policy.as_ref(), &endpoint_tags(desired, name), live_e, &token);
        plan.push(change, steps);
    }
    for (name, spec) in &r.roles {
        let want = desired_role(desired, spec, &refs);
        let live_r = live.roles.get(name).and_then(|x| x.as_ref());
        let (change, steps) = role::diff(name, &want, live_r);
        plan.push(change, steps);
    }
    for (name, spec) in &r.functions {
        let Some(live_f) = live.functions.get(name) else { continue };
        let want = desired_function(desired, live, name, spec, live_f, &refs);
        let (change, steps) = function::diff(name, &want, live_f);
        plan.push(change, steps);
    }
    // A table whose stream ARN this apply changes: its mappings are replaced (the cascade).
    let new_streams: std::collections::BTreeSet<String> = plan
        .steps
        .iter()
        .filter_map(|s| match &s.op {
            Op::DynamodbTable(table::TableOp::CreateTable { name, .. } | table::TableOp::EnableStream { name, .. }) => Some(name.clone()),
            _ => None,
        })
        .collect();
    let empty = Vec::new();
    for (name, spec) in &r.functions {
        let live_m = live.mappings.get(name).unwrap_or(&empty);
        for (address, trigger) in mapping_addresses(name, spec).into_iter().zip(&spec.triggers) {
            let t = &trigger.table;
            let stream = mapping::TableStream {
                name: t,
                table_arn: format!("arn:{}:dynamodb:{}:{}:table/{t}", live.partition, desired.region, live.account_id),
                current: live.tables.get(t).and_then(|x| x.as_ref()).and_then(|x| x.stream_arn.as_deref()),
                changes: new_streams.contains(t),
            };
            let (change, steps) = mapping::diff(&address, name, trigger, &stream, live_m);
            plan.push(change, steps);
        }
    }
    plan
}

/// The tables and roles that references in `text` name, as addresses. With `hard`, only those
/// whose value exists only once the resource does (a stream ARN): a table's or a role's ARN can
/// be written into a policy before the resource exists.
fn referenced(text: &str, hard: bool) -> Vec<String> {
    use crate::spec::refs::{Reference, occurrences, parse_syntax};
    occurrences(text)
        .into_iter()
        .filter_map(|o| match parse_syntax(&o.expr).ok()? {
            Reference::TableStreamArn(t) => Some(format!("{}.{t}", table::KIND)),
            Reference::TableName(t) | Reference::TableArn(t) if !hard => Some(format!("{}.{t}", table::KIND)),
            Reference::RoleName(r) | Reference::RoleArn(r) if !hard => Some(format!("{}.{r}", role::KIND)),
            _ => None,
        })
        .collect()
}

/// What one resource refers to (`hard`: what must exist before it can be made).
pub fn dependencies(desired: &Desired, address: &str, hard: bool) -> Vec<String> {
    let r = &desired.resources;
    let file_refs = |f: &String| desired.files.get(f).map(|t| referenced(t, hard)).unwrap_or_default();
    let (kind, name) = address.split_once('.').unwrap_or((address, ""));
    match kind {
        "vpc_endpoint" => r.vpc_endpoints.get(name).and_then(|e| e.policy.as_ref()).map(file_refs).unwrap_or_default(),
        "iam_role" => r.roles.get(name).map(|x| x.inline_policies.values().flat_map(file_refs).collect()).unwrap_or_default(),
        "lambda_function" => r
            .functions
            .get(name)
            .map(|f| {
                let mut d: Vec<String> = f.environment.values().flat_map(|v| referenced(v, hard)).collect();
                if r.roles.contains_key(&f.role) {
                    d.push(format!("{}.{}", role::KIND, f.role));
                }
                d
            })
            .unwrap_or_default(),
        "lambda_event_source_mapping" => {
            for (f, spec) in &r.functions {
                for (a, t) in mapping_addresses(f, spec).into_iter().zip(&spec.triggers) {
                    if a == address {
                        return vec![format!("{}.{f}", function::KIND), format!("{}.{}", table::KIND, t.table)];
                    }
                }
            }
            vec![]
        }
        _ => vec![],
    }
}

/// The targets and everything they depend on, transitively.
pub fn closure(desired: &Desired, targets: &[String]) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    let mut todo: Vec<String> = targets.to_vec();
    while let Some(a) = todo.pop() {
        if out.insert(a.clone()) {
            todo.extend(dependencies(desired, &a, false));
        }
    }
    out
}

/// The spec cut down to `targets` and their dependencies, so that only those are read.
pub fn targeted(desired: &Desired, targets: &[String]) -> Result<Desired> {
    let known = addresses(&desired.resources);
    for t in targets {
        if !known.contains(t) {
            bail!("--target {t}: no such resource in the spec; the spec declares: {}", known.join(", "));
        }
    }
    let keep = closure(desired, targets);
    let mut d = desired.clone();
    d.resources.tables.retain(|n, _| keep.contains(&format!("{}.{n}", table::KIND)));
    d.resources.vpc_endpoints.retain(|n, _| keep.contains(&format!("{}.{n}", endpoint::KIND)));
    d.resources.roles.retain(|n, _| keep.contains(&format!("{}.{n}", role::KIND)));
    d.resources.functions.retain(|n, _| keep.contains(&format!("{}.{n}", function::KIND)));
    Ok(d)
}

/// The plan with only the changes and steps of `keep`, in the plan's order.
pub fn restrict(plan: Plan, keep: &std::collections::BTreeSet<String>) -> Plan {
    let mut out = Plan::new(&plan.stack, &plan.env, &plan.region, &plan.account_id);
    for c in plan.changes.into_iter().filter(|c| keep.contains(&c.address)) {
        out.push(c, vec![]);
    }
    out.steps = plan.steps.into_iter().filter(|s| keep.contains(&s.address)).collect();
    out
}

/// True when `tags` say this stack's env made the resource.
fn ours(tags: &BTreeMap<String, String>, desired: &Desired) -> bool {
    own_tags(desired).iter().all(|(k, v)| tags.get(k) == Some(v))
}

fn destroy_change(address: String, steps: Vec<Step>, left_alone: Option<String>, plan: &mut Plan) {
    match left_alone {
        Some(why) => {
            let mut c = crate::plan::ResourceChange::new(address, crate::plan::Action::NoOp);
            c.reason = Some(why);
            plan.push(c, vec![]);
        }
        None if steps.is_empty() => plan.push(crate::plan::ResourceChange::new(address, crate::plan::Action::NoOp), vec![]),
        None => {
            let mut c = crate::plan::ResourceChange::new(address, crate::plan::Action::Delete);
            c.diffs.push(crate::plan::FieldDiff::new("exists", true, false));
            plan.push(c, steps);
        }
    }
}

/// The plan of `destroy`: every declared resource that exists and is tagged as this stack's
/// env's, deleted in reverse dependency order. A table with deletion protection is never
/// deleted, and nothing someone else made is touched: both are listed as left alone.
pub fn destroy_plan(desired: &Desired, live: &Live) -> Plan {
    let mut plan = Plan::new(&desired.stack, &desired.env, &desired.region, &live.account_id);
    let r = &desired.resources;
    let step = |address: &str, description: String, op: Op| Step { address: address.into(), description, op };
    let not_ours = "not tagged as made by this stack and env: left alone".to_string();
    for (name, spec) in &r.functions {
        let f = live.functions.get(name).and_then(|f| f.function.as_ref());
        let mine = f.is_some_and(|f| ours(&f.tags, desired));
        let mappings = live.mappings.get(name).cloned().unwrap_or_default();
        for (address, trigger) in mapping_addresses(name, spec).into_iter().zip(&spec.triggers) {
            let prefix = format!(":table/{}/stream/", trigger.table);
            let steps: Vec<Step> = mappings
                .iter()
                .filter(|m| m.source_arn.contains(&prefix))
                .map(|m| {
                    step(&address, format!("delete the mapping {} of {name}", m.uuid), Op::LambdaEventSourceMapping(mapping::MappingOp::Delete { function: name.clone(), uuid: m.uuid.clone() }))
                })
                .collect();
            let left = (!steps.is_empty() && !mine).then(|| "its function is not this stack's: left alone".to_string());
            destroy_change(address, if mine { steps } else { vec![] }, left, &mut plan);
        }
    }
    for name in r.functions.keys() {
        let address = format!("{}.{name}", function::KIND);
        let f = live.functions.get(name).and_then(|f| f.function.as_ref());
        let steps = vec![step(&address, format!("delete function {name}"), Op::LambdaFunction(function::FunctionOp::Delete { name: name.clone() }))];
        match f {
            None => destroy_change(address, vec![], None, &mut plan),
            Some(f) if !ours(&f.tags, desired) => destroy_change(address, vec![], Some(not_ours.clone()), &mut plan),
            Some(_) => destroy_change(address, steps, None, &mut plan),
        }
    }
    for name in r.roles.keys() {
        let address = format!("{}.{name}", role::KIND);
        match live.roles.get(name).and_then(|x| x.as_ref()) {
            None => destroy_change(address, vec![], None, &mut plan),
            Some(x) if !ours(&x.tags, desired) => destroy_change(address, vec![], Some(not_ours.clone()), &mut plan),
            Some(_) => {
                let s = vec![step(&address, format!("delete role {name} and its policies"), Op::IamRole(role::RoleOp::DeleteRole { name: name.clone() }))];
                destroy_change(address, s, None, &mut plan)
            }
        }
    }
    for name in r.vpc_endpoints.keys() {
        let address = format!("{}.{name}", endpoint::KIND);
        // Only ours is ever found; someone else's is listed among `foreign`.
        match live.endpoints.get(name).and_then(|e| e.endpoint.as_ref()) {
            Some(e) => {
                let s = vec![step(&address, format!("delete endpoint {}", e.id), Op::VpcEndpoint(endpoint::EndpointOp::Delete { id: e.id.clone() }))];
                destroy_change(address, s, None, &mut plan)
            }
            None => destroy_change(address, vec![], None, &mut plan),
        }
    }
    for name in r.tables.keys() {
        let address = format!("{}.{name}", table::KIND);
        match live.tables.get(name).and_then(|t| t.as_ref()) {
            None => destroy_change(address, vec![], None, &mut plan),
            Some(t) if t.deletion_protection => destroy_change(
                address,
                vec![],
                Some("deletion protection is on: a protected table is never deleted".into()),
                &mut plan,
            ),
            Some(t) if !ours(&t.tags, desired) => destroy_change(address, vec![], Some(not_ours.clone()), &mut plan),
            Some(_) => {
                let s = vec![
                    step(&address, format!("delete table {name} (all items are lost)"), Op::DynamodbTable(table::TableOp::DeleteTable { name: name.clone() })),
                    step(&address, format!("wait until table {name} is deleted"), Op::DynamodbTable(table::TableOp::WaitDeleted { name: name.clone() })),
                ];
                destroy_change(address.clone(), s, None, &mut plan);
                if let Some(c) = plan.changes.last_mut() {
                    c.destructive = true;
                }
            }
        }
    }
    plan
}

/// Runs one step.
pub async fn execute(ctx: &AwsContext, step: &Step) -> Result<()> {
    match &step.op {
        Op::DynamodbTable(op) => table::execute(ctx, op).await,
        Op::IamRole(op) => role::execute(ctx, op).await,
        Op::VpcEndpoint(op) => endpoint::execute(ctx, op).await,
        Op::LambdaFunction(op) => function::execute(ctx, op).await,
        Op::LambdaEventSourceMapping(op) => mapping::execute(ctx, op).await,
    }
}
