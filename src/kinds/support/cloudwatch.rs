//! CloudWatch look-ups that a kind other than the alarm kind makes: the alarms watching a metric
//! (a function's import brings the alarms on its metrics), and alarms' states (a deploy's bake).

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

/// The state (OK, ALARM, INSUFFICIENT_DATA) of each of these metric alarms that exists, by name
/// (DescribeAlarms, up to 100 names a call): what a bake watches.
pub async fn alarm_states(ctx: &AwsContext, names: &[String]) -> Result<std::collections::BTreeMap<String, String>> {
    let mut out = std::collections::BTreeMap::new();
    for chunk in names.chunks(100) {
        let mut token = None;
        loop {
            let page = ctx
                .cloudwatch
                .describe_alarms()
                .set_alarm_names(Some(chunk.to_vec()))
                .alarm_types(cw::AlarmType::MetricAlarm)
                .max_records(100)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| aws_error("CloudWatch", "DescribeAlarms", &chunk.join(", "), e))?;
            for a in page.metric_alarms() {
                if let (Some(n), Some(s)) = (a.alarm_name(), a.state_value()) {
                    out.insert(n.to_string(), s.as_str().to_string());
                }
            }
            token = page.next_token().filter(|t| !t.is_empty()).map(str::to_string);
            if token.is_none() {
                break;
            }
        }
    }
    Ok(out)
}
