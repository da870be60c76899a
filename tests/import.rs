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
