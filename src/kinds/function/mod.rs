//! `lambda_function`: configuration and deterministic code, under Lambda's rules
//! (docs/aws-behaviour.md 8, 10–12): wait for the role to be assumable, one update at a time
//! (config → wait → code → wait), RevisionId on updates. Its triggers are a kind of their own,
//! `mapping` (a function's sub-resource: owned through it, written inside it), registered after
//! it. Files as in every kind's folder (docs/architecture.md).

pub mod deploy;
mod diff;
mod execute;
mod flex;
mod import;
pub mod mapping;
mod observe;
#[cfg(test)]
pub(crate) mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use anyhow::Result;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::aws::AwsContext;
use crate::discover::Tagged;
use crate::plan::{Op, ResourceChange, Step};
use crate::spec::{Desired, FunctionSpec, Resources};

use super::support::ownership::{self, Owned, Tags};
use super::support::{changes, reading, references};
use super::{role, Declared, Discovered, Fingerprint, Imported, Kind, Observed, PlanContext, Planned};

pub use diff::diff;
pub use execute::wait_ready;

pub const KIND: &str = "lambda_function";

/// The Lambda function kind.
pub struct Functions;

impl Kind for Functions {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn namespace(&self) -> Option<&'static str> {
        Some("functions")
    }

    fn declared(&self, desired: &Desired) -> Vec<Declared> {
        let roles = &desired.resources.roles;
        let r = &desired.resources.functions;
        r.iter()
            .map(|(n, f)| {
                let texts: Vec<&str> = f.environment.values().map(String::as_str).collect();
                let role = roles.contains_key(&f.role).then(|| format!("{}.{}", role::KIND, f.role));
                references::declared_with(format!("{KIND}.{n}"), &texts, role.into_iter().collect())
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

    fn observe<'a>(&'a self, ctx: &'a AwsContext, desired: &'a Desired, _tagged: &'a Tagged<'a>) -> Observed<'a> {
        Box::pin(reading::observe_each(KIND, &desired.resources.functions, move |name, spec| observe::declared(ctx, desired, name, spec)))
    }

    fn diff(&self, cx: &PlanContext) -> Vec<Planned> {
        let mut out = Vec::new();
        for (name, spec) in &cx.desired.resources.functions {
            let Some(live) = cx.live.get::<LiveFunctionSide>(KIND, name) else { continue };
            let want = desired_function(cx, name, spec, live);
            let aws = cx.desired.aws_name(name);
            let tags = live.function.as_ref().map(|f| &f.tags);
            out.push(ownership::found_by_name(KIND, name, cx.desired, tags, diff(&aws, &want, live)));
        }
        out
    }

    fn destroy(&self, cx: &PlanContext) -> Vec<(ResourceChange, Vec<Step>)> {
        let names = cx.desired.resources.functions.keys();
        names
            .map(|name| {
                let address = format!("{KIND}.{name}");
                let live = declared_live(cx.live, name);
                let delete = || vec![diff::delete(&address, &cx.desired.aws_name(name))];
                changes::destroy_found(address.clone(), cx.desired, live.map(|f| &f.tags), delete)
            })
            .collect()
    }

    fn tagging_type(&self) -> Option<&'static str> {
        Some(TAGGING_TYPE)
    }

    fn discover<'a>(&'a self, ctx: &'a AwsContext, desired: &'a Desired, tagged: &'a Tagged<'a>) -> Discovered<'a> {
        let declared = |k: &str| desired.resources.functions.contains_key(k);
        let read = move |aws: String| async move { Ok(observe::observe(ctx, &aws, None).await?.function) };
        Box::pin(reading::discover_tagged(KIND, TAGGING_TYPE, tagged, desired, declared, read))
    }

    fn prune(&self, cx: &PlanContext) -> Vec<Planned> {
        changes::prune_owned(cx, KIND, |address, f: &LiveFunction| vec![diff::delete(address, f.name())], diff::untag)
    }

    fn forget(&self, cx: &PlanContext, address: &str) -> Option<(ResourceChange, Vec<Step>)> {
        changes::forget_found(cx, KIND, address, |key| declared_live(cx.live, key), |f, remove| diff::untag(address, f, remove))
    }

    fn import<'a>(&'a self, ctx: &'a AwsContext, name: &'a str) -> BoxFuture<'a, Result<Option<Imported>>> {
        Box::pin(import::import(ctx, name))
    }

    fn execute<'a>(&'a self, ctx: &'a AwsContext, op: &'a Op) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { execute::execute(ctx, op.expect::<FunctionOp>()?).await })
    }
}

/// The live function of a declared one (None: it does not exist).
fn declared_live<'a>(live: &'a crate::kinds::Live, name: &str) -> Option<&'a LiveFunction> {
    live.get::<LiveFunctionSide>(KIND, name).and_then(|f| f.function.as_ref())
}

/// A function's fingerprint leaves out its state (Active, Inactive after weeks idle, Pending):
/// it changes on its own.
impl Fingerprint for LiveFunction {
    fn fingerprint(&self, _key: &str, _desired: &Desired) -> String {
        let mut f = self.clone();
        (f.state, f.last_update_status) = (String::new(), String::new());
        crate::ids::hash(&f)
    }
}

impl Fingerprint for LiveFunctionSide {
    fn fingerprint(&self, key: &str, desired: &Desired) -> String {
        crate::ids::hash(&(
            self.function.fingerprint(key, desired),
            &self.subnets,
            &self.security_groups,
            &self.reserved_concurrency,
            &self.log_group,
            &self.deploy,
        ))
    }
}

impl Owned for LiveFunction {
    fn tags(&self) -> &Tags {
        &self.tags
    }
}

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
        tags: ownership::resolved_tags(&spec.tags, desired, refs),
        deploy: spec.deploy.as_ref().map(|d| deploy::DesiredDeploy::of(desired, name, d)),
    }
}

/// The Resource Groups Tagging API's name for functions.
pub const TAGGING_TYPE: &str = "lambda:function";

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
    /// How it is deployed, when the spec says `deploy`.
    pub deploy: Option<deploy::DesiredDeploy>,
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

impl LiveFunction {
    /// The function's name, from its ARN.
    pub fn name(&self) -> &str {
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
    /// Its alias, versions and their aliases, read only when the spec says `deploy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy: Option<deploy::LiveDeploy>,
}

/// The log group `/aws/lambda/NAME`: whether it exists, and its retention (None: forever).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct LiveLogGroup {
    pub exists: bool,
    pub retention_days: Option<i64>,
}

/// The log group Lambda writes a function's logs to.
pub fn log_group_name(function: &str) -> String {
    format!("/aws/lambda/{function}")
}

#[derive(Debug, Clone, Serialize, PartialEq)]
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
    /// PublishVersion of what apply set (CodeSha256 and RevisionId guarded, the configuration
    /// checked), then CreateAlias or UpdateAlias to it, recording the version it replaces. With
    /// `watch`, refused before the move while one of those alarms is in ALARM already.
    PublishAndMove {
        name: String,
        alias: String,
        code_sha256: String,
        config: FunctionConfig,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        watch: Vec<String>,
        /// A bake follows: the alias's record says `baking` until it passes.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        bakes: bool,
    },
    /// Watches `watch` for `bake_s`; one in ALARM moves the alias back (with `rollback`) and
    /// fails the apply.
    Bake {
        name: String,
        alias: String,
        bake_s: i64,
        rollback: bool,
        watch: Vec<String>,
    },
    /// Deletes the published versions beyond the newest `keep` that no alias points at or records.
    PruneVersions {
        name: String,
        keep: i64,
    },
    /// UpdateAlias back to the version it records as replaced (`rollback`), RevisionId guarded.
    RollBack {
        name: String,
        alias: String,
        from: String,
        to: String,
    },
}

fn x86() -> String {
    "x86_64".into()
}
