//! Prune by ownership (issue 15): what the spec drops is found live by this stack env's
//! ownership marker and deleted (tables only with consent by name), released when it says
//! `on_removal: retain`, or forgotten on request; what another stack or env owns, or nobody
//! marked, is never in the plan.

mod common;

use common::*;

const FUNCTION: &str = "lambda_function.cruddur-messaging-stream";
const MAPPING: &str = "lambda_event_source_mapping.cruddur-messaging-stream";

/// The shipped spec without its `functions:` section.
fn without_functions(ws: &Workspace) {
    let spec = std::fs::read_to_string(ws.path().join("infra.yaml")).unwrap();
    let spec = common::without_prod_function_override(&spec);
    ws.write_spec(&spec[..spec.find("\nfunctions:").unwrap() + 1]);
}

fn change<'a>(plan: &'a serde_json::Value, address: &str) -> Option<&'a serde_json::Value> {
    plan["changes"].as_array().unwrap().iter().find(|c| c["address"] == address)
}

/// A function made out of band, with `tags`.
fn foreign_function(emu: &Emulator, name: &str, tags: &str) {
    emu.py(&format!(
        "import io, zipfile\nb = io.BytesIO()\nz = zipfile.ZipFile(b, 'w'); z.writestr('f.py', 'def h(e, c): pass'); z.close()\n\
         iam.create_role(RoleName='{name}-role', AssumeRolePolicyDocument=json.dumps({{'Version': '2012-10-17', 'Statement': \
         [{{'Effect': 'Allow', 'Principal': {{'Service': 'lambda.amazonaws.com'}}, 'Action': 'sts:AssumeRole'}}]}}))\n\
         import time\nfor attempt in range(40):\n  try:\n    lam.create_function(FunctionName='{name}', Runtime='python3.12', Handler='f.h', \
         Role='arn:aws:iam::123456789012:role/{name}-role', Code={{'ZipFile': b.getvalue()}}, Tags={tags}); break\n  \
         except lam.exceptions.InvalidParameterValueException:\n    time.sleep(0.25)"
    ));
}

#[test]
fn a_dropped_function_and_its_trigger_are_deleted_and_nothing_foreign_is_touched() {
    let emu = Emulator::with_aws_rules();
    let ws = Workspace::shipped();
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    // Beside it: a function nobody marked, one tagged by hand with this stack's readable tags
    // (no marker), and one of another env of this stack.
    foreign_function(&emu, "hand-made", "{}");
    foreign_function(&emu, "look-alike", "{'managed-by': 'cruddur-infra', 'cruddur-infra:stack': 'cruddur', 'cruddur-infra:env': 'local'}");
    foreign_function(
        &emu,
        "other-env",
        "{'managed-by': 'cruddur-infra', 'cruddur-infra:stack': 'cruddur', 'cruddur-infra:env': 'prod', 'cruddur-infra:owner': 'v1-0000'}",
    );
    without_functions(&ws);

    let plan = emu.cli(ws.path(), &["plan", "--output", "json"]).expect(0).json();
    for address in [FUNCTION, MAPPING] {
        let c = change(&plan, address).unwrap_or_else(|| panic!("{address} is not in the plan: {plan:#}"));
        assert_eq!(c["action"], "delete", "{c:#}");
        assert_eq!(c["not_in_spec"], true, "{c:#}");
        assert_eq!(c["reason"], "no longer in infra.yaml", "{c:#}");
    }
    // And the alarms its monitoring pack derived (errors, throttles, iterator age, queue depth).
    let alarms: Vec<&str> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == "delete" && c["address"].as_str().unwrap().starts_with("cloudwatch_alarm.cruddur-messaging-stream"))
        .map(|c| c["address"].as_str().unwrap())
        .collect();
    assert_eq!(alarms.len(), 4, "{alarms:?}");
    assert_eq!(plan["summary"]["delete"], 6, "{plan:#}");
    for foreign in ["hand-made", "look-alike", "other-env"] {
        assert!(!plan.to_string().contains(foreign), "{foreign} is in the plan: {plan:#}");
    }
    let human = emu.cli(ws.path(), &["plan"]).expect(0).stdout.clone();
    assert!(human.contains(&format!("- {FUNCTION} will be destroyed (no longer in infra.yaml)")), "{human}");
    let drift = emu.cli(ws.path(), &["drift"]);
    drift.expect(2);
    assert!(drift.stdout.contains(&format!("not in spec {FUNCTION}")), "{}", drift.stdout);

    emu.reset_calls();
    let run = emu.cli(ws.path(), &["apply", "--yes"]);
    run.expect(0);
    assert!(run.stdout.contains("6 destroyed"), "{}", run.stdout);
    // Reverse dependency order: the trigger before its function.
    let writes = emu.writes();
    let at = |w: &str| writes.iter().position(|x| x.contains(w)).unwrap_or_else(|| panic!("no {w} in {writes:?}"));
    assert!(at("DELETE /2015-03-31/event-source-mappings/") < at("DELETE /2015-03-31/functions/"), "{writes:?}");
    let left = emu.py("print(sorted(f['FunctionName'] for f in lam.list_functions()['Functions']))");
    assert_eq!(left.trim(), "['hand-made', 'look-alike', 'other-env']");
    assert_eq!(emu.py("print(len(lam.list_event_source_mappings()['EventSourceMappings']))").trim(), "0");
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
    emu.cli(ws.path(), &["drift"]).expect(0);
}

#[test]
fn a_trigger_dropped_from_a_declared_function_is_deleted() {
    let emu = Emulator::start();
    let ws = Workspace::shipped();
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    let spec = std::fs::read_to_string(ws.path().join("infra.yaml")).unwrap();
    let (start, end) = (spec.find("    triggers:").unwrap(), spec.find("    # Alarms derived from the trigger").unwrap());
    ws.write_spec(&format!("{}{}", &spec[..start], &spec[end..]));
    let plan = emu.cli(ws.path(), &["plan", "--output", "json"]).expect(0).json();
    let c = change(&plan, &format!("{MAPPING}.cruddur-messages")).unwrap_or_else(|| panic!("{plan:#}"));
    assert_eq!(c["action"], "delete");
    // With it go the pack's alarms on the trigger: its iterator age and its queue's depth.
    for a in ["cloudwatch_alarm.cruddur-messaging-stream-iterator-age", "cloudwatch_alarm.cruddur-messaging-stream-dlq-depth"] {
        assert_eq!(change(&plan, a).unwrap_or_else(|| panic!("{a}: {plan:#}"))["action"], "delete");
    }
    assert_eq!(plan["summary"]["delete"], 3, "{plan:#}");
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    assert_eq!(emu.py("print(len(lam.list_event_source_mappings()['EventSourceMappings']))").trim(), "0");
    assert_eq!(emu.census(), "tables=1 roles=1 functions=1 mappings=0 endpoints=1 queues=1 topics=1 alarms=6");
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
}

fn two_tables(second: &str) -> String {
    table_spec(&format!("{BASE_TABLE}  extra:\n    partition_key: {{ name: pk, type: S }}\n    billing: on_demand\n{second}"))
}

#[test]
fn a_dropped_table_is_deleted_only_with_consent_by_name() {
    let emu = Emulator::with_aws_rules();
    let ws = Workspace::new(&two_tables(""));
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    emu.py("ddb.put_item(TableName='extra', Item={'pk': {'S': 'keep-me'}})");
    ws.write_spec(&table_spec(BASE_TABLE));

    let plan = emu.cli(ws.path(), &["plan", "--output", "json"]).expect(0).json();
    let c = change(&plan, "dynamodb_table.extra").unwrap_or_else(|| panic!("{plan:#}"));
    assert_eq!((c["action"].as_str(), c["destructive"].as_bool()), (Some("delete"), Some(true)), "{c:#}");

    emu.reset_calls();
    let run = emu.cli(ws.path(), &["apply", "--yes"]);
    run.expect(1);
    assert!(run.stderr.contains("--allow-data-loss dynamodb_table.extra"), "{}", run.stderr);
    // A name that is not a destructive change of this plan consents to nothing: an error.
    let run = emu.cli(ws.path(), &["apply", "--yes", "--allow-data-loss", "dynamodb_table.extr"]);
    run.expect(1);
    assert!(run.stderr.contains("dynamodb_table.extr: not a change that loses data"), "{}", run.stderr);
    assert!(emu.writes().is_empty(), "{:?}", emu.writes());
    assert_eq!(emu.py("print(ddb.get_item(TableName='extra', Key={'pk': {'S': 'keep-me'}})['Item']['pk']['S'])").trim(), "keep-me");

    // The old flag is an alias of the one consent.
    emu.cli(ws.path(), &["apply", "--yes", "--allow-replace", "dynamodb_table.extra"]).expect(0);
    assert_eq!(emu.py("print(ddb.list_tables()['TableNames'])").trim(), "['messages']");
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn a_saved_plan_carries_its_consent_and_a_protected_table_is_blocked_whatever_the_flags() {
    let emu = Emulator::start();
    let ws = Workspace::new(&two_tables(
        "    deletion_protection: true\n  third:\n    partition_key: { name: pk, type: S }\n    billing: on_demand\n",
    ));
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    ws.write_spec(&table_spec(BASE_TABLE));
    let plan = emu.cli(ws.path(), &["plan", "--output", "json"]).expect(0).json();
    assert!(change(&plan, "dynamodb_table.extra").unwrap()["blocked"].as_str().unwrap().contains("deletion protection"), "{plan:#}");
    let run =
        emu.cli(ws.path(), &["apply", "--yes", "--allow-data-loss", "dynamodb_table.extra", "--allow-data-loss", "dynamodb_table.third"]);
    run.expect(1);
    assert!(run.stderr.contains("deletion protection"), "{}", run.stderr);
    assert_eq!(emu.py("print(sorted(ddb.list_tables()['TableNames']))").trim(), "['extra', 'messages', 'third']");

    // Forget the protected one (it stays, unmanaged); the plan saved with consent deletes the other.
    let run = emu.cli(ws.path(), &["forget", "dynamodb_table.extra"]);
    run.expect(1);
    assert!(run.stderr.contains("--yes"), "{}", run.stderr);
    emu.cli(ws.path(), &["forget", "dynamodb_table.extra", "--yes"]).expect(0);
    let file = ws.path().join("drop.plan");
    emu.cli(ws.path(), &["plan", "--out", file.to_str().unwrap(), "--allow-data-loss", "dynamodb_table.third"]).expect(0);
    emu.cli(ws.path(), &["apply", file.to_str().unwrap()]).expect(0);
    assert_eq!(emu.py("print(sorted(ddb.list_tables()['TableNames']))").trim(), "['extra', 'messages']");
    let tags = emu.py("print(sorted(t['Key'] for t in ddb.list_tags_of_resource(ResourceArn=ddb.describe_table(TableName='extra')['Table']['TableArn'])['Tags']))");
    assert_eq!(tags.trim(), "[]", "forget removes this stack's tags");
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn forget_refuses_what_the_spec_still_declares_and_what_is_not_ours() {
    let emu = Emulator::start();
    let ws = Workspace::new(&table_spec(BASE_TABLE));
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    let run = emu.cli(ws.path(), &["forget", "dynamodb_table.messages", "--yes"]);
    run.expect(1);
    assert!(run.stderr.contains("still in") && run.stderr.contains("remove it from the spec first"), "{}", run.stderr);
    let run = emu.cli(ws.path(), &["forget", "dynamodb_table.nobody", "--yes"]);
    run.expect(1);
    assert!(run.stderr.contains("no such resource of stack test, env local"), "{}", run.stderr);
    assert!(emu.writes().iter().all(|w| !w.contains("Tag")), "{:?}", emu.writes());
}

#[test]
fn a_table_that_says_retain_is_released_not_deleted() {
    let emu = Emulator::start();
    let ws = Workspace::new(&two_tables("    lifecycle: { on_removal: retain }\n"));
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    emu.py("ddb.put_item(TableName='extra', Item={'pk': {'S': 'keep-me'}})");
    ws.write_spec(&table_spec(BASE_TABLE));
    let plan = emu.cli(ws.path(), &["plan", "--output", "json"]).expect(0).json();
    let c = change(&plan, "dynamodb_table.extra").unwrap_or_else(|| panic!("{plan:#}"));
    assert_eq!((c["action"].as_str(), c["destructive"].as_bool(), c["not_in_spec"].as_bool()), (Some("update"), Some(false), Some(true)));
    let human = emu.cli(ws.path(), &["plan"]).expect(0).stdout.clone();
    assert!(human.contains("dynamodb_table.extra will be released"), "{human}");
    // No consent needed: nothing is lost.
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    assert_eq!(emu.py("print(ddb.get_item(TableName='extra', Key={'pk': {'S': 'keep-me'}})['Item']['pk']['S'])").trim(), "keep-me");
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn another_env_of_the_stack_is_never_pruned_and_destroy_takes_what_the_spec_dropped() {
    let emu = Emulator::start();
    let spec = |tables: &str| {
        format!(
            "version: 1\nstack: test\ndefault_env: a\nenvironments:\n  a:\n    region: us-east-1\n  b:\n    region: us-east-1\n    \
             name_suffix: -b\ntables:\n{tables}"
        )
    };
    let both = "  one:\n    partition_key: { name: pk, type: S }\n    billing: on_demand\n  two:\n    partition_key: { name: pk, type: S }\n    billing: on_demand\n";
    let ws = Workspace::new(&spec(both));
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    emu.cli(ws.path(), &["--env", "b", "apply", "--yes"]).expect(0);
    ws.write_spec(&spec("  one:\n    partition_key: { name: pk, type: S }\n    billing: on_demand\n"));
    let plan = emu.cli(ws.path(), &["plan", "--output", "json"]).expect(0).json();
    let deletes: Vec<&str> =
        plan["changes"].as_array().unwrap().iter().filter(|c| c["action"] == "delete").map(|c| c["address"].as_str().unwrap()).collect();
    assert_eq!(deletes, ["dynamodb_table.two"], "{plan:#}");
    // --target plans only the targets: nothing is looked for beyond them, nothing pruned.
    let targeted = emu.cli(ws.path(), &["--target", "dynamodb_table.one", "plan", "--output", "json"]).expect(0).json();
    assert_eq!(targeted["summary"]["delete"], 0, "{targeted:#}");
    // destroy deletes everything env a owns, declared or dropped; env b's tables stay.
    let run =
        emu.cli(ws.path(), &["destroy", "--yes", "--allow-data-loss", "dynamodb_table.one", "--allow-data-loss", "dynamodb_table.two"]);
    run.expect(0);
    assert_eq!(emu.py("print(sorted(ddb.list_tables()['TableNames']))").trim(), "['one-b', 'two-b']");
}

#[test]
fn a_role_made_before_roles_had_a_path_is_still_found_by_name() {
    let emu = Emulator::start();
    let ws = Workspace::shipped();
    emu.py("iam.create_role(RoleName='cruddur-messaging-stream', AssumeRolePolicyDocument=json.dumps({'Version': '2012-10-17', \
         'Statement': [{'Effect': 'Allow', 'Principal': {'Service': 'lambda.amazonaws.com'}, 'Action': 'sts:AssumeRole'}]}), \
         Tags=[{'Key': 'managed-by', 'Value': 'cruddur-infra'}, {'Key': 'cruddur-infra:stack', 'Value': 'cruddur'}, \
         {'Key': 'cruddur-infra:env', 'Value': 'local'}])");
    let plan = emu.cli(ws.path(), &["plan", "--output", "json"]).expect(0).json();
    assert_eq!(change(&plan, "iam_role.cruddur-messaging-stream").unwrap()["action"], "update", "{plan:#}");
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    let role = emu.py("print(lam.get_function_configuration(FunctionName='cruddur-messaging-stream')['Role'])");
    assert_eq!(role.trim(), "arn:aws:iam::123456789012:role/cruddur-messaging-stream");
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
    // A role the tool makes goes under its path, where discovery looks.
    let ws2 = Workspace::new(&ws_role_spec());
    emu.cli(ws2.path(), &["apply", "--yes"]).expect(0);
    assert_eq!(emu.py("print(iam.get_role(RoleName='made-here')['Role']['Path'])").trim(), "/cruddur-infra/");
    ws2.write_spec(&ws_role_spec().replace("  made-here:\n    trust: [lambda.amazonaws.com]\n", ""));
    let plan = emu.cli(ws2.path(), &["plan", "--output", "json"]).expect(0).json();
    assert_eq!(change(&plan, "iam_role.made-here").unwrap()["action"], "delete", "{plan:#}");
    emu.cli(ws2.path(), &["apply", "--yes"]).expect(0);
    assert!(emu.py("print([r['RoleName'] for r in iam.list_roles()['Roles']])").contains("'cruddur-messaging-stream'"));
}

fn ws_role_spec() -> String {
    "version: 1\nstack: other\ndefault_env: local\nenvironments:\n  local:\n    region: us-east-1\n\
     roles:\n  made-here:\n    trust: [lambda.amazonaws.com]\n  kept:\n    trust: [lambda.amazonaws.com]\n"
        .to_string()
}

#[test]
fn a_prune_killed_at_any_moment_then_run_again_converges_and_touches_nothing_foreign() {
    for after_ms in [200, 900, 2000] {
        let emu = Emulator::with_args(&["--aws-rules", "--busy-seconds", "0.5", "--iam-delay", "0", "--latency-ms", "15"]);
        let ws = Workspace::shipped();
        emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
        foreign_function(&emu, "hand-made", "{}");
        // Drop the function, its trigger and its role.
        let spec = common::without_prod_function_override(&std::fs::read_to_string(ws.path().join("infra.yaml")).unwrap());
        let roles = spec.find("\nroles:").unwrap();
        ws.write_spec(&spec[..roles + 1]);
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_cruddur-infra"));
        cmd.current_dir(ws.path()).args(["--endpoint-url", &emu.url, "-q", "apply", "--yes"]);
        let mut child = isolated(&mut cmd).stdout(std::process::Stdio::null()).spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(after_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
        emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
        // The table and the endpoint stay; the hand-made function and its role stay.
        assert_eq!(
            emu.census(),
            "tables=1 roles=1 functions=1 mappings=0 endpoints=1 queues=1 topics=1 alarms=4",
            "killed after {after_ms} ms"
        );
        assert_eq!(emu.py("print(lam.list_functions()['Functions'][0]['FunctionName'])").trim(), "hand-made");
    }
}

#[test]
fn an_orphan_someone_else_deletes_first_is_done_not_an_error() {
    use std::io::{BufRead, BufReader};
    // A deleted mapping lingers as Deleting for 3 s (rule 28): apply waits for it to go before it
    // deletes the function, which leaves the other actor time to do it first.
    let emu = Emulator::with_args(&["--aws-rules", "--busy-seconds", "3", "--iam-delay", "0"]);
    let ws = Workspace::shipped();
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    without_functions(&ws);
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_cruddur-infra"));
    cmd.current_dir(ws.path()).args(["--endpoint-url", &emu.url, "apply", "--yes"]);
    let mut child = isolated(&mut cmd).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    // Once apply is deleting the trigger (and waiting for it to go), someone else deletes the
    // function that apply will delete next.
    let mut seen = String::new();
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 {
        seen.push_str(&line);
        if line.contains("delete the mapping") {
            emu.py("lam.delete_function(FunctionName='cruddur-messaging-stream')");
            break;
        }
        line.clear();
    }
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "apply failed:\n{seen}{rest}");
    assert!(rest.contains("delete function cruddur-messaging-stream"), "{seen}{rest}");
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
}
