//! Reading a role: GetRole with its attached and inline policies at once; discovery lists the
//! tool's IAM path and reads only the roles whose tags carry this env's marker.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result};
use futures::future::try_join_all;
use serde_json::Value;

use super::LiveRole;
use crate::aws::{aws_error, code, AwsContext};
use crate::kinds::support::ownership;
use crate::policy;
use crate::spec::Desired;

/// The names of the roles under the tool's path.
pub(super) async fn list_path(ctx: &AwsContext) -> Result<Vec<String>> {
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
pub(super) async fn observe_if_owned(ctx: &AwsContext, name: &str, desired: &Desired) -> Result<Option<LiveRole>> {
    let tags = match ctx.iam.list_role_tags().role_name(name).max_items(1000).send().await {
        Ok(o) => o.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect::<BTreeMap<_, _>>(),
        Err(e) if code(&e) == Some("NoSuchEntity") => return Ok(None),
        Err(e) => return Err(aws_error("IAM", "ListRoleTags", name, e).into()),
    };
    if !ownership::owned(&tags, desired) {
        return Ok(None);
    }
    observe(ctx, name).await
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

pub(super) async fn attached(ctx: &AwsContext, name: &str) -> Result<BTreeSet<String>> {
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

pub(super) async fn inline_policies(ctx: &AwsContext, name: &str) -> Result<BTreeMap<String, Value>> {
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
