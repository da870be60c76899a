//! `vpc_endpoint`: a gateway endpoint (DynamoDB or S3) on a VPC's route tables. It has no name:
//! ours is found by service + VPC + this stack's tags; someone else's is reported, and adopted
//! only when the spec names its id (`adopt: vpce-...`). Files as in every kind's folder
//! (docs/architecture.md).

mod diff;
mod execute;
mod import;
mod observe;

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::aws::AwsContext;
use crate::discover::Tagged;
use crate::plan::{Op, ResourceChange, Step};
use crate::spec::{Desired, Resources};

use super::support::ownership::{self, Owned, Tags, OWNER_TAG};
use super::support::{changes, ec2, reading, references};
use super::{Declared, Discovered, Fingerprint, Imported, Kind, Live, Observed, PlanContext, Planned};

pub use super::support::ownership::NAME_TAG;
pub use diff::diff;

pub const KIND: &str = "vpc_endpoint";

/// The gateway endpoint kind.
pub struct Endpoints;

impl Kind for Endpoints {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn section(&self) -> Option<&'static str> {
        Some("vpc_endpoints")
    }

    fn declared(&self, desired: &Desired) -> Vec<Declared> {
        let r = &desired.resources.vpc_endpoints;
        r.iter()
            .map(|(n, e)| references::declared_with(format!("{KIND}.{n}"), &references::file_texts(desired, &e.policy), vec![]))
            .collect()
    }

    fn retain(&self, resources: &mut Resources, keep: &dyn Fn(&str) -> bool) {
        resources.vpc_endpoints.retain(|n, _| keep(&format!("{KIND}.{n}")));
    }

    fn observe<'a>(&'a self, ctx: &'a AwsContext, desired: &'a Desired, _tagged: &'a Tagged<'a>) -> Observed<'a> {
        Box::pin(reading::observe_each(KIND, &desired.resources.vpc_endpoints, move |name, spec| async move {
            observe::observe(ctx, spec, &identity(desired, name)).await
        }))
    }

    fn diff(&self, cx: &PlanContext) -> Vec<Planned> {
        let mut out = Vec::new();
        for (name, spec) in &cx.desired.resources.vpc_endpoints {
            let Some(live) = cx.live.get::<LiveVpcSide>(KIND, name) else { continue };
            let policy = spec.policy.as_ref().map(|f| references::resolved_document(cx.desired, f, cx.refs).0);
            let token = changes::client_token(cx.desired, name, &cx.live.observed_at);
            out.push(Planned::new(diff(name, spec, policy.as_ref(), &endpoint_tags(cx.desired, name), live, &token)));
        }
        out
    }

    fn destroy(&self, cx: &PlanContext) -> Vec<(ResourceChange, Vec<Step>)> {
        let names = cx.desired.resources.vpc_endpoints.keys();
        names
            .map(|name| {
                let address = format!("{KIND}.{name}");
                // Only ours (or the one `adopt` names) is ever found; someone else's is listed among `foreign`.
                let steps = declared_live(cx.live, name).map(|e| diff::delete(&address, e)).unwrap_or_default();
                changes::destroy_change(address, steps, None)
            })
            .collect()
    }

    /// One DescribeVpcEndpoints call filtered by the marker tag, in every VPC (the Tagging
    /// API covers endpoints on AWS, but one EC2 call already answers it).
    fn discover<'a>(&'a self, ctx: &'a AwsContext, desired: &'a Desired, _tagged: &'a Tagged<'a>) -> Discovered<'a> {
        Box::pin(async move {
            let owner = ownership::owner_id(desired);
            let marker = ec2::filter(&format!("tag:{OWNER_TAG}"), &owner);
            let mut out: BTreeMap<String, LiveEndpoint> = BTreeMap::new();
            for e in observe::describe(ctx, vec![marker], &format!("{OWNER_TAG}={owner}")).await? {
                let key =
                    observe::tags_of(e.tags()).get(NAME_TAG).cloned().unwrap_or_else(|| e.vpc_endpoint_id().unwrap_or("").to_string());
                if matches!(observe::state_of(&e).as_str(), "deleted" | "deleting") || desired.resources.vpc_endpoints.contains_key(&key) {
                    continue;
                }
                out.insert(key, observe::live_endpoint(&e)?);
            }
            reading::boxed(Ok(out)).map(Some)
        })
    }

    fn prune(&self, cx: &PlanContext) -> Vec<Planned> {
        changes::prune_owned(cx, KIND, diff::delete, diff::untag)
    }

    fn forget(&self, cx: &PlanContext, address: &str) -> Option<(ResourceChange, Vec<Step>)> {
        changes::forget_found(cx, KIND, address, |key| declared_live(cx.live, key), |e, remove| diff::untag(address, e, remove))
    }

    /// `name` is the VPC (`default` or an id): its DynamoDB gateway endpoint, as `dynamodb`.
    fn import<'a>(&'a self, ctx: &'a AwsContext, name: &'a str) -> BoxFuture<'a, Result<Option<Imported>>> {
        Box::pin(import::import(ctx, name))
    }

    fn execute<'a>(&'a self, ctx: &'a AwsContext, op: &'a Op) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { execute::execute(ctx, op.expect::<EndpointOp>()?).await })
    }
}

/// Ours (or the adopted one) of a declared endpoint (None: not there).
fn declared_live<'a>(live: &'a Live, name: &str) -> Option<&'a LiveEndpoint> {
    live.get::<LiveVpcSide>(KIND, name).and_then(|e| e.endpoint.as_ref())
}

impl Fingerprint for LiveEndpoint {}

impl Fingerprint for LiveVpcSide {}

impl Owned for LiveEndpoint {
    fn tags(&self) -> &Tags {
        &self.tags
    }
}

/// The tags the tool puts on one endpoint of the spec.
pub fn endpoint_tags(desired: &Desired, name: &str) -> BTreeMap<String, String> {
    let mut t = ownership::own_tags(desired);
    t.insert(NAME_TAG.to_string(), name.to_string());
    t
}

/// The tags that identify one endpoint of the spec as ours (an endpoint made before the
/// ownership marker has only these; it gains the marker on the next apply).
pub fn identity(desired: &Desired, name: &str) -> BTreeMap<String, String> {
    let mut t = ownership::identity_tags(desired);
    t.insert(NAME_TAG.to_string(), name.to_string());
    t
}

/// What AWS puts on a gateway endpoint created without a policy.
pub fn default_policy() -> Value {
    json!({"Version": "2008-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]})
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LiveEndpoint {
    pub id: String,
    pub state: String,
    pub route_tables: BTreeSet<String>,
    pub policy: Value,
    pub tags: BTreeMap<String, String>,
}

/// What one endpoint of the spec finds in its VPC.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LiveVpcSide {
    pub vpc_id: String,
    pub service_name: String,
    /// Every route table of the VPC.
    pub vpc_route_tables: BTreeSet<String>,
    /// Ours, if it exists.
    pub endpoint: Option<LiveEndpoint>,
    /// Gateway endpoints for the same service and VPC that are not ours.
    pub foreign: Vec<String>,
    /// Of those, the ones another stack or env of this tool made: id → owner.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub foreign_owners: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum EndpointOp {
    Create {
        name: String,
        vpc_id: String,
        service_name: String,
        route_tables: BTreeSet<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        policy: Option<Value>,
        tags: BTreeMap<String, String>,
        client_token: String,
    },
    WaitAvailable {
        name: String,
        vpc_id: String,
        service_name: String,
        tags: BTreeMap<String, String>,
    },
    ModifyRouteTables {
        id: String,
        add: BTreeSet<String>,
        remove: BTreeSet<String>,
    },
    /// The spec's policy, or AWS's full-access default written out (the same as ResetPolicy).
    ModifyPolicy {
        id: String,
        policy: Value,
    },
    Tag {
        id: String,
        set: BTreeMap<String, String>,
        remove: Vec<String>,
    },
    Delete {
        id: String,
    },
}
