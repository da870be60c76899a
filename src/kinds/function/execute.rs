//! Running the function's operations under Lambda's rules (docs/aws-behaviour.md 8, 10, 29): wait
//! for the role to be assumable, one update at a time, RevisionId on updates.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types as lam;

use super::flex::{tracing_config, vpc_config};
use super::observe::observe;
use super::{FunctionConfig, FunctionOp};
use crate::aws::{aws_error, code, AwsContext};
use crate::kinds::support::{references, wait};

/// How long apply waits for IAM to let Lambda assume a new role (rule 8).
pub(super) const ROLE_PROPAGATION: Duration = Duration::from_secs(120);

pub(super) async fn environment(ctx: &AwsContext, c: &FunctionConfig) -> Result<lam::Environment> {
    let mut vars = c.environment.clone();
    for (k, template) in &c.late_environment {
        vars.insert(k.clone(), references::resolve_late(ctx, template).await?);
    }
    Ok(lam::Environment::builder().set_variables(Some(vars.into_iter().collect())).build())
}

/// Builds the package and checks it is the code the plan was made for.
pub(super) fn package(source: &std::path::Path, planned: &str) -> Result<Blob> {
    let p = crate::package::build(source)?;
    if p.sha256 != planned {
        bail!("the code in {} changed since the plan was made; plan again", source.display());
    }
    Ok(Blob::new(p.bytes))
}

/// Lambda refuses a role IAM has not propagated yet (rule 8): that error is retried.
pub(super) fn role_not_ready(code: Option<&str>, message: Option<&str>) -> bool {
    code == Some("InvalidParameterValueException") && message.is_some_and(|m| m.contains("cannot be assumed") || m.contains("role"))
}

pub(super) async fn revision(ctx: &AwsContext, name: &str) -> Result<Option<String>> {
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
pub(super) enum Retry {
    /// Another update is in progress (rule 10): wait for the function, then try again.
    Conflict,
    /// IAM has not propagated the role yet (rule 8): back off, then try again.
    Role,
    /// The RevisionId no longer matches: ours (a lost answer) or someone else's write.
    Revision,
    Fail,
}

pub(super) fn classify<E: aws_smithy_types::error::metadata::ProvideErrorMetadata>(e: &E) -> Retry {
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
pub(super) async fn retrying<F, Fut>(
    ctx: &AwsContext,
    name: &str,
    check: Option<(Option<&FunctionConfig>, Option<&str>)>,
    attempt: F,
) -> Result<()>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<(), (Retry, anyhow::Error)>>,
{
    use crate::kinds::support::retry::{self, Next};
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

pub(super) fn fail<E>(
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
pub(super) async fn already_applied(
    ctx: &AwsContext,
    name: &str,
    config: Option<&FunctionConfig>,
    code_sha256: Option<&str>,
) -> Result<bool> {
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

pub(super) async fn execute(ctx: &AwsContext, op: &FunctionOp) -> Result<()> {
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
        FunctionOp::PublishAndMove { .. } | FunctionOp::Bake { .. } | FunctionOp::PruneVersions { .. } | FunctionOp::RollBack { .. } => {
            super::deploy::execute(ctx, op).await
        }
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
pub(super) fn readiness(name: &str, state: &str, update: &str, reason: Option<&str>) -> Result<wait::Poll> {
    if state == "Failed" || update == "Failed" {
        bail!("function {name} failed: {}", reason.unwrap_or("no reason given"));
    }
    Ok(if matches!(state, "Active" | "Inactive") && update == "Successful" {
        wait::Poll::Done
    } else {
        wait::Poll::Pending(format!("state {state}, last update {update}"))
    })
}
