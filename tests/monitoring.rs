//! Operations declared with the stack (issue 29): the shipped spec's alerts topic and monitoring
//! packs, drift of alarms, and `status`. The built binary against moto behind the AWS-rules
//! proxy, which speaks CloudWatch's CBOR and keeps an email subscription pending, as AWS does.

mod common;

use common::*;

const PACK: [&str; 8] = [
    "cloudwatch_alarm.cruddur-messages-message-group-sk-index-read-throttles",
    "cloudwatch_alarm.cruddur-messages-message-group-sk-index-write-throttles",
    "cloudwatch_alarm.cruddur-messages-read-throttles",
    "cloudwatch_alarm.cruddur-messages-write-throttles",
    "cloudwatch_alarm.cruddur-messaging-stream-dlq-depth",
    "cloudwatch_alarm.cruddur-messaging-stream-errors",
    "cloudwatch_alarm.cruddur-messaging-stream-iterator-age",
    "cloudwatch_alarm.cruddur-messaging-stream-throttles",
];

/// Python with a CloudWatch client (boto3 speaks JSON to it; the tool speaks CBOR).
fn stack() -> (Emulator, Workspace) {
    let emu = Emulator::with_delays("0.5", "1.0");
    let ws = Workspace::shipped();
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    (emu, ws)
}

#[test]
fn the_shipped_spec_plans_its_topic_and_the_packs_and_a_pending_subscription_is_no_drift() {
    let emu = Emulator::with_delays("0.5", "1.0");
    let ws = Workspace::shipped();
    let plan = emu.cli(ws.path(), &["plan", "--output", "json"]).json();
    let addresses: Vec<&str> = plan["changes"].as_array().unwrap().iter().filter_map(|c| c["address"].as_str()).collect();
    assert!(addresses.contains(&"sns_topic.cruddur-alerts"), "{addresses:?}");
    for a in PACK {
        assert!(addresses.contains(&a), "{a} in {addresses:?}");
    }
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    // The email subscription waits for its recipient: not drift.
    let subs = emu.py("t = [t['TopicArn'] for t in sns.list_topics()['Topics'] if t['TopicArn'].endswith(':cruddur-alerts')][0]\n\
         print([s['SubscriptionArn'] for s in sns.list_subscriptions_by_topic(TopicArn=t)['Subscriptions']])");
    assert!(subs.contains("PendingConfirmation"), "{subs}");
    emu.reset_calls();
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
    assert!(emu.writes().is_empty(), "{:?}", emu.writes());
    // Each alarm watches what the spec says, and tells the topic.
    let alarm = emu.py("a = cw.describe_alarms(AlarmNames=['cruddur-messaging-stream-iterator-age'])['MetricAlarms'][0]\n\
         print(a['MetricName'], a['Statistic'], a['Threshold'], a['Dimensions'], a['AlarmActions'][0].endswith(':cruddur-alerts'), a['OKActions'] == a['AlarmActions'])");
    assert_eq!(alarm.trim(), "IteratorAge Maximum 3600000.0 [{'Name': 'FunctionName', 'Value': 'cruddur-messaging-stream'}] True True");
}

#[test]
fn an_alarm_deleted_changed_or_silenced_by_hand_is_drift_that_apply_repairs() {
    let (emu, ws) = stack();
    emu.py("cw.delete_alarms(AlarmNames=['cruddur-messaging-stream-errors'])\n\
         a = cw.describe_alarms(AlarmNames=['cruddur-messaging-stream-throttles'])['MetricAlarms'][0]\n\
         cw.put_metric_alarm(AlarmName=a['AlarmName'], Namespace=a['Namespace'], MetricName=a['MetricName'], Dimensions=a['Dimensions'],\n\
         \x20   Statistic=a['Statistic'], Period=a['Period'], EvaluationPeriods=a['EvaluationPeriods'], Threshold=50.0,\n\
         \x20   ComparisonOperator=a['ComparisonOperator'], TreatMissingData=a['TreatMissingData'], AlarmActions=a['AlarmActions'],\n\
         \x20   OKActions=a['OKActions'], AlarmDescription=a['AlarmDescription'])\n\
         cw.disable_alarm_actions(AlarmNames=['cruddur-messages-read-throttles'])");
    let drift = emu.cli(ws.path(), &["drift", "--output", "json"]);
    drift.expect(2);
    let doc = drift.json();
    let change = |a: &str| doc["changes"].as_array().unwrap().iter().find(|c| c["address"] == a).cloned().unwrap();
    assert_eq!(change("cloudwatch_alarm.cruddur-messaging-stream-errors")["action"], "create");
    let throttles = change("cloudwatch_alarm.cruddur-messaging-stream-throttles");
    assert_eq!((throttles["diffs"][0]["path"].as_str(), throttles["diffs"][0]["before"].as_f64()), (Some("threshold"), Some(50.0)));
    assert_eq!(change("cloudwatch_alarm.cruddur-messages-read-throttles")["diffs"][0]["path"], "actions_enabled");
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    emu.cli(ws.path(), &["drift"]).expect(0);
}

#[test]
fn status_is_healthy_then_names_an_alarm_in_alarm_and_a_failed_batch() {
    let (emu, ws) = stack();
    // Until its recipient confirms, the alerts topic tells nobody: unhealthy.
    let run = emu.cli(ws.path(), &["status", "--output", "json"]);
    run.expect(2);
    let doc = run.json();
    let problems: Vec<&str> = doc["problems"].as_array().unwrap().iter().filter_map(|p| p["address"].as_str()).collect();
    assert_eq!(problems, ["sns_topic.cruddur-alerts"], "{doc:#}");
    assert!(doc["problems"][0]["what"].as_str().unwrap().contains("1 pending"), "{doc:#}");
    emu.confirm_subscription("ops@example.com");
    let run = emu.cli(ws.path(), &["status"]);
    run.expect(0);
    assert!(
        run.stdout.contains("Healthy") && run.stdout.contains("lambda_event_source_mapping.cruddur-messaging-stream"),
        "{}",
        run.stdout
    );
    emu.py("cw.set_alarm_state(AlarmName='cruddur-messaging-stream-errors', StateValue='ALARM', StateReason='by hand')");
    let run = emu.cli(ws.path(), &["status", "--output", "json"]);
    run.expect(2);
    let doc = run.json();
    assert_eq!(doc["healthy"], false);
    let problems: Vec<&str> = doc["problems"].as_array().unwrap().iter().filter_map(|p| p["address"].as_str()).collect();
    assert_eq!(problems, ["cloudwatch_alarm.cruddur-messaging-stream-errors"], "{doc:#}");
    // A batch that failed for good lands in the on-failure queue: the trigger is unhealthy too.
    // (SQS's counts lag behind a send: wait until the queue says it holds it.)
    emu.py(
        "import time\nu = sqs.get_queue_url(QueueName='cruddur-messaging-stream-dlq')['QueueUrl']\nsqs.send_message(QueueUrl=u, MessageBody='{}')\n\
         n = lambda: int(sqs.get_queue_attributes(QueueUrl=u, AttributeNames=['ApproximateNumberOfMessages'])['Attributes']['ApproximateNumberOfMessages'])\n\
         end = time.time() + 20\nwhile n() == 0 and time.time() < end: time.sleep(0.2)",
    );
    emu.reset_calls();
    let run = emu.cli(ws.path(), &["status", "--output", "markdown"]);
    run.expect(2);
    assert!(run.stdout.starts_with("<!-- cruddur-infra: status stack=cruddur env=local -->"), "{}", run.stdout);
    assert!(run.stdout.contains("failed batch(es) recorded in queue cruddur-messaging-stream-dlq"), "{}", run.stdout);
    assert!(emu.writes().is_empty(), "status wrote: {:?}", emu.writes());
}

#[test]
fn dropping_a_pack_deletes_its_alarms_and_import_brings_a_functions_alarms_back() {
    let (emu, ws) = stack();
    // A function's import brings the alarms on its metrics (and the topic they tell), written as
    // alarms of their own; the first plan there changes nothing.
    let run = emu.cli(ws.path(), &["--region", "us-east-1", "import", "--function", "cruddur-messaging-stream", "--out", "again"]);
    run.expect(0);
    let spec = std::fs::read_to_string(ws.path().join("again/infra.yaml")).unwrap();
    assert!(spec.contains("cruddur-messaging-stream-errors:") && spec.contains("cruddur-alerts:"), "{spec}");
    assert!(spec.contains("FunctionName: \"${functions.cruddur-messaging-stream.name}\""), "{spec}");
    emu.cli(&ws.path().join("again"), &["plan", "--detailed-exitcode"]).expect(0);
    // Dropped from the spec: the function's pack alarms are deleted (the table's stay).
    let shipped = common::without_prod_function_override(&std::fs::read_to_string(ws.path().join("infra.yaml")).unwrap());
    let start = shipped.find("    # Alarms derived from the trigger").unwrap();
    ws.write_spec(&shipped[..start]);
    let plan = emu.cli(ws.path(), &["plan", "--output", "json"]).json();
    let deleted: Vec<&str> =
        plan["changes"].as_array().unwrap().iter().filter(|c| c["action"] == "delete").filter_map(|c| c["address"].as_str()).collect();
    assert_eq!(deleted.len(), 4, "{deleted:?}");
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    let left = emu.py("print(sorted(a['AlarmName'] for a in cw.describe_alarms()['MetricAlarms']))");
    assert!(!left.contains("cruddur-messaging-stream-errors") && left.contains("cruddur-messages-read-throttles"), "{left}");
}
