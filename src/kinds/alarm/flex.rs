//! Conversions between the spec's alarms and CloudWatch's.

use std::collections::BTreeSet;

use aws_sdk_cloudwatch::types as cw;

use super::AlarmConfig;
use crate::spec::refs::RefContext;
use crate::spec::{AlarmSpec, Comparison, Desired, MissingData};

/// An alarm as the spec wants it: references resolved, topics of the spec as their ARNs.
pub(super) fn desired(spec: &AlarmSpec, desired: &Desired, refs: &RefContext) -> AlarmConfig {
    let actions: BTreeSet<String> = spec
        .notify
        .iter()
        .map(|n| if desired.resources.topics.contains_key(n) { refs.resolve(&format!("${{topics.{n}.arn}}")).0 } else { n.clone() })
        .collect();
    AlarmConfig {
        namespace: spec.namespace.clone(),
        metric: spec.metric.clone(),
        dimensions: spec.dimensions.iter().map(|(k, v)| (k.clone(), refs.resolve(v).0)).collect(),
        statistic: spec.statistic.aws().to_string(),
        period_s: spec.period_s,
        evaluation_periods: spec.evaluation_periods,
        datapoints_to_alarm: spec.datapoints_to_alarm,
        threshold: spec.threshold,
        comparison: spec.comparison.aws().to_string(),
        treat_missing_data: spec.treat_missing_data.aws().to_string(),
        unit: spec.unit.clone(),
        alarm_actions: actions.clone(),
        ok_actions: if spec.notify_ok { actions.clone() } else { BTreeSet::new() },
        insufficient_data_actions: if spec.notify_insufficient_data { actions } else { BTreeSet::new() },
        actions_enabled: true,
        description: spec.description.as_ref().map(|d| refs.resolve(d).0),
    }
}

/// A described alarm's configuration.
pub(super) fn config_of(a: &cw::MetricAlarm) -> AlarmConfig {
    AlarmConfig {
        namespace: a.namespace().unwrap_or_default().to_string(),
        metric: a.metric_name().unwrap_or_default().to_string(),
        dimensions: a
            .dimensions()
            .iter()
            .map(|d| (d.name().unwrap_or_default().to_string(), d.value().unwrap_or_default().to_string()))
            .collect(),
        statistic: a.statistic().map(|s| s.as_str().to_string()).unwrap_or_default(),
        period_s: a.period().map(i64::from).unwrap_or(0),
        evaluation_periods: a.evaluation_periods().map(i64::from).unwrap_or(0),
        datapoints_to_alarm: a.datapoints_to_alarm().map(i64::from),
        threshold: a.threshold().unwrap_or(0.0),
        comparison: a.comparison_operator().map(|c| c.as_str().to_string()).unwrap_or_default(),
        treat_missing_data: a.treat_missing_data().unwrap_or("missing").to_string(),
        unit: a.unit().map(|u| u.as_str().to_string()),
        alarm_actions: a.alarm_actions().iter().cloned().collect(),
        ok_actions: a.ok_actions().iter().cloned().collect(),
        insufficient_data_actions: a.insufficient_data_actions().iter().cloned().collect(),
        actions_enabled: a.actions_enabled().unwrap_or(true),
        description: a.alarm_description().filter(|d| !d.is_empty()).map(str::to_string),
    }
}

/// A live alarm's configuration as spec (`import`): topics by ARN (the command turns the spec's
/// own into keys). Err: what the spec cannot say about it.
pub(super) fn spec_of(c: &AlarmConfig) -> Result<AlarmSpec, String> {
    let statistic = serde_yaml::from_value(serde_yaml::Value::String(c.statistic.clone()))
        .map_err(|_| "it uses a statistic the spec cannot say (a percentile or an extended statistic)".to_string())?;
    let comparison = Comparison::of_aws(&c.comparison).ok_or("it compares with an anomaly band, which the spec cannot say")?;
    // The spec tells the same topics of each state it notifies.
    let states = [&c.alarm_actions, &c.ok_actions, &c.insufficient_data_actions];
    let notify: BTreeSet<String> = states.iter().flat_map(|s| s.iter().cloned()).collect();
    if states.iter().any(|s| !s.is_empty() && **s != notify) || (c.alarm_actions.is_empty() && !notify.is_empty()) {
        return Err("it tells different targets of different states: the spec tells the same topics of each".into());
    }
    if let Some(other) = notify.iter().find(|a| a.split(':').nth(2) != Some("sns")) {
        return Err(format!("its action {other} is not an SNS topic: the spec's alarms notify topics"));
    }
    Ok(AlarmSpec {
        namespace: c.namespace.clone(),
        metric: c.metric.clone(),
        dimensions: c.dimensions.clone(),
        statistic,
        period_s: c.period_s,
        evaluation_periods: c.evaluation_periods,
        datapoints_to_alarm: c.datapoints_to_alarm.filter(|d| *d != c.evaluation_periods),
        threshold: c.threshold,
        comparison,
        treat_missing_data: MissingData::of_aws(&c.treat_missing_data),
        unit: c.unit.clone(),
        notify_ok: c.ok_actions.is_empty() == notify.is_empty(),
        notify_insufficient_data: !c.insufficient_data_actions.is_empty(),
        notify: notify.into_iter().collect(),
        description: c.description.clone(),
        tags: Default::default(),
    })
}

pub(super) fn dimensions(c: &AlarmConfig) -> Vec<cw::Dimension> {
    c.dimensions.iter().map(|(k, v)| cw::Dimension::builder().name(k).value(v).build()).collect()
}

pub(super) fn tags(t: &std::collections::BTreeMap<String, String>) -> Vec<cw::Tag> {
    t.iter().map(|(k, v)| cw::Tag::builder().key(k).value(v).build()).collect()
}
