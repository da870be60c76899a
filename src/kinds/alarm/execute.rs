//! Running the alarm's operations.

use std::time::Duration;

use anyhow::{Context, Result};
use aws_sdk_cloudwatch::types as cw;

use super::flex::{dimensions, tags};
use super::observe::observe;
use super::AlarmOp;
use crate::aws::{aws_error, code, AwsContext};
use crate::kinds::support::wait::{self, Poll};

pub(super) async fn execute(ctx: &AwsContext, op: &AlarmOp) -> Result<()> {
    let done: Result<()> = match op {
        AlarmOp::Put { name, config: c, tags: create_tags } => {
            ctx.cloudwatch
                .put_metric_alarm()
                .alarm_name(name)
                .namespace(&c.namespace)
                .metric_name(&c.metric)
                .set_dimensions(Some(dimensions(c)))
                .statistic(cw::Statistic::from(c.statistic.as_str()))
                .period(c.period_s as i32)
                .evaluation_periods(c.evaluation_periods as i32)
                .set_datapoints_to_alarm(c.datapoints_to_alarm.map(|d| d as i32))
                .threshold(c.threshold)
                .comparison_operator(cw::ComparisonOperator::from(c.comparison.as_str()))
                .treat_missing_data(&c.treat_missing_data)
                .set_alarm_actions(Some(c.alarm_actions.iter().cloned().collect()))
                .set_ok_actions(Some(c.ok_actions.iter().cloned().collect()))
                .set_insufficient_data_actions(Some(c.insufficient_data_actions.iter().cloned().collect()))
                .set_unit(c.unit.as_deref().map(cw::StandardUnit::from))
                .actions_enabled(c.actions_enabled)
                .set_alarm_description(c.description.clone())
                .set_tags(create_tags.as_ref().map(tags))
                .send()
                .await
                .map_err(|e| aws_error("CloudWatch", "PutMetricAlarm", name, e))?;
            Ok(())
        }
        AlarmOp::Tag { name, set, remove } => {
            let arn = observe(ctx, name).await?.with_context(|| format!("alarm {name} does not exist"))?.arn;
            if !remove.is_empty() {
                ctx.cloudwatch
                    .untag_resource()
                    .resource_arn(&arn)
                    .set_tag_keys(Some(remove.clone()))
                    .send()
                    .await
                    .map_err(|e| aws_error("CloudWatch", "UntagResource", name, e))?;
            }
            if !set.is_empty() {
                ctx.cloudwatch
                    .tag_resource()
                    .resource_arn(&arn)
                    .set_tags(Some(tags(set)))
                    .send()
                    .await
                    .map_err(|e| aws_error("CloudWatch", "TagResource", name, e))?;
            }
            Ok(())
        }
        // An alarm already gone is done (Terraform's provider too). DeleteAlarms may also delete
        // nothing without an error, so its effect is confirmed by DescribeAlarms, as its API
        // reference advises (rule 41).
        AlarmOp::Delete { name } => {
            match ctx.cloudwatch.delete_alarms().alarm_names(name).send().await {
                Ok(_) => {}
                Err(e) if code(&e) == Some("ResourceNotFound") => {}
                Err(e) => return Err(aws_error("CloudWatch", "DeleteAlarms", name, e).into()),
            }
            wait::until(&format!("alarm {name} to be gone"), Duration::from_secs(60), || async {
                Ok(match observe(ctx, name).await? {
                    None => Poll::Done,
                    Some(a) => Poll::Pending(format!("still listed, {}", a.state)),
                })
            })
            .await
        }
    };
    done.context("cloudwatch alarm step")
}
