//! The failure loop's reads: the on-failure queue without consuming it (a receive with
//! `VisibilityTimeout: 0` is a peek, docs/aws-behaviour.md rule 45), and a failed batch's records
//! from the stream by sequence number while the stream keeps them (rule 44).

use std::collections::BTreeSet;

use anyhow::Result;
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde_json::Value;

use super::record::{lambda_record, seq_cmp, BatchInfo};
use crate::aws::{aws_error, AwsContext};
use crate::spec::filter;

/// Receives up to 10 messages, hiding them for `visibility_s` (0: a peek, they stay visible).
/// Long polling for a second: a short poll samples only some of SQS's servers and may miss
/// messages that are there.
pub async fn receive(ctx: &AwsContext, url: &str, visibility_s: i32) -> Result<Vec<Message>> {
    let out = ctx
        .sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .visibility_timeout(visibility_s)
        .wait_time_seconds(1)
        .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
        .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
        .send()
        .await
        .map_err(|e| aws_error("SQS", "ReceiveMessage", url, e))?;
    Ok(out.messages().to_vec())
}

/// Every visible message of the queue, none consumed: peeks until receives in a row bring
/// nothing new (three; two when the queue says it is empty). The queue's count is only a hint
/// (approximate, and behind by a minute or more), and each receive samples: neither bounds it.
pub async fn peek(ctx: &AwsContext, url: &str, visible: i64) -> Result<Vec<Message>> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let (mut idle, mut rounds) = (0, 0);
    let quiet = if visible > 0 { 3 } else { 2 };
    let cap = 20 + visible.max(0);
    while idle < quiet && rounds < cap {
        rounds += 1;
        let before = out.len();
        for m in receive(ctx, url, 0).await? {
            let id = m.message_id().unwrap_or_default().to_string();
            if seen.insert(id) {
                out.push(m);
            }
        }
        idle = if out.len() == before { idle + 1 } else { 0 };
    }
    Ok(out)
}

/// A failed batch's records as the stream still has them.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetched {
    /// The records of the batch's range that the trigger's filter passes (what Lambda delivered),
    /// and how many others the range holds.
    Records { records: Vec<Value>, skipped: usize, complete: bool },
    /// Gone: why.
    Expired(String),
}

const PAGES: usize = 100;

/// Reads the batch's range from its shard: GetShardIterator `AT_SEQUENCE_NUMBER` of its start,
/// then GetRecords until a record past its end (or the shard's end). A record past the stream's
/// retention answers TrimmedDataAccessException.
pub async fn fetch(ctx: &AwsContext, batch: &BatchInfo, patterns: &[Value]) -> Result<Fetched> {
    let gone = |code: Option<&str>| match code {
        Some("TrimmedDataAccessException") => {
            Some("its records are past the stream's retention (24 hours) and are gone: only the description is left".to_string())
        }
        Some("ResourceNotFoundException") => {
            Some("the stream or its shard no longer exists (the stream was turned off or replaced)".into())
        }
        _ => None,
    };
    let it = ctx
        .streams
        .get_shard_iterator()
        .stream_arn(&batch.stream_arn)
        .shard_id(&batch.shard_id)
        .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
        .sequence_number(&batch.start_sequence_number)
        .send()
        .await;
    let mut iterator = match it {
        Ok(o) => o.shard_iterator().map(str::to_string),
        Err(e) => match gone(e.code()) {
            Some(why) => return Ok(Fetched::Expired(why)),
            None => return Err(aws_error("DynamoDB Streams", "GetShardIterator", &batch.shard_id, e).into()),
        },
    };
    let (mut records, mut skipped, mut idle) = (Vec::new(), 0, 0);
    for _ in 0..PAGES {
        let Some(it) = iterator.take() else { return Ok(Fetched::Records { records, skipped, complete: true }) };
        let page = match ctx.streams.get_records().shard_iterator(it).send().await {
            Ok(p) => p,
            Err(e) => match gone(e.code()) {
                Some(why) => return Ok(Fetched::Expired(why)),
                None => return Err(aws_error("DynamoDB Streams", "GetRecords", &batch.shard_id, e).into()),
            },
        };
        idle = if page.records().is_empty() { idle + 1 } else { 0 };
        for r in page.records() {
            let seq = r.dynamodb().and_then(|d| d.sequence_number()).unwrap_or_default();
            if seq_cmp(seq, &batch.end_sequence_number).is_gt() {
                return Ok(Fetched::Records { records, skipped, complete: true });
            }
            let event = lambda_record(r, &batch.stream_arn);
            if filter::matches(patterns, &event) {
                records.push(event);
            } else {
                skipped += 1;
            }
            if seq_cmp(seq, &batch.end_sequence_number).is_eq() {
                return Ok(Fetched::Records { records, skipped, complete: true });
            }
        }
        // An open shard answers an empty page at its tip: the end was written, so a few empty
        // pages in a row mean it is not coming.
        if idle >= 3 {
            break;
        }
        iterator = page.next_shard_iterator().map(str::to_string);
    }
    Ok(Fetched::Records { records, skipped, complete: false })
}
