//! Reading a gateway endpoint of the spec: its VPC, then the VPC's route tables and the service's
//! endpoints at once (ours by tags, or the one `adopt` names; the others reported as foreign).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use aws_sdk_ec2::types as ec2;

use super::{default_policy, LiveEndpoint, LiveVpcSide, KIND, NAME_TAG};
use crate::aws::{aws_error, AwsContext};
use crate::kinds::support::ec2::{filter, vpc_id};
use crate::policy;
use crate::spec::VpcEndpointSpec;

pub(super) async fn route_tables(ctx: &AwsContext, vpc: &str) -> Result<BTreeSet<String>> {
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

pub(super) fn tags_of(t: &[ec2::Tag]) -> BTreeMap<String, String> {
    t.iter().filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string()))).collect()
}

/// Endpoints for a service in a VPC that are not deleted: (ours by `ours` tags, else the one
/// `adopt` names unless another stack owns it; foreign ids).
pub(super) async fn endpoints(
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
pub(super) async fn describe(ctx: &AwsContext, filters: Vec<ec2::Filter>, what: &str) -> Result<Vec<ec2::VpcEndpoint>> {
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
pub(super) fn state_of(e: &ec2::VpcEndpoint) -> String {
    e.state().map(|s| s.as_str().to_ascii_lowercase()).unwrap_or_default()
}

/// An endpoint as read: its policy decoded (AWS's full-access default when it has none).
pub(super) fn live_endpoint(e: &ec2::VpcEndpoint) -> Result<LiveEndpoint> {
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
