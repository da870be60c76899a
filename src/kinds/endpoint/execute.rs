//! Running the endpoint's operations.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use aws_sdk_ec2::types as ec2;

use super::observe::endpoints;
use super::EndpointOp;
use crate::aws::{aws_error, AwsContext};
use crate::kinds::support::wait;

pub(super) fn ec2_tags(tags: &BTreeMap<String, String>) -> Vec<ec2::Tag> {
    tags.iter().map(|(k, v)| ec2::Tag::builder().key(k).value(v).build()).collect()
}

pub(super) async fn execute(ctx: &AwsContext, op: &EndpointOp) -> Result<()> {
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
