//! Reading a queue: its URL by name, then its attributes and tags at once.

use std::collections::BTreeMap;

use anyhow::Result;
use aws_sdk_sqs::types::QueueAttributeName as Attr;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::flex::encryption_of;
use super::{LiveQueue, DEFAULT_RETENTION_S, DEFAULT_VISIBILITY_S};
use crate::aws::{aws_error, AwsContext};

/// An SQS call's answer, None when the queue is not there. SQS's JSON protocol says
/// `AWS.SimpleQueueService.NonExistentQueue` where the query protocol said `QueueDoesNotExist`.
pub(super) fn unless_missing<T, E>(r: Result<T, SdkError<E, HttpResponse>>, operation: &'static str, name: &str) -> Result<Option<T>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match r {
        Ok(t) => Ok(Some(t)),
        Err(e) if matches!(e.code(), Some("QueueDoesNotExist" | "AWS.SimpleQueueService.NonExistentQueue")) => Ok(None),
        Err(e) => Err(aws_error("SQS", operation, name, e).into()),
    }
}

/// A queue's URL, None when it does not exist.
pub async fn url_of(ctx: &AwsContext, name: &str) -> Result<Option<String>> {
    let out = unless_missing(ctx.sqs.get_queue_url().queue_name(name).send().await, "GetQueueUrl", name)?;
    Ok(out.and_then(|o| o.queue_url().map(str::to_string)))
}

/// Reads one queue by name: its URL, then its attributes and tags at once.
pub async fn observe(ctx: &AwsContext, name: &str) -> Result<Option<LiveQueue>> {
    let Some(url) = url_of(ctx, name).await? else { return Ok(None) };
    let (attrs, tags) = tokio::join!(
        ctx.sqs.get_queue_attributes().queue_url(&url).attribute_names(Attr::All).send(),
        ctx.sqs.list_queue_tags().queue_url(&url).send(),
    );
    let (attrs, tags) = match (unless_missing(attrs, "GetQueueAttributes", name), unless_missing(tags, "ListQueueTags", name)) {
        (Ok(Some(a)), Ok(Some(t))) => (a, t),
        // Deleted between the calls: not there.
        (Ok(None), _) | (_, Ok(None)) => return Ok(None),
        (Err(e), _) | (_, Err(e)) => return Err(e),
    };
    let a: BTreeMap<String, String> = attrs.attributes().into_iter().flatten().map(|(k, v)| (k.as_str().to_string(), v.clone())).collect();
    let num = |k: &str, d: i64| a.get(k).and_then(|v| v.parse().ok()).unwrap_or(d);
    Ok(Some(LiveQueue {
        name: name.to_string(),
        arn: a.get("QueueArn").cloned().unwrap_or_default(),
        message_retention_s: num("MessageRetentionPeriod", DEFAULT_RETENTION_S),
        visibility_timeout_s: num("VisibilityTimeout", DEFAULT_VISIBILITY_S),
        encryption: encryption_of(&a),
        tags: tags.tags().cloned().unwrap_or_default().into_iter().collect(),
        url,
    }))
}

/// How many messages a queue holds now, visible and in flight (None: the queue is not there).
pub async fn depth(ctx: &AwsContext, name: &str) -> Result<Option<i64>> {
    let Some(url) = url_of(ctx, name).await? else { return Ok(None) };
    Ok(counts(ctx, &url, name).await?.map(|(visible, in_flight)| visible + in_flight))
}

/// A queue's approximate counts by its URL: visible messages (what a receive can see) and those
/// in flight (received and hidden until their visibility timeout ends); None: not there.
pub async fn counts(ctx: &AwsContext, url: &str, name: &str) -> Result<Option<(i64, i64)>> {
    let read = ctx
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(Attr::ApproximateNumberOfMessages)
        .attribute_names(Attr::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await;
    let Some(out) = unless_missing(read, "GetQueueAttributes", name)? else { return Ok(None) };
    let a = out.attributes().cloned().unwrap_or_default();
    let n = |k: Attr| a.get(&k).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
    Ok(Some((n(Attr::ApproximateNumberOfMessages), n(Attr::ApproximateNumberOfMessagesNotVisible))))
}
