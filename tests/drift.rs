//! `drift`: read-only, exit 0 in sync / 2 on drift, agreeing with `plan --detailed-exitcode`,
//! naming the resource and field of each kind of out-of-band change in every output.

mod common;

use std::collections::BTreeSet;

use common::*;

/// Runs drift in every output and plan --detailed-exitcode; all must exit `code`, and drift
/// must not have written anything. Returns (human, json, markdown).
fn check(emu: &Emulator, ws: &Workspace, code: i32) -> (String, serde_json::Value, String) {
    emu.reset_calls();
    let human = emu.cli(ws.path(), &["drift"]);
    human.expect(code);
    let json = emu.cli(ws.path(), &["drift", "--output", "json"]);
    json.expect(code);
    let md = emu.cli(ws.path(), &["drift", "--output", "markdown"]);
    md.expect(code);
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(code);
    emu.cli(ws.path(), &["plan", "--detailed-exitcode", "--output", "json"]).expect(code);
    assert!(emu.writes().is_empty(), "drift or plan wrote: {:?}", emu.writes());
    (human.stdout.clone(), json.json(), md.stdout.clone())
}

#[test]
fn each_kind_of_out_of_band_change_is_drift_named_in_every_output() {
    let emu = Emulator::start();
    let ws = Workspace::shipped();
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    let (human, json, md) = check(&emu, &ws, 0);
    assert!(human.contains("In sync: 15 resource(s)"), "{human}");
    assert_eq!(json["summary"]["no_op"], 15);
    assert!(md.contains("in sync"), "{md}");

    let cases: [(&str, &str, &str); 9] = [
        (
            "ddb.update_table(TableName='cruddur-messages', GlobalSecondaryIndexUpdates=[{'Update': {'IndexName': 'message-group-sk-index', \
             'ProvisionedThroughput': {'ReadCapacityUnits': 7, 'WriteCapacityUnits': 5}}}])",
            "dynamodb_table.cruddur-messages",
            "global_secondary_indexes.message-group-sk-index.read_capacity",
        ),
        (
            "d = json.loads(json.dumps(iam.get_role_policy(RoleName='cruddur-messaging-stream', PolicyName='cruddur-message-stream-policy')['PolicyDocument']))\n\
             import urllib.parse\n\
             d = json.loads(urllib.parse.unquote(d)) if isinstance(d, str) else d\n\
             d['Statement'].append({'Effect': 'Allow', 'Action': 'dynamodb:Scan', 'Resource': '*'})\n\
             iam.put_role_policy(RoleName='cruddur-messaging-stream', PolicyName='cruddur-message-stream-policy', PolicyDocument=json.dumps(d))",
            "iam_role.cruddur-messaging-stream",
            "inline_policies.cruddur-message-stream-policy",
        ),
        (
            "iam.detach_role_policy(RoleName='cruddur-messaging-stream', PolicyArn='arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole')",
            "iam_role.cruddur-messaging-stream",
            "managed_policies.arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        ),
        (
            "lam.update_function_configuration(FunctionName='cruddur-messaging-stream', MemorySize=256)",
            "lambda_function.cruddur-messaging-stream",
            "memory_mb",
        ),
        (
            "import io, zipfile\nb = io.BytesIO(); z = zipfile.ZipFile(b, 'w'); z.writestr('lambda_function.py', 'x = 1'); z.close()\n\
             lam.update_function_code(FunctionName='cruddur-messaging-stream', ZipFile=b.getvalue())",
            "lambda_function.cruddur-messaging-stream",
            "code_sha256",
        ),
        (
            "ep = [e for e in ec2.describe_vpc_endpoints()['VpcEndpoints'] if e['State'] != 'deleted'][0]\n\
             ec2.modify_vpc_endpoint(VpcEndpointId=ep['VpcEndpointId'], RemoveRouteTableIds=ep['RouteTableIds'][:1])",
            "vpc_endpoint.dynamodb",
            "route_tables.rtb-",
        ),
        (
            "m = lam.list_event_source_mappings(FunctionName='cruddur-messaging-stream')['EventSourceMappings'][0]\n\
             lam.update_event_source_mapping(UUID=m['UUID'], BatchSize=7)",
            "lambda_event_source_mapping.cruddur-messaging-stream",
            "batch_size",
        ),
        (
            "t = [t['TopicArn'] for t in sns.list_topics()['Topics'] if t['TopicArn'].endswith(':cruddur-alerts')][0]\n\
             s = sns.list_subscriptions_by_topic(TopicArn=t)['Subscriptions'][0]\n\
             sns.unsubscribe(SubscriptionArn=s['SubscriptionArn'])",
            "sns_topic.cruddur-alerts",
            "subscriptions.email:ops@example.com",
        ),
        ("cw.disable_alarm_actions(AlarmNames=['cruddur-messaging-stream-errors'])", "cloudwatch_alarm.cruddur-messaging-stream-errors", "actions_enabled"),
    ];
    for (change, address, field) in cases {
        emu.py(change);
        let (human, json, md) = check(&emu, &ws, 2);
        assert!(human.contains(address) && human.contains(field), "{address} {field} not in:\n{human}");
        assert!(md.contains(&format!("`{address}`")) && md.contains(field), "{address} {field} not in:\n{md}");
        let c = json["changes"].as_array().unwrap().iter().find(|c| c["address"] == address).unwrap();
        assert_ne!(c["action"], "no-op", "{address}");
        assert!(c["diffs"].as_array().unwrap().iter().any(|d| d["path"].as_str().unwrap().starts_with(field)), "{field} not in {c}");
        let drifted: Vec<&str> =
            json["changes"].as_array().unwrap().iter().filter(|c| c["action"] != "no-op").map(|c| c["address"].as_str().unwrap()).collect();
        assert_eq!(drifted, [address], "only the changed resource drifts");
        emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
        check(&emu, &ws, 0);
    }
}

#[test]
fn a_missing_resource_is_reported_as_missing() {
    let emu = Emulator::start();
    let ws = Workspace::new(&table_spec(BASE_TABLE));
    let run = emu.cli(ws.path(), &["drift"]);
    run.expect(2);
    assert!(run.stdout.contains("missing") && run.stdout.contains("dynamodb_table.messages"), "{}", run.stdout);
    let md = emu.cli(ws.path(), &["drift", "--output", "markdown"]);
    assert!(md.stdout.contains("- `+` `dynamodb_table.messages` missing"), "{}", md.stdout);
    assert!(emu.writes().is_empty());
}

#[test]
fn drift_is_an_error_not_a_verdict_when_aws_cannot_be_read() {
    let ws = Workspace::new(&table_spec(BASE_TABLE));
    let run: Run = isolated(std::process::Command::new(env!("CARGO_BIN_EXE_cruddur-infra")).current_dir(ws.path()).args([
        "--endpoint-url",
        "http://127.0.0.1:9",
        "drift",
    ]))
    .output()
    .unwrap()
    .into();
    run.expect(1);
}

/// Every field path of a JSON value: `changes[].diffs[].path` style, `steps[].op` not entered.
fn paths(v: &serde_json::Value, prefix: &str, out: &mut BTreeSet<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                out.insert(p.clone());
                if p != "steps[].op" {
                    paths(x, &p, out);
                }
            }
        }
        serde_json::Value::Array(a) => {
            for x in a {
                paths(x, &format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}

fn value_paths_that_are_data(p: &str) -> bool {
    // Values of `before` / `after` are data (a policy document, an index), not format fields.
    !p.contains(".before.") && !p.contains(".after.") && !p.contains(".before[]") && !p.contains(".after[]")
}

#[test]
fn every_field_of_a_json_plan_is_documented() {
    let doc = std::fs::read_to_string(repo().join("docs/plan-format.md")).unwrap();
    let documented: BTreeSet<String> =
        doc.lines().filter_map(|l| l.strip_prefix("| `").and_then(|r| r.split('`').next())).map(str::to_string).collect();
    let emu = Emulator::start();
    let ws = Workspace::shipped();
    let mut seen = BTreeSet::new();
    // A plan with creates (notes, broadens), then one with a replace (reason, destructive).
    paths(&emu.cli(ws.path(), &["plan", "--output", "json"]).json(), "", &mut seen);
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    let spec = std::fs::read_to_string(ws.path().join("infra.yaml")).unwrap();
    ws.write_spec(&spec.replacen("partition_key: { name: pk, type: S }", "partition_key: { name: id, type: S }", 1));
    paths(&emu.cli(ws.path(), &["plan", "--output", "json"]).json(), "", &mut seen);
    let undocumented: Vec<&String> = seen.iter().filter(|p| value_paths_that_are_data(p) && !documented.contains(*p)).collect();
    assert!(undocumented.is_empty(), "fields missing from docs/plan-format.md: {undocumented:?}");
    for must in ["changes[].diffs[].note", "changes[].diffs[].broadens", "changes[].reason", "changes[].destructive", "steps[].op"] {
        assert!(seen.contains(must), "the test plans never showed {must}: {seen:?}");
    }
}

#[test]
fn the_ci_workflow_is_valid_yaml_that_fails_on_drift() {
    let text = std::fs::read_to_string(repo().join(".github/workflows/drift.yml")).unwrap();
    let wf: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let on = &wf["on"];
    assert!(on["schedule"][0]["cron"].as_str().is_some_and(|c| c.split_whitespace().count() == 5));
    assert!(on.get("pull_request").is_some());
    let steps = wf["jobs"]["drift"]["steps"].as_sequence().unwrap();
    let uses: Vec<&str> = steps.iter().filter_map(|s| s["uses"].as_str()).collect();
    assert!(uses.iter().any(|u| u.starts_with("aws-actions/configure-aws-credentials@")), "{uses:?}");
    let run = steps.iter().filter_map(|s| s["run"].as_str()).collect::<Vec<_>>().join("\n");
    assert!(run.contains("drift --all-envs --output markdown"), "every env in one job");
    assert!(run.contains("scripts/emulator start"), "the local env needs the emulator");
    assert!(run.contains("GITHUB_STEP_SUMMARY"));
    assert!(run.contains("exit \"$code\""), "the job must fail on drift (exit 2)");
    // Issue 22 §9: only the prod job may mint an OIDC token, and never for a pull request.
    assert!(wf["permissions"]["id-token"].is_null(), "id-token must not be granted to every job");
    assert_eq!(wf["jobs"]["drift"]["permissions"]["id-token"], "write");
    let cond = wf["jobs"]["drift"]["if"].as_str().unwrap_or("");
    assert!(cond.contains("github.event_name != 'pull_request'") && cond.contains("refs/heads/main"), "{cond}");
    for trigger in ["schedule", "workflow_dispatch", "push"] {
        assert!(on.get(trigger).is_some(), "{trigger}");
    }
    assert_eq!(on["push"]["branches"][0], "main");
    // Pull requests: validate and a plan against the local emulator, with no role.
    let pr = &wf["jobs"]["pull-request"];
    assert_eq!(pr["if"], "github.event_name == 'pull_request'");
    assert!(pr["permissions"]["id-token"].is_null(), "a pull request never gets an OIDC token");
    assert_eq!(pr["permissions"]["pull-requests"], "write", "the one plan comment");
    let pr_text = serde_yaml::to_string(pr).unwrap();
    assert!(!pr_text.contains("configure-aws-credentials") && !pr_text.contains("AWS_DRIFT_ROLE_ARN"), "{pr_text}");
    assert!(pr_text.contains("cruddur-infra validate --strict") && pr_text.contains("scripts/emulator start"), "{pr_text}");
    // The documented trust is pinned to main.
    let trust: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("docs/ci/drift-trust-policy.json")).unwrap()).unwrap();
    let cond = &trust["Statement"][0]["Condition"]["StringEquals"];
    assert_eq!(cond["token.actions.githubusercontent.com:sub"], "repo:OWNER/REPO:ref:refs/heads/main");
    assert_eq!(cond["token.actions.githubusercontent.com:aud"], "sts.amazonaws.com");
}

/// The drift role's documented permissions are exactly the reads a drift run of the whole
/// stack makes (no write, nothing missing): checked against the calls the emulator saw, for
/// prod, the env the workflow checks (its table is autoscaled).
#[test]
fn the_drift_role_may_read_exactly_what_drift_reads() {
    let emu = Emulator::start();
    let ws = Workspace::shipped();
    emu.cli(ws.path(), &["--env", "prod", "apply", "--yes"]).expect(0);
    emu.reset_calls();
    emu.cli(ws.path(), &["--env", "prod", "drift"]).expect(0);
    let mut used = std::collections::BTreeSet::new();
    for c in emu.calls() {
        let action = match (c.service.as_str(), c.action.as_str()) {
            // Needs no permission: AWS answers it for any credentials.
            ("sts", "GetCallerIdentity") => continue,
            ("lambda", a) if a.starts_with("GET /2015-03-31/functions/") && a.contains("/aliases") => "ListAliases".to_string(),
            ("lambda", a) if a.starts_with("GET /2015-03-31/functions/") && a.contains("/versions") => "ListVersionsByFunction".to_string(),
            ("lambda", a) if a.starts_with("GET /2015-03-31/functions/") => "GetFunction".to_string(),
            ("lambda", a) if a.starts_with("GET /2015-03-31/event-source-mappings") => "ListEventSourceMappings".to_string(),
            (_, a) => a.to_string(),
        };
        assert!(!c.write, "drift wrote: {c:?}");
        // The Resource Groups Tagging API signs as `tagging`, CloudWatch as `monitoring`; their
        // IAM prefixes are `tag` and `cloudwatch`.
        let service = match c.service.as_str() {
            "tagging" => "tag",
            "monitoring" => "cloudwatch",
            s => s,
        };
        used.insert(format!("{service}:{action}"));
    }
    let policy: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("docs/ci/drift-read-policy.json")).unwrap()).unwrap();
    let allowed: std::collections::BTreeSet<String> =
        policy["Statement"][0]["Action"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()).collect();
    // ListRoleTags is read only for a role under the tool's path that the spec does not declare;
    // ListTagsOfResource only for a table whose Tagging API listing disagrees with the spec
    // (rule 47): in sync, drift takes the table's tags from GetResources.
    let unused: Vec<&String> = allowed.difference(&used).collect();
    assert!(
        used.is_subset(&allowed) && unused == ["dynamodb:ListTagsOfResource", "iam:ListRoleTags"],
        "used {used:?}, allowed {allowed:?}"
    );
}

/// Strings read from AWS are data (issue 22 §8): an environment variable holding terminal
/// escapes and a forged markdown row is shown escaped in every drift output.
#[test]
fn hostile_values_read_from_aws_are_escaped_in_every_output() {
    let emu = Emulator::start();
    let ws = Workspace::shipped();
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    emu.py("lam.update_function_configuration(FunctionName='cruddur-messaging-stream', Environment={'Variables': {\
         'TABLE_NAME': 'cruddur-messages', 'INDEX_NAME': 'message-group-sk-index', \
         'EVIL': '\\x1b]0;owned\\x07\\x1b[2J\\n| `forged` | in sync | 0 |'}})");
    let human = emu.cli(ws.path(), &["drift"]);
    human.expect(2);
    let md = emu.cli(ws.path(), &["drift", "--output", "markdown"]);
    md.expect(2);
    for out in [&human.stdout, &md.stdout] {
        assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out}");
        assert!(out.contains("owned"), "{out}");
        assert!(!out.lines().any(|l| l.starts_with("| `forged`") || l.trim_start().starts_with("| `forged`")), "{out}");
    }
    assert!(human.stdout.contains("\\u{1b}]0;owned"), "{}", human.stdout);
}
