//! `import`: the DynamoDB gateway endpoint of a VPC written back as spec (adopted by its id
//! when this tool did not make it).

use anyhow::Result;
use aws_sdk_ec2::types as ec2;

use super::observe::{describe, live_endpoint, route_tables, state_of};
use super::{default_policy, NAME_TAG};
use crate::aws::AwsContext;
use crate::kinds::support::ec2::{filter, vpc_id};
use crate::kinds::support::import::spec_value;
use crate::kinds::Imported;
use crate::policy;
use crate::spec::{RouteTables, VpcEndpointSpec};

pub(super) async fn import(ctx: &AwsContext, name: &str) -> Result<Option<Imported>> {
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
    let mut i = Imported::new("vpc_endpoints", &key, spec_value(&spec), live.tags.clone());
    i.files = files;
    if spec.adopt.is_some() {
        i.comments.insert("adopt".into(), "made outside this tool: taken over by its id on the first apply".into());
    }
    Ok(Some(i))
}
