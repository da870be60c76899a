//! The IAM role kind end to end against the emulator: documents compared by meaning,
//! broadening marked, managed policies as a set.

mod common;

use common::*;

const ROLE_SPEC: &str = "\
version: 1
stack: test
default_env: local
environments:
  local:
    region: us-east-1
tables:
  messages:
    partition_key: { name: pk, type: S }
    billing: on_demand
    global_secondary_indexes:
      by-group:
        partition_key: { name: g, type: S }
        projection: keys_only
roles:
  stream-fn:
    trust: [lambda.amazonaws.com]
    managed_policies:
      - arn:aws:iam::aws:policy/AWSLambdaInvocation-DynamoDB
      - arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole
    inline_policies:
      table-access: policies/table.json
";

const POLICY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": ["dynamodb:PutItem", "dynamodb:DeleteItem"], "Resource": "${tables.messages.arn}"},
    {"Effect": "Allow", "Action": "dynamodb:Query",
     "Resource": ["${tables.messages.arn}", "${tables.messages.arn}/index/by-group"]}
  ]
}"#;

fn setup() -> (Emulator, Workspace) {
    let emu = Emulator::with_aws_rules();
    let ws = Workspace::new(ROLE_SPEC);
    ws.write("policies/table.json", POLICY);
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    (emu, ws)
}

fn role_change(run: &Run) -> serde_json::Value {
    run.json()["changes"].as_array().unwrap().iter().find(|c| c["address"] == "iam_role.stream-fn").unwrap().clone()
}

#[test]
fn create_resolves_references_and_the_second_plan_is_clean() {
    let (emu, ws) = setup();
    emu.reset_calls();
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
    assert!(emu.writes().is_empty());
    let doc = emu.py("print(json.dumps(iam.get_role_policy(RoleName='stream-fn', PolicyName='table-access')['PolicyDocument']))");
    assert!(doc.contains("arn:aws:dynamodb:us-east-1:123456789012:table/messages/index/by-group"), "{doc}");
    let attached =
        emu.py("print(sorted(p['PolicyArn'] for p in iam.list_attached_role_policies(RoleName='stream-fn')['AttachedPolicies']))");
    assert!(attached.contains("AWSLambdaInvocation-DynamoDB") && attached.contains("service-role/AWSLambdaBasicExecutionRole"));
    let tags = emu.py("print(sorted(t['Key'] for t in iam.list_role_tags(RoleName='stream-fn')['Tags']))");
    assert!(tags.contains("managed-by"), "{tags}");
}

#[test]
fn an_inline_action_added_out_of_band_is_a_broadening_update_and_is_reverted() {
    let (emu, ws) = setup();
    emu.py("doc = {'Version': '2012-10-17', 'Statement': [\n\
         {'Effect': 'Allow', 'Action': ['dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:Scan'],\n\
          'Resource': 'arn:aws:dynamodb:us-east-1:123456789012:table/messages'},\n\
         {'Effect': 'Allow', 'Action': 'dynamodb:Query', 'Resource': ['arn:aws:dynamodb:us-east-1:123456789012:table/messages',\n\
          'arn:aws:dynamodb:us-east-1:123456789012:table/messages/index/by-group']}]}\n\
         iam.put_role_policy(RoleName='stream-fn', PolicyName='table-access', PolicyDocument=json.dumps(doc))");
    let run = emu.cli(ws.path(), &["plan", "--detailed-exitcode", "--output", "json"]);
    run.expect(2);
    let change = role_change(&run);
    assert_eq!(change["action"], "update");
    assert_eq!(change["diffs"].as_array().unwrap().len(), 1);
    assert_eq!(change["diffs"][0]["path"], "inline_policies.table-access");
    // Going back to the spec narrows the grant: not marked as broadening.
    assert!(change["diffs"][0].get("broadens").is_none());
    let human = emu.cli(ws.path(), &["plan"]);
    assert!(human.stdout.contains("-         \"dynamodb:Scan\""), "{}", human.stdout);
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn a_spec_change_that_adds_an_action_is_marked_as_broadening() {
    let (emu, ws) = setup();
    ws.write("policies/table.json", &POLICY.replace("\"dynamodb:DeleteItem\"]", "\"dynamodb:DeleteItem\", \"dynamodb:UpdateItem\"]"));
    let run = emu.cli(ws.path(), &["plan", "--output", "json"]);
    let change = role_change(&run);
    let b = change["diffs"][0]["broadens"].as_str().unwrap();
    assert!(b.contains("allows dynamodb:UpdateItem on arn:aws:dynamodb:us-east-1:123456789012:table/messages"), "{b}");
    let human = emu.cli(ws.path(), &["plan"]);
    assert!(human.stdout.contains("[broadens permissions]"), "{}", human.stdout);
}

#[test]
fn a_reordered_but_equal_policy_written_out_of_band_is_not_a_change() {
    let (emu, ws) = setup();
    emu.py("doc = {'Statement': [\n\
         {'Resource': ['arn:aws:dynamodb:us-east-1:123456789012:table/messages/index/by-group',\n\
          'arn:aws:dynamodb:us-east-1:123456789012:table/messages'], 'Action': ['dynamodb:Query'], 'Effect': 'Allow'},\n\
         {'Action': ['dynamodb:DeleteItem', 'dynamodb:PutItem'], 'Effect': 'Allow',\n\
          'Resource': ['arn:aws:dynamodb:us-east-1:123456789012:table/messages']}], 'Version': '2012-10-17'}\n\
         iam.put_role_policy(RoleName='stream-fn', PolicyName='table-access', PolicyDocument=json.dumps(doc))\n\
         iam.update_assume_role_policy(RoleName='stream-fn', PolicyDocument=json.dumps({'Version': '2012-10-17',\n\
          'Statement': {'Action': ['sts:AssumeRole'], 'Principal': {'Service': 'lambda.amazonaws.com'}, 'Effect': 'Allow'}}))");
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn a_detached_managed_policy_is_reattached_and_extras_are_removed() {
    let (emu, ws) = setup();
    emu.py("iam.detach_role_policy(RoleName='stream-fn', PolicyArn='arn:aws:iam::aws:policy/AWSLambdaInvocation-DynamoDB')\n\
         iam.attach_role_policy(RoleName='stream-fn', PolicyArn='arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess')\n\
         iam.put_role_policy(RoleName='stream-fn', PolicyName='extra', PolicyDocument=json.dumps({'Version': '2012-10-17',\n\
          'Statement': [{'Effect': 'Allow', 'Action': 's3:GetObject', 'Resource': '*'}]}))");
    let run = emu.cli(ws.path(), &["plan", "--detailed-exitcode", "--output", "json"]);
    run.expect(2);
    let paths: Vec<String> =
        role_change(&run)["diffs"].as_array().unwrap().iter().map(|d| d["path"].as_str().unwrap().to_string()).collect();
    assert_eq!(
        paths,
        [
            "inline_policies.extra",
            "managed_policies.arn:aws:iam::aws:policy/AWSLambdaInvocation-DynamoDB",
            "managed_policies.arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
        ]
    );
    emu.reset_calls();
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    let writes = emu.writes();
    assert_eq!(
        writes.iter().filter(|w| w.starts_with("iam:")).cloned().collect::<Vec<_>>(),
        ["iam:DeleteRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy"]
    );
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn a_trust_change_out_of_band_is_updated_in_place() {
    let (emu, ws) = setup();
    emu.py(
        "iam.update_assume_role_policy(RoleName='stream-fn', PolicyDocument=json.dumps({'Version': '2012-10-17',\n\
          'Statement': [{'Effect': 'Allow', 'Principal': {'Service': ['lambda.amazonaws.com', 'ec2.amazonaws.com']}, 'Action': 'sts:AssumeRole'}]}))",
    );
    let run = emu.cli(ws.path(), &["plan", "--output", "json"]);
    assert_eq!(role_change(&run)["diffs"][0]["path"], "trust");
    emu.reset_calls();
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    assert!(emu.writes().contains(&"iam:UpdateAssumeRolePolicy".to_string()));
    assert!(!emu.writes().contains(&"iam:CreateRole".to_string()));
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
}
