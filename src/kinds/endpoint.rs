//! `vpc_endpoint`: a gateway endpoint (DynamoDB or S3) on a VPC's route tables. It has no name:
//! ours is found by service + VPC + this stack's tags; someone else's is reported, and adopted
//! only when the spec names its id (`adopt: vpce-...`).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use aws_sdk_ec2::types as ec2;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::aws::{aws_error, AwsContext};
use crate::plan::{Action, FieldDiff, ResourceChange, Step};
use crate::policy;
use crate::spec::{Desired, Resources, RouteTables, VpcEndpointSpec};

use super::{wait, Declared, Kind, LiveData, Op, PlanContext, Planned};

pub const KIND: &str = "vpc_endpoint";
/// The tag that names which endpoint of the spec an endpoint is.
pub const NAME_TAG: &str = "cruddur-infra:name";

/// The gateway endpoint kind.
pub struct Endpoints;

/// The tags the tool puts on one endpoint of the spec.
pub fn endpoint_tags(desired: &Desired, name: &str) -> BTreeMap<String, String> {
    let mut t = super::own_tags(desired);
    t.insert(NAME_TAG.to_string(), name.to_string());
    t
}

/// The tags that identify one endpoint of the spec as ours (an endpoint made before the
/// ownership marker has only these; it gains the marker on the next apply).
pub fn identity(desired: &Desired, name: &str) -> BTreeMap<String, String> {
    let mut t = super::identity_tags(desired);
    t.insert(NAME_TAG.to_string(), name.to_string());
    t
}

impl Kind for Endpoints {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn section(&self) -> Option<&'static str> {
        Some("vpc_endpoints")
    }

    fn declared(&self, desired: &Desired) -> Vec<Declared> {
        let r = &desired.resources.vpc_endpoints;
        r.iter().map(|(n, e)| super::declared_with(format!("{KIND}.{n}"), &super::file_texts(desired, &e.policy), vec![])).collect()
    }

    fn retain(&self, resources: &mut Resources, keep: &dyn Fn(&str) -> bool) {
        resources.vpc_endpoints.retain(|n, _| keep(&format!("{KIND}.{n}")));
    }

    fn observe<'a>(&'a self, ctx: &'a AwsContext, desired: &'a Desired) -> BoxFuture<'a, Result<Box<dyn LiveData>>> {
        Box::pin(async move {
            let r = &desired.resources.vpc_endpoints;
            super::boxed(super::read_each(KIND, r, |name, spec| async move { observe(ctx, spec, &identity(desired, name)).await }).await)
        })
    }

    fn diff(&self, cx: &PlanContext) -> Vec<Planned> {
        let mut out = Vec::new();
        for (name, spec) in &cx.desired.resources.vpc_endpoints {
            let Some(live) = cx.live.get::<LiveVpcSide>(KIND, name) else { continue };
            let policy = spec.policy.as_ref().map(|f| super::resolved_document(cx.desired, f, cx.refs).0);
            let token = super::client_token(cx.desired, name, &cx.live.observed_at);
            out.push(Planned::new(diff(name, spec, policy.as_ref(), &endpoint_tags(cx.desired, name), live, &token)));
        }
        out
    }

    fn destroy(&self, cx: &PlanContext) -> Vec<(ResourceChange, Vec<Step>)> {
        let mut out = Vec::new();
        for name in cx.desired.resources.vpc_endpoints.keys() {
            let address = format!("{KIND}.{name}");
            // Only ours is ever found; someone else's is listed among `foreign`.
            out.push(match cx.live.get::<LiveVpcSide>(KIND, name).and_then(|e| e.endpoint.as_ref()) {
                Some(e) => {
                    let s = vec![step(&address, format!("delete endpoint {}", e.id), EndpointOp::Delete { id: e.id.clone() })];
                    super::destroy_change(address, s, None)
                }
                None => super::destroy_change(address, vec![], None),
            });
        }
        out
    }

    /// One DescribeVpcEndpoints call filtered by the marker tag, in every VPC (the Tagging
    /// API covers endpoints on AWS, but one EC2 call already answers it).
    fn discover<'a>(
        &'a self,
        ctx: &'a AwsContext,
        desired: &'a Desired,
        _tagged: &'a super::Tagged<'a>,
    ) -> BoxFuture<'a, Result<Option<Box<dyn LiveData>>>> {
        Box::pin(async move {
            let what = format!("{}={}", super::OWNER_TAG, super::owner_id(desired));
            let marker = filter(&format!("tag:{}", super::OWNER_TAG), &super::owner_id(desired));
            let mut out: BTreeMap<String, LiveEndpoint> = BTreeMap::new();
            for e in describe(ctx, vec![marker], &what).await? {
                let state = state_of(&e);
                let key = tags_of(e.tags()).get(NAME_TAG).cloned().unwrap_or_else(|| e.vpc_endpoint_id().unwrap_or("").to_string());
                if matches!(state.as_str(), "deleted" | "deleting") || desired.resources.vpc_endpoints.contains_key(&key) {
                    continue;
                }
                out.insert(key, live_endpoint(&e)?);
            }
            super::boxed(Ok(out)).map(Some)
        })
    }

    fn prune(&self, cx: &PlanContext) -> Vec<Planned> {
        let all = cx.live.orphans::<LiveEndpoint>(KIND).into_iter().flatten();
        all.filter(|(_, e)| super::owned(&e.tags, cx.desired))
            .map(|(key, e)| {
                let address = format!("{KIND}.{key}");
                let delete =
                    vec![step(&address, format!("delete endpoint {} (and its routes)", e.id), EndpointOp::Delete { id: e.id.clone() })];
                super::orphan_change(address.clone(), cx.desired, &e.tags, delete, |remove| untag(&address, e, remove))
            })
            .collect()
    }

    fn forget(&self, cx: &PlanContext, address: &str) -> Option<(ResourceChange, Vec<Step>)> {
        let key = address.strip_prefix(&format!("{KIND}."))?;
        let declared = cx.live.get::<LiveVpcSide>(KIND, key).and_then(|e| e.endpoint.as_ref());
        let e = declared.or_else(|| cx.live.orphans::<LiveEndpoint>(KIND)?.get(key))?;
        super::ours(&e.tags, cx.desired).then(|| super::forget_change(address, &e.tags, |remove| untag(address, e, remove)))
    }

    /// `name` is the VPC (`default` or an id): its DynamoDB gateway endpoint, as `dynamodb`.
    fn import<'a>(&'a self, ctx: &'a AwsContext, name: &'a str) -> BoxFuture<'a, Result<Option<super::Imported>>> {
        Box::pin(async move {
            let vpc = vpc_id(ctx, name).await?;
            let service_name = format!("com.amazonaws.{}.dynamodb", ctx.region);
            let filters = vec![filter("vpc-id", &vpc), filter("service-name", &service_name)];
            let found = describe(ctx, filters, &format!("{service_name} in {vpc}")).await?;
            let gateway = found.iter().find(|e| {
                !matches!(state_of(e).as_str(), "deleted" | "deleting" | "failed" | "rejected")
                    && e.vpc_endpoint_type().is_none_or(|t| *t == ec2::VpcEndpointType::Gateway)
            });
            let Some(e) = gateway else { return Ok(None) };
            let live = live_endpoint(e)?;
            let all = route_tables(ctx, &vpc).await?;
            let mut spec = VpcEndpointSpec {
                service: "dynamodb".into(),
                vpc: if name == "default" { "default".into() } else { vpc.clone() },
                route_tables: if live.route_tables == all {
                    RouteTables::Word("all".into())
                } else {
                    RouteTables::List(live.route_tables.iter().cloned().collect())
                },
                policy: None,
                // Someone else's endpoint is adopted by its id; one this tool made is found by its tags.
                adopt: (!live.tags.contains_key(NAME_TAG)).then(|| live.id.clone()),
            };
            let mut files = Vec::new();
            if !policy::equivalent(&live.policy, &default_policy()) {
                let path = "policies/vpc-endpoint-dynamodb.json".to_string();
                files.push((path.clone(), (serde_json::to_string_pretty(&live.policy).unwrap_or_default() + "\n").into_bytes()));
                spec.policy = Some(path);
            }
            let key = live.tags.get(NAME_TAG).cloned().unwrap_or_else(|| "dynamodb".into());
            let mut i = super::Imported::new("vpc_endpoints", &key, super::spec_value(&spec), live.tags.clone());
            i.files = files;
            if spec.adopt.is_some() {
                i.comments.insert("adopt".into(), "made outside this tool: taken over by its id on the first apply".into());
            }
            Ok(Some(i))
        })
    }

    fn parse_op(&self, call: serde_json::Value) -> Result<Op, serde_json::Error> {
        super::parse_op::<EndpointOp>(KIND, call)
    }

    fn execute<'a>(&'a self, ctx: &'a AwsContext, op: &'a Op) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { execute(ctx, op.expect::<EndpointOp>()?).await })
    }
}

/// The step that removes this stack's tags from an endpoint.
fn untag(address: &str, e: &LiveEndpoint, remove: Vec<String>) -> Vec<Step> {
    let op = EndpointOp::Tag { id: e.id.clone(), set: BTreeMap::new(), remove };
    vec![step(address, format!("remove this stack's tags from endpoint {}", e.id), op)]
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

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
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

// ---------------------------------------------------------------------------------------------
// observe

pub fn filter(name: &str, value: &str) -> ec2::Filter {
    ec2::Filter::builder().name(name).values(value).build()
}

/// The VPC id a spec names: `default` (looked up) or an id.
pub async fn vpc_id(ctx: &AwsContext, vpc: &str) -> Result<String> {
    if vpc != "default" {
        return Ok(vpc.to_string());
    }
    let out = ctx
        .ec2
        .describe_vpcs()
        .filters(filter("isDefault", "true"))
        .send()
        .await
        .map_err(|e| aws_error("EC2", "DescribeVpcs", "the default VPC", e))?;
    match out.vpcs().first().and_then(|v| v.vpc_id()) {
        Some(id) => Ok(id.to_string()),
        None => bail!(
            "region {} has no default VPC: create one (`aws ec2 create-default-vpc --region {}`) or name a VPC id in `vpc:`",
            ctx.region,
            ctx.region
        ),
    }
}

async fn route_tables(ctx: &AwsContext, vpc: &str) -> Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    let mut token = None;
    loop {
        let o = ctx
            .ec2
            .describe_route_tables()
            .filters(filter("vpc-id", vpc))
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| aws_error("EC2", "DescribeRouteTables", vpc, e))?;
        out.extend(o.route_tables().iter().filter_map(|r| r.route_table_id().map(str::to_string)));
        token = o.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(out);
        }
    }
}

fn tags_of(t: &[ec2::Tag]) -> BTreeMap<String, String> {
    t.iter().filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string()))).collect()
}

/// Endpoints for a service in a VPC that are not deleted: (ours by `ours` tags, else the one
/// `adopt` names unless another stack owns it; foreign ids).
async fn endpoints(
    ctx: &AwsContext,
    vpc: &str,
    service_name: &str,
    ours: &BTreeMap<String, String>,
    adopt: Option<&str>,
) -> Result<(Option<LiveEndpoint>, Vec<(String, Option<String>)>)> {
    let mut mine = None;
    let mut adopted = None;
    let mut foreign = Vec::new();
    let filters = vec![filter("vpc-id", vpc), filter("service-name", service_name)];
    for e in describe(ctx, filters, &format!("{service_name} in {vpc}")).await? {
        if matches!(state_of(&e).as_str(), "deleted" | "deleting" | "failed" | "rejected") {
            continue;
        }
        if e.vpc_endpoint_type().is_some_and(|t| *t != ec2::VpcEndpointType::Gateway) {
            continue;
        }
        let tags = tags_of(e.tags());
        if ours.iter().all(|(k, v)| tags.get(k) == Some(v)) {
            mine = Some(live_endpoint(&e)?);
        } else {
            let owner = (tags.get("managed-by").map(String::as_str) == Some("cruddur-infra")).then(|| {
                let tag = |k: &str| tags.get(k).map(String::as_str).unwrap_or("?").to_string();
                format!("stack {}, env {} ({KIND}.{})", tag("cruddur-infra:stack"), tag("cruddur-infra:env"), tag(NAME_TAG))
            });
            let id = e.vpc_endpoint_id().unwrap_or("").to_string();
            if owner.is_none() && adopt == Some(id.as_str()) {
                adopted = Some(live_endpoint(&e)?);
            } else {
                foreign.push((id, owner));
            }
        }
    }
    match (mine, adopted) {
        (None, Some(a)) => Ok((Some(a), foreign)),
        (mine, other) => {
            // Ours by its tags already: the one `adopt` names stays someone else's.
            foreign.extend(other.map(|o| (o.id, None)));
            Ok((mine, foreign))
        }
    }
}

/// Every page of DescribeVpcEndpoints with `filters` (`what` names them in an error).
async fn describe(ctx: &AwsContext, filters: Vec<ec2::Filter>, what: &str) -> Result<Vec<ec2::VpcEndpoint>> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let o = ctx
            .ec2
            .describe_vpc_endpoints()
            .set_filters(Some(filters.clone()))
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| aws_error("EC2", "DescribeVpcEndpoints", what, e))?;
        out.extend(o.vpc_endpoints().iter().cloned());
        token = o.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(out);
        }
    }
}

/// An endpoint's state: AWS and the emulator spell states in lower case; the SDK keeps
/// unknown spellings.
fn state_of(e: &ec2::VpcEndpoint) -> String {
    e.state().map(|s| s.as_str().to_ascii_lowercase()).unwrap_or_default()
}

/// An endpoint as read: its policy decoded (AWS's full-access default when it has none).
fn live_endpoint(e: &ec2::VpcEndpoint) -> Result<LiveEndpoint> {
    let id = e.vpc_endpoint_id().unwrap_or("").to_string();
    let policy = match e.policy_document() {
        Some(p) => policy::decode(p).map_err(|err| anyhow::anyhow!("endpoint {id}: policy: {err}"))?,
        None => default_policy(),
    };
    let route_tables = e.route_table_ids().iter().cloned().collect();
    Ok(LiveEndpoint { id, state: state_of(e), route_tables, policy, tags: tags_of(e.tags()) })
}

/// Reads one endpoint of the spec: the VPC first, then its route tables and endpoints at once.
pub async fn observe(ctx: &AwsContext, spec: &VpcEndpointSpec, identity: &BTreeMap<String, String>) -> Result<LiveVpcSide> {
    let vpc = vpc_id(ctx, &spec.vpc).await?;
    let service_name = format!("com.amazonaws.{}.{}", ctx.region, spec.service);
    let (rts, (endpoint, foreign)) =
        tokio::try_join!(route_tables(ctx, &vpc), endpoints(ctx, &vpc, &service_name, identity, spec.adopt.as_deref()))?;
    let foreign_owners = foreign.iter().filter_map(|(id, o)| Some((id.clone(), o.clone()?))).collect();
    let foreign = foreign.into_iter().map(|(id, _)| id).collect();
    Ok(LiveVpcSide { vpc_id: vpc, service_name, vpc_route_tables: rts, endpoint, foreign, foreign_owners })
}

// ---------------------------------------------------------------------------------------------
// diff (pure)

fn step(address: &str, description: String, op: EndpointOp) -> Step {
    super::step(KIND, address, description, op)
}

/// `policy`: the resolved policy document of the spec, `None` for AWS's default.
/// `tags`: the tool's identifying tags. `token`: a client token for a create.
pub fn diff(
    name: &str,
    spec: &VpcEndpointSpec,
    policy_doc: Option<&Value>,
    tags: &BTreeMap<String, String>,
    live: &LiveVpcSide,
    token: &str,
) -> (ResourceChange, Vec<Step>) {
    let address = format!("{KIND}.{name}");
    let want_rts: BTreeSet<String> = match &spec.route_tables {
        RouteTables::List(ids) => ids.iter().cloned().collect(),
        RouteTables::Word(_) => live.vpc_route_tables.clone(),
    };
    let want_policy = policy_doc.cloned().unwrap_or_else(default_policy);
    let Some(ep) = &live.endpoint else {
        let mut change = ResourceChange::new(&address, Action::Create);
        change.diffs.push(FieldDiff::new("service", None::<String>, &live.service_name));
        change.diffs.push(FieldDiff::new("vpc", None::<String>, &live.vpc_id));
        change.diffs.push(FieldDiff::new("route_tables", None::<String>, &want_rts));
        if policy_doc.is_some() {
            change.diffs.push(FieldDiff::new("policy", None::<String>, policy::normalize(&want_policy)));
        }
        if let Some(id) = &spec.adopt {
            change.blocked = Some(format!(
                "`adopt: {id}` names no gateway endpoint for {} in {} that another stack does not own: nothing is \
                 created while `adopt` names it. Check the id (and `vpc`), or remove `adopt` to create a new endpoint.",
                live.service_name, live.vpc_id
            ));
        } else if let Some((id, owner)) = live.foreign_owners.iter().next() {
            // Another env's endpoint: never suggest retagging it (that would take it over).
            change.blocked = Some(format!(
                "{} already has a gateway endpoint for {} owned by {owner} ({id}): it is neither adopted, retagged nor \
                 deleted. Two envs cannot both route this VPC's tables to one service: run this env in another VPC \
                 (`vpc:`), or another account.",
                live.vpc_id, live.service_name
            ));
        } else if !live.foreign.is_empty() {
            let tag_args: Vec<String> = tags.iter().map(|(k, v)| format!("Key={k},Value={v}")).collect();
            change.blocked = Some(format!(
                "{} already has a gateway endpoint for {} that this stack did not create ({}). It is neither adopted \
                 nor deleted. To manage it with this spec, tag it: `aws ec2 create-tags --resources {} --tags {}`; \
                 or delete it if nobody needs it.",
                live.vpc_id,
                live.service_name,
                live.foreign.join(", "),
                live.foreign[0],
                tag_args.join(" ")
            ));
        }
        let steps = vec![
            step(
                &address,
                format!("create gateway endpoint for {} in {}", live.service_name, live.vpc_id),
                EndpointOp::Create {
                    name: name.into(),
                    vpc_id: live.vpc_id.clone(),
                    service_name: live.service_name.clone(),
                    route_tables: want_rts,
                    policy: policy_doc.cloned(),
                    tags: tags.clone(),
                    client_token: token.into(),
                },
            ),
            step(
                &address,
                format!("wait until the endpoint for {} is available", live.service_name),
                EndpointOp::WaitAvailable {
                    name: name.into(),
                    vpc_id: live.vpc_id.clone(),
                    service_name: live.service_name.clone(),
                    tags: tags.clone(),
                },
            ),
        ];
        return (change, steps);
    };

    let mut diffs = Vec::new();
    let mut steps = Vec::new();
    let add: BTreeSet<String> = want_rts.difference(&ep.route_tables).cloned().collect();
    let remove: BTreeSet<String> = ep.route_tables.difference(&want_rts).cloned().collect();
    for rt in &add {
        diffs.push(FieldDiff::new(format!("route_tables.{rt}"), None::<String>, "associated"));
    }
    for rt in &remove {
        diffs.push(FieldDiff::new(format!("route_tables.{rt}"), "associated", None::<String>));
    }
    if !add.is_empty() || !remove.is_empty() {
        steps.push(step(
            &address,
            format!("update the route tables of endpoint {} (+{} -{})", ep.id, add.len(), remove.len()),
            EndpointOp::ModifyRouteTables { id: ep.id.clone(), add, remove },
        ));
    }
    if !policy::equivalent(&ep.policy, &want_policy) {
        let widen = policy::broadening(Some(&ep.policy), &want_policy);
        let mut d = FieldDiff::new("policy", policy::normalize(&ep.policy), policy::normalize(&want_policy));
        if !widen.is_empty() {
            d = d.broadens(widen.join("; "));
        }
        diffs.push(d);
        steps.push(step(
            &address,
            format!("update the policy of endpoint {}", ep.id),
            EndpointOp::ModifyPolicy { id: ep.id.clone(), policy: want_policy.clone() },
        ));
    }
    let set: BTreeMap<String, String> =
        tags.iter().filter(|(k, v)| ep.tags.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect();
    if !set.is_empty() {
        for (k, v) in &set {
            diffs.push(FieldDiff::new(format!("tags.{k}"), ep.tags.get(k), v));
        }
        steps.push(step(&address, format!("tag endpoint {}", ep.id), EndpointOp::Tag { id: ep.id.clone(), set, remove: vec![] }));
    }
    let action = if diffs.is_empty() { Action::NoOp } else { Action::Update };
    let mut change = ResourceChange::new(&address, action);
    change.diffs = diffs;
    (change, steps)
}

// ---------------------------------------------------------------------------------------------
// execute

fn ec2_tags(tags: &BTreeMap<String, String>) -> Vec<ec2::Tag> {
    tags.iter().map(|(k, v)| ec2::Tag::builder().key(k).value(v).build()).collect()
}

pub async fn execute(ctx: &AwsContext, op: &EndpointOp) -> Result<()> {
    match op {
        EndpointOp::Create { name, vpc_id, service_name, route_tables, policy, tags, client_token } => {
            // A create whose answer was lost may have happened: look before creating again.
            let (existing, _) = endpoints(ctx, vpc_id, service_name, tags, None).await?;
            if let Some(e) = existing {
                crate::log::info(&format!("  endpoint {} ({name}) already exists: using it", e.id));
                return Ok(());
            }
            ctx.ec2
                .create_vpc_endpoint()
                .vpc_endpoint_type(ec2::VpcEndpointType::Gateway)
                .vpc_id(vpc_id)
                .service_name(service_name)
                .set_route_table_ids(Some(route_tables.iter().cloned().collect()))
                .set_policy_document(policy.as_ref().map(|p| p.to_string()))
                .client_token(client_token)
                .tag_specifications(
                    ec2::TagSpecification::builder().resource_type(ec2::ResourceType::VpcEndpoint).set_tags(Some(ec2_tags(tags))).build(),
                )
                .send()
                .await
                .map_err(|e| aws_error("EC2", "CreateVpcEndpoint", &format!("{service_name} in {vpc_id}"), e))?;
            Ok(())
        }
        EndpointOp::WaitAvailable { name, vpc_id, service_name, tags } => {
            wait::until(&format!("endpoint {name} to be available"), Duration::from_secs(600), || async {
                let (e, _) = endpoints(ctx, vpc_id, service_name, tags, None).await?;
                Ok(match e {
                    Some(e) if e.state == "available" => wait::Poll::Done,
                    Some(e) => wait::Poll::Pending(format!("state {}", e.state)),
                    None => wait::Poll::Pending("not visible yet".into()),
                })
            })
            .await
        }
        EndpointOp::ModifyRouteTables { id, add, remove } => {
            ctx.ec2
                .modify_vpc_endpoint()
                .vpc_endpoint_id(id)
                .set_add_route_table_ids((!add.is_empty()).then(|| add.iter().cloned().collect()))
                .set_remove_route_table_ids((!remove.is_empty()).then(|| remove.iter().cloned().collect()))
                .send()
                .await
                .map_err(|e| aws_error("EC2", "ModifyVpcEndpoint", id, e))?;
            Ok(())
        }
        EndpointOp::ModifyPolicy { id, policy } => {
            ctx.ec2
                .modify_vpc_endpoint()
                .vpc_endpoint_id(id)
                .policy_document(policy.to_string())
                .send()
                .await
                .map_err(|e| aws_error("EC2", "ModifyVpcEndpoint", id, e))?;
            Ok(())
        }
        EndpointOp::Delete { id } => {
            let out = ctx
                .ec2
                .delete_vpc_endpoints()
                .vpc_endpoint_ids(id)
                .send()
                .await
                .map_err(|e| aws_error("EC2", "DeleteVpcEndpoints", id, e))?;
            if let Some(u) = out.unsuccessful().first() {
                // Already gone (another process deleted it first): done.
                if u.error().and_then(|e| e.code()).is_some_and(|c| c.contains("NotFound")) {
                    return Ok(());
                }
                bail!("EC2 did not delete endpoint {id}: {}", u.error().and_then(|e| e.message()).unwrap_or("no reason given"));
            }
            Ok(())
        }
        EndpointOp::Tag { id, set, remove } => {
            if !set.is_empty() {
                ctx.ec2
                    .create_tags()
                    .resources(id)
                    .set_tags(Some(ec2_tags(set)))
                    .send()
                    .await
                    .map_err(|e| aws_error("EC2", "CreateTags", id, e))?;
            }
            if !remove.is_empty() {
                ctx.ec2
                    .delete_tags()
                    .resources(id)
                    .set_tags(Some(remove.iter().map(|k| ec2::Tag::builder().key(k).build()).collect()))
                    .send()
                    .await
                    .map_err(|e| aws_error("EC2", "DeleteTags", id, e))?;
            }
            Ok(())
        }
    }
    .context("vpc endpoint step")
}
