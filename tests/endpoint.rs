//! The VPC gateway endpoint kind end to end against the emulator.

mod common;

use common::*;

fn spec(extra: &str) -> String {
    format!(
        "version: 1\nstack: test\ndefault_env: local\nenvironments:\n  local:\n    region: us-east-1\n\
         vpc_endpoints:\n  dynamodb:\n    service: dynamodb\n    vpc: default\n    route_tables: all\n{extra}"
    )
}

const POLICY: &str = r#"{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Principal": "*", "Action": ["dynamodb:Query", "dynamodb:PutItem"], "Resource": "${tables.messages.arn}"}]}"#;

const TABLE: &str = "tables:\n  messages:\n    partition_key: { name: pk, type: S }\n    billing: on_demand\n";

fn default_vpc(emu: &Emulator) -> String {
    emu.py("print(ec2.describe_vpcs(Filters=[{'Name': 'isDefault', 'Values': ['true']}])['Vpcs'][0]['VpcId'])").trim().to_string()
}

fn endpoint_route_tables(emu: &Emulator) -> String {
    emu.py("eps = [e for e in ec2.describe_vpc_endpoints()['VpcEndpoints'] if e['State'] != 'deleted']\n\
         print(len(eps), sorted(eps[0]['RouteTableIds']))")
        .trim()
        .to_string()
}

#[test]
fn create_on_all_route_tables_then_a_clean_plan() {
    let emu = Emulator::start();
    let ws = Workspace::new(&spec(""));
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    let vpc = default_vpc(&emu);
    let rts = emu.py(&format!("print(sorted(r['RouteTableId'] for r in ec2.describe_route_tables(Filters=[{{'Name': 'vpc-id', 'Values': ['{vpc}']}}])['RouteTables']))"));
    assert_eq!(endpoint_route_tables(&emu), format!("1 {}", rts.trim()));
    emu.reset_calls();
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
    assert!(emu.writes().is_empty());
    // Applying again creates nothing.
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    assert_eq!(emu.count("CreateVpcEndpoint"), 0);
}

#[test]
fn route_table_changes_out_of_band_are_fixed_by_set_deltas_never_by_recreating() {
    let emu = Emulator::start();
    let ws = Workspace::new(&spec(""));
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    let vpc = default_vpc(&emu);
    // Someone removes the main route table from the endpoint, and adds a new route table to the VPC.
    let (main_rt, new_rt) = {
        let out = emu.py(&format!(
            "ep = [e for e in ec2.describe_vpc_endpoints()['VpcEndpoints'] if e['State'] != 'deleted'][0]\n\
             rt = ep['RouteTableIds'][0]\n\
             ec2.modify_vpc_endpoint(VpcEndpointId=ep['VpcEndpointId'], RemoveRouteTableIds=[rt])\n\
             new = ec2.create_route_table(VpcId='{vpc}')['RouteTable']['RouteTableId']\n\
             print(rt, new)"
        ));
        let mut it = out.split_whitespace().map(str::to_string);
        (it.next().unwrap(), it.next().unwrap())
    };
    let run = emu.cli(ws.path(), &["plan", "--detailed-exitcode", "--output", "json"]);
    run.expect(2);
    let change = &run.json()["changes"][0];
    assert_eq!(change["address"], "vpc_endpoint.dynamodb");
    assert_eq!(change["action"], "update");
    let mut paths: Vec<String> = change["diffs"].as_array().unwrap().iter().map(|d| d["path"].as_str().unwrap().to_string()).collect();
    paths.sort();
    let mut want = vec![format!("route_tables.{main_rt}"), format!("route_tables.{new_rt}")];
    want.sort();
    assert_eq!(paths, want);
    emu.reset_calls();
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    assert_eq!(emu.writes(), ["ec2:ModifyVpcEndpoint"]);
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
    assert!(endpoint_route_tables(&emu).starts_with("1 "));
}

#[test]
fn an_endpoint_policy_change_is_an_in_place_update() {
    let emu = Emulator::start();
    let ws = Workspace::new(&format!("{}    policy: policies/endpoint.json\n{TABLE}", spec("")));
    ws.write("policies/endpoint.json", POLICY);
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
    ws.write("policies/endpoint.json", &POLICY.replace("\"dynamodb:PutItem\"", "\"dynamodb:PutItem\", \"dynamodb:GetItem\""));
    let run = emu.cli(ws.path(), &["plan", "--output", "json"]);
    let change = run.json()["changes"].as_array().unwrap().iter().find(|c| c["address"] == "vpc_endpoint.dynamodb").unwrap().clone();
    assert_eq!(change["diffs"][0]["path"], "policy");
    assert!(change["diffs"][0]["broadens"].as_str().unwrap().contains("dynamodb:GetItem"));
    emu.reset_calls();
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    assert_eq!(emu.writes(), ["ec2:ModifyVpcEndpoint"]);
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
    // Dropping the policy from the spec resets AWS's default.
    ws.write_spec(&format!("{}{TABLE}", spec("")));
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn someone_elses_endpoint_is_reported_not_adopted() {
    let emu = Emulator::start();
    let vpc = default_vpc(&emu);
    let foreign = emu.py(&format!(
        "print(ec2.create_vpc_endpoint(VpcId='{vpc}', ServiceName='com.amazonaws.us-east-1.dynamodb', \
         VpcEndpointType='Gateway')['VpcEndpoint']['VpcEndpointId'])"
    ));
    let foreign = foreign.trim();
    let ws = Workspace::new(&spec(""));
    let run = emu.cli(ws.path(), &["plan", "--output", "json"]);
    let change = &run.json()["changes"][0];
    assert_eq!(change["action"], "create");
    let blocked = change["blocked"].as_str().unwrap();
    assert!(blocked.contains(foreign) && blocked.contains("create-tags"), "{blocked}");
    emu.reset_calls();
    let run = emu.cli(ws.path(), &["apply", "--yes"]);
    run.expect(1);
    assert!(run.stderr.contains(foreign), "{}", run.stderr);
    assert!(emu.writes().is_empty());
}

#[test]
fn an_endpoint_named_by_adopt_is_taken_over_with_only_tags_and_a_wrong_id_creates_nothing() {
    let emu = Emulator::start();
    let vpc = default_vpc(&emu);
    // As the console makes it: on every route table of the VPC, with a Name tag.
    let id = emu.py(&format!(
        "rts = [r['RouteTableId'] for r in ec2.describe_route_tables(Filters=[{{'Name': 'vpc-id', 'Values': ['{vpc}']}}])['RouteTables']]\n\
         print(ec2.create_vpc_endpoint(VpcId='{vpc}', ServiceName='com.amazonaws.us-east-1.dynamodb', VpcEndpointType='Gateway', \
         RouteTableIds=rts, TagSpecifications=[{{'ResourceType': 'vpc-endpoint', 'Tags': [{{'Key': 'Name', 'Value': 'cruddur-ddb'}}]}}])['VpcEndpoint']['VpcEndpointId'])"
    ));
    let id = id.trim();

    let ws = Workspace::new(&spec("    adopt: vpce-0123456789abcdef0\n"));
    let run = emu.cli(ws.path(), &["plan", "--output", "json"]);
    let blocked = run.json()["changes"][0]["blocked"].as_str().unwrap_or("").to_string();
    assert!(blocked.contains("`adopt: vpce-0123456789abcdef0` names no gateway endpoint"), "{blocked}");
    emu.cli(ws.path(), &["apply", "--yes"]).expect(1);

    ws.write_spec(&spec(&format!("    adopt: {id}\n")));
    let run = emu.cli(ws.path(), &["plan", "--output", "json"]);
    let doc = run.json();
    let change = &doc["changes"][0];
    assert_eq!(change["action"], "update", "{change}");
    let paths: Vec<&str> = change["diffs"].as_array().unwrap().iter().filter_map(|d| d["path"].as_str()).collect();
    assert!(paths.iter().all(|p| p.starts_with("tags.cruddur-infra:") || *p == "tags.managed-by"), "{paths:?}");
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    emu.cli(ws.path(), &["plan", "--detailed-exitcode"]).expect(0);
    let after = emu.py("eps = [e for e in ec2.describe_vpc_endpoints()['VpcEndpoints'] if e['State'] != 'deleted']\n\
         print(len(eps), eps[0]['VpcEndpointId'], {t['Key']: t['Value'] for t in eps[0]['Tags']}.get('Name'))");
    assert_eq!(after.trim(), format!("1 {id} cruddur-ddb"), "the same endpoint, its own tags kept");
}
