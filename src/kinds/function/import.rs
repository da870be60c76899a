//! `import`: a live function as spec, its deployed code unpacked into `lambda/NAME/`, and what it
//! refers to followed (its role, its triggers' tables and queues, its VPC's endpoint).

use std::collections::BTreeMap;

use anyhow::{Context, Result};

use super::flex::config_of;
use super::mapping;
use super::observe::{read_concurrency, read_log_group};
use crate::aws::{aws_error, code, AwsContext};
use crate::kinds::support::import::{spec_value, user_tags};
use crate::kinds::support::{cloudwatch, ec2};
use crate::kinds::Imported;
use crate::spec::FunctionSpec;

/// `import`: a live function as spec, with its deployed code unpacked into
/// `lambda/NAME/`, and what it refers to followed (its role, its triggers' tables, the
/// DynamoDB gateway endpoint of its VPC).
pub(super) async fn import(ctx: &AwsContext, name: &str) -> Result<Option<Imported>> {
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

    // Its network: the whole default VPC says `vpc: default`; anything else, exactly. Only a
    // function placed in a VPC uses that VPC's gateway endpoint (followed below); one in no VPC
    // uses none, and another workload's endpoint in the default VPC is not its to adopt.
    let (mut vpc, mut subnets, mut security_groups, mut network_of) = (None, Vec::new(), Vec::new(), None);
    if !config.subnets.is_empty() {
        network_of = Some("default".to_string());
        let first = config.subnets.iter().next().cloned().unwrap_or_default();
        let described =
            ctx.ec2.describe_subnets().subnet_ids(&first).send().await.map_err(|e| aws_error("EC2", "DescribeSubnets", &first, e))?;
        let vpc_id = described.subnets().first().and_then(|s| s.vpc_id()).unwrap_or_default().to_string();
        let default = ec2::vpc_id(ctx, "default").await.ok();
        let whole = if default.as_deref() == Some(vpc_id.as_str()) { ec2::network(ctx, "default").await.ok() } else { None };
        if whole.is_some_and(|(s, g)| s == config.subnets && g == config.security_groups) {
            vpc = Some("default".to_string());
        } else {
            subnets = config.subnets.iter().cloned().collect();
            security_groups = config.security_groups.iter().cloned().collect();
            if default.as_deref() != Some(vpc_id.as_str()) {
                network_of = Some(vpc_id);
            }
        }
    }

    let mut triggers = Vec::new();
    let mut tables = Vec::new();
    let mut queues = Vec::new();
    let d = mapping::Tuning::aws_default();
    // A trigger that invokes an alias: the function deploys through it.
    let mut deploy = None;
    for m in mapping::list(ctx, name).await? {
        if m.dying() {
            continue;
        }
        if let Some(q) = m.qualifier.as_deref().filter(|q| q.parse::<u64>().is_err()) {
            if deploy.is_none() {
                comments.insert("deploy".to_string(), format!("its trigger invokes alias {q}: deployed through it, no bake").to_string());
            }
            deploy = Some(crate::spec::DeploySpec { alias: q.to_string(), bake_s: 0, rollback: None, keep_versions: 5 });
        }
        if !m.source_arn.contains(":dynamodb:") {
            notes.push(format!("its trigger {} reads {}, which is not a DynamoDB stream: not written", m.uuid, m.source_arn));
            continue;
        }
        let table = mapping::source_table(&m.source_arn);
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
        deploy,
        monitoring: None,
        sensitive: Vec::new(),
        description: config.description.clone(),
        tags: user_tags(&tags, &[]),
    };
    let mut i = Imported::new("functions", name, spec_value(&spec), tags);
    (i.notes, i.comments) = (notes, comments);
    i.files = files.into_iter().map(|(p, bytes)| (format!("{source}/{p}"), bytes)).collect();
    i.follow.push(("roles", role));
    i.follow.extend(tables.into_iter().map(|t| ("tables", t)));
    let queues_read = queues.clone();
    i.follow.extend(queues.into_iter().map(|q| ("queues", q)));
    i.follow.extend(network_of.map(|vpc| ("vpc_endpoints", vpc)));
    // The alarms on its metrics, and on its triggers' queues' depth.
    let mut watched = vec![("AWS/Lambda", "Errors", "FunctionName", name.to_string())];
    watched.push(("AWS/Lambda", "Throttles", "FunctionName", name.to_string()));
    watched.push(("AWS/Lambda", "IteratorAge", "FunctionName", name.to_string()));
    watched.extend(queues_read.iter().map(|q| ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q.clone())));
    for (namespace, metric, dim, value) in &watched {
        for alarm in cloudwatch::alarms_for(ctx, namespace, metric, &[(*dim, value.as_str())]).await? {
            i.follow.push(("alarms", alarm));
        }
    }
    i.refs.push((name.to_string(), format!("${{functions.{name}.name}}")));
    Ok(Some(i))
}
