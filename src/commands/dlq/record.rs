//! The pure parts of the failure loop: a stream trigger's on-failure record (docs/aws-behaviour.md
//! rule 44), sequence numbers, a stream record as Lambda delivers it, and what a redriven
//! invocation's answer means. No network.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodbstreams::types::{AttributeValue, Record};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// What Lambda puts in the on-failure queue when a batch of a DynamoDB stream is given up on:
/// a description of the batch, not its records (they stay in the stream for 24 hours).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct FailureRecord {
    #[serde(rename = "requestContext")]
    pub request: RequestContext,
    #[serde(rename = "responseContext", default)]
    pub response: ResponseContext,
    #[serde(default)]
    pub timestamp: Option<String>,
    #[serde(rename = "DDBStreamBatchInfo")]
    pub batch: BatchInfo,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RequestContext {
    #[serde(default)]
    pub request_id: Option<String>,
    pub function_arn: String,
    /// Why the batch was given up on: `RetryAttemptsExhausted`, `MaximumRecordAgeExceeded`, ...
    pub condition: String,
    #[serde(default)]
    pub approximate_invoke_count: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ResponseContext {
    #[serde(default)]
    pub status_code: Option<i64>,
    /// The version of the function that failed (`$LATEST`, `7`).
    #[serde(default)]
    pub executed_version: Option<String>,
    /// `Unhandled`, `Handled`; absent when the function answered with `batchItemFailures`.
    #[serde(default)]
    pub function_error: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BatchInfo {
    pub shard_id: String,
    pub start_sequence_number: String,
    pub end_sequence_number: String,
    #[serde(default)]
    pub approximate_arrival_of_first_record: Option<String>,
    #[serde(default)]
    pub approximate_arrival_of_last_record: Option<String>,
    #[serde(default)]
    pub batch_size: Option<i64>,
    pub stream_arn: String,
}

/// A queue message's body as a stream trigger's failure record, or why it is not one (another
/// source's record, such as Kinesis's `KinesisBatchInfo`, or a message someone else sent).
pub fn parse(body: &str) -> Result<FailureRecord, String> {
    let value: Value = serde_json::from_str(body).map_err(|_| "its body is not JSON: not a failure record of a trigger".to_string())?;
    if value.get("DDBStreamBatchInfo").is_none() {
        let other = ["KinesisBatchInfo", "SQSBatchInfo", "MSKBatchInfo"].iter().find(|k| value.get(**k).is_some());
        return Err(match other {
            Some(k) => format!("a failure record of another kind of trigger ({k}), not of a DynamoDB stream"),
            None => "no DDBStreamBatchInfo: not a failure record of a DynamoDB stream trigger".into(),
        });
    }
    serde_json::from_value(value).map_err(|e| format!("a DDBStreamBatchInfo record AWS would not write: {e}"))
}

/// Sequence numbers are decimal strings (up to 40 digits, more than a u128 needs to be safe
/// with): compared as numbers.
pub fn seq_cmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    (a.len(), a).cmp(&(b.len(), b))
}

/// The event Lambda delivers for a batch: what `--out` writes and `redrive` invokes with.
pub fn event_of(records: &[Value]) -> Value {
    json!({ "Records": records })
}

/// One stream record as Lambda delivers it to a function (the Lambda Developer Guide's example
/// DynamoDB event): eventID, eventName, eventVersion, eventSource, awsRegion, dynamodb (with
/// ApproximateCreationDateTime in epoch seconds), eventSourceARN (the stream's ARN).
pub fn lambda_record(r: &Record, stream_arn: &str) -> Value {
    let mut out = Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            out.insert(k.to_string(), v);
        }
    };
    put("eventID", r.event_id().map(Value::from));
    put("eventName", r.event_name().map(|n| Value::from(n.as_str())));
    put("eventVersion", r.event_version().map(Value::from));
    put("eventSource", r.event_source().map(Value::from));
    put("awsRegion", r.aws_region().map(Value::from));
    if let Some(d) = r.dynamodb() {
        let mut s = Map::new();
        if let Some(t) = d.approximate_creation_date_time() {
            let secs = t.as_secs_f64();
            let n = if secs.fract() == 0.0 { Value::from(secs as i64) } else { Value::from(secs) };
            s.insert("ApproximateCreationDateTime".into(), n);
        }
        for (k, image) in [("Keys", d.keys()), ("NewImage", d.new_image()), ("OldImage", d.old_image())] {
            if let Some(image) = image {
                s.insert(k.into(), item(image));
            }
        }
        if let Some(n) = d.sequence_number() {
            s.insert("SequenceNumber".into(), n.into());
        }
        if let Some(n) = d.size_bytes() {
            s.insert("SizeBytes".into(), n.into());
        }
        if let Some(v) = d.stream_view_type() {
            s.insert("StreamViewType".into(), v.as_str().into());
        }
        put("dynamodb", Some(Value::Object(s)));
    }
    put("eventSourceARN", Some(stream_arn.into()));
    if let Some(u) = r.user_identity() {
        // A record written by time to live says so: `{"type": "Service", "principalId": "dynamodb.amazonaws.com"}`.
        put("userIdentity", Some(json!({ "type": u.r#type(), "principalId": u.principal_id() })));
    }
    Value::Object(out)
}

/// An item in DynamoDB's JSON (`{"pk": {"S": "..."}}`), keys sorted.
fn item(image: &HashMap<String, AttributeValue>) -> Value {
    let sorted: BTreeMap<&String, Value> = image.iter().map(|(k, v)| (k, attribute(v))).collect();
    serde_json::to_value(sorted).unwrap_or(Value::Null)
}

fn attribute(v: &AttributeValue) -> Value {
    use aws_smithy_types::base64::encode;
    use AttributeValue as A;
    match v {
        A::S(s) => json!({ "S": s }),
        A::N(n) => json!({ "N": n }),
        A::B(b) => json!({ "B": encode(b.as_ref()) }),
        A::Ss(v) => json!({ "SS": v }),
        A::Ns(v) => json!({ "NS": v }),
        A::Bs(v) => json!({ "BS": v.iter().map(|b| encode(b.as_ref())).collect::<Vec<_>>() }),
        A::M(m) => json!({ "M": item(m) }),
        A::L(l) => json!({ "L": l.iter().map(attribute).collect::<Vec<_>>() }),
        A::Null(b) => json!({ "NULL": b }),
        A::Bool(b) => json!({ "BOOL": b }),
        _ => Value::Null,
    }
}

/// A record in one line: its event name, keys and time (`INSERT pk=MSG#1 sk=2026-...`).
pub fn summary(record: &Value) -> String {
    let name = record.get("eventName").and_then(Value::as_str).unwrap_or("?");
    let keys = record.pointer("/dynamodb/Keys").and_then(Value::as_object);
    let keys: Vec<String> = keys
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            let scalar = v.as_object().and_then(|t| t.values().next()).map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string));
            format!("{k}={}", scalar.unwrap_or_default())
        })
        .collect();
    let when = record
        .pointer("/dynamodb/ApproximateCreationDateTime")
        .and_then(Value::as_f64)
        .map(|s| aws_smithy_types::DateTime::from_secs_f64(s).fmt(aws_smithy_types::date_time::Format::DateTime).unwrap_or_default())
        .map(|t| format!("  written {t}"))
        .unwrap_or_default();
    format!("{name:<7} {}{when}", keys.join(" "))
}

/// What a synchronous invocation with a batch said, as Lambda judges a stream batch (the Lambda
/// Developer Guide, "Configuring partial batch response"): an error fails it all; the batch
/// succeeds only when the answer is empty or null, or has no `batchItemFailures`, or an empty or
/// null one; a list of `{"itemIdentifier": SEQ}` naming sequence numbers of the batch fails those
/// records; anything else (an identifier that is empty, null, not a string or not of the batch, a
/// `batchItemFailures` that is not a list, an answer that is not JSON) fails the whole batch. A
/// redrive deletes a message only on success, so it is as strict as Lambda.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Succeeded,
    FunctionError { error: String, message: String },
    PartialFailure { failed: Vec<String> },
}

fn invalid(message: &str) -> Outcome {
    Outcome::FunctionError { error: "InvalidResponse".into(), message: format!("{message}: Lambda fails the whole batch") }
}

pub fn outcome(function_error: Option<&str>, payload: &[u8], batch: &[&str]) -> Outcome {
    let blank = payload.iter().all(u8::is_ascii_whitespace);
    let answer: Option<Value> = if blank { Some(Value::Null) } else { serde_json::from_slice(payload).ok() };
    if let Some(kind) = function_error {
        let answer = answer.unwrap_or(Value::Null);
        let error = answer.get("errorType").and_then(Value::as_str).unwrap_or(kind).to_string();
        let message = answer.get("errorMessage").and_then(Value::as_str).unwrap_or("").to_string();
        return Outcome::FunctionError { error, message };
    }
    let Some(answer) = answer else { return invalid("the function's answer is not JSON") };
    let failures = match answer.get("batchItemFailures") {
        None | Some(Value::Null) => return Outcome::Succeeded,
        Some(Value::Array(f)) if f.is_empty() => return Outcome::Succeeded,
        Some(Value::Array(f)) => f,
        Some(_) => return invalid("batchItemFailures is not a list"),
    };
    let ids: Vec<Option<&str>> =
        failures.iter().map(|f| f.get("itemIdentifier").and_then(Value::as_str).filter(|s| !s.is_empty())).collect();
    if ids.iter().any(Option::is_none) {
        return invalid("an entry of batchItemFailures has no itemIdentifier");
    }
    let ids: Vec<&str> = ids.into_iter().flatten().collect();
    if let Some(other) = ids.iter().find(|id| !batch.contains(id)) {
        return invalid(&format!("batchItemFailures names {other}, which is not a sequence number of the batch"));
    }
    Outcome::PartialFailure { failed: ids.into_iter().map(str::to_string).collect() }
}
