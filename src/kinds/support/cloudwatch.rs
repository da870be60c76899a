//! CloudWatch look-ups: the alarms watching a metric (a function's import brings the alarms on
//! its metrics), alarms by name (the alarm kind reads them so) and their states (a deploy's bake).

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

/// The most names one DescribeAlarms takes.
const NAMES_PER_CALL: usize = 100;

/// The metric alarms of these names that exist (DescribeAlarms, up to 100 names a call, every
/// page), as the SDK gives them.
pub async fn metric_alarms(ctx: &AwsContext, names: &[String]) -> Result<Vec<cw::MetricAlarm>> {
    let mut out = Vec::new();
    for chunk in names.chunks(NAMES_PER_CALL) {
        let mut token = None;
        loop {
            let page = ctx
                .cloudwatch
                .describe_alarms()
                .set_alarm_names(Some(chunk.to_vec()))
                .alarm_types(cw::AlarmType::MetricAlarm)
                .max_records(NAMES_PER_CALL as i32)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| aws_error("CloudWatch", "DescribeAlarms", &chunk.join(", "), e))?;
            out.extend(page.metric_alarms().iter().cloned());
            token = page.next_token().filter(|t| !t.is_empty()).map(str::to_string);
            if token.is_none() {
                break;
            }
        }
    }
    Ok(out)
}

/// The state (OK, ALARM, INSUFFICIENT_DATA) of each of these metric alarms that exists, by name:
/// what a bake watches.
pub async fn alarm_states(ctx: &AwsContext, names: &[String]) -> Result<std::collections::BTreeMap<String, String>> {
    Ok(metric_alarms(ctx, names)
        .await?
        .iter()
        .filter_map(|a| Some((a.alarm_name()?.to_string(), a.state_value()?.as_str().to_string())))
        .collect())
}
