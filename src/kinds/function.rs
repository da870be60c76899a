//! `lambda_function`: configuration and deterministic code, under Lambda's rules
//! (aws-rules.md 8, 10–12): wait for the role to be assumable, one update at a time
//! (config → wait → code → wait), RevisionId on updates.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types as lam;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::aws::{aws_error, code, AwsContext};
use crate::plan::{Action, FieldDiff, ResourceChange, Step};
use crate::spec::{Desired, FunctionSpec, Resources};

use super::{endpoint, wait, Declared, Kind, LiveData, Op, PlanContext, Planned};

pub const KIND: &str = "lambda_function";

/// The Lambda function kind.
pub struct Functions;

/// A function as the spec wants it: its role's ARN, its network, references resolved.
fn desired_function(cx: &PlanContext, name: &str, spec: &FunctionSpec, live_f: &LiveFunctionSide) -> DesiredFunction {
    let (desired, live, refs) = (cx.desired, cx.live, cx.refs);
    let role_arn = if desired.resources.roles.contains_key(&spec.role) {
        refs.role_arn(&spec.role)
            .unwrap_or_else(|| format!("arn:{}:iam::{}:role/{}", live.partition, live.account_id, desired.aws_name(&spec.role)))
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
    DesiredFunction {
        config: FunctionConfig {
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
            tracing: spec.tracing.map(|t| format!("{t:?}")),
        },
        architecture: spec.architecture.map(|a| a.aws().to_string()),
        log_retention_days: spec.log_retention_days,
        reserved_concurrency: spec.reserved_concurrency,
        source: desired.base_dir.join(&spec.source),
        code_sha256: desired.code.get(name).cloned().unwrap_or_default(),
        tags: super::resolved_tags(&spec.tags, desired, refs),
    }
}

impl Kind for Functions {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn section(&self) -> Option<&'static str> {
        Some("functions")
    }

    fn declared(&self, desired: &Desired) -> Vec<Declared> {
        let roles = &desired.resources.roles;
        let r = &desired.resources.functions;
        r.iter()
            .map(|(n, f)| {
                let texts: Vec<&str> = f.environment.values().map(String::as_str).collect();
                let role = roles.contains_key(&f.role).then(|| format!("{}.{}", super::role::KIND, f.role));
                super::declared_with(format!("{KIND}.{n}"), &texts, role.into_iter().collect())
            })
            .collect()
    }

    fn retain(&self, resources: &mut Resources, keep: &dyn Fn(&str) -> bool) {
        resources.functions.retain(|n, _| keep(&format!("{KIND}.{n}")));
    }

    fn secrets(&self, desired: &Desired) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (name, f) in &desired.resources.functions {
            for (k, v) in &f.environment {
                if looks_secret(k) || f.sensitive.contains(k) {
                    out.insert(format!("{KIND}.{name} environment.{k}"), v.clone());
                }
            }
        }
        out
    }

    fn observe<'a>(&'a self, ctx: &'a AwsContext, desired: &'a Desired) -> BoxFuture<'a, Result<Box<dyn LiveData>>> {
        Box::pin(async move {
            let r = &desired.resources.functions;
            let read = super::read_each(KIND, r, |name, spec| {
                let aws = desired.aws_name(name);
                let want = desired.code.get(name).cloned().unwrap_or_default();
                let source = desired.base_dir.join(&spec.source);
                // Named subnets and groups are the placement as given; `vpc` is read from EC2.
                let vpc = if spec.subnets.is_empty() { spec.vpc.as_deref() } else { None };
                async move {
                    // The log group is read alongside the function, not after it.
                    let logs = async {
                        match spec.log_retention_days {
                            Some(_) => read_log_group(ctx, &aws).await.map(Some),
                            None => Ok(None),
                        }
                    };
                    let reserved = async {
                        match spec.reserved_concurrency {
                            Some(_) => read_concurrency(ctx, &aws).await.map(Some),
                            None => Ok(None),
                        }
                    };
                    let (mut side, log_group, reserved) = tokio::try_join!(observe(ctx, &aws, vpc), logs, reserved)?;
                    (side.log_group, side.reserved_concurrency) = (log_group, reserved);
                    if !spec.subnets.is_empty() {
                        side.subnets = spec.subnets.iter().cloned().collect();
                        side.security_groups = spec.security_groups.iter().cloned().collect();
                    }
                    if let Some(f) = side.function.as_mut() {
                        compare_code(f, &want, &source).await;
                    }
                    anyhow::Ok(side)
                }
            });
            super::boxed(read.await)
        })
    }

    fn diff(&self, cx: &PlanContext) -> Vec<Planned> {
        let mut out = Vec::new();
        for (name, spec) in &cx.desired.resources.functions {
            let Some(live) = cx.live.get::<LiveFunctionSide>(KIND, name) else { continue };
            let want = desired_function(cx, name, spec, live);
            let aws = cx.desired.aws_name(name);
            let tags = live.function.as_ref().map(|f| &f.tags);
            out.push(super::found_by_name(KIND, name, cx.desired, tags, diff(&aws, &want, live)));
        }
        out
    }

    fn destroy(&self, cx: &PlanContext) -> Vec<(ResourceChange, Vec<Step>)> {
        let mut out = Vec::new();
        for name in cx.desired.resources.functions.keys() {
            let address = format!("{KIND}.{name}");
            let aws = cx.desired.aws_name(name);
            let steps = vec![step(&address, format!("delete function {aws}"), FunctionOp::Delete { name: aws.clone() })];
            out.push(match cx.live.get::<LiveFunctionSide>(KIND, name).and_then(|f| f.function.as_ref()) {
                None => super::destroy_change(address, vec![], None),
                Some(f) if !super::ours(&f.tags, cx.desired) => super::destroy_change(address, vec![], Some(super::NOT_OURS.into())),
                Some(_) => super::destroy_change(address, steps, None),
            });
        }
        out
    }

    fn tagging_type(&self) -> Option<&'static str> {
        Some(TAGGING_TYPE)
    }

    fn discover<'a>(
        &'a self,
        ctx: &'a AwsContext,
        desired: &'a Desired,
        tagged: &'a super::Tagged<'a>,
    ) -> BoxFuture<'a, Result<Option<Box<dyn LiveData>>>> {
        Box::pin(async move {
            let names = tagged.names(TAGGING_TYPE).await?;
            let declared = |k: &str| desired.resources.functions.contains_key(k);
            super::read_undeclared(KIND, names, desired, declared, |aws| async move { Ok(observe(ctx, &aws, None).await?.function) }).await
        })
    }

    fn prune(&self, cx: &PlanContext) -> Vec<Planned> {
        let all = cx.live.orphans::<LiveFunction>(KIND).into_iter().flatten();
        all.filter(|(_, f)| super::owned(&f.tags, cx.desired))
            .map(|(key, f)| {
                let address = format!("{KIND}.{key}");
                let name = name_of(f);
                let delete = vec![step(&address, format!("delete function {name}"), FunctionOp::Delete { name: name.to_string() })];
                super::orphan_change(address.clone(), cx.desired, &f.tags, delete, |remove| untag(&address, f, remove))
            })
            .collect()
    }

    fn forget(&self, cx: &PlanContext, address: &str) -> Option<(ResourceChange, Vec<Step>)> {
        let key = address.strip_prefix(&format!("{KIND}."))?;
        let declared = cx.live.get::<LiveFunctionSide>(KIND, key).and_then(|f| f.function.as_ref());
        let f = declared.or_else(|| cx.live.orphans::<LiveFunction>(KIND)?.get(key))?;
        super::ours(&f.tags, cx.desired).then(|| super::forget_change(address, &f.tags, |remove| untag(address, f, remove)))
    }

    fn import<'a>(&'a self, ctx: &'a AwsContext, name: &'a str) -> BoxFuture<'a, Result<Option<super::Imported>>> {
        Box::pin(import(ctx, name))
    }

    fn parse_op(&self, call: serde_json::Value) -> Result<Op, serde_json::Error> {
        super::parse_op::<FunctionOp>(KIND, call)
    }

    fn execute<'a>(&'a self, ctx: &'a AwsContext, op: &'a Op) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { execute(ctx, op.expect::<FunctionOp>()?).await })
    }
}

/// The Resource Groups Tagging API's name for functions.
pub const TAGGING_TYPE: &str = "lambda:function";

/// The step that removes this stack's tags from a function.
fn untag(address: &str, f: &LiveFunction, remove: Vec<String>) -> Vec<Step> {
    let name = name_of(f);
    let op = FunctionOp::Tag { name: name.to_string(), set: BTreeMap::new(), remove };
    vec![step(address, format!("remove this stack's tags from function {name}"), op)]
}

/// A function's name, from its ARN.
fn name_of(f: &LiveFunction) -> &str {
    f.arn.rsplit(':').next().unwrap_or(&f.arn)
}

/// How long apply waits for IAM to let Lambda assume a new role (rule 8).
const ROLE_PROPAGATION: Duration = Duration::from_secs(120);

/// What every output shows instead of a sensitive value.
pub const MASK: &str = "(sensitive)";

/// Whether an environment variable's name says its value is a secret.
pub fn looks_secret(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    ["SECRET", "PASSWORD", "PASSWD", "TOKEN", "PRIVATE", "API_KEY", "APIKEY", "ACCESS_KEY", "CREDENTIAL"].iter().any(|w| n.contains(w))
}

/// The configuration apply sets (everything but code and tags). Serialized (JSON plan, saved
/// plan) with sensitive values masked; the value in memory, which apply sends, is the real one.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct FunctionConfig {
    pub runtime: String,
    pub handler: String,
    pub role_arn: String,
    pub memory_mb: i64,
    pub timeout_s: i64,
    pub environment: BTreeMap<String, String>,
    /// Variables marked `sensitive` in the spec: masked like secret-looking names.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub sensitive: BTreeSet<String>,
    /// Variables whose value is known only during apply (a stream ARN made by this apply).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub late_environment: BTreeMap<String, String>,
    pub subnets: BTreeSet<String>,
    pub security_groups: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `PassThrough` or `Active`; the spec's only when it says one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<String>,
}

impl FunctionConfig {
    pub fn is_sensitive(&self, name: &str) -> bool {
        looks_secret(name) || self.sensitive.contains(name)
    }
}

impl Serialize for FunctionConfig {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Shown<'a> {
            runtime: &'a str,
            handler: &'a str,
            role_arn: &'a str,
            memory_mb: i64,
            timeout_s: i64,
            environment: BTreeMap<&'a str, &'a str>,
            #[serde(skip_serializing_if = "BTreeMap::is_empty")]
            late_environment: &'a BTreeMap<String, String>,
            #[serde(skip_serializing_if = "BTreeSet::is_empty")]
            sensitive: &'a BTreeSet<String>,
            subnets: &'a BTreeSet<String>,
            security_groups: &'a BTreeSet<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            description: &'a Option<String>,
        }
        Shown {
            runtime: &self.runtime,
            handler: &self.handler,
            role_arn: &self.role_arn,
            memory_mb: self.memory_mb,
            timeout_s: self.timeout_s,
            environment: self.environment.iter().map(|(k, v)| (k.as_str(), if self.is_sensitive(k) { MASK } else { v.as_str() })).collect(),
            late_environment: &self.late_environment,
            sensitive: &self.sensitive,
            subnets: &self.subnets,
            security_groups: &self.security_groups,
            description: &self.description,
        }
        .serialize(s)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DesiredFunction {
    pub config: FunctionConfig,
    /// The log group's retention, when the spec manages it.
    pub log_retention_days: Option<i64>,
    /// Reserved concurrency, when the spec manages it.
    pub reserved_concurrency: Option<i64>,
    /// `x86_64` or `arm64`, when the spec says one.
    pub architecture: Option<String>,
    pub source: PathBuf,
    pub code_sha256: String,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LiveFunction {
    pub arn: String,
    pub config: FunctionConfig,
    pub code_sha256: String,
    pub state: String,
    pub last_update_status: String,
    pub tags: BTreeMap<String, String>,
    #[serde(default = "x86")]
    pub architecture: String,
    /// GetFunction's `Code.Location`: a presigned URL, valid minutes, never kept or shown.
    #[serde(skip)]
    pub code_location: Option<String>,
    /// When `code_sha256` is not the local package's: the files whose content differs (empty:
    /// the same code in another zip). None when it was not compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_files_differ: Option<Vec<String>>,
}

/// Compares the deployed code with the local package by content, only when the hashes differ
/// (the usual plan downloads nothing): a zip made by another tool (the console, an import) has
/// other bytes for the same files. A download that fails is said, and the hashes decide.
async fn compare_code(f: &mut LiveFunction, want_sha256: &str, source: &Path) {
    let Some(url) = f.code_location.clone() else { return };
    if want_sha256.is_empty() || f.code_sha256 == want_sha256 {
        return;
    }
    let what = format!("the deployed code of function {}", f.config_name());
    let compared = async {
        let deployed = crate::package::read_zip(&crate::package::download(&url).await?, &what)?;
        let local = crate::package::build(source)?;
        let local = crate::package::read_zip(&local.bytes, &source.display().to_string())?;
        anyhow::Ok(crate::package::content_diff(&local, &deployed))
    };
    match compared.await {
        Ok(d) => f.code_files_differ = Some(d),
        Err(e) => crate::log::warn(&format!("{what} could not be compared by content ({e:#}); its hash differs, so it is deployed again")),
    }
}

/// `import`: a live function as spec, with its deployed code unpacked into
/// `lambda/NAME/`, and what it refers to followed (its role, its triggers' tables, the
/// DynamoDB gateway endpoint of its VPC).
async fn import(ctx: &AwsContext, name: &str) -> Result<Option<super::Imported>> {
    use crate::spec::{StartingPosition, TriggerSpec};
    let out = match ctx.lambda.get_function().function_name(name).send().await {
        Ok(o) => o,
        Err(e) if code(&e) == Some("ResourceNotFoundException") => return Ok(None),
        Err(e) => return Err(aws_error("Lambda", "GetFunction", name, e).into()),
    };
    let c = out.configuration().context("GetFunction returned no configuration")?;
    let config = config_of(c);
    let tags: BTreeMap<String, String> = out.tags().map(|t| t.clone().into_iter().collect()).unwrap_or_default();
    let role = config.role_arn.rsplit('/').next().unwrap_or_default().to_string();
    let mut notes = Vec::new();
    let mut comments = BTreeMap::new();

    // The code, unpacked safely: no entry outside the folder, no link, Lambda's size limit.
    let source = format!("lambda/{name}");
    let location = out.code().and_then(|c| c.location()).context("GetFunction gave no Code.Location for the deployed code")?;
    let what = format!("the deployed code of function {name}");
    let files = crate::package::read_zip(&crate::package::download(location).await?, &what)?;
    comments.insert("source".to_string(), "the deployed code, downloaded and unpacked here".to_string());

    // Its network: the whole default VPC says `vpc: default`; anything else, exactly.
    let (mut vpc, mut subnets, mut security_groups, mut network_of) = (None, Vec::new(), Vec::new(), "default".to_string());
    if !config.subnets.is_empty() {
        let first = config.subnets.iter().next().cloned().unwrap_or_default();
        let described =
            ctx.ec2.describe_subnets().subnet_ids(&first).send().await.map_err(|e| aws_error("EC2", "DescribeSubnets", &first, e))?;
        let vpc_id = described.subnets().first().and_then(|s| s.vpc_id()).unwrap_or_default().to_string();
        let default = endpoint::vpc_id(ctx, "default").await.ok();
        let whole = if default.as_deref() == Some(vpc_id.as_str()) { network(ctx, "default").await.ok() } else { None };
        if whole.is_some_and(|(s, g)| s == config.subnets && g == config.security_groups) {
            vpc = Some("default".to_string());
        } else {
            subnets = config.subnets.iter().cloned().collect();
            security_groups = config.security_groups.iter().cloned().collect();
            if default.as_deref() != Some(vpc_id.as_str()) {
                network_of = vpc_id;
            }
        }
    }

    let mut triggers = Vec::new();
    let mut tables = Vec::new();
    let mut queues = Vec::new();
    let d = super::mapping::Tuning::aws_default();
    for m in super::mapping::list(ctx, name).await? {
        if m.dying() {
            continue;
        }
        if !m.source_arn.contains(":dynamodb:") {
            notes.push(format!("its trigger {} reads {}, which is not a DynamoDB stream: not written", m.uuid, m.source_arn));
            continue;
        }
        let table = super::mapping::source_table(&m.source_arn);
        tables.push(table.clone());
        triggers.push(TriggerSpec {
            table,
            starting_position: if m.starting_position.as_deref() == Some("TRIM_HORIZON") {
                StartingPosition::TrimHorizon
            } else {
                StartingPosition::Latest
            },
            batch_size: m.batch_size.unwrap_or(100),
            enabled: !matches!(m.state.as_str(), "Disabled" | "Disabling"),
            report_batch_item_failures: m.report_batch_item_failures,
            // What differs from AWS's defaults, as it is.
            maximum_retry_attempts: (m.tuning.maximum_retry_attempts != d.maximum_retry_attempts)
                .then_some(m.tuning.maximum_retry_attempts),
            maximum_record_age_s: (m.tuning.maximum_record_age_s != d.maximum_record_age_s).then_some(m.tuning.maximum_record_age_s),
            bisect_batch_on_error: m.tuning.bisect_batch_on_error.then_some(true),
            parallelization_factor: (m.tuning.parallelization_factor != d.parallelization_factor)
                .then_some(m.tuning.parallelization_factor),
            batching_window_s: (m.tuning.batching_window_s != d.batching_window_s).then_some(m.tuning.batching_window_s),
            filter: m.tuning.filter.clone(),
            // A queue of this region is written (and read) as a queue of the spec.
            on_failure: match m.tuning.on_failure.as_str() {
                "" => None,
                arn if arn.starts_with(&format!("arn:{}:sqs:{}:", ctx.identity().await?.partition, ctx.region)) => {
                    let queue = arn.rsplit(':').next().unwrap_or(arn).to_string();
                    queues.push(queue.clone());
                    Some(queue)
                }
                arn => Some(arn.to_string()),
            },
        });
    }

    let spec = FunctionSpec {
        runtime: config.runtime.clone(),
        handler: config.handler.clone(),
        source: source.clone(),
        role: role.clone(),
        memory_mb: config.memory_mb,
        timeout_s: config.timeout_s,
        vpc,
        subnets,
        security_groups,
        environment: config.environment.clone(),
        log_retention_days: read_log_group(ctx, name).await?.retention_days,
        reserved_concurrency: read_concurrency(ctx, name).await?,
        // What differs from AWS's defaults.
        tracing: (config.tracing.as_deref() == Some("Active")).then_some(crate::spec::Tracing::Active),
        architecture: c.architectures().first().filter(|a| a.as_str() == "arm64").map(|_| crate::spec::Architecture::Arm64),
        triggers,
        sensitive: Vec::new(),
        description: config.description.clone(),
        tags: super::user_tags(&tags, &[]),
    };
    let mut i = super::Imported::new("functions", name, super::spec_value(&spec), tags);
    (i.notes, i.comments) = (notes, comments);
    i.files = files.into_iter().map(|(p, bytes)| (format!("{source}/{p}"), bytes)).collect();
    i.follow.push(("roles", role));
    i.follow.extend(tables.into_iter().map(|t| ("tables", t)));
    i.follow.extend(queues.into_iter().map(|q| ("queues", q)));
    i.follow.push(("vpc_endpoints", network_of));
    Ok(Some(i))
}

impl LiveFunction {
    /// The function's name, from its ARN.
    fn config_name(&self) -> &str {
        self.arn.rsplit(':').next().unwrap_or(&self.arn)
    }
}

/// A function as read, with the network the spec's `vpc` names.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LiveFunctionSide {
    pub function: Option<LiveFunction>,
    pub subnets: BTreeSet<String>,
    pub security_groups: BTreeSet<String>,
    /// Its reserved concurrency (None: none reserved), read only when the spec manages it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved_concurrency: Option<Option<i64>>,
    /// Its log group, read only when the spec manages its retention.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_group: Option<LiveLogGroup>,
}

/// The log group `/aws/lambda/NAME`: whether it exists, and its retention (None: forever).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct LiveLogGroup {
    pub exists: bool,
    pub retention_days: Option<i64>,
}

/// GetFunctionConcurrency (None: nothing reserved; a function that does not exist yet has none).
async fn read_concurrency(ctx: &AwsContext, name: &str) -> Result<Option<i64>> {
    match ctx.lambda.get_function_concurrency().function_name(name).send().await {
        Ok(o) => Ok(o.reserved_concurrent_executions().map(i64::from)),
        Err(e) if code(&e) == Some("ResourceNotFoundException") => Ok(None),
        Err(e) => Err(aws_error("Lambda", "GetFunctionConcurrency", name, e).into()),
    }
}

/// The log group Lambda writes a function's logs to.
pub fn log_group_name(function: &str) -> String {
    format!("/aws/lambda/{function}")
}

/// DescribeLogGroups by the group's exact name (as a prefix, then matched).
async fn read_log_group(ctx: &AwsContext, function: &str) -> Result<LiveLogGroup> {
    let group = log_group_name(function);
    let out = ctx
        .logs
        .describe_log_groups()
        .log_group_name_prefix(&group)
        .send()
        .await
        .map_err(|e| aws_error("CloudWatch Logs", "DescribeLogGroups", &group, e))?;
    let found = out.log_groups().iter().find(|g| g.log_group_name() == Some(group.as_str()));
    Ok(LiveLogGroup { exists: found.is_some(), retention_days: found.and_then(|g| g.retention_in_days()).map(i64::from) })
}

/// Reserved concurrency as the spec says, when it says.
fn concurrency_steps(address: &str, name: &str, want: Option<i64>, live: Option<i64>, diffs: &mut Vec<FieldDiff>) -> Vec<Step> {
    match want {
        Some(n) if live != Some(n) => {
            let mut d = FieldDiff::new("reserved_concurrency", live, n);
            if n == 0 {
                d = d.note("0 reserved executions: the function is never invoked (its trigger's records wait)");
            }
            diffs.push(d);
            vec![step(
                address,
                format!("reserve {n} concurrent executions for function {name}"),
                FunctionOp::SetConcurrency { name: name.into(), reserved: n },
            )]
        }
        _ => Vec::new(),
    }
}

/// The log group's steps, first of the function's: made (with its retention) before the
/// function can write to it, or its retention changed.
fn log_steps(address: &str, name: &str, want: Option<i64>, live: Option<&LiveLogGroup>, diffs: &mut Vec<FieldDiff>) -> Vec<Step> {
    let Some(days) = want else { return Vec::new() };
    let have = live.copied().unwrap_or(LiveLogGroup { exists: false, retention_days: None });
    if have.exists && have.retention_days == Some(days) {
        return Vec::new();
    }
    let before = match (have.exists, have.retention_days) {
        (false, _) => serde_json::Value::Null,
        (true, None) => serde_json::json!("never expire"),
        (true, Some(d)) => serde_json::json!(d),
    };
    diffs.push(FieldDiff::new("log_retention_days", before, days));
    let group = log_group_name(name);
    let mut steps = Vec::new();
    if !have.exists {
        steps.push(step(address, format!("create the log group {group}"), FunctionOp::CreateLogGroup { group: group.clone() }));
    }
    steps.push(step(address, format!("keep the logs in {group} {days} days"), FunctionOp::SetLogRetention { group, days }));
    steps
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum FunctionOp {
    Create {
        name: String,
        config: FunctionConfig,
        source: PathBuf,
        code_sha256: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        architecture: Option<String>,
        tags: BTreeMap<String, String>,
    },
    UpdateConfig {
        name: String,
        config: FunctionConfig,
    },
    UpdateCode {
        name: String,
        source: PathBuf,
        code_sha256: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        architecture: Option<String>,
    },
    WaitReady {
        name: String,
    },
    /// PutFunctionConcurrency.
    SetConcurrency {
        name: String,
        reserved: i64,
    },
    /// CreateLogGroup (one that exists is done).
    CreateLogGroup {
        group: String,
    },
    /// PutRetentionPolicy.
    SetLogRetention {
        group: String,
        days: i64,
    },
    Tag {
        name: String,
        set: BTreeMap<String, String>,
        remove: Vec<String>,
    },
    Delete {
        name: String,
    },
}

// ---------------------------------------------------------------------------------------------
// observe

/// The subnets and default security group of a VPC, for `vpc:`.
async fn network(ctx: &AwsContext, vpc: &str) -> Result<(BTreeSet<String>, BTreeSet<String>)> {
    let vpc_id = endpoint::vpc_id(ctx, vpc).await?;
    let subnets = async {
        ctx.ec2
            .describe_subnets()
            .filters(endpoint::filter("vpc-id", &vpc_id))
            .send()
            .await
            .map_err(|e| aws_error("EC2", "DescribeSubnets", &vpc_id, e))
    };
    let sgs = async {
        ctx.ec2
            .describe_security_groups()
            .filters(endpoint::filter("vpc-id", &vpc_id))
            .filters(endpoint::filter("group-name", "default"))
            .send()
            .await
            .map_err(|e| aws_error("EC2", "DescribeSecurityGroups", &vpc_id, e))
    };
    let (subnets, sgs) = tokio::try_join!(subnets, sgs)?;
    let subnets: BTreeSet<String> = subnets.subnets().iter().filter_map(|s| s.subnet_id().map(str::to_string)).collect();
    let sgs: BTreeSet<String> = sgs.security_groups().iter().filter_map(|g| g.group_id().map(str::to_string)).collect();
    if subnets.is_empty() {
        bail!("VPC {vpc_id} has no subnets to place a function in");
    }
    Ok((subnets, sgs))
}

fn config_of(c: &lam::FunctionConfiguration) -> FunctionConfig {
    let vpc = c.vpc_config();
    FunctionConfig {
        runtime: c.runtime().map(|r| r.as_str().to_string()).unwrap_or_default(),
        handler: c.handler().unwrap_or_default().to_string(),
        role_arn: c.role().unwrap_or_default().to_string(),
        memory_mb: c.memory_size().unwrap_or(128) as i64,
        timeout_s: c.timeout().unwrap_or(3) as i64,
        environment: c.environment().and_then(|e| e.variables()).map(|v| v.clone().into_iter().collect()).unwrap_or_default(),
        late_environment: BTreeMap::new(),
        sensitive: BTreeSet::new(),
        subnets: vpc.map(|v| v.subnet_ids().iter().cloned().collect()).unwrap_or_default(),
        security_groups: vpc.map(|v| v.security_group_ids().iter().cloned().collect()).unwrap_or_default(),
        description: c.description().filter(|d| !d.is_empty()).map(str::to_string),
        tracing: Some(c.tracing_config().and_then(|t| t.mode()).map_or("PassThrough", |m| m.as_str()).to_string()),
    }
}

pub async fn observe(ctx: &AwsContext, name: &str, vpc: Option<&str>) -> Result<LiveFunctionSide> {
    let function = async {
        match ctx.lambda.get_function().function_name(name).send().await {
            Ok(o) => {
                let c = o.configuration().context("GetFunction returned no configuration")?;
                anyhow::Ok(Some(LiveFunction {
                    arn: c.function_arn().unwrap_or_default().to_string(),
                    config: config_of(c),
                    code_sha256: c.code_sha256().unwrap_or_default().to_string(),
                    state: c.state().map(|s| s.as_str().to_string()).unwrap_or_else(|| "Active".into()),
                    last_update_status: c.last_update_status().map(|s| s.as_str().to_string()).unwrap_or_else(|| "Successful".into()),
                    tags: o.tags().map(|t| t.clone().into_iter().collect()).unwrap_or_default(),
                    architecture: c.architectures().first().map_or("x86_64", |a| a.as_str()).to_string(),
                    code_location: o.code().and_then(|c| c.location()).map(str::to_string),
                    code_files_differ: None,
                }))
            }
            Err(e) if code(&e) == Some("ResourceNotFoundException") => Ok(None),
            Err(e) => Err(aws_error("Lambda", "GetFunction", name, e).into()),
        }
    };
    let net = async {
        match vpc {
            Some(v) => network(ctx, v).await,
            None => Ok((BTreeSet::new(), BTreeSet::new())),
        }
    };
    let (function, (subnets, security_groups)) = tokio::try_join!(function, net)?;
    Ok(LiveFunctionSide { function, subnets, security_groups, log_group: None, reserved_concurrency: None })
}

// ---------------------------------------------------------------------------------------------
// diff (pure)

fn step(address: &str, description: String, op: FunctionOp) -> Step {
    super::step(KIND, address, description, op)
}

fn config_diffs(before: Option<&FunctionConfig>, after: &FunctionConfig, out: &mut Vec<FieldDiff>) {
    fn v<T: Serialize>(x: T) -> serde_json::Value {
        serde_json::to_value(x).unwrap_or_default()
    }
    let b = before;
    let fields = [
        ("runtime", b.map(|c| v(&c.runtime)), v(&after.runtime)),
        ("handler", b.map(|c| v(&c.handler)), v(&after.handler)),
        ("role", b.map(|c| v(&c.role_arn)), v(&after.role_arn)),
        ("memory_mb", b.map(|c| v(c.memory_mb)), v(after.memory_mb)),
        ("timeout_s", b.map(|c| v(c.timeout_s)), v(after.timeout_s)),
        ("vpc.subnets", b.map(|c| v(&c.subnets)), v(&after.subnets)),
        ("vpc.security_groups", b.map(|c| v(&c.security_groups)), v(&after.security_groups)),
    ];
    for (path, bv, av) in fields {
        if bv.as_ref() != Some(&av) {
            out.push(FieldDiff::new(path, bv, av));
        }
    }
    // Tracing, like the description, only when the spec sets it.
    if let Some(t) = &after.tracing {
        let live = b.and_then(|c| c.tracing.as_ref());
        if live != Some(t) {
            out.push(FieldDiff::new("tracing", live, t));
        }
    }
    // The description is managed only when the spec sets one.
    if let Some(d) = &after.description {
        let live = b.and_then(|c| c.description.as_ref());
        if live != Some(d) {
            out.push(FieldDiff::new("description", live, d));
        }
    }
    let empty = BTreeMap::new();
    let live_env = b.map(|c| &c.environment).unwrap_or(&empty);
    let hide =
        |k: &str, v: Option<&String>| -> Option<String> { v.map(|v| if after.is_sensitive(k) { MASK.to_string() } else { v.clone() }) };
    for (k, val) in after.environment.iter().chain(after.late_environment.iter()) {
        if live_env.get(k) != Some(val) {
            let d = FieldDiff::new(format!("environment.{k}"), hide(k, live_env.get(k)), hide(k, Some(val)));
            out.push(if hide(k, Some(val)).as_deref() == Some(MASK) { d.note("sensitive: the value is not shown") } else { d });
        }
    }
    for (k, val) in live_env {
        if !after.environment.contains_key(k) && !after.late_environment.contains_key(k) {
            out.push(FieldDiff::new(format!("environment.{k}"), hide(k, Some(val)), None::<String>));
        }
    }
}

pub fn diff(name: &str, want: &DesiredFunction, live: &LiveFunctionSide) -> (ResourceChange, Vec<Step>) {
    let address = format!("{KIND}.{name}");
    let mut diffs = Vec::new();
    let mut steps = log_steps(&address, name, want.log_retention_days, live.log_group.as_ref(), &mut diffs);
    let Some(f) = &live.function else {
        config_diffs(None, &want.config, &mut diffs);
        diffs.push(FieldDiff::new("code_sha256", None::<String>, &want.code_sha256));
        for (k, v) in &want.tags {
            diffs.push(FieldDiff::new(format!("tags.{k}"), None::<String>, v));
        }
        steps.push(step(
            &address,
            format!("create function {name}"),
            FunctionOp::Create {
                name: name.into(),
                config: want.config.clone(),
                source: want.source.clone(),
                code_sha256: want.code_sha256.clone(),
                architecture: want.architecture.clone(),
                tags: want.tags.clone(),
            },
        ));
        steps.push(step(&address, format!("wait until function {name} is Active"), FunctionOp::WaitReady { name: name.into() }));
        steps.extend(concurrency_steps(&address, name, want.reserved_concurrency, None, &mut diffs));
        let mut change = ResourceChange::new(&address, Action::Create);
        change.diffs = diffs;
        return (change, steps);
    };
    let before = diffs.len();
    config_diffs(Some(&f.config), &want.config, &mut diffs);
    if diffs.len() > before || !want.config.late_environment.is_empty() {
        steps.push(step(
            &address,
            format!("update the configuration of function {name}"),
            FunctionOp::UpdateConfig { name: name.into(), config: want.config.clone() },
        ));
        steps.push(step(
            &address,
            format!("wait until the update of function {name} is Successful"),
            FunctionOp::WaitReady { name: name.into() },
        ));
    }
    let same_content = f.code_files_differ.as_ref().is_some_and(Vec::is_empty);
    let new_arch = want.architecture.as_ref().filter(|a| **a != f.architecture);
    if let Some(a) = new_arch {
        diffs.push(FieldDiff::new("architecture", &f.architecture, a).note("the code is deployed again, built for this instruction set"));
    }
    let new_code = f.code_sha256 != want.code_sha256 && !same_content;
    if new_code || new_arch.is_some() {
        let which = match &f.code_files_differ {
            Some(files) => format!(": {}", files.join(", ")),
            None => String::new(),
        };
        if new_code {
            diffs.push(
                FieldDiff::new("code_sha256", &f.code_sha256, &want.code_sha256)
                    .note(format!("the code in {} differs from the deployed code{which}", want.source.display())),
            );
        }
        steps.push(step(
            &address,
            format!("deploy the code of function {name}"),
            FunctionOp::UpdateCode {
                name: name.into(),
                source: want.source.clone(),
                code_sha256: want.code_sha256.clone(),
                architecture: want.architecture.clone(),
            },
        ));
        steps.push(step(
            &address,
            format!("wait until the code update of function {name} is Successful"),
            FunctionOp::WaitReady { name: name.into() },
        ));
    }
    steps.extend(concurrency_steps(&address, name, want.reserved_concurrency, live.reserved_concurrency.flatten(), &mut diffs));
    let (tag_diffs, set, remove) = crate::plan::tag_delta(&want.tags, &f.tags);
    diffs.extend(tag_diffs);
    if !set.is_empty() || !remove.is_empty() {
        steps.push(step(&address, format!("update the tags of function {name}"), FunctionOp::Tag { name: name.into(), set, remove }));
    }
    let mut change = ResourceChange::new(&address, if diffs.is_empty() { Action::NoOp } else { Action::Update });
    change.diffs = diffs;
    (change, steps)
}

// ---------------------------------------------------------------------------------------------
// execute

async fn environment(ctx: &AwsContext, c: &FunctionConfig) -> Result<lam::Environment> {
    let mut vars = c.environment.clone();
    for (k, template) in &c.late_environment {
        vars.insert(k.clone(), super::resolve_late(ctx, template).await?);
    }
    Ok(lam::Environment::builder().set_variables(Some(vars.into_iter().collect())).build())
}

fn vpc_config(c: &FunctionConfig) -> lam::VpcConfig {
    lam::VpcConfig::builder()
        .set_subnet_ids(Some(c.subnets.iter().cloned().collect()))
        .set_security_group_ids(Some(c.security_groups.iter().cloned().collect()))
        .build()
}

/// Builds the package and checks it is the code the plan was made for.
fn package(source: &std::path::Path, planned: &str) -> Result<Blob> {
    let p = crate::package::build(source)?;
    if p.sha256 != planned {
        bail!("the code in {} changed since the plan was made; plan again", source.display());
    }
    Ok(Blob::new(p.bytes))
}

/// Lambda refuses a role IAM has not propagated yet (rule 8): that error is retried.
fn role_not_ready(code: Option<&str>, message: Option<&str>) -> bool {
    code == Some("InvalidParameterValueException") && message.is_some_and(|m| m.contains("cannot be assumed") || m.contains("role"))
}

async fn revision(ctx: &AwsContext, name: &str) -> Result<Option<String>> {
    let c = ctx
        .lambda
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
        .map_err(|e| aws_error("Lambda", "GetFunctionConfiguration", name, e))?;
    Ok(c.revision_id().map(str::to_string))
}

/// What to do after a failed Lambda call.
enum Retry {
    /// Another update is in progress (rule 10): wait for the function, then try again.
    Conflict,
    /// IAM has not propagated the role yet (rule 8): back off, then try again.
    Role,
    /// The RevisionId no longer matches: ours (a lost answer) or someone else's write.
    Revision,
    Fail,
}

fn classify<E: aws_smithy_types::error::metadata::ProvideErrorMetadata>(e: &E) -> Retry {
    match e.code() {
        Some("ResourceConflictException") => Retry::Conflict,
        Some("PreconditionFailedException") => Retry::Revision,
        c if role_not_ready(c, e.message()) => Retry::Role,
        _ => Retry::Fail,
    }
}

/// Retries of one Lambda write under rules 8 and 10, by the one retry policy. `attempt` makes
/// the call (fetching a fresh RevisionId where it passes one) and says how a failure should be
/// retried.
async fn retrying<F, Fut>(ctx: &AwsContext, name: &str, check: Option<(Option<&FunctionConfig>, Option<&str>)>, attempt: F) -> Result<()>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<(), (Retry, anyhow::Error)>>,
{
    use super::retry::{self, Next};
    let start = Instant::now();
    let attempt = &attempt;
    retry::retry(&format!("the change of function {name}"), retry::AWS, || async move {
        let (kind, err) = match attempt().await {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        match kind {
            Retry::Conflict => {
                wait_ready(ctx, name).await.map_err(Next::Fail)?;
                Err(Next::RetryNow(format!("function {name} had an update in progress; it is ready now")))
            }
            Retry::Role if start.elapsed() < ROLE_PROPAGATION => {
                Err(Next::Retry(format!("IAM has not yet let Lambda assume the role of {name} (new roles take seconds to propagate)")))
            }
            Retry::Role => {
                Err(Next::Fail(err.context(format!("gave up after {:?} waiting for IAM to propagate the role", ROLE_PROPAGATION))))
            }
            Retry::Revision => match check {
                Some((config, sha)) if already_applied(ctx, name, config, sha).await.map_err(Next::Fail)? => Ok(()),
                _ => Err(Next::Fail(err)),
            },
            Retry::Fail => Err(Next::Fail(err)),
        }
    })
    .await
}

fn fail<E>(
    op: &'static str,
    name: &str,
    e: aws_sdk_lambda::error::SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> (Retry, anyhow::Error)
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match classify(&e) {
        Retry::Revision => (
            Retry::Revision,
            anyhow::anyhow!("function {name} was changed by someone else during apply ({op} refused by RevisionId); plan again"),
        ),
        kind => (kind, aws_error("Lambda", op, name, e).into()),
    }
}

/// After a RevisionId refusal: the change is in place if the function already looks as the
/// step wants (the SDK retried a call whose first answer was lost), else someone else wrote.
async fn already_applied(ctx: &AwsContext, name: &str, config: Option<&FunctionConfig>, code_sha256: Option<&str>) -> Result<bool> {
    let live = observe(ctx, name, None).await?.function.context("the function is gone")?;
    let config_ok = config.is_none_or(|c| {
        let l = &live.config;
        l.runtime == c.runtime
            && l.handler == c.handler
            && l.role_arn == c.role_arn
            && l.memory_mb == c.memory_mb
            && l.timeout_s == c.timeout_s
            && c.environment.iter().all(|(k, v)| l.environment.get(k) == Some(v))
            && c.late_environment.keys().all(|k| l.environment.contains_key(k))
    });
    Ok(config_ok && code_sha256.is_none_or(|s| live.code_sha256 == s))
}

pub async fn execute(ctx: &AwsContext, op: &FunctionOp) -> Result<()> {
    use aws_smithy_types::error::metadata::ProvideErrorMetadata as _;
    match op {
        FunctionOp::Create { name, config, source, code_sha256, architecture, tags } => {
            let zip = package(source, code_sha256)?;
            let env = environment(ctx, config).await?;
            let runtime = lam::Runtime::from(config.runtime.as_str());
            retrying(ctx, name, None, || {
                let req = ctx
                    .lambda
                    .create_function()
                    .function_name(name)
                    .runtime(runtime.clone())
                    .handler(&config.handler)
                    .role(&config.role_arn)
                    .memory_size(config.memory_mb as i32)
                    .timeout(config.timeout_s as i32)
                    .environment(env.clone())
                    .set_description(config.description.clone())
                    .set_vpc_config((!config.subnets.is_empty()).then(|| vpc_config(config)))
                    .set_tracing_config(tracing_config(config))
                    .set_architectures(architecture.as_deref().map(|a| vec![lam::Architecture::from(a)]))
                    .set_tags(Some(tags.clone().into_iter().collect()))
                    .code(lam::FunctionCode::builder().zip_file(zip.clone()).build());
                async move {
                    match req.send().await {
                        Ok(_) => Ok(()),
                        // Created by an attempt whose answer was lost: the steps after converge it.
                        Err(e) if e.code() == Some("ResourceConflictException") && e.message().is_some_and(|m| m.contains("exist")) => {
                            crate::log::info(&format!("  function {name} already exists: using it"));
                            Ok(())
                        }
                        Err(e) => Err(fail("CreateFunction", name, e)),
                    }
                }
            })
            .await
        }
        FunctionOp::UpdateConfig { name, config } => {
            let env = environment(ctx, config).await?;
            let runtime = lam::Runtime::from(config.runtime.as_str());
            retrying(ctx, name, Some((Some(config), None)), || {
                let env = env.clone();
                let runtime = runtime.clone();
                async move {
                    let rev = revision(ctx, name).await.map_err(|e| (Retry::Fail, e))?;
                    ctx.lambda
                        .update_function_configuration()
                        .function_name(name)
                        .runtime(runtime)
                        .handler(&config.handler)
                        .role(&config.role_arn)
                        .memory_size(config.memory_mb as i32)
                        .timeout(config.timeout_s as i32)
                        .environment(env)
                        .set_description(config.description.clone())
                        .vpc_config(vpc_config(config))
                        .set_tracing_config(tracing_config(config))
                        .set_revision_id(rev)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| fail("UpdateFunctionConfiguration", name, e))
                }
            })
            .await
        }
        FunctionOp::UpdateCode { name, source, code_sha256, architecture } => {
            let zip = package(source, code_sha256)?;
            retrying(ctx, name, Some((None, Some(code_sha256.as_str()))), || {
                let zip = zip.clone();
                async move {
                    let rev = revision(ctx, name).await.map_err(|e| (Retry::Fail, e))?;
                    ctx.lambda
                        .update_function_code()
                        .function_name(name)
                        .zip_file(zip)
                        .set_architectures(architecture.as_deref().map(|a| vec![lam::Architecture::from(a)]))
                        .set_revision_id(rev)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| fail("UpdateFunctionCode", name, e))
                }
            })
            .await
        }
        FunctionOp::WaitReady { name } => wait_ready(ctx, name).await,
        FunctionOp::SetConcurrency { name, reserved } => {
            ctx.lambda
                .put_function_concurrency()
                .function_name(name)
                .reserved_concurrent_executions(*reserved as i32)
                .send()
                .await
                .map_err(|e| aws_error("Lambda", "PutFunctionConcurrency", name, e))?;
            Ok(())
        }
        FunctionOp::CreateLogGroup { group } => match ctx.logs.create_log_group().log_group_name(group).send().await {
            Ok(_) => Ok(()),
            Err(e) if code(&e) == Some("ResourceAlreadyExistsException") => Ok(()),
            Err(e) => Err(aws_error("CloudWatch Logs", "CreateLogGroup", group, e).into()),
        },
        FunctionOp::SetLogRetention { group, days } => {
            ctx.logs
                .put_retention_policy()
                .log_group_name(group)
                .retention_in_days(*days as i32)
                .send()
                .await
                .map_err(|e| aws_error("CloudWatch Logs", "PutRetentionPolicy", group, e))?;
            Ok(())
        }
        FunctionOp::Delete { name } => match ctx.lambda.delete_function().function_name(name).send().await {
            Ok(_) => Ok(()),
            Err(e) if code(&e) == Some("ResourceNotFoundException") => Ok(()),
            Err(e) => Err(aws_error("Lambda", "DeleteFunction", name, e).into()),
        },
        FunctionOp::Tag { name, set, remove } => {
            let arn = ctx
                .lambda
                .get_function_configuration()
                .function_name(name)
                .send()
                .await
                .map_err(|e| aws_error("Lambda", "GetFunctionConfiguration", name, e))?
                .function_arn()
                .unwrap_or_default()
                .to_string();
            if !remove.is_empty() {
                ctx.lambda
                    .untag_resource()
                    .resource(&arn)
                    .set_tag_keys(Some(remove.clone()))
                    .send()
                    .await
                    .map_err(|e| aws_error("Lambda", "UntagResource", name, e))?;
            }
            if !set.is_empty() {
                ctx.lambda
                    .tag_resource()
                    .resource(&arn)
                    .set_tags(Some(set.clone().into_iter().collect()))
                    .send()
                    .await
                    .map_err(|e| aws_error("Lambda", "TagResource", name, e))?;
            }
            Ok(())
        }
    }
}

fn tracing_config(config: &FunctionConfig) -> Option<lam::TracingConfig> {
    config.tracing.as_deref().map(|m| lam::TracingConfig::builder().mode(lam::TracingMode::from(m)).build())
}

fn x86() -> String {
    "x86_64".into()
}

pub async fn wait_ready(ctx: &AwsContext, name: &str) -> Result<()> {
    wait::until(&format!("function {name} to be ready"), Duration::from_secs(900), || async {
        let c = ctx
            .lambda
            .get_function_configuration()
            .function_name(name)
            .send()
            .await
            .map_err(|e| aws_error("Lambda", "GetFunctionConfiguration", name, e))?;
        let state = c.state().map(|s| s.as_str().to_string()).unwrap_or_else(|| "Active".into());
        let update = c.last_update_status().map(|s| s.as_str().to_string()).unwrap_or_else(|| "Successful".into());
        readiness(name, &state, &update, c.last_update_status_reason().or(c.state_reason()))
    })
    .await
}

/// Whether a function is settled (rule 29): Active, or Inactive (idle for weeks: nothing is in
/// progress, and the next update re-activates it), with its last update Successful.
fn readiness(name: &str, state: &str, update: &str, reason: Option<&str>) -> Result<wait::Poll> {
    if state == "Failed" || update == "Failed" {
        bail!("function {name} failed: {}", reason.unwrap_or("no reason given"));
    }
    Ok(if matches!(state, "Active" | "Inactive") && update == "Successful" {
        wait::Poll::Done
    } else {
        wait::Poll::Pending(format!("state {state}, last update {update}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployed_code_with_other_bytes_but_the_same_files_is_no_change() {
        let config = FunctionConfig {
            runtime: "python3.12".into(),
            handler: "h.h".into(),
            role_arn: "arn:aws:iam::1:role/r".into(),
            memory_mb: 128,
            timeout_s: 3,
            environment: BTreeMap::new(),
            sensitive: BTreeSet::new(),
            late_environment: BTreeMap::new(),
            subnets: BTreeSet::new(),
            security_groups: BTreeSet::new(),
            description: None,
            tracing: Some("PassThrough".into()),
        };
        let want = DesiredFunction {
            config: config.clone(),
            log_retention_days: None,
            reserved_concurrency: None,
            architecture: None,
            source: "src".into(),
            code_sha256: "ours".into(),
            tags: BTreeMap::new(),
        };
        let f = |differ: Option<Vec<String>>| LiveFunction {
            arn: "arn:aws:lambda:us-east-1:1:function:f".into(),
            config: config.clone(),
            code_sha256: "console".into(),
            state: "Active".into(),
            last_update_status: "Successful".into(),
            tags: BTreeMap::new(),
            architecture: "x86_64".into(),
            code_location: None,
            code_files_differ: differ,
        };
        let side = |differ| LiveFunctionSide {
            function: Some(f(differ)),
            subnets: BTreeSet::new(),
            security_groups: BTreeSet::new(),
            log_group: None,
            reserved_concurrency: None,
        };
        let (c, steps) = diff("f", &want, &side(Some(vec![])));
        assert_eq!(c.action, Action::NoOp);
        assert!(steps.is_empty());
        let (c, steps) = diff("f", &want, &side(Some(vec!["lambda_function.py".into()])));
        assert_eq!(c.diffs[0].path, "code_sha256");
        assert!(c.diffs[0].note.as_deref().unwrap_or("").ends_with("differs from the deployed code: lambda_function.py"), "{:?}", c.diffs);
        assert_eq!(steps.len(), 2);
        // Not compared (no Code.Location): the hashes decide.
        assert_eq!(diff("f", &want, &side(None)).0.action, Action::Update);

        // Another instruction set: the code goes again (UpdateFunctionCode carries it), no hash diff.
        let mut arm = want.clone();
        arm.architecture = Some("arm64".into());
        let (c, steps) = diff("f", &arm, &side(Some(vec![])));
        assert_eq!(c.diffs.iter().map(|d| d.path.as_str()).collect::<Vec<_>>(), ["architecture"]);
        assert!(matches!(steps[0].op.get::<FunctionOp>(), Some(FunctionOp::UpdateCode { architecture: Some(a), .. }) if a == "arm64"));
        // Tracing only when the spec says it.
        let mut active = want.clone();
        active.code_sha256 = "console".into();
        active.config.tracing = Some("Active".into());
        let (c, _) = diff("f", &active, &side(None));
        assert_eq!(c.diffs, vec![FieldDiff::new("tracing", "PassThrough", "Active")]);
        active.config.tracing = None;
        assert_eq!(diff("f", &active, &side(None)).0.action, Action::NoOp);

        // The log group is made with its retention before the function exists to write to it.
        let mut logged = want.clone();
        logged.log_retention_days = Some(14);
        let absent = LiveFunctionSide {
            function: None,
            subnets: BTreeSet::new(),
            security_groups: BTreeSet::new(),
            log_group: None,
            reserved_concurrency: None,
        };
        let (_, steps) = diff("f", &logged, &absent);
        let names: Vec<String> = steps
            .iter()
            .map(|s| serde_json::to_value(s.op.get::<FunctionOp>().unwrap()).unwrap()["op"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(names, ["create_log_group", "set_log_retention", "create", "wait_ready"]);
        let mut kept = side(None);
        kept.function.as_mut().unwrap().code_sha256 = "ours".into();
        kept.log_group = Some(LiveLogGroup { exists: true, retention_days: None });
        let (c, steps) = diff("f", &logged, &kept);
        assert_eq!(c.diffs, vec![FieldDiff::new("log_retention_days", "never expire", 14)]);
        assert!(matches!(steps[..], [ref s] if matches!(s.op.get::<FunctionOp>(), Some(FunctionOp::SetLogRetention { days: 14, .. }))));

        // Reserved concurrency, when the spec says it; 0 warns that nothing runs.
        let mut reserved = want.clone();
        reserved.code_sha256 = "console".into();
        reserved.reserved_concurrency = Some(0);
        let (c, steps) = diff("f", &reserved, &side(None));
        assert_eq!(c.diffs[0].path, "reserved_concurrency");
        assert!(c.diffs[0].note.as_deref().unwrap_or("").contains("never invoked"));
        assert!(matches!(steps[0].op.get::<FunctionOp>(), Some(FunctionOp::SetConcurrency { reserved: 0, .. })));
        let mut same = side(None);
        same.reserved_concurrency = Some(Some(0));
        assert_eq!(diff("f", &reserved, &same).0.action, Action::NoOp);
    }

    #[test]
    fn an_inactive_function_is_settled_and_pending_ones_are_not() {
        let done = |s, u| matches!(readiness("f", s, u, None).unwrap(), wait::Poll::Done);
        assert!(done("Active", "Successful"));
        assert!(done("Inactive", "Successful"));
        assert!(!done("Pending", "InProgress"));
        assert!(!done("Active", "InProgress"));
        assert!(readiness("f", "Failed", "Successful", Some("bad role")).unwrap_err().to_string().contains("bad role"));
    }
}
