//! `iam_role`: the role, its trust policy, attached managed policies and inline policies.
//! Documents are compared by meaning (docs/aws-behaviour.md rule 7); a change that broadens what
//! the role may do is marked in the plan. Files as in every kind's folder (docs/architecture.md).

mod diff;
mod execute;
mod import;
mod observe;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::aws::AwsContext;
use crate::discover::Tagged;
use crate::plan::{Op, ResourceChange, Step};
use crate::spec::refs::RefContext;
use crate::spec::{Desired, Resources, RoleSpec};

use super::support::ownership::{self, Owned, Tags};
use super::support::{changes, reading, references};
use super::{Declared, Discovered, Fingerprint, Imported, Kind, Live, Observed, PlanContext, Planned};

pub use diff::diff;

/// Roles read at once: IAM keeps a token bucket per API whose size it does not publish (rule
/// 46), and each role is several reads (GetRole, its policy lists and documents); 10 is
/// Terraform's default parallelism.
pub const READ_AT_ONCE: usize = 10;

pub const KIND: &str = "iam_role";

/// The IAM role kind.
pub struct Roles;

impl Kind for Roles {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn namespace(&self) -> Option<&'static str> {
        Some("roles")
    }

    fn declared(&self, desired: &Desired) -> Vec<Declared> {
        let r = &desired.resources.roles;
        r.iter()
            .map(|(n, x)| {
                references::declared_with(format!("{KIND}.{n}"), &references::file_texts(desired, x.inline_policies.values()), vec![])
            })
            .collect()
    }

    fn retain(&self, resources: &mut Resources, keep: &dyn Fn(&str) -> bool) {
        resources.roles.retain(|n, _| keep(&format!("{KIND}.{n}")));
    }

    fn observe<'a>(&'a self, ctx: &'a AwsContext, desired: &'a Desired, _tagged: &'a Tagged<'a>) -> Observed<'a> {
        Box::pin(reading::observe_each_at(KIND, &desired.resources.roles, READ_AT_ONCE, move |name, _| {
            let aws = desired.aws_name(name);
            async move { observe::observe(ctx, &aws).await }
        }))
    }

    fn diff(&self, cx: &PlanContext) -> Vec<Planned> {
        let r = &cx.desired.resources.roles;
        r.iter()
            .map(|(name, spec)| {
                let want = desired_role(cx.desired, spec, cx.refs);
                let live = declared_live(cx.live, name);
                let aws = cx.desired.aws_name(name);
                let mut p = ownership::found_by_name(KIND, name, cx.desired, live.map(|r| &r.tags), diff(&aws, &want, live));
                // What the role may do changes: kinds that Lambda checks against it (a trigger's
                // on-failure queue) allow for IAM's propagation.
                if !p.steps.is_empty() {
                    p.changes_references.push(format!("roles.{name}.permissions"));
                }
                p
            })
            .collect()
    }

    fn destroy(&self, cx: &PlanContext) -> Vec<(ResourceChange, Vec<Step>)> {
        let roles = cx.desired.resources.roles.keys();
        roles
            .map(|name| {
                let address = format!("{KIND}.{name}");
                let live = declared_live(cx.live, name);
                let delete = || vec![diff::delete(&address, &cx.desired.aws_name(name))];
                changes::destroy_found(address.clone(), cx.desired, live.map(|r| &r.tags), delete)
            })
            .collect()
    }

    fn reference_values(&self, live: &Live) -> BTreeMap<String, String> {
        let all = live.all::<Option<LiveRole>>(KIND).into_iter().flatten();
        all.filter_map(|(n, r)| Some((format!("roles.{n}.arn"), r.as_ref()?.arn.clone()))).collect()
    }

    /// Roles are not in the Tagging API: the tool's own path is listed (one page per 1,000
    /// roles under it, not the account's roles), and only undeclared roles there are read.
    fn discover<'a>(&'a self, ctx: &'a AwsContext, desired: &'a Desired, _tagged: &'a Tagged<'a>) -> Discovered<'a> {
        Box::pin(async move {
            let names = observe::list_path(ctx).await?;
            let declared = |k: &str| desired.resources.roles.contains_key(k);
            let read = |aws: String| async move { observe::observe_if_owned(ctx, &aws, desired).await };
            reading::read_undeclared(KIND, names, desired, declared, read).await
        })
    }

    fn prune(&self, cx: &PlanContext) -> Vec<Planned> {
        changes::prune_owned(cx, KIND, |address, r: &LiveRole| vec![diff::delete(address, &r.name)], diff::untag)
    }

    fn forget(&self, cx: &PlanContext, address: &str) -> Option<(ResourceChange, Vec<Step>)> {
        changes::forget_found(cx, KIND, address, |key| declared_live(cx.live, key), |r, remove| diff::untag(address, r, remove))
    }

    fn import<'a>(&'a self, ctx: &'a AwsContext, name: &'a str) -> BoxFuture<'a, Result<Option<Imported>>> {
        Box::pin(async move { Ok(observe::observe(ctx, name).await?.map(|r| import::imported(&r))) })
    }

    fn execute<'a>(&'a self, ctx: &'a AwsContext, op: &'a Op) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { execute::execute(ctx, op.expect::<RoleOp>()?).await })
    }
}

/// The live role of a declared one (None: it does not exist).
fn declared_live<'a>(live: &'a Live, name: &str) -> Option<&'a LiveRole> {
    live.get::<Option<LiveRole>>(KIND, name).and_then(Option::as_ref)
}

impl Fingerprint for LiveRole {}

impl Owned for LiveRole {
    fn tags(&self) -> &Tags {
        &self.tags
    }
}

/// A role as the spec wants it: policy files resolved against what is known now.
fn desired_role(desired: &Desired, spec: &RoleSpec, refs: &RefContext) -> DesiredRole {
    let inline = spec
        .inline_policies
        .iter()
        .map(|(p, file)| {
            // Validation proved the template is JSON; a resolved value cannot break that.
            let (document, complete) = references::resolved_document(desired, file, refs);
            let late_template = (!complete).then(|| desired.files.get(file).cloned().unwrap_or_default());
            (p.clone(), InlinePolicy { document, late_template })
        })
        .collect();
    DesiredRole {
        path: spec.path.clone(),
        trust: trust_document(&spec.trust),
        description: spec.description.clone(),
        managed: spec.managed_policies.iter().cloned().collect(),
        inline,
        tags: ownership::resolved_tags(&spec.tags, desired, refs),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LiveRole {
    pub name: String,
    pub arn: String,
    #[serde(default)]
    pub path: String,
    pub trust: Value,
    pub description: Option<String>,
    pub managed: BTreeSet<String>,
    pub inline: BTreeMap<String, Value>,
    pub tags: BTreeMap<String, String>,
}

/// A role as the spec wants it, with policy files read and references resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredRole {
    /// The spec's IAM path, if it names one.
    pub path: Option<String>,
    pub trust: Value,
    pub description: Option<String>,
    pub managed: BTreeSet<String>,
    pub inline: BTreeMap<String, InlinePolicy>,
    pub tags: BTreeMap<String, String>,
}

/// An inline policy: the document as resolved now, and its template when a value in it
/// (a stream ARN of a table not created yet) is known only during apply.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InlinePolicy {
    pub document: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_template: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum RoleOp {
    CreateRole {
        name: String,
        path: String,
        trust: Value,
        description: Option<String>,
        tags: BTreeMap<String, String>,
    },
    UpdateTrust {
        name: String,
        trust: Value,
    },
    UpdateDescription {
        name: String,
        description: String,
    },
    PutPolicy {
        name: String,
        policy: String,
        document: InlinePolicy,
    },
    DeletePolicy {
        name: String,
        policy: String,
    },
    Attach {
        name: String,
        arn: String,
    },
    Detach {
        name: String,
        arn: String,
    },
    Tag {
        name: String,
        set: BTreeMap<String, String>,
        remove: Vec<String>,
    },
    /// Detaches and deletes its policies, then the role (destroy).
    DeleteRole {
        name: String,
    },
}

/// The trust policy that lets the listed services assume the role.
pub fn trust_document(services: &[String]) -> Value {
    let mut s: Vec<&String> = services.iter().collect();
    s.sort();
    s.dedup();
    json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": s}, "Action": "sts:AssumeRole"}]
    })
}
