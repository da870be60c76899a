//! Running the role's operations.

use std::collections::BTreeMap;

use anyhow::Result;

use super::observe::observe;
use super::RoleOp;
use crate::aws::{aws_error, code, AwsContext};
use crate::kinds::support::references;

pub(super) fn iam_tags(tags: &BTreeMap<String, String>) -> Result<Vec<aws_sdk_iam::types::Tag>> {
    tags.iter().map(|(k, v)| Ok(aws_sdk_iam::types::Tag::builder().key(k).value(v).build()?)).collect()
}

pub(super) async fn execute(ctx: &AwsContext, op: &RoleOp) -> Result<()> {
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
                Some(t) => references::resolve_late(ctx, t).await?,
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
