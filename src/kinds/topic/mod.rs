//! `sns_topic`: an SNS standard topic, found by name (the spec's key plus the env's
//! `name_suffix`), with its subscriptions (a set, by protocol and endpoint) and tags. Alarms
//! notify it. An email subscription stays PendingConfirmation until its recipient confirms it
//! (docs/aws-behaviour.md rule 42): that is not drift, and it cannot be unsubscribed meanwhile.
//! Files as in every kind's folder (docs/architecture.md).

mod diff;
mod execute;
mod health;
mod import;
mod observe;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use anyhow::Result;
use futures::future::BoxFuture;
use serde::Serialize;

use crate::aws::AwsContext;
use crate::discover::Tagged;
use crate::plan::{Op, ResourceChange, Step};
use crate::spec::{Desired, Resources, Subscription};

use super::support::ownership::{self, Owned, Tags};
use super::support::{changes, reading, references};
use super::{Declared, Discovered, Fingerprint, Imported, Kind, Live, Observed, PlanContext, Planned};

pub use observe::observe;

pub const KIND: &str = "sns_topic";

/// The Resource Groups Tagging API's type filter for topics: a topic's ARN has no resource
/// type (`arn:aws:sns:REGION:ACCOUNT:NAME`).
pub const TAGGING_TYPE: &str = "sns";

/// What SNS says for a subscription its recipient has not confirmed yet.
pub const PENDING: &str = "PendingConfirmation";

/// The topic kind.
pub struct Topics;

impl Kind for Topics {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn namespace(&self) -> Option<&'static str> {
        Some("topics")
    }

    fn declared(&self, desired: &Desired) -> Vec<Declared> {
        let r = &desired.resources.topics;
        r.iter()
            .map(|(n, t)| {
                let texts: Vec<&str> = t.tags.values().chain(t.subscriptions.iter().map(|s| &s.endpoint)).map(String::as_str).collect();
                references::declared_with(format!("{KIND}.{n}"), &texts, vec![])
            })
            .collect()
    }

    fn retain(&self, resources: &mut Resources, keep: &dyn Fn(&str) -> bool) {
        resources.topics.retain(|n, _| keep(&format!("{KIND}.{n}")));
    }

    fn observe<'a>(&'a self, ctx: &'a AwsContext, desired: &'a Desired, _tagged: &'a Tagged<'a>) -> Observed<'a> {
        Box::pin(reading::observe_each(KIND, &desired.resources.topics, move |name, _| {
            let aws = desired.aws_name(name);
            async move { observe(ctx, &aws).await }
        }))
    }

    fn diff(&self, cx: &PlanContext) -> Vec<Planned> {
        let mut out = Vec::new();
        for (name, spec) in &cx.desired.resources.topics {
            let tags = ownership::spec_tags(&spec.tags, &spec.lifecycle, cx.desired, cx.refs);
            let subscriptions: Vec<Subscription> = spec
                .subscriptions
                .iter()
                .map(|s| Subscription { protocol: s.protocol.clone(), endpoint: cx.refs.resolve(&s.endpoint).0 })
                .collect();
            let live = declared_live(cx.live, name);
            let aws = cx.desired.aws_name(name);
            let change = diff::diff(&aws, &subscriptions, &tags, live);
            out.push(ownership::found_by_name(KIND, name, cx.desired, live.map(|t| &t.tags), change));
        }
        out
    }

    fn destroy(&self, cx: &PlanContext) -> Vec<(ResourceChange, Vec<Step>)> {
        let names = cx.desired.resources.topics.keys();
        names
            .map(|name| {
                let address = format!("{KIND}.{name}");
                let live = declared_live(cx.live, name);
                let delete = || live.map(|t| diff::delete(&address, t)).unwrap_or_default();
                changes::destroy_found(address.clone(), cx.desired, live.map(|t| &t.tags), delete)
            })
            .collect()
    }

    fn tagging_type(&self) -> Option<&'static str> {
        Some(TAGGING_TYPE)
    }

    fn discover<'a>(&'a self, ctx: &'a AwsContext, desired: &'a Desired, tagged: &'a Tagged<'a>) -> Discovered<'a> {
        let declared = |k: &str| desired.resources.topics.contains_key(k);
        Box::pin(reading::discover_tagged(
            KIND,
            TAGGING_TYPE,
            tagged,
            desired,
            declared,
            move |aws| async move { observe(ctx, &aws).await },
        ))
    }

    fn prune(&self, cx: &PlanContext) -> Vec<Planned> {
        changes::prune_owned(cx, KIND, diff::delete, diff::untag)
    }

    fn forget(&self, cx: &PlanContext, address: &str) -> Option<(ResourceChange, Vec<Step>)> {
        changes::forget_found(cx, KIND, address, |key| declared_live(cx.live, key), |t, remove| diff::untag(address, t, remove))
    }

    fn reference_values(&self, live: &Live) -> BTreeMap<String, String> {
        let all = live.all::<Option<LiveTopic>>(KIND).into_iter().flatten();
        all.filter_map(|(n, t)| Some((format!("topics.{n}.arn"), t.as_ref()?.arn.clone()))).collect()
    }

    fn health<'a>(&'a self, ctx: &'a AwsContext, desired: &'a Desired) -> BoxFuture<'a, Result<Vec<crate::status::Health>>> {
        Box::pin(health::health(ctx, desired))
    }

    fn import<'a>(&'a self, ctx: &'a AwsContext, name: &'a str) -> BoxFuture<'a, Result<Option<Imported>>> {
        Box::pin(import::import(ctx, name))
    }

    fn execute<'a>(&'a self, ctx: &'a AwsContext, op: &'a Op) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { execute::execute(ctx, op.expect::<TopicOp>()?).await })
    }
}

/// The live topic of a declared one (None: it does not exist).
fn declared_live<'a>(live: &'a Live, name: &str) -> Option<&'a LiveTopic> {
    live.get::<Option<LiveTopic>>(KIND, name).and_then(Option::as_ref)
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LiveTopic {
    pub name: String,
    pub arn: String,
    pub subscriptions: Vec<LiveSubscription>,
    pub tags: Tags,
}

/// One subscription as ListSubscriptionsByTopic says: its ARN is [`PENDING`] until confirmed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct LiveSubscription {
    pub protocol: String,
    pub endpoint: String,
    pub arn: String,
}

impl LiveSubscription {
    /// Waiting for its recipient to confirm (SNS lists `PendingConfirmation` for its ARN).
    pub fn pending(&self) -> bool {
        self.arn == PENDING
    }

    /// A subscription in force: its ARN is an ARN. SNS also lists, for up to 72 hours, an
    /// unsubscribed one as `Deleted` (rule 42): neither it nor a pending one can be unsubscribed.
    pub fn confirmed(&self) -> bool {
        self.arn.starts_with("arn:")
    }
}

impl Fingerprint for LiveTopic {}

impl Owned for LiveTopic {
    fn tags(&self) -> &Tags {
        &self.tags
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum TopicOp {
    /// CreateTopic: idempotent for the same name and tags.
    Create {
        name: String,
        tags: BTreeMap<String, String>,
    },
    Subscribe {
        topic: String,
        protocol: String,
        endpoint: String,
    },
    Unsubscribe {
        topic: String,
        arn: String,
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
