//! Discovery: what this stack's env owns, found live by its ownership marker (no state file).
//!
//! One Resource Groups Tagging API query (`GetResources`, filtered server-side by the marker
//! tag and by every kind's resource type) finds the tables, queues and functions, whatever else
//! the account holds; it is made on first use ([`Tagged`]), once for every kind. Kinds the API
//! does not cover find theirs with their own service's filter (endpoints: a tag filter on
//! DescribeVpcEndpoints; roles: their path). The engine names no kind: the types come from
//! `Kind::tagging_type`.

use std::collections::BTreeMap;

use anyhow::Result;
use aws_sdk_resourcegroupstagging::types::TagFilter;

use crate::aws::{aws_error, AwsContext};
use crate::kinds::support::ownership::{owned, owner_id, OWNER_TAG};
use crate::kinds::REGISTRY;
use crate::spec::Desired;

/// What the Resource Groups Tagging API finds with this stack env's marker: queried once, on
/// first use, so that kinds that do not need it (roles, endpoints) start at once.
pub struct Tagged<'a> {
    ctx: &'a AwsContext,
    desired: &'a Desired,
    found: tokio::sync::OnceCell<TaggedByType>,
}

/// By resource type ("lambda:function"), each resource's ARN and tags.
pub type TaggedByType = BTreeMap<String, Vec<TaggedResource>>;

/// One resource the Tagging API found: its ARN and tags.
pub type TaggedResource = (String, BTreeMap<String, String>);

impl<'a> Tagged<'a> {
    pub fn new(ctx: &'a AwsContext, desired: &'a Desired) -> Self {
        Tagged { ctx, desired, found: tokio::sync::OnceCell::new() }
    }

    /// The AWS names (the ARN's last part) of the resources of `resource_type` that this
    /// stack env owns.
    pub async fn names(&self, resource_type: &str) -> Result<Vec<String>> {
        let found = self.found.get_or_try_init(|| tagged(self.ctx, self.desired)).await?;
        let all = found.get(resource_type).into_iter().flatten();
        Ok(all
            .filter(|(_, tags)| owned(tags, self.desired))
            .map(|(arn, _)| arn.rsplit([':', '/']).next().unwrap_or(arn).to_string())
            .collect())
    }
}

/// Every resource of the Tagging API's types whose marker is this stack env's.
async fn tagged(ctx: &AwsContext, desired: &Desired) -> Result<TaggedByType> {
    let types: Vec<String> = REGISTRY.iter().filter_map(|k| k.tagging_type()).map(str::to_string).collect();
    let mut out = TaggedByType::new();
    if types.is_empty() {
        return Ok(out);
    }
    let filter = TagFilter::builder().key(OWNER_TAG).values(owner_id(desired)).build();
    let mut token: Option<String> = None;
    loop {
        let page = ctx
            .tagging
            .get_resources()
            .tag_filters(filter.clone())
            .set_resource_type_filters(Some(types.clone()))
            .resources_per_page(100)
            .set_pagination_token(token.take())
            .send()
            .await
            .map_err(|e| aws_error("Resource Groups Tagging API", "GetResources", &format!("{OWNER_TAG}={}", owner_id(desired)), e))?;
        for r in page.resource_tag_mapping_list() {
            let Some(arn) = r.resource_arn() else { continue };
            let tags: BTreeMap<String, String> = r.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect();
            out.entry(resource_type(arn)).or_default().push((arn.to_string(), tags));
        }
        match page.pagination_token().filter(|t| !t.is_empty()) {
            Some(t) => token = Some(t.to_string()),
            None => return Ok(out),
        }
    }
}

/// The Tagging API's type of an ARN: `arn:PARTITION:SERVICE:REGION:ACCOUNT:TYPE/NAME` or
/// `TYPE:NAME` → "SERVICE:TYPE"; an ARN whose resource is only a name (an SQS queue's) → "SERVICE".
fn resource_type(arn: &str) -> String {
    let mut parts = arn.splitn(6, ':');
    let service = parts.nth(2).unwrap_or("");
    let resource = parts.nth(2).unwrap_or("");
    match resource.split_once(['/', ':']) {
        Some((kind, _)) => format!("{service}:{kind}"),
        None => service.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_arn_names_its_type_or_only_its_service() {
        assert_eq!(super::resource_type("arn:aws:dynamodb:us-east-1:1:table/t"), "dynamodb:table");
        assert_eq!(super::resource_type("arn:aws:lambda:us-east-1:1:function:f"), "lambda:function");
        assert_eq!(super::resource_type("arn:aws:sqs:us-east-1:1:q"), "sqs");
    }
}
