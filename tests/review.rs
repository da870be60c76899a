//! The plan a reviewer reads (issue 33): its cost, priced from the repository's table of prices,
//! and its markdown, which leads with the risks. The built binary against the emulator.

mod common;

use common::*;

/// (price per RCU-hour, per WCU-hour, per alarm-month) in us-east-1, from pricing/prices.json.
fn prices() -> (f64, f64, f64) {
    let t: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(repo().join("pricing/prices.json")).unwrap()).unwrap();
    let r = &t["regions"]["us-east-1"];
    let f = |v: &serde_json::Value| v.as_f64().unwrap();
    (f(&r["dynamodb"]["standard"]["rcu_hour"]), f(&r["dynamodb"]["standard"]["wcu_hour"]), f(&r["cloudwatch"]["alarm_month"]))
}

fn round(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

#[test]
fn the_shipped_plan_prices_its_table_and_index_and_its_alarms_from_the_price_table() {
    let emu = Emulator::start();
    let ws = Workspace::shipped();
    let plan = emu.cli(ws.path(), &["plan", "--output", "json"]).json();
    let (rcu, wcu, alarm) = prices();
    let changes = plan["changes"].as_array().unwrap();
    let cost = |address: &str| changes.iter().find(|c| c["address"] == address).unwrap()["cost"].clone();
    // The table and its index: 5 RCU and 5 WCU each, 730 hours a month; a new table has no size
    // for point-in-time recovery to charge (and local does not turn it on).
    let table = round((5.0 + 5.0) * rcu * 730.0 + (5.0 + 5.0) * wcu * 730.0);
    assert_eq!(cost("dynamodb_table.cruddur-messages"), serde_json::json!({"monthly_usd_before": 0.0, "monthly_usd_after": table}));
    let alarms: Vec<&serde_json::Value> =
        changes.iter().filter(|c| c["address"].as_str().unwrap().starts_with("cloudwatch_alarm.")).collect();
    assert_eq!(alarms.len(), 8);
    for a in &alarms {
        assert_eq!(a["cost"]["monthly_usd_after"], alarm, "{a}");
    }
    // What is used, not provisioned, is not priced: the function, the queue, the topic.
    for a in ["lambda_function.cruddur-messaging-stream", "sqs_queue.cruddur-messaging-stream-dlq", "sns_topic.cruddur-alerts"] {
        assert!(cost(a).is_null(), "{a} is priced");
    }
    let total = round(table + 8.0 * alarm);
    assert_eq!(plan["summary"]["cost"]["monthly_usd_delta"], total, "{}", plan["summary"]);
    let human = emu.cli(ws.path(), &["plan"]);
    assert!(human.stdout.contains(&format!("Cost: +${total:.2}/month")), "{}", human.stdout);
    assert!(human.stdout.contains("usage is not priced"), "{}", human.stdout);

    // Applied, the plan prices the live table the same: no change, no delta.
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);
    let plan = emu.cli(ws.path(), &["plan", "--output", "json"]).json();
    assert_eq!(plan["summary"]["cost"]["monthly_usd_delta"], 0.0, "{}", plan["summary"]);
    // Twice the capacity: the delta is the table's and the index's extra units exactly.
    ws.write_spec(
        &std::fs::read_to_string(ws.path().join("infra.yaml"))
            .unwrap()
            .replace("capacity: { read: 5, write: 5 }", "capacity: { read: 10, write: 10 }"),
    );
    let plan = emu.cli(ws.path(), &["plan", "--output", "json"]).json();
    assert_eq!(plan["summary"]["cost"]["monthly_usd_delta"], table, "{}", plan["summary"]);
}

#[test]
fn the_markdown_comment_leads_with_the_risks_of_a_change() {
    let emu = Emulator::start();
    let ws = Workspace::shipped();
    let md = emu.cli(ws.path(), &["plan", "--output", "markdown"]);
    md.expect(0);
    assert_eq!(md.stdout.lines().next().unwrap(), "<!-- cruddur-infra: stack=cruddur env=local -->");
    // A new role's grants are permissions broadened: a reviewer reads what it may do.
    assert!(
        md.stdout.contains("- :warning: **permissions broadened**: `iam_role.cruddur-messaging-stream`: managed_policies."),
        "{}",
        md.stdout
    );
    assert!(md.stdout.contains("<details><summary><code>dynamodb_table.cruddur-messages</code>"), "{}", md.stdout);
    emu.cli(ws.path(), &["apply", "--yes"]).expect(0);

    // The trigger restarts its position, the table's throttle alarms go away.
    let spec = std::fs::read_to_string(ws.path().join("infra.yaml")).unwrap();
    let spec = spec
        .replace("starting_position: latest", "starting_position: trim_horizon")
        .replace("    monitoring: { notify: [cruddur-alerts] }\n", "");
    ws.write_spec(&spec);
    let md = emu.cli(ws.path(), &["plan", "--output", "markdown", "--detailed-exitcode"]);
    md.expect(2);
    let out = &md.stdout;
    let risks = out.find("**Risks (5)**").unwrap_or_else(|| panic!("{out}"));
    let changes = out.find("**Changes**").unwrap();
    assert!(risks < changes, "{out}");
    let risk_lines: Vec<&str> = out[risks..changes].lines().filter(|l| l.starts_with("- :warning:")).collect();
    assert_eq!(risk_lines.len(), 5, "{out}");
    assert!(risk_lines[0].contains("**trigger replaced**") && risk_lines[0].contains("TRIM_HORIZON"), "{out}");
    assert_eq!(risk_lines.iter().filter(|l| l.contains("**alarm removed or silenced**")).count(), 4, "{out}");
    assert!(out.contains("Cost: -\\$0.40/month"), "{out}");
    // The JSON plan carries the same risks.
    let plan = emu.cli(ws.path(), &["plan", "--output", "json"]).json();
    let kinds: Vec<&str> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["risks"].as_array().into_iter().flatten())
        .filter_map(|r| r["kind"].as_str())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "alarm_silenced").count(), 4, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "position_restarts").count(), 1, "{kinds:?}");
}
