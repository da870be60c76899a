//! Reading a topic: its ARN made of its name, then GetTopicAttributes (to know it exists), its
//! tags and its subscriptions at once.

use anyhow::Result;

use super::{LiveSubscription, LiveTopic};
use crate::aws::{aws_error, code, AwsContext};

/// The ARN of the topic `name` in this run's account and region.
pub async fn arn_of(ctx: &AwsContext, name: &str) -> Result<String> {
    let id = ctx.identity().await?;
    Ok(format!("arn:{}:sns:{}:{}:{name}", id.partition, ctx.region, id.account_id))
}

/// Reads one topic by name; None when it does not exist. Its attributes (whether it exists),
/// tags and subscriptions are read at once: each needs only the ARN, so a plan waits one round
/// trip for a topic, not two; the other two answers count only when the topic exists.
pub async fn observe(ctx: &AwsContext, name: &str) -> Result<Option<LiveTopic>> {
    let arn = arn_of(ctx, name).await?;
    let exists = async {
        match ctx.sns.get_topic_attributes().topic_arn(&arn).send().await {
            Ok(_) => Ok(true),
            Err(e) if code(&e) == Some("NotFound") => Ok(false),
            Err(e) => Err(anyhow::Error::from(aws_error("SNS", "GetTopicAttributes", name, e))),
        }
    };
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
    let (exists, tags, subscriptions) = tokio::join!(exists, tags, subscriptions(ctx, name, &arn));
    if !exists? {
        return Ok(None);
    }
    Ok(Some(LiveTopic { name: name.to_string(), arn, subscriptions: subscriptions?, tags: tags? }))
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
