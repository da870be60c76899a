//! Reading a topic: its ARN made of its name, GetTopicAttributes to know it exists, then its
//! tags and subscriptions at once.

use anyhow::Result;

use super::{LiveSubscription, LiveTopic};
use crate::aws::{aws_error, code, AwsContext};

/// The ARN of the topic `name` in this run's account and region.
pub async fn arn_of(ctx: &AwsContext, name: &str) -> Result<String> {
    let id = ctx.identity().await?;
    Ok(format!("arn:{}:sns:{}:{}:{name}", id.partition, ctx.region, id.account_id))
}

/// Reads one topic by name; None when it does not exist.
pub async fn observe(ctx: &AwsContext, name: &str) -> Result<Option<LiveTopic>> {
    let arn = arn_of(ctx, name).await?;
    match ctx.sns.get_topic_attributes().topic_arn(&arn).send().await {
        Ok(_) => {}
        Err(e) if code(&e) == Some("NotFound") => return Ok(None),
        Err(e) => return Err(aws_error("SNS", "GetTopicAttributes", name, e).into()),
    }
    let tags = async {
        let out = ctx
            .sns
            .list_tags_for_resource()
            .resource_arn(&arn)
            .send()
            .await
            .map_err(|e| aws_error("SNS", "ListTagsForResource", name, e))?;
        anyhow::Ok(out.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect())
    };
    let (tags, subscriptions) = tokio::try_join!(tags, subscriptions(ctx, name, &arn))?;
    Ok(Some(LiveTopic { name: name.to_string(), arn, subscriptions, tags }))
}

/// Every subscription of a topic (ListSubscriptionsByTopic pages by 100), sorted.
pub(super) async fn subscriptions(ctx: &AwsContext, name: &str, arn: &str) -> Result<Vec<LiveSubscription>> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = ctx
            .sns
            .list_subscriptions_by_topic()
            .topic_arn(arn)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| aws_error("SNS", "ListSubscriptionsByTopic", name, e))?;
        out.extend(page.subscriptions().iter().map(|s| LiveSubscription {
            protocol: s.protocol().unwrap_or_default().to_string(),
            endpoint: s.endpoint().unwrap_or_default().to_string(),
            arn: s.subscription_arn().unwrap_or_default().to_string(),
        }));
        token = page.next_token().filter(|t| !t.is_empty()).map(str::to_string);
        if token.is_none() {
            out.sort();
            return Ok(out);
        }
    }
}
