//! `sqs_queue`: an SQS standard queue, found by name (the spec's key plus the env's
//! `name_suffix`). Its settings have AWS's defaults when the spec leaves them out, and are
//! brought back to them; its URL is a reference value (`${queues.NAME.url}`).
//!
//! The template of a kind (docs/architecture.md, "A new kind"): this file is the `Kind` impl,
//! the live model and the operations; `observe.rs` reads, `diff.rs` is the pure diff,
//! `execute.rs` runs the operations, `flex.rs` converts between the spec and the SDK,
//! `import.rs` writes a live queue back as spec, `tests.rs` tests the pure parts.

mod diff;
mod execute;
mod flex;
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
use crate::spec::{Desired, QueueEncryption, Resources};

use super::support::ownership::{self, Owned, Tags};
use super::support::{changes, reading, references};
use super::{Declared, Discovered, Fingerprint, Imported, Kind, Live, Observed, PlanContext, Planned};

pub use observe::{counts, depth, observe, url_of};

pub const KIND: &str = "sqs_queue";

/// The Resource Groups Tagging API's type filter for queues: a queue's ARN has no resource
/// type (`arn:aws:sqs:REGION:ACCOUNT:NAME`), so the service alone names them.
pub const TAGGING_TYPE: &str = "sqs";

/// AWS's defaults for a queue created without attributes.
pub const DEFAULT_RETENTION_S: i64 = 345_600;
pub const DEFAULT_VISIBILITY_S: i64 = 30;

/// The queue kind.
pub struct Queues;

impl Kind for Queues {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn namespace(&self) -> Option<&'static str> {
        Some("queues")
    }

    fn declared(&self, desired: &Desired) -> Vec<Declared> {
        let r = &desired.resources.queues;
        r.iter()
            .map(|(n, q)| {
                let tags: Vec<&str> = q.tags.values().map(String::as_str).collect();
                references::declared_with(format!("{KIND}.{n}"), &tags, vec![])
            })
            .collect()
    }

    /// A queue's ARN is made of its name: only its tags' references could need the account.
    fn needs_account(&self, desired: &Desired) -> bool {
        ownership::tags_refer(desired.resources.queues.values().map(|q| &q.tags))
    }

    fn retain(&self, resources: &mut Resources, keep: &dyn Fn(&str) -> bool) {
        resources.queues.retain(|n, _| keep(&format!("{KIND}.{n}")));
    }

    fn observe<'a>(&'a self, ctx: &'a AwsContext, desired: &'a Desired, _tagged: &'a Tagged<'a>) -> Observed<'a> {
        Box::pin(reading::observe_each(KIND, &desired.resources.queues, move |name, _| {
            let aws = desired.aws_name(name);
            async move { observe(ctx, &aws).await }
        }))
    }

    fn reference_values(&self, live: &Live) -> BTreeMap<String, String> {
        let all = live.all::<Option<LiveQueue>>(KIND).into_iter().flatten();
        all.filter_map(|(n, q)| Some((format!("queues.{n}.url"), q.as_ref()?.url.clone()))).collect()
    }

    fn read_reference_values<'a>(&'a self, ctx: &'a AwsContext, name: &'a str) -> BoxFuture<'a, Result<BTreeMap<String, String>>> {
        Box::pin(async move {
            let url = observe::url_of(ctx, &format!("{name}{}", ctx.name_suffix)).await?;
            Ok(url.map(|u| (format!("queues.{name}.url"), u)).into_iter().collect())
        })
    }

    fn diff(&self, cx: &PlanContext) -> Vec<Planned> {
        let mut out = Vec::new();
        for (name, spec) in &cx.desired.resources.queues {
            let tags = ownership::spec_tags(&spec.tags, &spec.lifecycle, cx.desired, cx.refs);
            let live = declared_live(cx.live, name);
            let aws = cx.desired.aws_name(name);
            let mut p = ownership::found_by_name(KIND, name, cx.desired, live.map(|q| &q.tags), diff::diff(&aws, spec, &tags, live));
            if live.is_none() {
                p.changes_references.push(format!("queues.{name}.url"));
            }
            out.push(p);
        }
        out
    }

    fn destroy(&self, cx: &PlanContext) -> Vec<(ResourceChange, Vec<Step>)> {
        let queues = cx.desired.resources.queues.keys();
        queues
            .map(|name| {
                let address = format!("{KIND}.{name}");
                let live = declared_live(cx.live, name);
                changes::destroy_found(address.clone(), cx.desired, live.map(|q| &q.tags), || {
                    live.map(|q| diff::delete(&address, q)).unwrap_or_default()
                })
            })
            .collect()
    }

    fn tagging_type(&self) -> Option<&'static str> {
        Some(TAGGING_TYPE)
    }

    fn discover<'a>(&'a self, ctx: &'a AwsContext, desired: &'a Desired, tagged: &'a Tagged<'a>) -> Discovered<'a> {
        let declared = |k: &str| desired.resources.queues.contains_key(k);
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
        changes::forget_found(cx, KIND, address, |key| declared_live(cx.live, key), |q, remove| diff::untag(address, q, remove))
    }

    fn import<'a>(&'a self, ctx: &'a AwsContext, name: &'a str) -> BoxFuture<'a, Result<Option<Imported>>> {
        Box::pin(import::import(ctx, name))
    }

    fn execute<'a>(&'a self, ctx: &'a AwsContext, op: &'a Op) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { execute::execute(ctx, op.expect::<QueueOp>()?).await })
    }
}

/// The live queue of a declared one (None: it does not exist).
fn declared_live<'a>(live: &'a Live, name: &str) -> Option<&'a LiveQueue> {
    live.get::<Option<LiveQueue>>(KIND, name).and_then(Option::as_ref)
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LiveQueue {
    pub name: String,
    pub url: String,
    pub arn: String,
    pub message_retention_s: i64,
    pub visibility_timeout_s: i64,
    pub encryption: QueueEncryption,
    pub tags: Tags,
}

impl Fingerprint for LiveQueue {}

impl Owned for LiveQueue {
    fn tags(&self) -> &Tags {
        &self.tags
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum QueueOp {
    Create { name: String, attributes: BTreeMap<String, String>, tags: BTreeMap<String, String> },
    SetAttributes { name: String, attributes: BTreeMap<String, String> },
    Tag { name: String, set: BTreeMap<String, String>, remove: Vec<String> },
    Delete { name: String },
}
