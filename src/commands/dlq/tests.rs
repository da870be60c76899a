//! Unit tests of the failure loop's pure parts: no network.

use std::cmp::Ordering;

use aws_sdk_dynamodbstreams::types::{AttributeValue, OperationType, Record, StreamRecord, StreamViewType};
use serde_json::json;

use super::record::{self, Outcome};
use super::trigger_of;

/// The Lambda Developer Guide's example of a DynamoDB stream trigger's failure record.
const EXAMPLE: &str = r#"{
  "requestContext": {
    "requestId": "316aa6d0-8154-xmpl-9af7-85d5f4a6bc81",
    "functionArn": "arn:aws:lambda:us-east-2:123456789012:function:myfunction",
    "condition": "RetryAttemptsExhausted",
    "approximateInvokeCount": 1
  },
  "responseContext": { "statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled" },
  "version": "1.0",
  "timestamp": "2019-11-14T00:38:06.021Z",
  "DDBStreamBatchInfo": {
    "shardId": "shardId-00000001573689847184-864758bb",
    "startSequenceNumber": "800000000003126276362",
    "endSequenceNumber": "800000000003126276362",
    "approximateArrivalOfFirstRecord": "2019-11-14T00:38:04Z",
    "approximateArrivalOfLastRecord": "2019-11-14T00:38:05Z",
    "batchSize": 1,
    "streamArn": "arn:aws:dynamodb:us-east-2:123456789012:table/mytable/stream/2019-11-14T00:04:49.106"
  }
}"#;

#[test]
fn a_failure_record_is_read_as_aws_writes_it() {
    let r = record::parse(EXAMPLE).unwrap();
    assert_eq!(r.request.condition, "RetryAttemptsExhausted");
    assert_eq!(r.request.approximate_invoke_count, Some(1));
    assert_eq!(r.response.executed_version.as_deref(), Some("$LATEST"));
    assert_eq!(r.response.function_error.as_deref(), Some("Unhandled"));
    assert_eq!(r.batch.start_sequence_number, "800000000003126276362");
    assert_eq!(r.batch.batch_size, Some(1));
    assert!(r.batch.stream_arn.contains(":table/mytable/stream/"));
    // Without responseContext's error (a batch reported in batchItemFailures) it still reads.
    let partial = EXAMPLE.replace(r#", "functionError": "Unhandled""#, "");
    assert_eq!(record::parse(&partial).unwrap().response.function_error, None);
}

#[test]
fn other_messages_are_named_not_misread() {
    assert!(record::parse("hello").unwrap_err().contains("not JSON"));
    let kinesis = EXAMPLE.replace("DDBStreamBatchInfo", "KinesisBatchInfo");
    assert!(record::parse(&kinesis).unwrap_err().contains("KinesisBatchInfo"));
    assert!(record::parse(r#"{"a": 1}"#).unwrap_err().contains("no DDBStreamBatchInfo"));
    let broken = EXAMPLE.replace(r#""shardId": "shardId-00000001573689847184-864758bb","#, "");
    assert!(record::parse(&broken).unwrap_err().contains("shard_id") || record::parse(&broken).unwrap_err().contains("shardId"));
}

#[test]
fn sequence_numbers_compare_as_numbers() {
    assert_eq!(record::seq_cmp("900", "1000"), Ordering::Less, "not as text");
    assert_eq!(record::seq_cmp("000123", "123"), Ordering::Equal);
    assert_eq!(record::seq_cmp("800000000003126276363", "800000000003126276362"), Ordering::Greater);
}

#[test]
fn an_invocation_answer_is_judged_as_lambda_judges_a_stream_batch() {
    let batch = ["11", "12"];
    let judge = |error: Option<&str>, payload: &[u8]| record::outcome(error, payload, &batch);
    for ok in [&br#"{"batchItemFailures": []}"#[..], br#"{"batchItemFailures": null}"#, b"null", b"", b"{}", br#""done""#] {
        assert_eq!(judge(None, ok), Outcome::Succeeded, "{}", String::from_utf8_lossy(ok));
    }
    assert_eq!(judge(None, br#"{"batchItemFailures": [{"itemIdentifier": "12"}]}"#), Outcome::PartialFailure { failed: vec!["12".into()] });
    for bad in [
        &br#"{"batchItemFailures": [{"itemIdentifier": ""}]}"#[..],
        br#"{"batchItemFailures": [{"id": "1"}]}"#,
        br#"{"batchItemFailures": [{"itemIdentifier": "99"}]}"#,
        br#"{"batchItemFailures": {"itemIdentifier": "11"}}"#,
        b"not json",
    ] {
        assert!(matches!(judge(None, bad), Outcome::FunctionError { .. }), "{}", String::from_utf8_lossy(bad));
    }
    assert_eq!(
        judge(Some("Unhandled"), br#"{"errorType": "KeyError", "errorMessage": "'message'"}"#),
        Outcome::FunctionError { error: "KeyError".into(), message: "'message'".into() }
    );
    assert_eq!(judge(Some("Unhandled"), b"oops"), Outcome::FunctionError { error: "Unhandled".into(), message: String::new() });
}

#[test]
fn a_stream_record_becomes_what_lambda_delivers() {
    let s = |v: &str| AttributeValue::S(v.into());
    let r = Record::builder()
        .event_id("e1")
        .event_name(OperationType::Insert)
        .event_version("1.1")
        .event_source("aws:dynamodb")
        .aws_region("us-east-1")
        .dynamodb(
            StreamRecord::builder()
                .approximate_creation_date_time(aws_smithy_types::DateTime::from_secs(1_764_600_000))
                .keys("pk", s("MSG#g"))
                .keys("sk", s("2026-12-01T00:00:00"))
                .new_image("pk", s("MSG#g"))
                .new_image("n", AttributeValue::N("5".into()))
                .new_image("tags", AttributeValue::Ss(vec!["a".into()]))
                .new_image("m", AttributeValue::M([("ok".to_string(), AttributeValue::Bool(true))].into()))
                .new_image("b", AttributeValue::B(aws_smithy_types::Blob::new("hi")))
                .sequence_number("100")
                .size_bytes(42)
                .stream_view_type(StreamViewType::NewImage)
                .build(),
        )
        .build();
    let v = record::lambda_record(&r, "arn:aws:dynamodb:us-east-1:1:table/t/stream/s");
    assert_eq!(
        v,
        json!({
            "eventID": "e1", "eventName": "INSERT", "eventVersion": "1.1", "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
            "dynamodb": {
                "ApproximateCreationDateTime": 1_764_600_000,
                "Keys": {"pk": {"S": "MSG#g"}, "sk": {"S": "2026-12-01T00:00:00"}},
                "NewImage": {"pk": {"S": "MSG#g"}, "n": {"N": "5"}, "tags": {"SS": ["a"]}, "m": {"M": {"ok": {"BOOL": true}}}, "b": {"B": "aGk="}},
                "SequenceNumber": "100", "SizeBytes": 42, "StreamViewType": "NEW_IMAGE"
            },
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:1:table/t/stream/s"
        })
    );
    assert_eq!(record::summary(&v), "INSERT  pk=MSG#g sk=2026-12-01T00:00:00  written 2025-12-01T14:40:00Z");
    assert_eq!(record::event_of(std::slice::from_ref(&v))["Records"][0], v);
}

#[test]
fn a_trigger_is_found_by_its_address_with_its_queue() {
    let doc = crate::spec::SpecDocument::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("infra.yaml")).unwrap();
    let (local, _) = doc.resolve("local").unwrap();
    let address = "lambda_event_source_mapping.cruddur-messaging-stream";
    let t = trigger_of(&local, address).unwrap();
    assert_eq!(
        (t.function.as_str(), t.queue.as_str(), t.timeout_s, t.qualifier.clone()),
        ("cruddur-messaging-stream", "cruddur-messaging-stream-dlq", 10, None)
    );
    assert_eq!(t.filter, vec![json!({"eventName": ["INSERT"], "dynamodb": {"Keys": {"pk": {"S": [{"prefix": "MSG#"}]}}}})]);
    let (prod, _) = doc.resolve("prod").unwrap();
    assert_eq!(trigger_of(&prod, address).unwrap().qualifier.as_deref(), Some("live"), "prod invokes its deploy alias");

    let mut other = local.clone();
    let f = other.resources.functions.get_mut("cruddur-messaging-stream").unwrap();
    f.triggers[0].on_failure = Some("arn:aws:sqs:us-east-1:210987654321:shared-dlq".into());
    let t = trigger_of(&other, address).unwrap();
    assert_eq!((t.queue.as_str(), t.queue_owner.as_deref()), ("shared-dlq", Some("210987654321")), "a queue of another account by ARN");
    f_set(&mut other, Some("arn:aws:sns:us-east-1:123456789012:alerts"));
    let sns = trigger_of(&other, address).unwrap_err().to_string();
    assert!(sns.contains("SNS topic"), "{sns}");
    f_set(&mut other, None);
    let none = trigger_of(&other, address).unwrap_err().to_string();
    assert!(none.contains("no on_failure"), "{none}");
    let unknown = trigger_of(&local, "lambda_event_source_mapping.x").unwrap_err().to_string();
    assert!(unknown.contains(&format!("its triggers: {address}")), "{unknown}");
}

fn f_set(d: &mut crate::spec::Desired, on_failure: Option<&str>) {
    d.resources.functions.get_mut("cruddur-messaging-stream").unwrap().triggers[0].on_failure = on_failure.map(str::to_string);
}
