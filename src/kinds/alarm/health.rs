//! `status` of the alarms: each alarm of the spec and its state.

use anyhow::Result;

use super::{observe::describe, LiveAlarm, KIND};
use crate::aws::AwsContext;
use crate::spec::{monitoring, Desired};
use crate::status::Health;

/// An alarm is unhealthy in ALARM, with its actions turned off (it tells nobody), or missing.
fn judge(mut h: Health, a: Option<&LiveAlarm>) -> Health {
    let Some(a) = a else { return h.problem("the alarm does not exist: nobody would be told (apply makes it)") };
    h = h.fact("state", &a.state).fact("actions_enabled", a.config.actions_enabled);
    if a.state == "ALARM" {
        h = h.problem(format!(
            "in ALARM: {} {} {} (over {} s)",
            a.config.metric, a.config.comparison, a.config.threshold, a.config.period_s
        ));
    }
    if !a.config.actions_enabled {
        h = h.problem("its actions are turned off: it changes state but tells nobody");
    }
    h
}

pub(super) async fn health(ctx: &AwsContext, desired: &Desired) -> Result<Vec<Health>> {
    let keys: Vec<String> = monitoring::all(&desired.resources).into_keys().collect();
    let names: Vec<String> = keys.iter().map(|k| desired.aws_name(k)).collect();
    let found = describe(ctx, &names).await?;
    Ok(keys.iter().zip(&names).map(|(k, n)| judge(Health::new(format!("{KIND}.{k}")), found.get(n))).collect())
}
