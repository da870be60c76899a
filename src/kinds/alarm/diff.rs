//! The pure diff of an alarm: every field compared; a difference is one PutMetricAlarm with
//! every field (it replaces the whole alarm); tags through TagResource.

use std::collections::BTreeMap;

use serde_json::json;

use super::{AlarmConfig, AlarmOp, LiveAlarm, KIND};
use crate::kinds::support::pricing;
use crate::plan::{Action, Cost, FieldDiff, ResourceChange, Risk, RiskKind, Step, Usd};

fn step(address: &str, description: String, op: AlarmOp) -> Step {
    Step::new(KIND, address, description, op)
}

/// The step that deletes an alarm.
pub(super) fn delete(address: &str, a: &LiveAlarm) -> Vec<Step> {
    vec![step(address, format!("delete alarm {}", a.name), AlarmOp::Delete { name: a.name.clone() })]
}

/// The step that removes this stack's tags from an alarm.
pub(super) fn untag(address: &str, a: &LiveAlarm, remove: Vec<String>) -> Vec<Step> {
    let op = AlarmOp::Tag { name: a.name.clone(), set: BTreeMap::new(), remove };
    vec![step(address, format!("remove this stack's tags from alarm {}", a.name), op)]
}

/// (field, before, after) of every setting that differs; `before` None for a new alarm.
fn config_diffs(live: Option<&AlarmConfig>, want: &AlarmConfig) -> Vec<FieldDiff> {
    let datapoints = |c: &AlarmConfig| c.datapoints_to_alarm.unwrap_or(c.evaluation_periods);
    let fields = |c: &AlarmConfig| {
        [
            ("namespace", json!(c.namespace)),
            ("metric", json!(c.metric)),
            ("dimensions", json!(c.dimensions)),
            ("statistic", json!(c.statistic)),
            ("period_s", json!(c.period_s)),
            ("evaluation_periods", json!(c.evaluation_periods)),
            ("datapoints_to_alarm", json!(datapoints(c))),
            ("threshold", json!(c.threshold)),
            ("comparison", json!(c.comparison)),
            ("treat_missing_data", json!(c.treat_missing_data)),
            ("notify", json!(c.alarm_actions)),
            ("unit", json!(c.unit)),
            ("ok_actions", json!(c.ok_actions)),
            ("insufficient_data_actions", json!(c.insufficient_data_actions)),
            ("actions_enabled", json!(c.actions_enabled)),
        ]
    };
    let before = live.map(fields);
    let mut out = Vec::new();
    for (i, (path, after)) in fields(want).into_iter().enumerate() {
        let b = before.as_ref().map(|f| f[i].1.clone());
        if b.as_ref() != Some(&after) {
            let d = FieldDiff::new(path, b, &after);
            out.push(if path == "actions_enabled" && live.is_some() {
                d.note("the alarm's actions were turned off: it changes state but tells nobody")
            } else {
                d
            });
        }
    }
    // The description is managed only when the spec (or the pack) says one.
    if let Some(d) = &want.description {
        let live_d = live.and_then(|c| c.description.as_ref());
        if live_d != Some(d) {
            out.push(FieldDiff::new("description", live_d, d));
        }
    }
    out
}

/// An alarm's monthly charge before and after (None where the region has no prices).
pub(super) fn cost(region: &str, live: Option<&LiveAlarm>, want: Option<&AlarmConfig>) -> Option<Cost> {
    let p = pricing::region(region)?;
    Some(Cost {
        monthly_usd_before: live.map_or(Usd::ZERO, |a| pricing::alarm(p, a.config.period_s)),
        monthly_usd_after: want.map_or(Usd::ZERO, |c| pricing::alarm(p, c.period_s)),
    })
}

/// An alarm that keeps its state but tells nobody any more: its actions turned off, or every
/// notification target removed.
fn silenced(live: &AlarmConfig, want: &AlarmConfig) -> Option<Risk> {
    if live.actions_enabled && !want.actions_enabled {
        return Some(Risk::new(RiskKind::AlarmSilenced, "its actions are turned off: it changes state but tells nobody"));
    }
    if !live.alarm_actions.is_empty() && want.alarm_actions.is_empty() {
        return Some(Risk::new(RiskKind::AlarmSilenced, "it notifies nobody any more (notify emptied)"));
    }
    None
}

/// `want`: the alarm the spec says, resolved; `tags` with the tool's own.
pub fn diff(name: &str, want: &AlarmConfig, tags: &BTreeMap<String, String>, live: Option<&LiveAlarm>) -> (ResourceChange, Vec<Step>) {
    let address = format!("{KIND}.{name}");
    let Some(a) = live else {
        let mut change = ResourceChange::new(&address, Action::Create);
        change.diffs = config_diffs(None, want);
        change.diffs.extend(tags.iter().map(|(k, v)| FieldDiff::new(format!("tags.{k}"), None::<String>, v)));
        let op = AlarmOp::Put { name: name.into(), config: Box::new(want.clone()), tags: Some(tags.clone()) };
        return (change, vec![step(&address, format!("create alarm {name}"), op)]);
    };
    let mut diffs = config_diffs(Some(&a.config), want);
    let mut steps = Vec::new();
    if !diffs.is_empty() {
        // PutMetricAlarm replaces the alarm: every field is sent, not only what changed.
        let mut config = want.clone();
        if want.description.is_none() {
            config.description = a.config.description.clone();
        }
        steps.push(step(
            &address,
            format!("update alarm {name} (PutMetricAlarm, every field)"),
            AlarmOp::Put { name: name.into(), config: Box::new(config), tags: None },
        ));
    }
    let (tag_diffs, set, remove) = crate::plan::tag_delta(tags, &a.tags);
    diffs.extend(tag_diffs);
    if !set.is_empty() || !remove.is_empty() {
        steps.push(step(&address, format!("update the tags of alarm {name}"), AlarmOp::Tag { name: name.into(), set, remove }));
    }
    let mut change = ResourceChange::new(&address, if diffs.is_empty() { Action::NoOp } else { Action::Update });
    change.diffs = diffs;
    change.risks.extend(silenced(&a.config, want));
    (change, steps)
}
