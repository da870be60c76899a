//! Several envs in one account (issue 22 §2): a resource found by name whose ownership tags name
//! another env is never adopted, changed or deleted; `name_suffix` gives an env its own names.

mod common;

use common::*;

/// The shipped spec with a `staging` env in the same account and region (`extra` under it).
fn with_staging(ws: &Workspace, extra: &str, drop_endpoint: bool) {
    let mut spec = std::fs::read_to_string(ws.path().join("infra.yaml")).unwrap();
    spec = spec.replace("environments:\n", &format!("environments:\n  staging:\n    region: us-east-1\n{extra}"));
    if drop_endpoint {
        let (a, b) = (spec.find("vpc_endpoints:").unwrap(), spec.find("roles:").unwrap());
        spec.replace_range(a..b, "");
    }
    ws.write_spec(&spec);
}

#[test]
fn another_envs_resources_are_blocked_never_taken_over() {
    let emu = Emulator::start();
    let ws = Workspace::shipped();
    with_staging(&ws, "", false);
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    let doc = emu.cli(ws.path(), &["--env", "staging", "plan", "--output", "json"]).json();
    for c in doc["changes"].as_array().unwrap() {
        let blocked = c["blocked"].as_str().unwrap_or_else(|| panic!("{} is not blocked: {c}", c["address"]));
        assert!(blocked.contains("owned by stack cruddur, env local"), "{blocked}");
        assert!(!blocked.contains("create-tags"), "{blocked}");
    }
    assert!(doc["steps"].as_array().unwrap().iter().all(|s| s["address"] == "vpc_endpoint.dynamodb"), "{}", doc["steps"]);
    emu.reset_calls();
    let run = emu.cli(ws.path(), &["--env", "staging", "apply", "--yes"]);
    run.expect(1);
    assert!(run.stderr.contains("owned by stack cruddur, env local"), "{}", run.stderr);
    assert!(emu.writes().is_empty(), "{:?}", emu.writes());
    // Nor does staging's destroy touch them.
    let run = emu.cli(ws.path(), &["--env", "staging", "destroy", "--yes", "--allow-data-loss", "dynamodb_table.cruddur-messages"]);
    run.expect(0);
    assert!(emu.writes().is_empty(), "{:?}", emu.writes());
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn a_name_suffix_lets_two_envs_share_an_account() {
    let emu = Emulator::start();
    let ws = Workspace::shipped();
    with_staging(&ws, "    name_suffix: -staging\n", true);
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    let run = emu.cli(ws.path(), &["--env", "staging", "apply", "--yes"]);
    run.expect(0);
    assert!(run.stdout.contains("create table cruddur-messages-staging"), "{}", run.stdout);
    // Addresses stay the spec's keys.
    assert!(run.stdout.contains("dynamodb_table.cruddur-messages will be created"), "{}", run.stdout);
    assert_eq!(emu.census(), "tables=2 roles=2 functions=2 mappings=2 endpoints=0 queues=2 topics=2 alarms=16");
    let out = emu.py(
        "import urllib.parse\n\
         c = lam.get_function_configuration(FunctionName='cruddur-messaging-stream-staging')\n\
         print(c['Role'].split('/')[-1], c['Environment']['Variables']['TABLE_NAME'])\n\
         m = lam.list_event_source_mappings(FunctionName='cruddur-messaging-stream-staging')['EventSourceMappings']\n\
         print(len(m), m[0]['EventSourceArn'].split('/')[1])\n\
         d = iam.get_role_policy(RoleName='cruddur-messaging-stream-staging', PolicyName='cruddur-message-stream-policy')['PolicyDocument']\n\
         print('table/cruddur-messages-staging' in (json.dumps(d) if isinstance(d, dict) else urllib.parse.unquote(d)))",
    );
    assert_eq!(out.trim(), "cruddur-messaging-stream-staging cruddur-messages-staging\n1 cruddur-messages-staging\nTrue");
    for env in ["local", "staging"] {
        emu.cli(ws.path(), &["--env", env, "plan", "--detailed-exitcode"]).expect(0);
    }
    // Each env destroys only its own.
    emu.cli(ws.path(), &["--env", "staging", "destroy", "--yes", "--allow-data-loss", "dynamodb_table.cruddur-messages"]).expect(0);
    assert_eq!(emu.census(), "tables=1 roles=1 functions=1 mappings=1 endpoints=0 queues=1 topics=1 alarms=8");
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
}
