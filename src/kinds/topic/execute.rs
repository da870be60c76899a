//! Running the topic's operations.

use std::time::Duration;

use anyhow::{Context, Result};

use super::observe::{arn_of, observe, subscriptions};
use super::{LiveSubscription, TopicOp};
use crate::aws::{aws_error, code, AwsContext};
use crate::kinds::support::retry::{self, Next};
use crate::kinds::support::wait::{self, Poll, Reads};

/// How long SNS may take to show a change (Terraform's provider allows 2 minutes).
const PROPAGATION: Duration = Duration::from_secs(120);
/// Two reads in a row, a second apart, must agree.
const READS: Reads = Reads { times: 2, apart: Duration::from_secs(1) };

/// Waits until the topic's subscriptions, as listed, pass `shows`.
async fn wait_listed(ctx: &AwsContext, topic: &str, arn: &str, what: &str, shows: impl Fn(&[LiveSubscription]) -> bool) -> Result<()> {
    wait::settled(what, PROPAGATION, READS, || async {
        let subs = subscriptions(ctx, topic, arn).await?;
        Ok(if shows(&subs) { Poll::Done } else { Poll::Pending(format!("{} subscription(s) listed", subs.len())) })
    })
    .await
}

fn sns_tags(tags: &std::collections::BTreeMap<String, String>) -> Result<Vec<aws_sdk_sns::types::Tag>> {
    tags.iter().map(|(k, v)| Ok(aws_sdk_sns::types::Tag::builder().key(k).value(v).build()?)).collect()
}

pub(super) async fn execute(ctx: &AwsContext, op: &TopicOp) -> Result<()> {
    let done: Result<()> = match op {
        // CreateTopic is idempotent for the same name and tags: a create whose answer was lost
        // succeeds again (rule 42).
        TopicOp::Create { name, tags } => {
            ctx.sns
                .create_topic()
                .name(name)
                .set_tags(Some(sns_tags(tags)?))
                .send()
                .await
                .map_err(|e| aws_error("SNS", "CreateTopic", name, e))?;
            // SNS is eventually consistent (Terraform's provider waits for a new topic and its
            // subscriptions too): the subscriptions that follow need it found.
            wait::settled(&format!("topic {name} to be found"), PROPAGATION, READS, || async {
                Ok(if observe(ctx, name).await?.is_some() { Poll::Done } else { Poll::Pending("not found yet".into()) })
            })
            .await
        }
        TopicOp::Subscribe { topic, protocol, endpoint } => {
            let arn = arn_of(ctx, topic).await?;
            let shown = format!("{topic} ← {protocol}:{endpoint}");
            let policy = retry::Policy { deadline: PROPAGATION, ..retry::AWS };
            retry::retry(&format!("the subscription {shown}"), policy, || async {
                match ctx.sns.subscribe().topic_arn(&arn).protocol(protocol).endpoint(endpoint).send().await {
                    Ok(_) => Ok(()),
                    Err(e) if code(&e) == Some("NotFound") => Err(Next::Retry(format!("topic {topic} not found yet"))),
                    Err(e) => Err(Next::Fail(aws_error("SNS", "Subscribe", &shown, e).into())),
                }
            })
            .await?;
            wait_listed(ctx, topic, &arn, &format!("subscription {shown} to be listed"), |subs| {
                subs.iter().any(|s| (s.confirmed() || s.pending()) && s.protocol == *protocol && s.endpoint == *endpoint)
            })
            .await
        }
        TopicOp::Unsubscribe { topic, arn } => {
            match ctx.sns.unsubscribe().subscription_arn(arn).send().await {
                Ok(_) => {}
                Err(e) if code(&e) == Some("NotFound") => {}
                Err(e) => return Err(aws_error("SNS", "Unsubscribe", &format!("{topic}: {arn}"), e).into()),
            }
            let topic_arn = arn_of(ctx, topic).await?;
            wait_listed(ctx, topic, &topic_arn, &format!("subscription {arn} to be gone"), |subs| !subs.iter().any(|s| s.arn == *arn)).await
        }
        TopicOp::Tag { name, set, remove } => {
            let arn = arn_of(ctx, name).await?;
            if !remove.is_empty() {
                ctx.sns
                    .untag_resource()
                    .resource_arn(&arn)
                    .set_tag_keys(Some(remove.clone()))
                    .send()
                    .await
                    .map_err(|e| aws_error("SNS", "UntagResource", name, e))?;
            }
            if !set.is_empty() {
                ctx.sns
                    .tag_resource()
                    .resource_arn(&arn)
                    .set_tags(Some(sns_tags(set)?))
                    .send()
                    .await
                    .map_err(|e| aws_error("SNS", "TagResource", name, e))?;
            }
            Ok(())
        }
        TopicOp::Delete { name } => {
            let arn = arn_of(ctx, name).await?;
            match ctx.sns.delete_topic().topic_arn(&arn).send().await {
                Ok(_) => Ok(()),
                Err(e) if code(&e) == Some("NotFound") => Ok(()),
                Err(e) => Err(aws_error("SNS", "DeleteTopic", name, e).into()),
            }
        }
    };
    done.context("sns topic step")
}
