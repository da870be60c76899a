//! EC2 look-ups that several kinds make: a filter, the default VPC, a VPC's subnets and its
//! default security group.

use std::collections::BTreeSet;

use anyhow::{bail, Result};
use aws_sdk_ec2::types as ec2;

use crate::aws::{aws_error, AwsContext};

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

/// The subnets and default security group of a VPC, for `vpc:`.
pub async fn network(ctx: &AwsContext, vpc: &str) -> Result<(BTreeSet<String>, BTreeSet<String>)> {
    let vpc_id = vpc_id(ctx, vpc).await?;
    let subnets = async {
        ctx.ec2
            .describe_subnets()
            .filters(filter("vpc-id", &vpc_id))
            .send()
            .await
            .map_err(|e| aws_error("EC2", "DescribeSubnets", &vpc_id, e))
    };
    let sgs = async {
        ctx.ec2
            .describe_security_groups()
            .filters(filter("vpc-id", &vpc_id))
            .filters(filter("group-name", "default"))
            .send()
            .await
            .map_err(|e| aws_error("EC2", "DescribeSecurityGroups", &vpc_id, e))
    };
    let (subnets, sgs) = tokio::try_join!(subnets, sgs)?;
    let subnets: BTreeSet<String> = subnets.subnets().iter().filter_map(|s| s.subnet_id().map(str::to_string)).collect();
    let sgs: BTreeSet<String> = sgs.security_groups().iter().filter_map(|g| g.group_id().map(str::to_string)).collect();
    if subnets.is_empty() {
        bail!("VPC {vpc_id} has no subnets to place a function in");
    }
    Ok((subnets, sgs))
}
