//! Reading a function: GetFunction, and beside it the network its `vpc` names, its log group and
//! its reserved concurrency (each only when the spec manages it); deployed code is compared by
//! content only when the hashes differ.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result};

use super::flex::config_of;
use super::{log_group_name, LiveFunction, LiveFunctionSide, LiveLogGroup};
use crate::aws::{aws_error, code, AwsContext};
use crate::kinds::support::ec2;
use crate::kinds::support::reading::read_if;
use crate::spec::{Desired, FunctionSpec};

/// Reads a declared function, with what its spec manages: the log group and the reserved
/// concurrency alongside the function, not after it; named subnets and groups are the placement
/// as given, `vpc` is read from EC2.
pub(super) async fn declared(ctx: &AwsContext, desired: &Desired, name: &str, spec: &FunctionSpec) -> Result<LiveFunctionSide> {
    let aws = desired.aws_name(name);
    let want = desired.code.get(name).cloned().unwrap_or_default();
    let source = desired.base_dir.join(&spec.source);
    let vpc = if spec.subnets.is_empty() { spec.vpc.as_deref() } else { None };
    let logs = read_if(spec.log_retention_days.is_some(), read_log_group(ctx, &aws));
    let reserved = read_if(spec.reserved_concurrency.is_some(), read_concurrency(ctx, &aws));
    let alias = spec.deploy.as_ref().map(|d| d.alias.as_str());
    let deploy = read_if(alias.is_some(), super::deploy::read(ctx, &aws, alias.unwrap_or_default()));
    let (mut side, log_group, reserved, deploy) = tokio::try_join!(observe(ctx, &aws, vpc), logs, reserved, deploy)?;
    (side.log_group, side.reserved_concurrency, side.deploy) = (log_group, reserved, deploy);
    if !spec.subnets.is_empty() {
        side.subnets = spec.subnets.iter().cloned().collect();
        side.security_groups = spec.security_groups.iter().cloned().collect();
    }
    if let Some(f) = side.function.as_mut() {
        compare_code(f, &want, &source).await;
    }
    Ok(side)
}

/// Compares the deployed code with the local package by content, only when the hashes differ
/// (the usual plan downloads nothing): a zip made by another tool (the console, an import) has
/// other bytes for the same files. A download that fails is said, and the hashes decide.
pub(super) async fn compare_code(f: &mut LiveFunction, want_sha256: &str, source: &Path) {
    let Some(url) = f.code_location.clone() else { return };
    if want_sha256.is_empty() || f.code_sha256 == want_sha256 {
        return;
    }
    let what = format!("the deployed code of function {}", f.name());
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

/// GetFunctionConcurrency (None: nothing reserved; a function that does not exist yet has none).
pub(super) async fn read_concurrency(ctx: &AwsContext, name: &str) -> Result<Option<i64>> {
    match ctx.lambda.get_function_concurrency().function_name(name).send().await {
        Ok(o) => Ok(o.reserved_concurrent_executions().map(i64::from)),
        Err(e) if code(&e) == Some("ResourceNotFoundException") => Ok(None),
        Err(e) => Err(aws_error("Lambda", "GetFunctionConcurrency", name, e).into()),
    }
}

/// DescribeLogGroups by the group's exact name (as a prefix, then matched).
pub(super) async fn read_log_group(ctx: &AwsContext, function: &str) -> Result<LiveLogGroup> {
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
            Some(v) => ec2::network(ctx, v).await,
            None => Ok((BTreeSet::new(), BTreeSet::new())),
        }
    };
    let (function, (subnets, security_groups)) = tokio::try_join!(function, net)?;
    Ok(LiveFunctionSide { function, subnets, security_groups, log_group: None, reserved_concurrency: None, deploy: None })
}
