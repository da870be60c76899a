//! CloudWatch look-ups that a kind other than the alarm kind makes: the alarms watching a metric
//! (a function's import brings the alarms on its metrics).

use anyhow::Result;
use aws_sdk_cloudwatch::types as cw;

use crate::aws::{aws_error, AwsContext};

/// The names of the metric alarms on `namespace`/`metric` with these dimensions.
pub async fn alarms_for(ctx: &AwsContext, namespace: &str, metric: &str, dimensions: &[(&str, &str)]) -> Result<Vec<String>> {
    let dims: Vec<cw::Dimension> = dimensions.iter().map(|(k, v)| cw::Dimension::builder().name(*k).value(*v).build()).collect();
    let out = ctx
        .cloudwatch
        .describe_alarms_for_metric()
        .namespace(namespace)
        .metric_name(metric)
        .set_dimensions(Some(dims))
        .send()
        .await
        .map_err(|e| aws_error("CloudWatch", "DescribeAlarmsForMetric", &format!("{namespace} {metric}"), e))?;
    Ok(out.metric_alarms().iter().filter_map(|a| a.alarm_name().map(str::to_string)).collect())
}
