//! Running the queue's operations.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result};
use aws_sdk_sqs::types::QueueAttributeName as Attr;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::observe::{unless_missing, url_of};
use super::QueueOp;
use crate::aws::{aws_error, AwsContext};
use crate::kinds::support::wait;

/// How long SQS refuses a name after its queue was deleted.
pub(super) const RECENTLY_DELETED: Duration = Duration::from_secs(70);

/// How long a change may take to show (rule 34: SQS says up to 60 s for most attributes, a
/// deleted queue may answer as long; Terraform's provider waits up to 3 minutes), and how many
/// reads in a row must agree: one read may reach a server that has the change and the next one
/// not.
const PROPAGATION: Duration = Duration::from_secs(180);
/// A retention change may take 15 minutes to propagate (rule 34).
const RETENTION_PROPAGATION: Duration = Duration::from_secs(15 * 60);
/// Terraform's provider reads 6 times 5 s apart; 3 reads 2 s apart keep an apply's waits short
/// while a read that reaches a server without the change still restarts the count.
const READS_IN_A_ROW: wait::Reads = wait::Reads { times: 3, apart: Duration::from_secs(2) };

/// Waits until the queue answers with every attribute as sent (a new queue may not be found for
/// a moment; an attribute change propagates), `READS_IN_A_ROW` times.
async fn wait_attributes(ctx: &AwsContext, name: &str, sent: &BTreeMap<String, String>) -> Result<()> {
    let deadline = if sent.contains_key("MessageRetentionPeriod") { RETENTION_PROPAGATION } else { PROPAGATION };
    wait::settled(&format!("queue {name} to show its attributes"), deadline, READS_IN_A_ROW, || async {
        let Some(url) = url_of(ctx, name).await? else { return Ok(wait::Poll::Pending("not found yet".into())) };
        let read = ctx.sqs.get_queue_attributes().queue_url(&url).attribute_names(Attr::All).send().await;
        let Some(out) = unless_missing(read, "GetQueueAttributes", name)? else { return Ok(wait::Poll::Pending("not found yet".into())) };
        let live = out.attributes().cloned().unwrap_or_default();
        let shows = |k: &String, v: &String| match live.get(&Attr::from(k.as_str())) {
            Some(l) => l == v,
            // An attribute cleared ("") or turned off is left out of the answer.
            None => v.is_empty() || v == "false",
        };
        let behind: Vec<&str> = sent.iter().filter(|(k, v)| !shows(k, v)).map(|(k, _)| k.as_str()).collect();
        Ok(match behind.as_slice() {
            [] => wait::Poll::Done,
            b => wait::Poll::Pending(format!("{} not visible yet", b.join(", "))),
        })
    })
    .await
}

/// Waits until a deleted queue no longer answers, `READS_IN_A_ROW` times (it may for up to 60 s):
/// the check after apply must not find it and plan its deletion again.
async fn wait_gone(ctx: &AwsContext, name: &str) -> Result<()> {
    wait::settled(&format!("queue {name} to be gone"), PROPAGATION, READS_IN_A_ROW, || async {
        Ok(match url_of(ctx, name).await? {
            None => wait::Poll::Done,
            Some(_) => wait::Poll::Pending("it still answers".into()),
        })
    })
    .await
}

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
            .await?;
            wait_attributes(ctx, name, attributes).await
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
            wait_attributes(ctx, name, attributes).await
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
            unless_missing(ctx.sqs.delete_queue().queue_url(&url).send().await, "DeleteQueue", name)?;
            wait_gone(ctx, name).await
        }
    }
    .context("sqs queue step")
}
