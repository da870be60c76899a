//! `import` (issues 16 and 18): what exists, written back as a spec whose first plan adopts it.
//! The built binary against moto behind the AWS-rules proxy.

mod common;

use common::*;

/// Runs `import ARGS --out DIR` from `ws` (the emulator's endpoint and region on the command line).
fn import(emu: &Emulator, ws: &Workspace, args: &[&str]) -> Run {
    let mut all = vec!["--region", "us-east-1", "import"];
    all.extend_from_slice(args);
    emu.cli(ws.path(), &all)
}

#[test]
fn a_table_made_by_this_tool_round_trips_to_a_spec_with_no_changes() {
    let emu = Emulator::with_aws_rules();
    let table = BASE_TABLE
        .replacen(
            "capacity: { read: 5, write: 5 }",
            "capacity: { read: 5, write: 5, autoscale: { min: 5, max: 50, target_utilization: 70 } }",
            1,
        )
        .replace("projection: all", "projection: { include: [body, user_uuid] }")
        + "    lifecycle: { on_removal: retain }\n    tags: { app: cruddur, \"cost center\": \"a,b\" }\n";
    let ws = Workspace::new(&table_spec(&table));
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);

    let run = import(&emu, &ws, &["--table", "messages", "--out", "imported"]);
    run.expect(0);
    assert!(run.stdout.contains("stack test, env local"), "the ownership tags name them: {}", run.stdout);
    let text = std::fs::read_to_string(ws.path().join("imported/infra.yaml")).unwrap();
    assert!(text.contains("    capacity: { read: 5, write: 5, autoscale: { min: 5, max: 50, target_utilization: 70 } }\n"), "{text}");
    assert!(text.contains("projection: { include: [body, user_uuid] }") && text.contains("lifecycle: { on_removal: retain }"), "{text}");
    assert!(!text.contains("cruddur-infra:"), "the tool's own tags are not spec: {text}");

    emu.reset_calls();
    let dir = ws.path().join("imported");
    emu.cli(&dir, &["plan", "--detailed-exitcode"]).expect(0);
    assert!(emu.writes().is_empty());
}

#[test]
fn a_console_made_table_and_its_scaling_are_adopted_with_only_the_ownership_tags_added() {
    let emu = Emulator::with_aws_rules();
    // As the console makes it: no tags, scaled read and write with the console's policy names.
    emu.py(
        "import time\n\
         ddb.create_table(TableName='cruddur-messages', BillingMode='PROVISIONED',\n\
         \x20   AttributeDefinitions=[{'AttributeName': 'pk', 'AttributeType': 'S'}, {'AttributeName': 'sk', 'AttributeType': 'S'}],\n\
         \x20   KeySchema=[{'AttributeName': 'pk', 'KeyType': 'HASH'}, {'AttributeName': 'sk', 'KeyType': 'RANGE'}],\n\
         \x20   ProvisionedThroughput={'ReadCapacityUnits': 8, 'WriteCapacityUnits': 5},\n\
         \x20   StreamSpecification={'StreamEnabled': True, 'StreamViewType': 'NEW_IMAGE'})\n\
         time.sleep(1.5)\n\
         for d, m in (('Read', 'DynamoDBReadCapacityUtilization'), ('Write', 'DynamoDBWriteCapacityUtilization')):\n\
         \x20   dim = f'dynamodb:table:{d}CapacityUnits'\n\
         \x20   aas.register_scalable_target(ServiceNamespace='dynamodb', ResourceId='table/cruddur-messages', ScalableDimension=dim, MinCapacity=1, MaxCapacity=10)\n\
         \x20   time.sleep(1.2)  # the new target shows a moment later (rule 35)\n\
         \x20   aas.put_scaling_policy(PolicyName=f'{m}:table/cruddur-messages', ServiceNamespace='dynamodb', ResourceId='table/cruddur-messages',\n\
         \x20       ScalableDimension=dim, PolicyType='TargetTrackingScaling',\n\
         \x20       TargetTrackingScalingPolicyConfiguration={'TargetValue': 70.0, 'PredefinedMetricSpecification': {'PredefinedMetricType': m}})\n",
    );
    let arn = || emu.py("print(ddb.describe_table(TableName='cruddur-messages')['Table']['TableArn'])").trim().to_string();
    let before = arn();
    let ws = Workspace::new("");
    std::fs::remove_file(ws.path().join("infra.yaml")).unwrap();
    let run = import(&emu, &ws, &["--table", "cruddur-messages", "--stack", "cruddur", "--out", "."]);
    run.expect(0);
    let text = std::fs::read_to_string(ws.path().join("infra.yaml")).unwrap();
    // The capacity the scaler had set is written as the starting value.
    assert!(text.contains("capacity: { read: 8, write: 5, autoscale: { min: 1, max: 10, target_utilization: 70 } }"), "{text}");

    let plan = emu.cli(ws.path(), &["plan", "--output", "json"]);
    let doc = plan.json();
    let change = &doc["changes"][0];
    let paths: Vec<&str> = change["diffs"].as_array().unwrap().iter().filter_map(|d| d["path"].as_str()).collect();
    assert!(!paths.is_empty() && paths.iter().all(|p| p.starts_with("tags.")), "only ownership tags: {paths:?}");
    assert!(paths.contains(&"tags.cruddur-infra:owner"), "{paths:?}");

    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
    assert_eq!(arn(), before, "the table was not recreated");
    let scaling = emu.py(
        "print(sorted((t['ScalableDimension'], t['MinCapacity'], t['MaxCapacity']) for t in aas.describe_scalable_targets(ServiceNamespace='dynamodb')['ScalableTargets']),\n\
         \x20     sorted(p['PolicyName'] for p in aas.describe_scaling_policies(ServiceNamespace='dynamodb')['ScalingPolicies']))",
    );
    assert_eq!(
        scaling.trim(),
        "[('dynamodb:table:ReadCapacityUnits', 1, 10), ('dynamodb:table:WriteCapacityUnits', 1, 10)] \
         ['DynamoDBReadCapacityUtilization:table/cruddur-messages', 'DynamoDBWriteCapacityUtilization:table/cruddur-messages']"
    );
}

#[test]
fn import_refuses_to_overwrite_a_spec_and_names_what_does_not_exist() {
    let emu = Emulator::start();
    let ws = Workspace::new(&table_spec(BASE_TABLE));
    let run = import(&emu, &ws, &["--table", "messages"]);
    run.expect(1);
    assert!(run.stderr.contains("infra.yaml exists") && run.stderr.contains("--force"), "{}", run.stderr);
    let run = import(&emu, &ws, &["--table", "nothing-here", "--force"]);
    run.expect(1);
    assert!(run.stderr.contains("dynamodb_table nothing-here does not exist in us-east-1"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(ws.path().join("infra.yaml")).unwrap(), table_spec(BASE_TABLE), "nothing was written");
    assert!(emu.writes().is_empty());
}

/// The course's stack as the console leaves it: the table from `schema-load`, a `Name`-tagged
/// endpoint, a generated role under `/service-role/`, a python3.9 function in two subnets with a
/// 3 s timeout, and its trigger with the console's batch size of 100.
const CONSOLE_STACK: &str = r#"
import io, json, time, zipfile
ddb.create_table(TableName='cruddur-messages', BillingMode='PROVISIONED',
    AttributeDefinitions=[{'AttributeName': n, 'AttributeType': 'S'} for n in ('pk', 'sk', 'message_group_uuid')],
    KeySchema=[{'AttributeName': 'pk', 'KeyType': 'HASH'}, {'AttributeName': 'sk', 'KeyType': 'RANGE'}],
    GlobalSecondaryIndexes=[{'IndexName': 'message-group-sk-index',
        'KeySchema': [{'AttributeName': 'message_group_uuid', 'KeyType': 'HASH'}, {'AttributeName': 'sk', 'KeyType': 'RANGE'}],
        'Projection': {'ProjectionType': 'ALL'}, 'ProvisionedThroughput': {'ReadCapacityUnits': 5, 'WriteCapacityUnits': 5}}],
    ProvisionedThroughput={'ReadCapacityUnits': 5, 'WriteCapacityUnits': 5},
    StreamSpecification={'StreamEnabled': True, 'StreamViewType': 'NEW_IMAGE'})
table = ddb.describe_table(TableName='cruddur-messages')['Table']
vpc = ec2.describe_vpcs(Filters=[{'Name': 'is-default', 'Values': ['true']}])['Vpcs'][0]['VpcId']
rts = [r['RouteTableId'] for r in ec2.describe_route_tables(Filters=[{'Name': 'vpc-id', 'Values': [vpc]}])['RouteTables']]
ec2.create_vpc_endpoint(VpcId=vpc, ServiceName='com.amazonaws.us-east-1.dynamodb', VpcEndpointType='Gateway', RouteTableIds=rts,
    TagSpecifications=[{'ResourceType': 'vpc-endpoint', 'Tags': [{'Key': 'Name', 'Value': 'cruddur-ddb'}]}])
role = iam.create_role(RoleName='cruddur-messaging-stream-role-3kq9x1zp', Path='/service-role/',
    AssumeRolePolicyDocument=json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow',
        'Principal': {'Service': 'lambda.amazonaws.com'}, 'Action': 'sts:AssumeRole'}]}))['Role']
for p in ('AWSLambdaInvocation-DynamoDB', 'service-role/AWSLambdaBasicExecutionRole', 'service-role/AWSLambdaVPCAccessExecutionRole'):
    iam.attach_role_policy(RoleName=role['RoleName'], PolicyArn=f'arn:aws:iam::aws:policy/{p}')
iam.put_role_policy(RoleName=role['RoleName'], PolicyName='cruddur-message-stream-policy', PolicyDocument=json.dumps({
    'Version': '2012-10-17', 'Statement': [
        {'Sid': 'VisualEditor0', 'Effect': 'Allow', 'Action': ['dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:Query'],
         'Resource': [table['TableArn'] + '/index/message-group-sk-index', table['TableArn']]},
        {'Sid': 'VisualEditor1', 'Effect': 'Allow', 'Action': 'logs:CreateLogGroup',
         'Resource': 'arn:aws:logs:us-east-1:123456789012:*'}]}))
subnets = sorted(s['SubnetId'] for s in ec2.describe_subnets(Filters=[{'Name': 'vpc-id', 'Values': [vpc]}])['Subnets'])[:2]
sg = ec2.describe_security_groups(Filters=[{'Name': 'vpc-id', 'Values': [vpc]}, {'Name': 'group-name', 'Values': ['default']}])['SecurityGroups'][0]['GroupId']
b = io.BytesIO(); z = zipfile.ZipFile(b, 'w', zipfile.ZIP_DEFLATED)
z.writestr('lambda_function.py', 'import os\n\ndef lambda_handler(event, context):\n    return {"table": os.environ["TABLE_NAME"]}\n')
z.close()
lam.create_function(FunctionName='cruddur-messaging-stream', Runtime='python3.9', Role=role['Arn'], Handler='lambda_function.lambda_handler',
    Code={'ZipFile': b.getvalue()}, Timeout=3, MemorySize=128, Environment={'Variables': {'TABLE_NAME': 'cruddur-messages'}},
    VpcConfig={'SubnetIds': subnets, 'SecurityGroupIds': [sg]})
time.sleep(1.2)
lam.create_event_source_mapping(FunctionName='cruddur-messaging-stream', EventSourceArn=table['LatestStreamArn'],
    StartingPosition='LATEST', BatchSize=100)
"#;

/// Every identifier the adoption must keep.
const IDS: &str = r#"
t = ddb.describe_table(TableName='cruddur-messages')['Table']
f = lam.get_function(FunctionName='cruddur-messaging-stream')['Configuration']
eps = [e['VpcEndpointId'] for e in ec2.describe_vpc_endpoints()['VpcEndpoints'] if e['State'] != 'deleted']
ms = [m['UUID'] for m in lam.list_event_source_mappings(FunctionName='cruddur-messaging-stream')['EventSourceMappings']]
print(t['TableArn'], iam.get_role(RoleName='cruddur-messaging-stream-role-3kq9x1zp')['Role']['RoleId'], f['FunctionArn'], f['CodeSha256'], eps, ms)
"#;

#[test]
fn a_console_made_stack_is_imported_and_adopted_with_nothing_recreated() {
    let emu = Emulator::with_busy_seconds("1.0");
    emu.py(CONSOLE_STACK);
    let before = emu.py(IDS);
    let ws = Workspace::new("");
    std::fs::remove_file(ws.path().join("infra.yaml")).unwrap();

    let run = import(&emu, &ws, &["--function", "cruddur-messaging-stream", "--stack", "cruddur", "--out", "cruddur"]);
    run.expect(0);
    let dir = ws.path().join("cruddur");
    let text = std::fs::read_to_string(dir.join("infra.yaml")).unwrap();
    for expected in [
        "    path: /service-role/\n",
        "    runtime: python3.9\n",
        "    timeout_s: 3\n",
        "    subnets: [subnet-",
        "    security_groups: [sg-",
        "batch_size: 100",
        "    adopt: vpce-",
        "TABLE_NAME: \"${tables.cruddur-messages.name}\"",
    ] {
        assert!(text.contains(expected), "{expected:?} in:\n{text}");
    }
    let policy = std::fs::read_to_string(dir.join("policies/cruddur-message-stream-policy.json")).unwrap();
    assert!(
        policy.contains("\"${tables.cruddur-messages.arn}/index/message-group-sk-index\"")
            && policy.contains("arn:aws:logs:${aws.region}:${aws.account_id}:*"),
        "{policy}"
    );
    assert!(std::fs::read_to_string(dir.join("lambda/cruddur-messaging-stream/lambda_function.py")).unwrap().contains("lambda_handler"));

    // The first plan adds only this tool's ownership tags: no create, replace, delete or other field.
    let plan = emu.cli(&dir, &["plan", "--output", "json"]);
    let doc = plan.json();
    for c in doc["changes"].as_array().unwrap() {
        assert!(matches!(c["action"].as_str(), Some("update" | "no-op")), "{c}");
        let paths: Vec<&str> = c["diffs"].as_array().unwrap().iter().filter_map(|d| d["path"].as_str()).collect();
        assert!(paths.iter().all(|p| p.starts_with("tags.")), "{}: {paths:?}", c["address"]);
    }
    emu.cli(&dir, &["apply", "--yes"]).expect(0);
    emu.cli(&dir, &["plan", "--detailed-exitcode"]).expect(0);
    let after = emu.py(IDS);
    assert_eq!(after, before, "the same table, role, function, code, one endpoint and one mapping");
    assert!(after.contains("['vpce-") && after.matches("vpce-").count() == 1, "{after}");
}

#[test]
fn a_function_in_no_vpc_never_adopts_the_default_vpcs_endpoint() {
    // The default VPC's DynamoDB endpoint is someone else's (it routes every workload there); a
    // function in no VPC does not use it: importing the function must not adopt it, or `destroy`
    // would delete it.
    let emu = Emulator::with_busy_seconds("1.0");
    let stack = CONSOLE_STACK.replace(",\n    VpcConfig={'SubnetIds': subnets, 'SecurityGroupIds': [sg]})", ")");
    assert!(!stack.contains("VpcConfig"), "the function is made in no VPC");
    emu.py(&stack);
    let ws = Workspace::new("");
    std::fs::remove_file(ws.path().join("infra.yaml")).unwrap();
    import(&emu, &ws, &["--function", "cruddur-messaging-stream", "--stack", "cruddur", "--out", "cruddur"]).expect(0);
    let dir = ws.path().join("cruddur");
    let text = std::fs::read_to_string(dir.join("infra.yaml")).unwrap();
    assert!(!text.contains("vpc_endpoints") && !text.contains("adopt:"), "{text}");
    let plan = emu.cli(&dir, &["plan", "--output", "json"]).json();
    let addresses: Vec<&str> = plan["changes"].as_array().unwrap().iter().filter_map(|c| c["address"].as_str()).collect();
    assert!(addresses.iter().all(|a| !a.starts_with("vpc_endpoint.")), "{addresses:?}");
}

#[test]
fn the_shipped_stack_round_trips_through_import_with_no_change_at_all() {
    let emu = Emulator::with_busy_seconds("1.0");
    let ws = Workspace::shipped();
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    let run = import(&emu, &ws, &["--function", "cruddur-messaging-stream", "--out", "again"]);
    run.expect(0);
    assert!(run.stdout.contains("stack cruddur, env local"), "taken from the ownership tags: {}", run.stdout);
    // The trigger's dead-letter queue came with it, named by its key in the trigger and the policy.
    let spec = std::fs::read_to_string(ws.path().join("again/infra.yaml")).unwrap();
    assert!(spec.contains("on_failure: cruddur-messaging-stream-dlq") && spec.contains("message_retention_s: 1209600"), "{spec}");
    let policy = std::fs::read_to_string(ws.path().join("again/policies/cruddur-message-stream-policy.json")).unwrap();
    assert!(policy.contains("${queues.cruddur-messaging-stream-dlq.arn}"), "{policy}");
    emu.reset_calls();
    emu.cli(&ws.path().join("again"), &["plan", "--detailed-exitcode"]).expect(0);
    assert!(emu.writes().is_empty());
    // A second import into the same folder refuses to write over it.
    let run = import(&emu, &ws, &["--function", "cruddur-messaging-stream", "--out", "again"]);
    run.expect(1);
}

#[test]
fn deployed_code_that_would_escape_its_folder_is_refused_and_nothing_is_written() {
    let emu = Emulator::with_busy_seconds("0.3");
    for (entry, link) in [("../evil.py", false), ("/tmp/evil.py", false), ("alias.py", true)] {
        emu.py(&format!(
            "import io, json, zipfile, time\n\
             try:\n    iam.create_role(RoleName='r', AssumeRolePolicyDocument=json.dumps({{'Version': '2012-10-17', 'Statement': []}}))\nexcept Exception:\n    pass\n\
             b = io.BytesIO(); z = zipfile.ZipFile(b, 'w')\n\
             z.writestr('lambda_function.py', 'x = 1')\n\
             info = zipfile.ZipInfo({entry:?})\n\
             if {link}:\n    info.external_attr = 0o120777 << 16\n\
             z.writestr(info, '/etc/passwd' if {link} else 'x = 2')\nz.close()\n\
             try:\n    lam.delete_function(FunctionName='f')\nexcept Exception:\n    pass\n\
             lam.create_function(FunctionName='f', Runtime='python3.12', Role='arn:aws:iam::123456789012:role/r', Handler='lambda_function.h', Code={{'ZipFile': b.getvalue()}})",
            link = if link { "True" } else { "False" }
        ));
        let ws = Workspace::new("");
        std::fs::remove_file(ws.path().join("infra.yaml")).unwrap();
        let run = import(&emu, &ws, &["--function", "f", "--out", "out"]);
        run.expect(1);
        let why = if link { "is a symbolic link; refused" } else { "would be written outside its folder; refused" };
        assert!(run.stderr.contains(&format!("the deployed code of function f: entry `{entry}` {why}")), "{}", run.stderr);
        assert!(!ws.path().join("out").exists() && !ws.path().join("evil.py").exists(), "nothing was written");
    }
}
