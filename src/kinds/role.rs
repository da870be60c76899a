//! `iam_role`: the role, its trust policy, attached managed policies and inline policies.
//! Documents are compared by meaning (aws-rules.md rule 7); a change that broadens what the
//! role may do is marked in the plan.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result};
use futures::future::{try_join_all, BoxFuture};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::aws::{aws_error, code, AwsContext};
use crate::plan::{Action, FieldDiff, ResourceChange, Step};
use crate::policy;
use crate::spec::refs::RefContext;
use crate::spec::{Desired, Resources, RoleSpec};

use super::{Declared, Kind, LiveData, Op, PlanContext, Planned};

pub const KIND: &str = "iam_role";

/// The IAM role kind.
pub struct Roles;

/// A role as the spec wants it: policy files resolved against what is known now.
fn desired_role(desired: &Desired, spec: &RoleSpec, refs: &RefContext) -> DesiredRole {
    let inline = spec
        .inline_policies
        .iter()
        .map(|(p, file)| {
            // Validation proved the template is JSON; a resolved value cannot break that.
            let (document, complete) = super::resolved_document(desired, file, refs);
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
        tags: super::resolved_tags(&spec.tags, desired, refs),
    }
}

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
            .map(|(n, x)| super::declared_with(format!("{KIND}.{n}"), &super::file_texts(desired, x.inline_policies.values()), vec![]))
            .collect()
    }

    fn retain(&self, resources: &mut Resources, keep: &dyn Fn(&str) -> bool) {
        resources.roles.retain(|n, _| keep(&format!("{KIND}.{n}")));
    }

    fn observe<'a>(&'a self, ctx: &'a AwsContext, desired: &'a Desired) -> BoxFuture<'a, Result<Box<dyn LiveData>>> {
        Box::pin(async move {
            let read = super::read_each(KIND, &desired.resources.roles, |name, _| {
                let aws = desired.aws_name(name);
                async move { observe(ctx, &aws).await }
            });
            super::boxed(read.await)
        })
    }

    fn diff(&self, cx: &PlanContext) -> Vec<Planned> {
        let r = &cx.desired.resources.roles;
        r.iter()
            .map(|(name, spec)| {
                let want = desired_role(cx.desired, spec, cx.refs);
                let live = cx.live.get::<Option<LiveRole>>(KIND, name).and_then(Option::as_ref);
                let aws = cx.desired.aws_name(name);
                let mut p = super::found_by_name(KIND, name, cx.desired, live.map(|r| &r.tags), diff(&aws, &want, live));
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
        let mut out = Vec::new();
        for name in cx.desired.resources.roles.keys() {
            let address = format!("{KIND}.{name}");
            out.push(match cx.live.get::<Option<LiveRole>>(KIND, name).and_then(Option::as_ref) {
                None => super::destroy_change(address, vec![], None),
                Some(x) if !super::ours(&x.tags, cx.desired) => super::destroy_change(address, vec![], Some(super::NOT_OURS.into())),
                Some(_) => {
                    let name = cx.desired.aws_name(name);
                    let s = vec![step(&address, format!("delete role {name} and its policies"), RoleOp::DeleteRole { name })];
                    super::destroy_change(address, s, None)
                }
            });
        }
        out
    }

    fn reference_values(&self, live: &super::Live) -> BTreeMap<String, String> {
        let all = live.all::<Option<LiveRole>>(KIND).into_iter().flatten();
        all.filter_map(|(n, r)| Some((format!("roles.{n}.arn"), r.as_ref()?.arn.clone()))).collect()
    }

    /// Roles are not in the Tagging API: the tool's own path is listed (one page per 1,000
    /// roles under it, not the account's roles), and only undeclared roles there are read.
    fn discover<'a>(
        &'a self,
        ctx: &'a AwsContext,
        desired: &'a Desired,
        _tagged: &'a super::Tagged<'a>,
    ) -> BoxFuture<'a, Result<Option<Box<dyn LiveData>>>> {
        Box::pin(async move {
            let names = list_path(ctx).await?;
            let declared = |k: &str| desired.resources.roles.contains_key(k);
            super::read_undeclared(KIND, names, desired, declared, |aws| async move { observe_if_owned(ctx, &aws, desired).await }).await
        })
    }

    fn prune(&self, cx: &PlanContext) -> Vec<Planned> {
        let all = cx.live.orphans::<LiveRole>(KIND).into_iter().flatten();
        all.filter(|(_, r)| super::owned(&r.tags, cx.desired))
            .map(|(key, r)| {
                let address = format!("{KIND}.{key}");
                let name = r.name.clone();
                let delete = vec![step(&address, format!("delete role {name} and its policies"), RoleOp::DeleteRole { name })];
                super::orphan_change(address.clone(), cx.desired, &r.tags, delete, |remove| untag(&address, r, remove))
            })
            .collect()
    }

    fn forget(&self, cx: &PlanContext, address: &str) -> Option<(ResourceChange, Vec<Step>)> {
        let key = address.strip_prefix(&format!("{KIND}."))?;
        let declared = cx.live.get::<Option<LiveRole>>(KIND, key).and_then(Option::as_ref);
        let r = declared.or_else(|| cx.live.orphans::<LiveRole>(KIND)?.get(key))?;
        super::ours(&r.tags, cx.desired).then(|| super::forget_change(address, &r.tags, |remove| untag(address, r, remove)))
    }

    fn import<'a>(&'a self, ctx: &'a AwsContext, name: &'a str) -> BoxFuture<'a, Result<Option<super::Imported>>> {
        Box::pin(async move {
            let Some(r) = observe(ctx, name).await? else { return Ok(None) };
            Ok(Some(imported(&r)))
        })
    }

    fn parse_op(&self, call: serde_json::Value) -> Result<Op, serde_json::Error> {
        super::parse_op::<RoleOp>(KIND, call)
    }

    fn execute<'a>(&'a self, ctx: &'a AwsContext, op: &'a Op) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { execute(ctx, op.expect::<RoleOp>()?).await })
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

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
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
/// A live role as spec (`import`): its inline policies as files `policies/NAME.json`.
pub fn imported(r: &LiveRole) -> super::Imported {
    let services = services_of(&r.trust);
    let mut notes = Vec::new();
    if !policy::equivalent(&trust_document(&services), &r.trust) {
        notes.push(format!(
            "its trust policy says more than which services may assume it ({}); the spec says only the services, \
             so a plan would narrow it: {}",
            services.join(", "),
            r.trust
        ));
    }
    let inline = r.inline.keys().map(|p| (p.clone(), format!("policies/{p}.json"))).collect();
    let spec = RoleSpec {
        path: (r.path != crate::spec::refs::ROLE_PATH && !r.path.is_empty()).then(|| r.path.clone()),
        trust: services,
        managed_policies: r.managed.iter().cloned().collect(),
        inline_policies: inline,
        description: r.description.clone().filter(|d| !d.is_empty()),
        tags: super::user_tags(&r.tags, &[]),
    };
    let mut i = super::Imported::new("roles", &r.name, super::spec_value(&spec), r.tags.clone());
    i.notes = notes;
    for (p, doc) in &r.inline {
        let text = serde_json::to_string_pretty(doc).unwrap_or_default() + "\n";
        i.files.push((format!("policies/{p}.json"), text.into_bytes()));
    }
    i.refs.push((r.arn.clone(), format!("${{roles.{}.arn}}", r.name)));
    i.refs.push((r.name.clone(), format!("${{roles.{}.name}}", r.name)));
    i
}

/// The services a trust policy lets assume the role (`Principal.Service` of its Allow
/// `sts:AssumeRole` statements).
fn services_of(trust: &Value) -> Vec<String> {
    let list = |v: &Value| match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
        _ => vec![],
    };
    let statements = match &trust["Statement"] {
        Value::Array(a) => a.clone(),
        one => vec![one.clone()],
    };
    let mut out: Vec<String> = statements
        .iter()
        .filter(|s| s["Effect"] == "Allow" && list(&s["Action"]).iter().any(|a| a == "sts:AssumeRole"))
        .flat_map(|s| list(&s["Principal"]["Service"]))
        .collect();
    out.sort();
    out.dedup();
    out
}

pub fn trust_document(services: &[String]) -> Value {
    let mut s: Vec<&String> = services.iter().collect();
    s.sort();
    s.dedup();
    json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": s}, "Action": "sts:AssumeRole"}]
    })
}

// ---------------------------------------------------------------------------------------------
// observe

/// The names of the roles under the tool's path.
async fn list_path(ctx: &AwsContext) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut marker = None;
    loop {
        let o = ctx
            .iam
            .list_roles()
            .path_prefix(crate::spec::refs::ROLE_PATH)
            .max_items(1000)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| aws_error("IAM", "ListRoles", crate::spec::refs::ROLE_PATH, e))?;
        out.extend(o.roles().iter().map(|r| r.role_name().to_string()));
        marker = o.marker().map(str::to_string);
        if !o.is_truncated() || marker.is_none() {
            return Ok(out);
        }
    }
}

/// A role under the tool's path, read in full only when its tags (ListRoleTags, one call)
/// carry this stack env's marker: another env's roles cost one call each, not four.
async fn observe_if_owned(ctx: &AwsContext, name: &str, desired: &Desired) -> Result<Option<LiveRole>> {
    let tags = match ctx.iam.list_role_tags().role_name(name).max_items(1000).send().await {
        Ok(o) => o.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect::<BTreeMap<_, _>>(),
        Err(e) if code(&e) == Some("NoSuchEntity") => return Ok(None),
        Err(e) => return Err(aws_error("IAM", "ListRoleTags", name, e).into()),
    };
    if !super::owned(&tags, desired) {
        return Ok(None);
    }
    observe(ctx, name).await
}

/// The step that removes this stack's tags from a role.
fn untag(address: &str, r: &LiveRole, remove: Vec<String>) -> Vec<Step> {
    let op = RoleOp::Tag { name: r.name.clone(), set: BTreeMap::new(), remove };
    vec![step(address, format!("remove this stack's tags from role {}", r.name), op)]
}

/// Reads a role: GetRole, and at the same time its attached and inline policies (the
/// lists fail with NoSuchEntity when the role does not exist, which GetRole reports).
pub async fn observe(ctx: &AwsContext, name: &str) -> Result<Option<LiveRole>> {
    let (role, policies) = tokio::join!(ctx.iam.get_role().role_name(name).send(), async {
        tokio::try_join!(attached(ctx, name), inline_policies(ctx, name))
    });
    let role = match role {
        Ok(o) => o.role.context("GetRole returned no role")?,
        Err(e) if code(&e) == Some("NoSuchEntity") => return Ok(None),
        Err(e) => return Err(aws_error("IAM", "GetRole", name, e).into()),
    };
    let (managed, inline) = policies?;
    let trust = match role.assume_role_policy_document() {
        Some(doc) => policy::decode(doc).map_err(|e| anyhow::anyhow!("role {name}: trust policy: {e}"))?,
        None => Value::Null,
    };
    Ok(Some(LiveRole {
        name: name.into(),
        arn: role.arn().to_string(),
        path: role.path().to_string(),
        trust,
        description: role.description().map(str::to_string),
        managed,
        inline,
        tags: role.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect(),
    }))
}

async fn attached(ctx: &AwsContext, name: &str) -> Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    let mut marker = None;
    loop {
        let o = ctx
            .iam
            .list_attached_role_policies()
            .role_name(name)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| aws_error("IAM", "ListAttachedRolePolicies", name, e))?;
        out.extend(o.attached_policies().iter().filter_map(|p| p.policy_arn().map(str::to_string)));
        marker = o.marker().map(str::to_string);
        if !o.is_truncated() || marker.is_none() {
            return Ok(out);
        }
    }
}

async fn inline_policies(ctx: &AwsContext, name: &str) -> Result<BTreeMap<String, Value>> {
    let mut names = Vec::new();
    let mut marker = None;
    loop {
        let o = ctx
            .iam
            .list_role_policies()
            .role_name(name)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| aws_error("IAM", "ListRolePolicies", name, e))?;
        names.extend(o.policy_names().iter().cloned());
        marker = o.marker().map(str::to_string);
        if !o.is_truncated() || marker.is_none() {
            break;
        }
    }
    let docs = try_join_all(names.into_iter().map(|p| async move {
        let o = ctx
            .iam
            .get_role_policy()
            .role_name(name)
            .policy_name(&p)
            .send()
            .await
            .map_err(|e| aws_error("IAM", "GetRolePolicy", &format!("{name}/{p}"), e))?;
        let doc = policy::decode(o.policy_document()).map_err(|e| anyhow::anyhow!("role {name}: policy {p}: {e}"))?;
        anyhow::Ok((p, doc))
    }))
    .await?;
    Ok(docs.into_iter().collect())
}

// ---------------------------------------------------------------------------------------------
// diff (pure)

fn step(address: &str, description: String, op: RoleOp) -> Step {
    super::step(KIND, address, description, op)
}

fn policy_diff(path: String, before: Option<&Value>, after: &Value) -> FieldDiff {
    let widen = policy::broadening(before, after);
    let d = FieldDiff::new(path, before.map(policy::normalize), policy::normalize(after));
    if widen.is_empty() {
        d
    } else {
        d.broadens(widen.join("; "))
    }
}

pub fn diff(name: &str, want: &DesiredRole, live: Option<&LiveRole>) -> (ResourceChange, Vec<Step>) {
    let address = format!("{KIND}.{name}");
    let mut diffs = Vec::new();
    let mut steps = Vec::new();
    let empty = LiveRole {
        name: name.into(),
        arn: String::new(),
        path: String::new(),
        trust: Value::Null,
        description: None,
        managed: BTreeSet::new(),
        inline: BTreeMap::new(),
        tags: BTreeMap::new(),
    };
    let action = if live.is_some() { Action::Update } else { Action::Create };
    let live_ref = live.unwrap_or(&empty);

    if live.is_none() {
        diffs.push(policy_diff("trust".into(), None, &want.trust));
        if let Some(d) = &want.description {
            diffs.push(FieldDiff::new("description", None::<String>, d));
        }
        steps.push(step(
            &address,
            format!("create role {name}"),
            RoleOp::CreateRole {
                name: name.into(),
                path: want.path.clone().unwrap_or_else(|| crate::spec::refs::ROLE_PATH.into()),
                trust: want.trust.clone(),
                description: want.description.clone(),
                tags: want.tags.clone(),
            },
        ));
        for (k, v) in &want.tags {
            diffs.push(FieldDiff::new(format!("tags.{k}"), None::<String>, v));
        }
    } else {
        if !policy::equivalent(&live_ref.trust, &want.trust) {
            diffs.push(policy_diff("trust".into(), Some(&live_ref.trust), &want.trust));
            steps.push(step(
                &address,
                format!("update the trust policy of role {name}"),
                RoleOp::UpdateTrust { name: name.into(), trust: want.trust.clone() },
            ));
        }
        if let Some(d) = &want.description {
            if live_ref.description.as_ref() != Some(d) {
                diffs.push(FieldDiff::new("description", &live_ref.description, d));
                steps.push(step(
                    &address,
                    format!("update the description of role {name}"),
                    RoleOp::UpdateDescription { name: name.into(), description: d.clone() },
                ));
            }
        }
    }

    // Inline policies: put new and changed ones, delete the ones the spec no longer has.
    for (p, doc) in &want.inline {
        let before = live_ref.inline.get(p);
        if before.is_some_and(|b| policy::equivalent(b, &doc.document)) {
            continue;
        }
        diffs.push(policy_diff(format!("inline_policies.{p}"), before, &doc.document));
        steps.push(step(
            &address,
            format!("put inline policy {p} on role {name}"),
            RoleOp::PutPolicy { name: name.into(), policy: p.clone(), document: doc.clone() },
        ));
    }
    for (p, doc) in &live_ref.inline {
        if !want.inline.contains_key(p) {
            diffs.push(FieldDiff::new(format!("inline_policies.{p}"), policy::normalize(doc), None::<String>));
            steps.push(step(
                &address,
                format!("delete inline policy {p} from role {name}"),
                RoleOp::DeletePolicy { name: name.into(), policy: p.clone() },
            ));
        }
    }

    // Managed policies: a set; attach and detach only the difference.
    for arn in want.managed.difference(&live_ref.managed) {
        diffs.push(FieldDiff::new(format!("managed_policies.{arn}"), None::<String>, "attached").broadens(format!("attaches {arn}")));
        steps.push(step(&address, format!("attach {arn} to role {name}"), RoleOp::Attach { name: name.into(), arn: arn.clone() }));
    }
    for arn in live_ref.managed.difference(&want.managed) {
        diffs.push(FieldDiff::new(format!("managed_policies.{arn}"), "attached", None::<String>));
        steps.push(step(&address, format!("detach {arn} from role {name}"), RoleOp::Detach { name: name.into(), arn: arn.clone() }));
    }

    if live.is_some() {
        let (tag_diffs, set, remove) = crate::plan::tag_delta(&want.tags, &live_ref.tags);
        diffs.extend(tag_diffs);
        if !set.is_empty() || !remove.is_empty() {
            steps.push(step(&address, format!("update the tags of role {name}"), RoleOp::Tag { name: name.into(), set, remove }));
        }
    }

    // IAM has no call that moves a role: a path the spec names that is not the role's own is
    // refused with the way out, never "fixed" by deleting the role.
    let moved = live.zip(want.path.as_ref()).filter(|(l, p)| &l.path != *p);
    if let Some((l, p)) = moved {
        diffs.insert(0, FieldDiff::new("path", &l.path, p));
    }
    let action = if diffs.is_empty() { Action::NoOp } else { action };
    let mut change = ResourceChange::new(&address, action);
    change.diffs = diffs;
    if let Some((l, p)) = moved {
        change.blocked = Some(format!(
            "role {name} lives at the IAM path {}, and IAM cannot move a role: write `path: {}` (or leave `path` out) \
             to keep it, or delete the role and apply to make it again under {p}",
            l.path, l.path
        ));
        return (change, Vec::new());
    }
    (change, steps)
}

// ---------------------------------------------------------------------------------------------
// execute

fn iam_tags(tags: &BTreeMap<String, String>) -> Result<Vec<aws_sdk_iam::types::Tag>> {
    tags.iter().map(|(k, v)| Ok(aws_sdk_iam::types::Tag::builder().key(k).value(v).build()?)).collect()
}

pub async fn execute(ctx: &AwsContext, op: &RoleOp) -> Result<()> {
    match op {
        RoleOp::CreateRole { name, path, trust, description, tags } => {
            let r = ctx
                .iam
                .create_role()
                .role_name(name)
                .path(path)
                .assume_role_policy_document(trust.to_string())
                .set_description(description.clone())
                .set_tags(Some(iam_tags(tags)?))
                .send()
                .await;
            match r {
                Ok(_) => Ok(()),
                // Created by an earlier attempt whose answer was lost: the convergence check
                // re-reads it, and a second apply fixes any difference.
                Err(e) if code(&e) == Some("EntityAlreadyExists") => {
                    crate::log::info(&format!("  role {name} already exists: using it"));
                    Ok(())
                }
                Err(e) => Err(aws_error("IAM", "CreateRole", name, e).into()),
            }
        }
        RoleOp::UpdateTrust { name, trust } => {
            ctx.iam
                .update_assume_role_policy()
                .role_name(name)
                .policy_document(trust.to_string())
                .send()
                .await
                .map_err(|e| aws_error("IAM", "UpdateAssumeRolePolicy", name, e))?;
            Ok(())
        }
        RoleOp::UpdateDescription { name, description } => {
            ctx.iam
                .update_role()
                .role_name(name)
                .description(description)
                .send()
                .await
                .map_err(|e| aws_error("IAM", "UpdateRole", name, e))?;
            Ok(())
        }
        RoleOp::PutPolicy { name, policy, document } => {
            let doc = match &document.late_template {
                Some(t) => super::resolve_late(ctx, t).await?,
                None => document.document.to_string(),
            };
            ctx.iam
                .put_role_policy()
                .role_name(name)
                .policy_name(policy)
                .policy_document(doc)
                .send()
                .await
                .map_err(|e| aws_error("IAM", "PutRolePolicy", &format!("{name}/{policy}"), e))?;
            Ok(())
        }
        RoleOp::DeletePolicy { name, policy } => match ctx.iam.delete_role_policy().role_name(name).policy_name(policy).send().await {
            Ok(_) => Ok(()),
            Err(e) if code(&e) == Some("NoSuchEntity") => Ok(()),
            Err(e) => Err(aws_error("IAM", "DeleteRolePolicy", &format!("{name}/{policy}"), e).into()),
        },
        RoleOp::Attach { name, arn } => {
            ctx.iam
                .attach_role_policy()
                .role_name(name)
                .policy_arn(arn)
                .send()
                .await
                .map_err(|e| aws_error("IAM", "AttachRolePolicy", &format!("{name} ← {arn}"), e))?;
            Ok(())
        }
        RoleOp::Detach { name, arn } => match ctx.iam.detach_role_policy().role_name(name).policy_arn(arn).send().await {
            Ok(_) => Ok(()),
            Err(e) if code(&e) == Some("NoSuchEntity") => Ok(()),
            Err(e) => Err(aws_error("IAM", "DetachRolePolicy", &format!("{name} ← {arn}"), e).into()),
        },
        RoleOp::DeleteRole { name } => {
            let Some(live) = observe(ctx, name).await? else { return Ok(()) };
            for arn in &live.managed {
                match ctx.iam.detach_role_policy().role_name(name).policy_arn(arn).send().await {
                    Err(e) if code(&e) != Some("NoSuchEntity") => return Err(aws_error("IAM", "DetachRolePolicy", name, e).into()),
                    _ => {}
                }
            }
            for p in live.inline.keys() {
                match ctx.iam.delete_role_policy().role_name(name).policy_name(p).send().await {
                    Err(e) if code(&e) != Some("NoSuchEntity") => return Err(aws_error("IAM", "DeleteRolePolicy", name, e).into()),
                    _ => {}
                }
            }
            match ctx.iam.delete_role().role_name(name).send().await {
                Ok(_) => Ok(()),
                Err(e) if code(&e) == Some("NoSuchEntity") => Ok(()),
                Err(e) => Err(aws_error("IAM", "DeleteRole", name, e).into()),
            }
        }
        RoleOp::Tag { name, set, remove } => {
            if !remove.is_empty() {
                ctx.iam
                    .untag_role()
                    .role_name(name)
                    .set_tag_keys(Some(remove.clone()))
                    .send()
                    .await
                    .map_err(|e| aws_error("IAM", "UntagRole", name, e))?;
            }
            if !set.is_empty() {
                ctx.iam
                    .tag_role()
                    .role_name(name)
                    .set_tags(Some(iam_tags(set)?))
                    .send()
                    .await
                    .map_err(|e| aws_error("IAM", "TagRole", name, e))?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want(path: Option<&str>) -> DesiredRole {
        DesiredRole {
            path: path.map(str::to_string),
            trust: trust_document(&["lambda.amazonaws.com".into()]),
            description: None,
            managed: BTreeSet::new(),
            inline: BTreeMap::new(),
            tags: BTreeMap::new(),
        }
    }

    fn live(path: &str) -> LiveRole {
        LiveRole {
            name: "r".into(),
            arn: format!("arn:aws:iam::1:role{path}r"),
            path: path.into(),
            trust: trust_document(&["lambda.amazonaws.com".into()]),
            description: None,
            managed: BTreeSet::new(),
            inline: BTreeMap::new(),
            tags: BTreeMap::new(),
        }
    }

    #[test]
    fn import_says_the_services_and_notes_a_trust_it_cannot_say() {
        let mut r = live("/service-role/");
        r.trust = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": {"Service": ["lambda.amazonaws.com", "edgelambda.amazonaws.com"]}, "Action": "sts:AssumeRole"}});
        let i = imported(&r);
        assert_eq!(i.value["trust"], serde_yaml::to_value(["edgelambda.amazonaws.com", "lambda.amazonaws.com"]).unwrap());
        assert_eq!(i.value["path"], "/service-role/");
        assert!(i.notes.is_empty());
        r.trust["Statement"]["Condition"] = json!({"StringEquals": {"aws:SourceAccount": "1"}});
        assert!(imported(&r).notes[0].contains("says more than which services may assume it"));
        assert!(imported(&live(crate::spec::refs::ROLE_PATH)).value.get("path").is_none(), "the tool's own path is the default");
    }

    #[test]
    fn a_role_is_made_at_its_path_and_never_moved() {
        let (_, steps) = diff("r", &want(Some("/service-role/")), None);
        assert!(matches!(steps[0].op.get::<RoleOp>(), Some(RoleOp::CreateRole { path, .. }) if path == "/service-role/"));
        let (_, steps) = diff("r", &want(None), None);
        assert!(matches!(steps[0].op.get::<RoleOp>(), Some(RoleOp::CreateRole { path, .. }) if path == crate::spec::refs::ROLE_PATH));
        // Found by name at any path when the spec names none; the same path is no change.
        assert_eq!(diff("r", &want(None), Some(&live("/service-role/"))).0.action, Action::NoOp);
        assert_eq!(diff("r", &want(Some("/service-role/")), Some(&live("/service-role/"))).0.action, Action::NoOp);
        let (c, steps) = diff("r", &want(Some("/app/")), Some(&live("/service-role/")));
        assert!(steps.is_empty());
        assert_eq!(c.diffs[0].path, "path");
        assert!(c.blocked.as_deref().unwrap_or("").contains("IAM cannot move a role"), "{:?}", c.blocked);
    }
}
