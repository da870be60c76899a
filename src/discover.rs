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

use crate::aws::{aws_error, Access, AwsContext};
use crate::kinds::support::ownership::{owned, owner_id, OWNER_TAG};
use crate::kinds::REGISTRY;
use crate::spec::Desired;

/// What the Resource Groups Tagging API finds with this stack env's marker: queried once, on
/// first use, so that kinds that do not need it (roles, endpoints) start at once.
pub struct Tagged<'a> {
    ctx: &'a AwsContext,
    desired: &'a Desired,
    found: tokio::sync::OnceCell<TaggedByType>,
    /// Why the query failed, once it has: it is not sent again in this run.
    failed: std::sync::Mutex<Option<String>>,
}

/// By resource type ("lambda:function"), each resource's tags by ARN.
pub type TaggedByType = BTreeMap<String, BTreeMap<String, Tags>>;

type Tags = BTreeMap<String, String>;

impl<'a> Tagged<'a> {
    pub fn new(ctx: &'a AwsContext, desired: &'a Desired) -> Self {
        Tagged { ctx, desired, found: tokio::sync::OnceCell::new(), failed: std::sync::Mutex::new(None) }
    }

    async fn found(&self) -> Result<&TaggedByType> {
        self.found
            .get_or_try_init(|| async {
                if let Some(why) = self.failed.lock().map(|f| f.clone()).unwrap_or_default() {
                    anyhow::bail!(why);
                }
                let r = tagged(self.ctx, self.desired).await;
                if let Err(e) = &r {
                    if let Ok(mut f) = self.failed.lock() {
                        *f = Some(format!("{e:#}"));
                    }
                }
                r
            })
            .await
    }

    /// The AWS names (the ARN's last part) of the resources of `resource_type` that this
    /// stack env owns.
    pub async fn names(&self, resource_type: &str) -> Result<Vec<String>> {
        let all = self.found().await?.get(resource_type).into_iter().flatten();
        Ok(all
            .filter(|(_, tags)| owned(tags, self.desired))
            .map(|(arn, _)| arn.rsplit([':', '/']).next().unwrap_or(arn).to_string())
            .collect())
    }

    /// The tags the Tagging API lists for `arn`, when this run queries it (a whole spec, not
    /// `--target`, whose endpoint may serve one service only) and the query found it: a hint,
    /// not a read. The Tagging API keeps its own copy of each resource's tags and follows the
    /// service's changes only after a while (docs/aws-behaviour.md rule 47), so a kind uses the
    /// hint only where nothing is to change and reads the resource's own tags otherwise.
    /// Only read-only runs (plan, drift, status) take hints: what apply, destroy and forget
    /// decide rests on each resource's own tags. None (no request) for a partial spec; None
    /// when the query failed (discovery reports why).
    pub async fn hint(&self, resource_type: &str, arn: &str) -> Option<&Tags> {
        if self.desired.partial || self.ctx.access != Access::ReadOnly {
            return None;
        }
        self.found().await.ok()?.get(resource_type)?.get(arn)
    }
}

/// Whether a hint can stand for a resource's tags: it shows none of the changes `want` would
/// make (then a per-resource read would most likely show none either; when it shows some, only
/// the resource's own read may propose them).
pub fn hint_agrees(want: &Tags, hint: &Tags) -> bool {
    crate::plan::tag_delta(want, hint).0.is_empty()
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
            out.entry(resource_type(arn)).or_default().insert(arn.to_string(), tags);
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
    use std::collections::BTreeMap;

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_hint_stands_for_the_tags_only_when_it_shows_no_change_to_make() {
        let want = tags(&[("app", "cruddur"), ("managed-by", "cruddur-infra")]);
        assert!(super::hint_agrees(&want, &want));
        // AWS's own tags are never the spec's business.
        assert!(super::hint_agrees(
            &want,
            &tags(&[("app", "cruddur"), ("managed-by", "cruddur-infra"), ("aws:cloudformation:stack-name", "s")])
        ));
        assert!(!super::hint_agrees(&want, &tags(&[("app", "chat"), ("managed-by", "cruddur-infra")])));
        assert!(!super::hint_agrees(&want, &tags(&[("managed-by", "cruddur-infra")])));
        assert!(!super::hint_agrees(&want, &tags(&[("app", "cruddur"), ("managed-by", "cruddur-infra"), ("owner", "someone")])));
    }

    #[test]
    fn an_arn_names_its_type_or_only_its_service() {
        assert_eq!(super::resource_type("arn:aws:dynamodb:us-east-1:1:table/t"), "dynamodb:table");
        assert_eq!(super::resource_type("arn:aws:lambda:us-east-1:1:function:f"), "lambda:function");
        assert_eq!(super::resource_type("arn:aws:sqs:us-east-1:1:q"), "sqs");
    }
}
