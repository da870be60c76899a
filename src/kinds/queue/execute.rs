//! Running the queue's operations.

use std::time::Duration;

use anyhow::{Context, Result};
use aws_sdk_sqs::types::QueueAttributeName as Attr;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::observe::{unless_missing, url_of};
use super::QueueOp;
use crate::aws::{aws_error, AwsContext};

/// How long SQS refuses a name after its queue was deleted.
pub(super) const RECENTLY_DELETED: Duration = Duration::from_secs(70);

pub(super) async fn url_for(ctx: &AwsContext, name: &str) -> Result<String> {
    url_of(ctx, name).await?.with_context(|| format!("queue {name} does not exist"))
}

pub(super) async fn execute(ctx: &AwsContext, op: &QueueOp) -> Result<()> {
    match op {
        QueueOp::Create { name, attributes, tags } => {
            use crate::kinds::support::retry::{self, Next, Policy};
            let policy = Policy { deadline: RECENTLY_DELETED, ..retry::AWS };
            retry::retry(&format!("the creation of queue {name}"), policy, || async {
                let attrs = attributes.iter().map(|(k, v)| (Attr::from(k.as_str()), v.clone())).collect();
                // CreateQueue is idempotent for the same attributes: a create whose answer was
                // lost succeeds again.
                match ctx
                    .sqs
                    .create_queue()
                    .queue_name(name)
                    .set_attributes(Some(attrs))
                    .set_tags(Some(tags.clone().into_iter().collect()))
                    .send()
                    .await
                {
                    Ok(_) => Ok(()),
                    Err(e) if matches!(e.code(), Some("QueueDeletedRecently" | "AWS.SimpleQueueService.QueueDeletedRecently")) => {
                        Err(Next::Retry(format!("SQS keeps the name {name} for 60 s after its queue was deleted")))
                    }
                    Err(e) => Err(Next::Fail(aws_error("SQS", "CreateQueue", name, e).into())),
                }
            })
            .await
        }
        QueueOp::SetAttributes { name, attributes } => {
            let url = url_for(ctx, name).await?;
            let attrs = attributes.iter().map(|(k, v)| (Attr::from(k.as_str()), v.clone())).collect();
            ctx.sqs
                .set_queue_attributes()
                .queue_url(&url)
                .set_attributes(Some(attrs))
                .send()
                .await
                .map_err(|e| aws_error("SQS", "SetQueueAttributes", name, e))?;
            Ok(())
        }
        QueueOp::Tag { name, set, remove } => {
            let url = url_for(ctx, name).await?;
            if !set.is_empty() {
                ctx.sqs
                    .tag_queue()
                    .queue_url(&url)
                    .set_tags(Some(set.clone().into_iter().collect()))
                    .send()
                    .await
                    .map_err(|e| aws_error("SQS", "TagQueue", name, e))?;
            }
            if !remove.is_empty() {
                ctx.sqs
                    .untag_queue()
                    .queue_url(&url)
                    .set_tag_keys(Some(remove.clone()))
                    .send()
                    .await
                    .map_err(|e| aws_error("SQS", "UntagQueue", name, e))?;
            }
            Ok(())
        }
        QueueOp::Delete { name } => {
            // Already gone (another process deleted it first): done.
            let Some(url) = url_of(ctx, name).await? else { return Ok(()) };
            unless_missing(ctx.sqs.delete_queue().queue_url(&url).send().await, "DeleteQueue", name).map(|_| ())
        }
    }
    .context("sqs queue step")
}
