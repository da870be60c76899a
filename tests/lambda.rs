//! The function and its stream trigger end to end: the whole Cruddur stack against the
//! emulator behind the AWS-rules proxy (IAM propagation delay, Lambda update windows).

mod common;

use common::*;

fn stack() -> (Emulator, Workspace) {
    let emu = Emulator::with_delays("1.0", "2.5");
    let ws = Workspace::shipped();
    let run = emu.cli(ws.path(), &["apply", "--yes"]);
    run.expect(0);
    (emu, ws)
}

fn change<'a>(doc: &'a serde_json::Value, address: &str) -> &'a serde_json::Value {
    doc["changes"].as_array().unwrap().iter().find(|c| c["address"] == address).unwrap()
}

const FUNCTION: &str = "lambda_function.cruddur-messaging-stream";
const MAPPING: &str = "lambda_event_source_mapping.cruddur-messaging-stream";

#[test]
fn fresh_create_of_the_whole_stack_waits_for_iam_and_converges() {
    // An IAM delay longer than the first wave's waits (the queue's attributes take seconds to
    // show), so that the function's create meets a role not assumable yet.
    let emu = Emulator::with_delays("1.0", "10.0");
    let ws = Workspace::shipped();
    let run = emu.cli(ws.path(), &["apply", "--yes"]);
    run.expect(0);
    assert!(run.stderr.contains("IAM has not yet let Lambda assume the role"), "{}", run.stderr);
    assert!(run.stdout.contains("Apply complete: 15 added"), "{}", run.stdout);
    emu.reset_calls();
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
    assert!(emu.writes().is_empty());
    let fn_cfg = emu.py(
        "c = lam.get_function_configuration(FunctionName='cruddur-messaging-stream')\n\
         print(c['Runtime'], c['Handler'], c['Role'].split('/')[-1], sorted(c['Environment']['Variables'].items()), len(c['VpcConfig']['SubnetIds']) > 0)",
    );
    assert_eq!(
        fn_cfg.trim(),
        "python3.12 lambda_function.lambda_handler cruddur-messaging-stream [('INDEX_NAME', 'message-group-sk-index'), ('TABLE_NAME', 'cruddur-messages')] True"
    );
    let mapping = emu.py("ms = lam.list_event_source_mappings(FunctionName='cruddur-messaging-stream')['EventSourceMappings']\n\
         s = ddb.describe_table(TableName='cruddur-messages')['Table']['LatestStreamArn']\n\
         print(len(ms), ms[0]['EventSourceArn'] == s, ms[0]['BatchSize'], ms[0]['FunctionResponseTypes'])");
    assert_eq!(mapping.trim(), "1 True 1 ['ReportBatchItemFailures']");
}

#[test]
fn memory_and_code_changed_out_of_band_are_drift_and_are_reverted() {
    let (emu, ws) = stack();
    emu.py(
        "import io, zipfile\nb = io.BytesIO(); z = zipfile.ZipFile(b, 'w'); z.writestr('lambda_function.py', 'def lambda_handler(e, c): return 1'); z.close()\n\
         lam.update_function_configuration(FunctionName='cruddur-messaging-stream', MemorySize=512)\n\
         import time; time.sleep(1.1)\n\
         lam.update_function_code(FunctionName='cruddur-messaging-stream', ZipFile=b.getvalue())",
    );
    let run = emu.cli(ws.path(), &["plan", "--detailed-exitcode", "--output", "json"]);
    run.expect(2);
    let doc = run.json();
    let f = change(&doc, FUNCTION);
    let paths: Vec<&str> = f["diffs"].as_array().unwrap().iter().map(|d| d["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["memory_mb", "code_sha256"]);
    assert_eq!(f["diffs"][0]["before"], 512);
    // Configuration, wait, code, wait: never two updates at once.
    let ops: Vec<&str> = doc["steps"].as_array().unwrap().iter().map(|s| s["op"]["call"]["op"].as_str().unwrap()).collect();
    assert_eq!(ops, ["update_config", "wait_ready", "update_code", "wait_ready"]);
    let run = emu.cli(ws.path(), &["apply", "--yes"]);
    run.expect(0);
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn deployed_code_is_compared_by_its_files_downloaded_only_when_the_hash_differs() {
    let (emu, ws) = stack();
    emu.reset_calls();
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
    let downloads = |e: &Emulator| e.calls().iter().filter(|c| c.service == "s3").count();
    assert_eq!(downloads(&emu), 0, "the hashes agree: nothing is downloaded");

    // The same files zipped by another tool (deflated, timestamps, a folder entry), as the
    // console or an import leaves them: another CodeSha256, the same code.
    let src = ws.path().join("lambda/cruddur-messaging-stream");
    let repack = |extra: &str| {
        let code = r#"
import io, os, zipfile, time
b = io.BytesIO(); z = zipfile.ZipFile(b, 'w', zipfile.ZIP_DEFLATED)
z.writestr('docs/', '')
for root, dirs, files in os.walk(SRC):
    dirs[:] = [d for d in dirs if d != '__pycache__']
    for f in files:
        p = os.path.join(root, f); z.write(p, os.path.relpath(p, SRC))
EXTRA
z.close()
for _ in range(40):
    try:
        lam.update_function_code(FunctionName='cruddur-messaging-stream', ZipFile=b.getvalue()); break
    except lam.exceptions.ResourceConflictException:
        time.sleep(0.5)
"#;
        emu.py(&code.replace("SRC", &format!("{:?}", src.display().to_string())).replace("EXTRA", extra))
    };
    repack("");
    let sha =
        || emu.py("print(lam.get_function(FunctionName='cruddur-messaging-stream')['Configuration']['CodeSha256'])").trim().to_string();
    let deployed = sha();
    emu.reset_calls();
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
    assert_eq!(downloads(&emu), 1, "compared by content once");
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    assert_eq!(sha(), deployed, "the same code is not deployed again");

    // One file more: named in the plan, and deployed.
    repack("z.writestr('stray.py', 'x = 1')");
    let plan = emu.cli(ws.path(), &["plan", "--output", "json"]);
    let doc = plan.json();
    let f = change(&doc, FUNCTION);
    assert!(f["diffs"][0]["note"].as_str().unwrap_or("").ends_with("differs from the deployed code: stray.py"), "{f}");
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn named_subnets_and_security_groups_place_the_function_exactly_there() {
    let (emu, ws) = stack();
    let ids = emu.py(
        "vpc = ec2.describe_vpcs(Filters=[{'Name': 'is-default', 'Values': ['true']}])['Vpcs'][0]['VpcId']\n\
         subnets = sorted(s['SubnetId'] for s in ec2.describe_subnets(Filters=[{'Name': 'vpc-id', 'Values': [vpc]}])['Subnets'])\n\
         sg = ec2.describe_security_groups(Filters=[{'Name': 'vpc-id', 'Values': [vpc]}, {'Name': 'group-name', 'Values': ['default']}])['SecurityGroups'][0]['GroupId']\n\
         print(subnets[0], subnets[1], sg)",
    );
    let ids: Vec<&str> = ids.split_whitespace().collect();
    let spec = std::fs::read_to_string(ws.path().join("infra.yaml")).unwrap();
    let placed = format!("subnets: [{}, {}]\n    security_groups: [{}]", ids[0], ids[1], ids[2]);
    ws.write_spec(&spec.replacen("vpc: default", &placed, 2).replacen(&placed, "vpc: default", 1));
    let plan = emu.cli(ws.path(), &["plan", "--output", "json"]);
    let doc = plan.json();
    let f = change(&doc, FUNCTION);
    assert_eq!(f["diffs"][0]["path"], "vpc.subnets", "{f}");
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    let placed = emu.py("c = lam.get_function_configuration(FunctionName='cruddur-messaging-stream')['VpcConfig']\nprint(sorted(c['SubnetIds']), c['SecurityGroupIds'])");
    assert_eq!(placed.trim(), format!("['{}', '{}'] ['{}']", ids[0], ids[1], ids[2]));
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn the_triggers_failure_handling_and_filter_drift_is_repaired_and_a_removed_setting_is_reset() {
    let (emu, ws) = stack();
    let settings = || {
        emu.py(
            "m = lam.list_event_source_mappings(FunctionName='cruddur-messaging-stream')['EventSourceMappings'][0]\n\
             print(m.get('MaximumRetryAttempts'), m.get('BisectBatchOnFunctionError'), len((m.get('FilterCriteria') or {}).get('Filters') or []))",
        )
        .trim()
        .to_string()
    };
    assert_eq!(settings(), "3 True 1");
    emu.py(
        "import time\nuuid = lam.list_event_source_mappings(FunctionName='cruddur-messaging-stream')['EventSourceMappings'][0]['UUID']\n\
         lam.update_event_source_mapping(UUID=uuid, MaximumRetryAttempts=50, FilterCriteria={'Filters': []})",
    );
    let drift = emu.cli(ws.path(), &["drift", "--output", "json"]);
    drift.expect(2);
    let text = drift.stdout.clone();
    assert!(text.contains("maximum_retry_attempts") && text.contains("filter"), "{text}");
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    assert_eq!(settings(), "3 True 1");

    // Removed from the spec: back to AWS's defaults (sent, since an omitted field means unchanged).
    let spec = std::fs::read_to_string(ws.path().join("infra.yaml")).unwrap();
    let start = spec.find("        # Only a new message").unwrap();
    let end = spec.find("        bisect_batch_on_error: true\n").unwrap() + "        bisect_batch_on_error: true\n".len();
    ws.write_spec(&format!("{}{}", &spec[..start], &spec[end..]));
    let plan = emu.cli(ws.path(), &["plan"]);
    assert!(plan.stdout.contains("back to AWS's default"), "{}", plan.stdout);
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    assert_eq!(settings(), "-1 False 0");
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn tracing_and_the_instruction_set_are_set_when_the_spec_says_them() {
    let (emu, ws) = stack();
    let spec = std::fs::read_to_string(ws.path().join("infra.yaml")).unwrap();
    ws.write_spec(&spec.replacen("    timeout_s: 10\n", "    timeout_s: 10\n    tracing: Active\n    architecture: arm64\n", 1));
    let plan = emu.cli(ws.path(), &["plan", "--output", "json"]);
    let doc = plan.json();
    let paths: Vec<&str> = change(&doc, FUNCTION)["diffs"].as_array().unwrap().iter().filter_map(|d| d["path"].as_str()).collect();
    assert_eq!(paths, ["tracing", "architecture"]);
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    let live = emu.py("c = lam.get_function_configuration(FunctionName='cruddur-messaging-stream')\nprint(c['TracingConfig']['Mode'], c['Architectures'])");
    assert_eq!(live.trim(), "Active ['arm64']");
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn the_log_group_is_made_with_its_retention_and_kept_at_it() {
    let (emu, ws) = stack();
    let retention = || {
        emu.py("print([g.get('retentionInDays') for g in logs.describe_log_groups(logGroupNamePrefix='/aws/lambda/cruddur-messaging-stream')['logGroups']])")
            .trim()
            .to_string()
    };
    assert_eq!(retention(), "[14]");
    emu.py("logs.put_retention_policy(logGroupName='/aws/lambda/cruddur-messaging-stream', retentionInDays=30)");
    let drift = emu.cli(ws.path(), &["drift", "--output", "json"]);
    drift.expect(2);
    assert!(drift.stdout.contains("log_retention_days"), "{}", drift.stdout);
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    assert_eq!(retention(), "[14]");
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn reserved_concurrency_is_set_and_kept() {
    let (emu, ws) = stack();
    let spec = std::fs::read_to_string(ws.path().join("infra.yaml")).unwrap();
    ws.write_spec(&spec.replacen("    timeout_s: 10\n", "    timeout_s: 10\n    reserved_concurrency: 5\n", 1));
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    let reserved = || {
        emu.py("print(lam.get_function_concurrency(FunctionName='cruddur-messaging-stream').get('ReservedConcurrentExecutions'))")
            .trim()
            .to_string()
    };
    assert_eq!(reserved(), "5");
    emu.py("lam.put_function_concurrency(FunctionName='cruddur-messaging-stream', ReservedConcurrentExecutions=2)");
    emu.cli(ws.path(), &["drift"]).expect(2);
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    assert_eq!(reserved(), "5");
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn an_untouched_source_folder_is_never_a_change_even_after_touch() {
    let (emu, ws) = stack();
    let file = ws.path().join("lambda/cruddur-messaging-stream/lambda_function.py");
    let f = std::fs::File::options().write(true).open(&file).unwrap();
    f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(3600)).unwrap();
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
    // Editing the code is a change of the function's code only.
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("{text}\n# edited\n")).unwrap();
    let run = emu.cli(ws.path(), &["plan", "--detailed-exitcode", "--output", "json"]);
    run.expect(2);
    let doc = run.json();
    assert_eq!(doc["summary"]["update"], 1);
    assert_eq!(change(&doc, FUNCTION)["diffs"][0]["path"], "code_sha256");
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn a_changed_batch_size_updates_the_mapping_in_place_and_applies_never_duplicate_it() {
    let (emu, ws) = stack();
    let spec = std::fs::read_to_string(ws.path().join("infra.yaml")).unwrap();
    ws.write_spec(&spec.replace("batch_size: 1", "batch_size: 10"));
    let run = emu.cli(ws.path(), &["plan", "--output", "json"]);
    let doc = run.json();
    let m = change(&doc, MAPPING);
    assert_eq!(m["action"], "update");
    assert_eq!(m["diffs"], serde_json::json!([{"path": "batch_size", "before": 1, "after": 10}]));
    emu.reset_calls();
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    let writes = emu.writes();
    assert!(writes.iter().any(|w| w.contains("event-source-mappings")), "{writes:?}");
    assert!(!writes.iter().any(|w| w.starts_with("lambda:POST")), "a mapping was created again: {writes:?}");
    for _ in 0..2 {
        emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    }
    let count = emu.py("print(len(lam.list_event_source_mappings(FunctionName='cruddur-messaging-stream')['EventSourceMappings']))");
    assert_eq!(count.trim(), "1");
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn a_stream_change_cascades_to_replacing_the_mapping() {
    let (emu, ws) = stack();
    let spec = std::fs::read_to_string(ws.path().join("infra.yaml")).unwrap();
    ws.write_spec(&spec.replace("stream: new_image", "stream: new_and_old_images"));
    let doc = emu.cli(ws.path(), &["plan", "--output", "json"]).json();
    let m = change(&doc, MAPPING);
    assert_eq!(m["action"], "replace");
    assert!(m["reason"].as_str().unwrap().contains("stream changes → the mapping is replaced"), "{m}");
    let calls: Vec<(String, String)> = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["op"]["kind"].as_str().unwrap().to_string(), s["op"]["call"]["op"].as_str().unwrap().to_string()))
        .collect();
    let names: Vec<String> = calls.iter().map(|(k, o)| format!("{k}:{o}")).collect();
    assert_eq!(
        names,
        [
            "dynamodb_table:disable_stream",
            "dynamodb_table:wait_active",
            "dynamodb_table:enable_stream",
            "dynamodb_table:wait_active",
            "lambda_event_source_mapping:delete",
            "lambda_event_source_mapping:create",
            "lambda_event_source_mapping:wait_settled",
        ]
    );
    // The new stream's ARN is not known before apply, and the plan says so.
    let source = m["diffs"].as_array().unwrap().iter().find(|d| d["path"] == "source").unwrap();
    assert!(source["after"].as_str().unwrap().contains("known after apply"));
}

/// Issue 22 §1: a mapping replaced (its starting position changes) while AWS is still deleting
/// the old one. The proxy lists a deleted mapping as `Deleting` for a while, refuses updates
/// to it and refuses a successor on the same stream until it is gone.
#[test]
fn a_mapping_replaced_while_the_old_one_is_still_deleting_ends_with_exactly_one_at_the_new_position() {
    let emu = Emulator::with_delays("2.0", "0");
    let ws = Workspace::shipped();
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    let spec = std::fs::read_to_string(ws.path().join("infra.yaml")).unwrap();
    ws.write_spec(&spec.replace("starting_position: latest", "starting_position: trim_horizon"));
    let run = emu.cli(ws.path(), &["apply", "--yes"]);
    run.expect(0);
    assert!(run.stderr.contains("to be deleted"), "the successor did not wait for the delete:\n{}", run.stderr);
    // Once AWS is done deleting: exactly one enabled mapping, at the new position.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let out = emu.py("ms = lam.list_event_source_mappings(FunctionName='cruddur-messaging-stream')['EventSourceMappings']\n\
         print(len(ms), [m['StartingPosition'] for m in ms], [m['State'] for m in ms])");
    assert_eq!(out.trim(), "1 ['TRIM_HORIZON'] ['Enabled']");
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
}

/// Issue 22 §6: late references. A stream ARN that exists only once this apply has made the
/// table is resolved when the function's step runs, and the trigger is on that same stream.
#[test]
fn a_stream_arn_made_during_apply_reaches_the_function_and_its_trigger() {
    let emu = Emulator::with_delays("0.5", "1.0");
    let ws = Workspace::shipped();
    let spec = std::fs::read_to_string(ws.path().join("infra.yaml")).unwrap();
    ws.write_spec(&spec.replace(
        "      INDEX_NAME: message-group-sk-index\n",
        "      INDEX_NAME: message-group-sk-index\n      STREAM_ARN: ${tables.cruddur-messages.stream_arn}\n",
    ));
    let plan = emu.cli(ws.path(), &["plan"]);
    assert!(plan.stdout.contains("(known after apply)"), "{}", plan.stdout);
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    let out = emu.py("s = ddb.describe_table(TableName='cruddur-messages')['Table']['LatestStreamArn']\n\
         e = lam.get_function_configuration(FunctionName='cruddur-messaging-stream')['Environment']['Variables']['STREAM_ARN']\n\
         m = lam.list_event_source_mappings(FunctionName='cruddur-messaging-stream')['EventSourceMappings']\n\
         print(s == e, [x['EventSourceArn'] == s for x in m])");
    assert_eq!(out.trim(), "True [True]");
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn the_dead_letter_queue_is_made_first_kept_as_declared_and_released_with_the_trigger() {
    let (emu, ws) = stack();
    let state = || {
        emu.py("u = sqs.get_queue_url(QueueName='cruddur-messaging-stream-dlq')['QueueUrl']\n\
             a = sqs.get_queue_attributes(QueueUrl=u, AttributeNames=['All'])['Attributes']\n\
             m = lam.list_event_source_mappings(FunctionName='cruddur-messaging-stream')['EventSourceMappings'][0]\n\
             d = ((m.get('DestinationConfig') or {}).get('OnFailure') or {}).get('Destination')\n\
             print(a['MessageRetentionPeriod'], a['VisibilityTimeout'], d == a['QueueArn'])")
            .trim()
            .to_string()
    };
    assert_eq!(state(), "1209600 30 True");
    // Changed out of band: the queue's settings and the trigger's destination are drift.
    let out_of_band = "u = sqs.get_queue_url(QueueName='cruddur-messaging-stream-dlq')['QueueUrl']\n\
         sqs.set_queue_attributes(QueueUrl=u, Attributes={'VisibilityTimeout': '300'})\n\
         uuid = lam.list_event_source_mappings(FunctionName='cruddur-messaging-stream')['EventSourceMappings'][0]['UUID']\n\
         lam.update_event_source_mapping(UUID=uuid, DestinationConfig={'OnFailure': {'Destination': ''}})\n\
         import time\n\
         while sqs.get_queue_attributes(QueueUrl=u, AttributeNames=['VisibilityTimeout'])['Attributes']['VisibilityTimeout'] != '300':\n\
         \x20   time.sleep(0.2)  # SQS shows an attribute change only after a while (rule 34)";
    emu.py(out_of_band);
    let drift = emu.cli(ws.path(), &["drift", "--output", "json"]);
    drift.expect(2);
    let doc = drift.json();
    let queue = change(&doc, "sqs_queue.cruddur-messaging-stream-dlq");
    assert_eq!(queue["diffs"][0]["path"], "visibility_timeout_s", "{queue:#}");
    assert_eq!(queue["diffs"][0]["note"], "not in the spec: back to AWS's default", "{queue:#}");
    assert_eq!(change(&doc, MAPPING)["diffs"][0]["path"], "on_failure");
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    assert_eq!(state(), "1209600 30 True");

    // Dropped from the spec with its trigger's `on_failure` (and the role's permission): the
    // destination is removed (sent as "", since an omitted field means unchanged) and the
    // queue, ours, is deleted.
    let shipped = std::fs::read_to_string(ws.path().join("infra.yaml")).unwrap();
    let (start, end) = (shipped.find("queues:\n").unwrap(), shipped.find("topics:\n").unwrap());
    let spec = format!("{}{}", &shipped[..start], &shipped[end..]);
    let line = spec.find("        on_failure:").unwrap();
    ws.write_spec(&format!("{}{}", &spec[..line], &spec[line + spec[line..].find('\n').unwrap() + 1..]));
    let policy = std::fs::read_to_string(ws.path().join("policies/cruddur-message-stream-policy.json")).unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(&policy).unwrap();
    doc["Statement"].as_array_mut().unwrap().retain(|s| s["Sid"] != "RecordFailedBatchesInTheDeadLetterQueue");
    ws.write("policies/cruddur-message-stream-policy.json", &serde_json::to_string_pretty(&doc).unwrap());
    let plan = emu.cli(ws.path(), &["plan", "--output", "json"]).expect(0).json();
    assert_eq!(change(&plan, "sqs_queue.cruddur-messaging-stream-dlq")["action"], "delete", "{plan:#}");
    assert_eq!(change(&plan, MAPPING)["diffs"][0]["note"], "not in the spec: back to AWS's default", "{plan:#}");
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    let left = emu.py(
        "m = lam.list_event_source_mappings(FunctionName='cruddur-messaging-stream')['EventSourceMappings'][0]\n\
         print(((m.get('DestinationConfig') or {}).get('OnFailure') or {}).get('Destination') or None, sqs.list_queues().get('QueueUrls', []))",
    );
    assert_eq!(left.trim(), "None []");
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);

    // The queue declared again, but the role not allowed to send to it: Lambda sends a failed
    // batch with the function's role, so AWS refuses the destination (the proxy checks it as
    // Lambda does), and the error is one line naming the fix.
    ws.write_spec(&shipped);
    let run = emu.cli(ws.path(), &["apply", "--yes"]);
    run.expect(1);
    assert!(run.stderr.contains("does not have permissions to call SendMessage"), "{}", run.stderr);
    assert!(!run.stderr.contains("InvalidParameterValueException {"), "{}", run.stderr);

    // The permission granted in the same apply: Lambda refuses until IAM has propagated the new
    // policy (the proxy holds it back for its IAM delay), and the update waits that out.
    ws.write("policies/cruddur-message-stream-policy.json", &policy);
    let run = emu.cli(ws.path(), &["apply", "--yes"]);
    run.expect(0);
    assert!(run.stderr.contains("its role changed in this apply and IAM may still be propagating"), "{}", run.stderr);
    assert_eq!(state(), "1209600 30 True");
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn a_numeric_range_filter_is_sent_as_written_and_a_trigger_found_creating_is_waited_for() {
    // A range is ordered operator/operand pairs (rule 39): the proxy refuses it sorted, as AWS does.
    let emu = Emulator::with_delays("2.0", "1.0");
    let ws = Workspace::shipped();
    let spec = std::fs::read_to_string(ws.path().join("infra.yaml")).unwrap();
    let range = r#"          - { eventName: [MODIFY], dynamodb: { SizeBytes: [{ numeric: [">", 0, "<=", 5] }] } }
"#;
    let spec = spec.replace(
        "          - { eventName: [INSERT], dynamodb: { Keys: { pk: { S: [{ prefix: \"MSG#\" }] } } } }\n",
        &format!("          - {{ eventName: [INSERT], dynamodb: {{ Keys: {{ pk: {{ S: [{{ prefix: \"MSG#\" }}] }} }} }} }}\n{range}"),
    );
    ws.write_spec(&spec);
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
    let sent = emu.py("m = lam.list_event_source_mappings(FunctionName='cruddur-messaging-stream')['EventSourceMappings'][0]\n\
         print([f['Pattern'] for f in m['FilterCriteria']['Filters'] if 'numeric' in f['Pattern']])");
    assert!(sent.contains(r#"[">",0,"<=",5]"#) || sent.contains(r#"[">", 0, "<=", 5]"#), "{sent}");

    // Someone (a lost create's retry, another tool) has just made the trigger again: it is
    // Creating, and AWS refuses to update it until it is settled (rule 36).
    emu.py(
        "m = lam.list_event_source_mappings(FunctionName='cruddur-messaging-stream')['EventSourceMappings'][0]\n\
         lam.delete_event_source_mapping(UUID=m['UUID'])\n\
         import time\n\
         while lam.list_event_source_mappings(FunctionName='cruddur-messaging-stream')['EventSourceMappings']:\n    time.sleep(0.2)\n\
         lam.create_event_source_mapping(FunctionName='cruddur-messaging-stream', EventSourceArn=m['EventSourceArn'], StartingPosition='LATEST', BatchSize=7)",
    );
    let run = emu.cli(ws.path(), &["apply", "--yes"]);
    run.expect(0);
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
    let count = emu.py("print(len(lam.list_event_source_mappings(FunctionName='cruddur-messaging-stream')['EventSourceMappings']))");
    assert_eq!(count.trim(), "1");
}
