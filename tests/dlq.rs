//! The failure loop of a stream trigger (issue 31), end to end on this machine: the emulator's
//! data plane runs the shipped trigger as Lambda does (filter, retries, the on-failure record,
//! the real handler in a subprocess); `dlq inspect` reads a failed batch back from the stream,
//! `dlq redrive` invokes the function (its deploy alias) with it. Rules 44 and 45.

mod common;

use common::{Emulator, Workspace};

const TRIGGER: &str = "lambda_event_source_mapping.cruddur-messaging-stream";
const CODE: &str = "lambda/cruddur-messaging-stream/lambda_function.py";

/// Python helpers for the table and the queue (after common's prelude): group rows, messages,
/// waiting for the data plane.
const PY: &str = r#"
import time
T = 'cruddur-messages'
def groups(g):
    for u in ('alice', 'bob'):
        ddb.put_item(TableName=T, Item={'pk': {'S': f'GRP#{u}'}, 'sk': {'S': '2026-11-30T10:00:00'}, 'message_group_uuid': {'S': g}, 'message': {'S': 'old'}})
def rows(g):
    items = ddb.query(TableName=T, IndexName='message-group-sk-index', KeyConditionExpression='message_group_uuid = :g',
                      ExpressionAttributeValues={':g': {'S': g}})['Items']
    return sorted((i['pk']['S'], i['sk']['S'], i.get('message', {}).get('S')) for i in items if i['pk']['S'].startswith('GRP#'))
def message(g, sk, text=None):
    item = {'pk': {'S': f'MSG#{g}'}, 'sk': {'S': sk}, 'message_group_uuid': {'S': g}}
    if text is not None:
        item['message'] = {'S': text}
    ddb.put_item(TableName=T, Item=item)
def url():
    return sqs.get_queue_url(QueueName='cruddur-messaging-stream-dlq')['QueueUrl']
def depth():
    a = sqs.get_queue_attributes(QueueUrl=url(), AttributeNames=['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'])['Attributes']
    return int(a['ApproximateNumberOfMessages']), int(a['ApproximateNumberOfMessagesNotVisible'])
def wait(cond, what, seconds=40):
    end = time.time() + seconds
    while not cond():
        assert time.time() < end, f'{what}: not within {seconds} s'
        time.sleep(0.2)
"#;

fn py(emu: &Emulator, code: &str) -> String {
    emu.py(&format!("{PY}\n{code}"))
}

/// The shipped spec, with the function deployed through an alias when `deploy` is given.
fn shipped(deploy: Option<&str>) -> Workspace {
    let ws = Workspace::shipped();
    if let Some(deploy) = deploy {
        let spec = std::fs::read_to_string(common::repo().join("infra.yaml")).unwrap();
        let head = "\nfunctions:\n  cruddur-messaging-stream:\n";
        let at = spec.find(head).unwrap() + head.len();
        ws.write_spec(&format!("{}    deploy: {deploy}\n{}", &spec[..at], &spec[at..]));
    }
    ws
}

/// The sequence number of the last record the trigger delivered, and how many of its
/// invocations carried exactly that record.
fn last_delivered(emu: &Emulator) -> (serde_json::Value, usize) {
    let all = emu.invocations();
    let by_trigger: Vec<_> = all.iter().filter(|i| i["source"] != "invoke").collect();
    let last = by_trigger.last().expect("an invocation")["sequenceNumbers"].clone();
    let n = by_trigger.iter().filter(|i| i["sequenceNumbers"] == last).count();
    (last[0].clone(), n)
}

#[test]
fn a_poison_message_is_inspected_then_redriven_once_the_handler_is_fixed() {
    let emu = Emulator::with_delays("0.3", "0.5");
    let ws = shipped(Some("{ alias: live }"));
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);

    // The pipeline: one message moves both group rows of its conversation through the real
    // handler, invoked once (the group rows' own writes are filtered out).
    py(
        &emu,
        "groups('g-1')\nmessage('g-1', '2026-12-01T09:00:00', 'hello')\n\
              wait(lambda: all(r[1] == '2026-12-01T09:00:00' and r[2] == 'hello' for r in rows('g-1')), 'the group rows move')",
    );
    assert_eq!(emu.invocations().len(), 1, "one invocation for one message: {:?}", emu.invocations());

    // A poison message (no text): reported in batchItemFailures, retried 3 times, then recorded
    // in the queue; the shard moves on.
    py(&emu, "groups('g-2')\nmessage('g-2', '2026-12-01T09:05:00')\nwait(lambda: depth()[0] == 1, 'the failure record')");
    let (poison, tries) = last_delivered(&emu);
    assert_eq!(tries, 4, "1 invocation + 3 retries: {:?}", emu.invocations());
    py(&emu, "message('g-1', '2026-12-01T09:10:00', 'later')\nwait(lambda: rows('g-1')[0][1] == '2026-12-01T09:10:00', 'a later message')");

    let status = emu.cli(ws.path(), &["status"]);
    status.expect(2);
    assert!(status.stdout.contains("1 failed batch(es) recorded in queue cruddur-messaging-stream-dlq"), "{}", status.stdout);

    // inspect: the batch read back from the stream, the queue untouched.
    let out = tempfile::tempdir().unwrap();
    let run = emu.cli(ws.path(), &["dlq", "inspect", TRIGGER, "--output", "json", "--out", out.path().to_str().unwrap()]);
    run.expect(0);
    let doc = run.json();
    let failures = doc["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{doc:#}");
    let f = &failures[0];
    assert_eq!(f["condition"], "RetryAttemptsExhausted");
    assert_eq!(f["expired"], false);
    assert_eq!(f["approximate_invoke_count"], 4);
    assert_eq!(f["function_version"], "1", "the alias's version failed");
    let records = f["records"].as_array().unwrap();
    assert_eq!(records.len(), 1, "{f:#}");
    assert_eq!(records[0]["dynamodb"]["Keys"]["pk"]["S"], "MSG#g-2");
    assert_eq!(records[0]["eventName"], "INSERT");
    assert_eq!(f["start_sequence_number"], poison, "the failure record names the poison record");
    assert_eq!(f["end_sequence_number"], poison);
    assert_eq!(records[0]["dynamodb"]["SequenceNumber"], poison);
    let files: Vec<_> = std::fs::read_dir(out.path()).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1);
    let event: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap()).unwrap();
    assert_eq!(event["Records"][0], records[0], "--out writes the event Lambda delivered");
    let human = emu.cli(ws.path(), &["dlq", "inspect", TRIGGER]);
    human.expect(0);
    assert!(human.stdout.contains("RetryAttemptsExhausted after 4 invocations of version 1"), "{}", human.stdout);
    assert!(human.stdout.contains("INSERT  pk=MSG#g-2 sk=2026-12-01T09:05:00"), "{}", human.stdout);
    assert_eq!(py(&emu, "print(depth())").trim(), "(1, 0)", "inspect consumes nothing");

    // redrive asks; redriven as it is, the batch fails again (the handler reports it) and stays.
    let run = emu.cli(ws.path(), &["dlq", "redrive", TRIGGER]);
    run.expect(1);
    assert!(run.stderr.contains("redrive needs --yes"), "{}", run.stderr);
    let run = emu.cli(ws.path(), &["dlq", "redrive", TRIGGER, "--yes"]);
    run.expect(1);
    assert!(run.stdout.contains("invokes cruddur-messaging-stream:live"), "{}", run.stdout);
    assert!(run.stdout.contains("failed again (batchItemFailures"), "{}", run.stdout);
    assert_eq!(py(&emu, "print(depth())").trim(), "(1, 0)", "kept, and visible again at once");

    // The fix (a message without text is an empty one), applied: a new version behind the alias;
    // the redrive invokes it, succeeds and deletes the message.
    let code = std::fs::read_to_string(common::repo().join(CODE)).unwrap();
    let fixed = code.replace(r#"image["message"]["S"]"#, r#"image.get("message", {}).get("S", "")"#);
    assert_ne!(fixed, code);
    ws.write(CODE, &fixed);
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    let run = emu.cli(ws.path(), &["dlq", "redrive", TRIGGER, "--yes"]);
    run.expect(0);
    assert!(run.stdout.contains("redriven: batch") && run.stdout.contains("(version 2)"), "{}", run.stdout);
    // (The queue's counts lag behind a delete, as SQS's do.)
    py(&emu, "wait(lambda: depth() == (0, 0), 'the queue empty')");
    assert_eq!(
        py(&emu, "print(rows('g-2'))").trim(),
        "[('GRP#alice', '2026-12-01T09:05:00', ''), ('GRP#bob', '2026-12-01T09:05:00', '')]",
        "the redriven message moved its group rows"
    );
    let again = emu.cli(ws.path(), &["dlq", "redrive", TRIGGER, "--yes"]);
    again.expect(0);
    assert!(again.stdout.contains("holds no failed batch"), "{}", again.stdout);
}

#[test]
fn a_batch_past_the_streams_retention_is_reported_expired_and_kept() {
    let emu = Emulator::with_delays("0.3", "0.5");
    let ws = shipped(None);
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    py(
        &emu,
        "message('g-3', '2026-12-01T09:05:00')\nwait(lambda: depth()[0] == 1, 'the failure record')\n\
              sqs.send_message(QueueUrl=url(), MessageBody='not a failure record')",
    );
    emu.expire_streams();

    let run = emu.cli(ws.path(), &["dlq", "inspect", TRIGGER, "--output", "json"]);
    run.expect(0);
    let doc = run.json();
    let f = &doc["failures"][0];
    assert_eq!(f["expired"], true, "{doc:#}");
    assert!(f["expired_reason"].as_str().unwrap().contains("retention"), "{doc:#}");
    assert_eq!(f["records"], serde_json::json!([]));
    assert_eq!(doc["unreadable"].as_array().unwrap().len(), 1, "{doc:#}");
    assert!(doc["unreadable"][0]["reason"].as_str().unwrap().contains("not JSON"), "{doc:#}");
    let human = emu.cli(ws.path(), &["dlq", "inspect", TRIGGER]);
    assert!(human.stdout.contains("expired: its records are past the stream's retention"), "{}", human.stdout);

    // Nothing to invoke: both kept, exit 1.
    let run = emu.cli(ws.path(), &["dlq", "redrive", TRIGGER, "--yes"]);
    run.expect(1);
    assert!(run.stdout.contains("kept: its records are past the stream's retention"), "{}", run.stdout);
    assert!(run.stdout.contains("kept: its body is not JSON"), "{}", run.stdout);
    py(&emu, "wait(lambda: depth() == (2, 0), 'both kept, visible')");

    // A trigger that is not one, named.
    let run = emu.cli(ws.path(), &["dlq", "inspect", "lambda_event_source_mapping.nope"]);
    run.expect(1);
    assert!(run.stderr.contains("is not a trigger of") && run.stderr.contains(TRIGGER), "{}", run.stderr);
}
