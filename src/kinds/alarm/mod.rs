//! `cloudwatch_alarm`: a CloudWatch metric alarm, found by name (the key plus the env's
//! `name_suffix`): those `alarms:` writes out and those the functions' and tables'
//! `monitoring:` packs derive (`spec::monitoring`). PutMetricAlarm replaces the whole alarm
//! (docs/aws-behaviour.md rule 41), so a change sends every field; tags apply only at creation,
//! later through TagResource. A deleted alarm, a changed threshold or actions disabled by hand
//! are drift; its state (OK, ALARM) is not: `status` reads it. Files as in every kind's folder
//! (docs/architecture.md).

mod diff;
mod execute;
mod flex;
mod health;
mod import;
mod observe;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use futures::future::BoxFuture;
use serde::Serialize;

use crate::aws::AwsContext;
use crate::discover::Tagged;
use crate::plan::{Action, Op, ResourceChange, Risk, RiskKind, Step};
use crate::spec::{Desired, Resources};

use super::support::ownership::{self, Owned, Tags};
use super::support::{changes, reading, references};
use super::{topic, Declared, Discovered, Fingerprint, Imported, Kind, Live, Observed, PlanContext, Planned};
use crate::spec::monitoring;

pub use observe::{describe, observe};

pub const KIND: &str = "cloudwatch_alarm";

/// The Resource Groups Tagging API's type of metric alarms.
pub const TAGGING_TYPE: &str = "cloudwatch:alarm";

/// The alarm kind.
pub struct Alarms;

impl Kind for Alarms {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn section(&self) -> Option<&'static str> {
        Some("alarms")
    }

    /// Each alarm refers to what its dimensions' references name and to the topics it notifies
    /// (made first); a pack's alarm also to the resource it watches.
    fn declared(&self, desired: &Desired) -> Vec<Declared> {
        monitoring::all(&desired.resources)
            .into_iter()
            .map(|(key, (a, origin))| {
                let texts: Vec<&str> = a.dimensions.values().map(String::as_str).collect();
                let mut always: Vec<String> =
                    a.notify.iter().filter(|n| desired.resources.topics.contains_key(*n)).map(|n| format!("{}.{n}", topic::KIND)).collect();
                if let monitoring::Origin::Pack(source) = origin {
                    always.push(source);
                }
                let mut d = references::declared_with(format!("{KIND}.{key}"), &texts, always);
                d.refers_to.sort();
                d.refers_to.dedup();
                d.needs_first.sort();
                d.needs_first.dedup();
                d
            })
            .collect()
    }

    /// Alarms go by their address: a pack's alarm is left out unless it is kept too (it depends
    /// on the resource it watches, not the other way round).
    fn retain(&self, resources: &mut Resources, keep: &dyn Fn(&str) -> bool) {
        resources.alarms.retain(|n, _| keep(&format!("{KIND}.{n}")));
        let left_out: Vec<String> =
            monitoring::pack_keys(resources).into_iter().map(|(k, _)| k).filter(|k| !keep(&format!("{KIND}.{k}"))).collect();
        resources.packs_left_out.extend(left_out);
    }

    fn observe<'a>(&'a self, ctx: &'a AwsContext, desired: &'a Desired, _tagged: &'a Tagged<'a>) -> Observed<'a> {
        Box::pin(async move {
            let keys: Vec<String> = monitoring::all(&desired.resources).into_keys().collect();
            let names: Vec<String> = keys.iter().map(|k| desired.aws_name(k)).collect();
            let found = observe::describe(ctx, &names).await?;
            let wanted: BTreeMap<String, String> = keys.into_iter().map(|k| (k.clone(), desired.aws_name(&k))).collect();
            reading::observe_each(KIND, &wanted, |_, aws| {
                let alarm = found.get(aws).cloned();
                async move {
                    match alarm {
                        Some(a) => observe::with_tags(ctx, a).await.map(Some),
                        None => Ok(None),
                    }
                }
            })
            .await
        })
    }

    fn diff(&self, cx: &PlanContext) -> Vec<Planned> {
        let mut out = Vec::new();
        for (key, (spec, _)) in monitoring::all(&cx.desired.resources) {
            let want = flex::desired(&spec, cx.desired, cx.refs);
            let tags = ownership::spec_tags(&spec.tags, &Default::default(), cx.desired, cx.refs);
            let live = declared_live(cx.live, &key);
            let aws = cx.desired.aws_name(&key);
            let mut p = ownership::found_by_name(KIND, &key, cx.desired, live.map(|a| &a.tags), diff::diff(&aws, &want, &tags, live));
            p.change.cost = diff::cost(&cx.desired.region, live, Some(&want));
            out.push(p);
        }
        out
    }

    fn destroy(&self, cx: &PlanContext) -> Vec<(ResourceChange, Vec<Step>)> {
        monitoring::all(&cx.desired.resources)
            .into_keys()
            .map(|key| {
                let address = format!("{KIND}.{key}");
                let live = declared_live(cx.live, &key);
                let delete = || live.map(|a| diff::delete(&address, a)).unwrap_or_default();
                changes::destroy_found(address.clone(), cx.desired, live.map(|a| &a.tags), delete)
            })
            .collect()
    }

    fn tagging_type(&self) -> Option<&'static str> {
        Some(TAGGING_TYPE)
    }

    fn discover<'a>(&'a self, ctx: &'a AwsContext, desired: &'a Desired, tagged: &'a Tagged<'a>) -> Discovered<'a> {
        Box::pin(async move {
            let declared = monitoring::all(&desired.resources);
            let is_declared = |k: &str| declared.contains_key(k);
            reading::discover_tagged(KIND, TAGGING_TYPE, tagged, desired, is_declared, |aws| async move { observe(ctx, &aws).await }).await
        })
    }

    /// A dropped alarm's deletion is a risk a reviewer must see: what it watched goes unwatched.
    fn prune(&self, cx: &PlanContext) -> Vec<Planned> {
        let orphans = cx.live.orphans::<LiveAlarm>(KIND);
        let mut planned = changes::prune_owned(cx, KIND, diff::delete, diff::untag);
        for p in planned.iter_mut().filter(|p| p.change.action == Action::Delete) {
            let key = &p.change.address[KIND.len() + 1..];
            let live = orphans.and_then(|o| o.get(key));
            let watched = live.map(|a| format!(" ({} of {})", a.config.metric, a.config.namespace)).unwrap_or_default();
            p.change.risks.push(Risk::new(RiskKind::AlarmSilenced, format!("deleted: what it watched{watched} is no longer watched")));
            p.change.cost = diff::cost(&cx.desired.region, live, None);
        }
        planned
    }

    fn forget(&self, cx: &PlanContext, address: &str) -> Option<(ResourceChange, Vec<Step>)> {
        changes::forget_found(cx, KIND, address, |key| declared_live(cx.live, key), |a, remove| diff::untag(address, a, remove))
    }

    fn import<'a>(&'a self, ctx: &'a AwsContext, name: &'a str) -> BoxFuture<'a, Result<Option<Imported>>> {
        Box::pin(import::import(ctx, name))
    }

    fn health<'a>(&'a self, ctx: &'a AwsContext, desired: &'a Desired) -> BoxFuture<'a, Result<Vec<crate::status::Health>>> {
        Box::pin(health::health(ctx, desired))
    }

    fn execute<'a>(&'a self, ctx: &'a AwsContext, op: &'a Op) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { execute::execute(ctx, op.expect::<AlarmOp>()?).await })
    }
}

/// The live alarm of a declared one (None: it does not exist).
fn declared_live<'a>(live: &'a Live, key: &str) -> Option<&'a LiveAlarm> {
    live.get::<Option<LiveAlarm>>(KIND, key).and_then(Option::as_ref)
}

/// What an alarm watches and whom it tells: everything PutMetricAlarm sends (it replaces the
/// whole alarm, so every field is always sent).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AlarmConfig {
    pub namespace: String,
    pub metric: String,
    pub dimensions: BTreeMap<String, String>,
    /// CloudWatch's name: `Sum`, `Maximum`, ...
    pub statistic: String,
    pub period_s: i64,
    pub evaluation_periods: i64,
    /// How many of the periods must breach (None: all of them, CloudWatch's default).
    pub datapoints_to_alarm: Option<i64>,
    pub threshold: f64,
    /// CloudWatch's name: `GreaterThanOrEqualToThreshold`, ...
    pub comparison: String,
    /// CloudWatch's spelling: `missing`, `notBreaching`, ...
    pub treat_missing_data: String,
    /// CloudWatch's unit name (`Seconds`, ...); None: any unit.
    pub unit: Option<String>,
    pub alarm_actions: BTreeSet<String>,
    pub ok_actions: BTreeSet<String>,
    pub insufficient_data_actions: BTreeSet<String>,
    pub actions_enabled: bool,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LiveAlarm {
    pub name: String,
    pub arn: String,
    pub config: AlarmConfig,
    /// OK, ALARM or INSUFFICIENT_DATA: never drift (what `status` reads).
    pub state: String,
    pub tags: Tags,
}

/// An alarm's fingerprint leaves out its state, which changes on its own.
impl Fingerprint for LiveAlarm {
    fn fingerprint(&self, _key: &str, _desired: &Desired) -> String {
        crate::ids::hash(&(&self.name, &self.arn, &self.config, &self.tags))
    }
}

impl Owned for LiveAlarm {
    fn tags(&self) -> &Tags {
        &self.tags
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum AlarmOp {
    /// PutMetricAlarm with every field (`tags` only when it creates the alarm).
    Put {
        name: String,
        config: Box<AlarmConfig>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tags: Option<BTreeMap<String, String>>,
    },
    Tag {
        name: String,
        set: BTreeMap<String, String>,
        remove: Vec<String>,
    },
    Delete {
        name: String,
    },
}
