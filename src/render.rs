//! Renderers: they read only the plan (and `status`'s report, its own plain data).

use std::fmt::Write;

use anstyle::{AnsiColor, Style};
use serde_json::Value;

use crate::plan::{Action, Plan};

fn paint(color: bool, style: Style, text: &str) -> String {
    if color {
        format!("{}{text}{}", style.render(), style.render_reset())
    } else {
        text.to_string()
    }
}

fn action_style(a: Action) -> Style {
    let c = match a {
        Action::Create => AnsiColor::Green,
        Action::Update => AnsiColor::Yellow,
        Action::Replace | Action::Delete => AnsiColor::Red,
        Action::NoOp => AnsiColor::BrightBlack,
    };
    Style::new().fg_color(Some(c.into()))
}

fn action_words(a: Action) -> &'static str {
    match a {
        Action::Create => "will be created",
        Action::Update => "will be updated in place",
        Action::Replace => "must be replaced",
        Action::Delete => "will be destroyed",
        Action::NoOp => "is up to date",
    }
}

/// The account a plan was made in, or that it was not read (a run that needed no ARN).
pub fn account(plan: &Plan) -> &str {
    if plan.account_id.is_empty() {
        "not read"
    } else {
        &plan.account_id
    }
}

/// A value as a reviewer reads it: strings bare, null as `(none)`, the rest as compact JSON.
/// Values are data read from AWS: control characters are shown escaped, never sent to the
/// terminal (an `ESC]0;` or `ESC[2J` would repaint it, a newline would forge lines).
pub fn value(v: &Value) -> String {
    match v {
        Value::Null => "(none)".into(),
        Value::String(s) => text(s),
        other => text(&other.to_string()),
    }
}

/// `s` with every control character (newlines included) escaped as `\n`, `\u{1b}`, ...
pub fn text(s: &str) -> String {
    escape_controls(s, false)
}

/// `s` with control characters escaped; with `keep_newlines`, line breaks stay (for messages
/// the tool writes over several lines).
pub fn escape_controls(s: &str, keep_newlines: bool) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' if keep_newlines => out.push('\n'),
            c if c.is_control() => out.extend(c.escape_debug()),
            c => out.push(c),
        }
    }
    out
}

/// A markdown code span holding `s` safely inside a table cell: control characters escaped,
/// pipes escaped (a GFM table splits on them even in code), and a fence longer than any run of
/// backticks in `s` (CommonMark), so nothing in it can end the span or the row. HTML inside a
/// code span is shown, not rendered.
pub fn md_code(s: &str) -> String {
    let s = text(s).replace('|', "\\|");
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') { " " } else { "" };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// A policy document (trust, inline or endpoint policy).
fn is_document(v: &Value) -> bool {
    v.get("Statement").is_some()
}

fn broadens_line(out: &mut String, d: &crate::plan::FieldDiff, color: bool) {
    if let Some(b) = &d.broadens {
        let style = Style::new().bold().fg_color(Some(AnsiColor::Red.into()));
        let _ = writeln!(out, "          {} {}", paint(color, style, "[broadens permissions]"), text(b));
    }
}

/// A policy document change as a line diff of the normalized documents.
fn document_diff(out: &mut String, d: &crate::plan::FieldDiff, color: bool) {
    let pretty = |v: &Value| if v.is_null() { String::new() } else { crate::policy::pretty(v) + "\n" };
    let (before, after) = (pretty(&d.before), pretty(&d.after));
    let sym = match (d.before.is_null(), d.after.is_null()) {
        (true, _) => "+",
        (_, true) => "-",
        _ => "~",
    };
    let _ = writeln!(out, "      {sym} {}:", text(&d.path));
    let diff = similar::TextDiff::from_lines(&before, &after);
    for change in diff.iter_all_changes() {
        let (mark, style) = match change.tag() {
            similar::ChangeTag::Delete => ("-", action_style(Action::Delete)),
            similar::ChangeTag::Insert => ("+", action_style(Action::Create)),
            similar::ChangeTag::Equal => (" ", Style::new()),
        };
        let line = format!("{mark} {}", text(change.value().trim_end_matches('\n')));
        let _ = writeln!(out, "          {}", paint(color, style, &line));
    }
    broadens_line(out, d, color);
}

/// The human plan: one line per resource, field diffs under it, the steps, a summary line.
pub fn human(plan: &Plan, color: bool) -> String {
    let mut out = String::new();
    let bold = Style::new().bold();
    let _ = writeln!(
        out,
        "{} stack {}, env {} ({}, account {})\n",
        paint(color, bold, "cruddur-infra plan:"),
        plan.stack,
        plan.env,
        plan.region,
        account(plan)
    );
    for c in &plan.changes {
        let st = action_style(c.action);
        let sym = format!("{:>3}", c.action.symbol());
        let count = match (c.action, c.diffs.len()) {
            (Action::Update | Action::Replace, 1) => " (1 field)".to_string(),
            (Action::Update | Action::Replace, n) if n > 1 => format!(" ({n} fields)"),
            _ => String::new(),
        };
        let words = match (c.not_in_spec, c.action) {
            // `- KIND.NAME will be destroyed (no longer in infra.yaml)`: the reason is the line.
            (true, Action::Delete) => format!("{} ({})", action_words(c.action), text(c.reason.as_deref().unwrap_or("not in the spec"))),
            (true, _) => "will be released: kept in place, no longer managed".to_string(),
            _ => format!("{}{count}", action_words(c.action)),
        };
        let _ = writeln!(out, "{} {} {words}", paint(color, st, &sym), paint(color, bold, &c.address));
        for d in &c.diffs {
            if is_document(&d.before) || is_document(&d.after) {
                document_diff(&mut out, d, color);
                continue;
            }
            let (s, line) = match (&d.before, &d.after) {
                (Value::Null, a) => ("+", format!("{} = {}", text(&d.path), value(a))),
                (b, Value::Null) => ("-", format!("{} = {}", text(&d.path), value(b))),
                (b, a) => ("~", format!("{}: {} → {}", text(&d.path), value(b), value(a))),
            };
            let _ = writeln!(
                out,
                "      {} {line}",
                paint(
                    color,
                    action_style(match s {
                        "+" => Action::Create,
                        "-" => Action::Delete,
                        _ => Action::Update,
                    }),
                    s
                )
            );
            if let Some(n) = &d.note {
                let _ = writeln!(out, "          {}", paint(color, Style::new().italic(), &format!("note: {}", text(n))));
            }
            broadens_line(&mut out, d, color);
        }
        if let Some(r) = c.reason.as_ref().filter(|_| !(c.not_in_spec && c.action == Action::Delete)) {
            let _ = writeln!(out, "      reason: {}", text(r));
        }
        if let Some(b) = &c.blocked {
            let _ = writeln!(out, "      {} {}", paint(color, action_style(Action::Delete), "blocked:"), text(b));
        }
    }
    if !plan.steps.is_empty() {
        let _ = writeln!(out, "\n{}", paint(color, bold, "Steps apply will run, in order:"));
        for (i, s) in plan.steps.iter().enumerate() {
            let _ = writeln!(out, "  {:>3}. {}", i + 1, text(&s.description));
        }
    }
    let s = &plan.summary;
    let _ = writeln!(out);
    if plan.has_changes() {
        let _ = writeln!(
            out,
            "{} {} to add, {} to change, {} to replace, {} to destroy.",
            paint(color, bold, "Plan:"),
            s.create,
            s.update,
            s.replace,
            s.delete
        );
    } else {
        let _ = writeln!(out, "{} The infrastructure matches the spec.", paint(color, bold, "No changes."));
    }
    out
}

/// The state of one resource in a drift report.
pub fn drift_state(c: &crate::plan::ResourceChange) -> &'static str {
    match c.action {
        _ if c.not_in_spec => "not in spec",
        Action::NoOp => "in sync",
        Action::Create => "missing",
        _ => "drifted",
    }
}

/// The human drift report: every declared resource as in sync, drifted or missing, and what
/// this stack env owns beyond the spec as not in spec.
pub fn drift_human(plan: &Plan, color: bool) -> String {
    let mut out = String::new();
    let bold = Style::new().bold();
    let _ = writeln!(out, "{} env {} ({}, account {})\n", paint(color, bold, "cruddur-infra drift:"), plan.env, plan.region, account(plan));
    for c in &plan.changes {
        let state = drift_state(c);
        let st = if c.action == Action::NoOp { action_style(Action::NoOp) } else { action_style(Action::Delete) };
        let _ = writeln!(out, "  {:<11} {}", paint(color, st, state), text(&c.address));
        for d in &c.diffs {
            let _ = writeln!(out, "      {}: live {} · spec {}", text(&d.path), value(&d.before), value(&d.after));
        }
    }
    let drifted = plan.changes.iter().filter(|c| c.action.is_change()).count();
    let _ = writeln!(
        out,
        "\n{}",
        if drifted == 0 {
            format!("In sync: {} resource(s) match the spec.", plan.changes.len())
        } else {
            format!("Drift: {drifted} of {} resource(s) differ from the spec; `cruddur-infra plan` shows the fix.", plan.changes.len())
        }
    );
    out
}

/// The JSON plan of the command-line contract: one document.
pub fn json(plan: &Plan) -> String {
    serde_json::to_string_pretty(plan).expect("a plan serializes") + "\n"
}

/// A compact markdown report for a CI job summary or a pull-request comment.
pub fn markdown(plan: &Plan) -> String {
    let mut out = String::new();
    let state = if plan.has_changes() { "drift detected" } else { "in sync" };
    let _ = writeln!(out, "## cruddur-infra drift: {} ({}, {}): {state}\n", plan.env, plan.region, account(plan));
    let _ = writeln!(out, "| resource | state | changes |\n|---|---|---|");
    for c in &plan.changes {
        let _ = writeln!(out, "| {} | {} | {} |", md_code(&c.address), drift_state(c), c.diffs.len());
    }
    for c in plan.changes.iter().filter(|c| !c.diffs.is_empty()) {
        let _ = writeln!(out, "\n### {} ({})\n", md_code(&c.address), action_words(c.action));
        let _ = writeln!(out, "| field | live | spec |\n|---|---|---|");
        for d in &c.diffs {
            let _ = writeln!(out, "| {} | {} | {} |", md_code(&d.path), md_code(&value(&d.before)), md_code(&value(&d.after)));
        }
    }
    out
}

/// A fact of `status` as a short value.
fn fact(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        other => value(other),
    }
}

/// `status`, human: one line per resource with what was read, then the problems.
pub fn status_human(r: &crate::status::Report, color: bool) -> String {
    let mut out = String::new();
    let bold = Style::new().bold();
    let _ = writeln!(
        out,
        "{} stack {}, env {} ({})
",
        paint(color, bold, "cruddur-infra status:"),
        r.stack,
        r.env,
        r.region
    );
    for res in &r.resources {
        let (mark, st) = if res.healthy { ("ok", action_style(Action::NoOp)) } else { ("PROBLEM", action_style(Action::Delete)) };
        let facts: Vec<String> = res.facts.iter().map(|(k, v)| format!("{k} {}", fact(v))).collect();
        let _ = writeln!(out, "  {:<8} {}  {}", paint(color, st, mark), text(&res.address), facts.join(", "));
    }
    if r.healthy {
        let _ = writeln!(
            out,
            "
Healthy: {} resource(s) watched, no problem.",
            r.resources.len()
        );
    } else {
        let _ = writeln!(
            out,
            "
{} problem(s):",
            r.problems.len()
        );
        for p in &r.problems {
            let _ = writeln!(out, "  {}: {}", text(&p.address), text(&p.what));
        }
    }
    out
}

/// `status`, JSON: the report as one document.
pub fn status_json(r: &crate::status::Report) -> String {
    serde_json::to_string_pretty(r).expect("a report serializes") + "\n"
}

/// `status`, markdown: for a CI job summary (first line: its marker).
pub fn status_markdown(r: &crate::status::Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "<!-- cruddur-infra: status stack={} env={} -->", r.stack, r.env);
    let state = if r.healthy { "healthy".to_string() } else { format!("{} problem(s)", r.problems.len()) };
    let _ = writeln!(out, "## cruddur-infra status: {} ({}): {state}\n", r.env, r.region);
    for p in &r.problems {
        let _ = writeln!(out, "- :x: {}: {}", md_code(&p.address), text(&p.what));
    }
    if !r.problems.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(out, "| resource | healthy | what was read |\n|---|---|---|");
    for res in &r.resources {
        let facts: Vec<String> = res.facts.iter().map(|(k, v)| format!("{k} {}", fact(v))).collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            md_code(&res.address),
            if res.healthy { "yes" } else { "**no**" },
            md_code(&facts.join(", "))
        );
    }
    out
}

/// One env's result of an `--all-envs` run: its plan, or why it could not be read.
type EnvResult = (String, Result<Plan, String>);

/// `--all-envs`, human: a first table of every env × resource → state, then each env's report
/// (the drift report, or with `drift` false the plan).
pub fn all_envs_human(results: &[EnvResult], drift: bool, color: bool) -> String {
    let mut out = String::new();
    let bold = Style::new().bold();
    let _ = writeln!(out, "{}\n", paint(color, bold, &format!("cruddur-infra {}: every env", if drift { "drift" } else { "plan" })));
    for (env, r) in results {
        match r {
            Ok(plan) => {
                for c in &plan.changes {
                    let _ = writeln!(out, "  {:<12} {:<11} {}", text(env), drift_state(c), text(&c.address));
                }
            }
            Err(_) => {
                let _ = writeln!(out, "  {:<12} {:<11} (could not be read)", text(env), "error");
            }
        }
    }
    for (env, r) in results {
        let _ = writeln!(out, "\n{}", paint(color, bold, &format!("=== env {} ===", text(env))));
        match r {
            Ok(plan) if drift => out.push_str(&drift_human(plan, color)),
            Ok(plan) => out.push_str(&human(plan, color)),
            Err(e) => {
                let _ = writeln!(out, "error: {}", escape_controls(e, true));
            }
        }
    }
    out
}

/// `--all-envs`, JSON: `{"envs": {NAME: <the one-env document>}}`; an env that could not be
/// read is `{"error": MESSAGE}`.
pub fn all_envs_json(results: &[EnvResult]) -> String {
    let envs: serde_json::Map<String, Value> = results
        .iter()
        .map(|(env, r)| {
            let v = match r {
                Ok(plan) => serde_json::to_value(plan).expect("a plan serializes"),
                Err(e) => serde_json::json!({ "error": e }),
            };
            (env.clone(), v)
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({ "envs": envs })).expect("JSON serializes") + "\n"
}

/// `--all-envs`, markdown: a first table of every env × resource → state, then a section per env.
pub fn all_envs_markdown(results: &[EnvResult]) -> String {
    let mut out = String::new();
    let drifted = results.iter().filter(|(_, r)| r.as_ref().map_or(true, Plan::has_changes)).count();
    let state = if drifted == 0 { "in sync".to_string() } else { format!("{drifted} of {} env(s) need attention", results.len()) };
    let _ = writeln!(out, "## cruddur-infra drift: every env: {state}\n");
    let _ = writeln!(out, "| env | resource | state |\n|---|---|---|");
    for (env, r) in results {
        match r {
            Ok(plan) => {
                for c in &plan.changes {
                    let _ = writeln!(out, "| {} | {} | {} |", md_code(env), md_code(&c.address), drift_state(c));
                }
            }
            Err(e) => {
                let _ = writeln!(out, "| {} | (all) | error: {} |", md_code(env), md_code(e));
            }
        }
    }
    for (_, r) in results {
        if let Ok(plan) = r {
            let _ = writeln!(out);
            out.push_str(&markdown(plan).replacen("## ", "### ", 1).replace("\n### `", "\n#### `"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    //! Snapshots of the renderers for representative plans, built by the pure diff functions.
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::kinds::{role, table};
    use crate::plan::Plan;
    use crate::spec::*;

    fn table_spec() -> TableSpec {
        TableSpec {
            sort_key: Some(KeySpec { name: "sk".into(), ty: AttrType::S }),
            billing: Billing::Provisioned,
            capacity: Some(Capacity::new(5, 5)),
            global_secondary_indexes: BTreeMap::from([(
                "by-group".to_string(),
                GsiSpec {
                    partition_key: KeySpec { name: "g".into(), ty: AttrType::S },
                    sort_key: None,
                    projection: Projection::All,
                    capacity: Some(Capacity::new(5, 5)),
                },
            )]),
            stream: StreamView::NewImage,
            ..TableSpec::new(KeySpec { name: "pk".into(), ty: AttrType::S })
        }
    }

    fn live_table(s: &TableSpec) -> table::LiveTable {
        table::LiveTable {
            name: "messages".into(),
            arn: "arn:aws:dynamodb:us-east-1:123456789012:table/messages".into(),
            status: "ACTIVE".into(),
            partition_key: s.partition_key.clone(),
            sort_key: s.sort_key.clone(),
            billing: s.billing,
            capacity: s.capacity.unwrap(),
            indexes: s
                .global_secondary_indexes
                .iter()
                .map(|(n, g)| {
                    (
                        n.clone(),
                        table::LiveIndex {
                            partition_key: g.partition_key.clone(),
                            sort_key: g.sort_key.clone(),
                            projection: g.projection.clone(),
                            capacity: g.capacity.unwrap(),
                            status: "ACTIVE".into(),
                        },
                    )
                })
                .collect(),
            stream: s.stream,
            stream_arn: Some("arn:aws:dynamodb:us-east-1:123456789012:table/messages/stream/1".into()),
            deletion_protection: false,
            tags: BTreeMap::new(),
            pitr: None,
            ttl: None,
            kms_key: None,
            table_class: crate::spec::TableClass::Standard,
            scaling: vec![],
        }
    }

    /// A plan with an in-place table update, a replacement, and a broadening role change.
    fn representative() -> Plan {
        let mut plan = Plan::new("cruddur", "prod", "ca-central-1", "123456789012");
        let live = live_table(&table_spec());
        let mut want = table_spec();
        want.capacity = Some(Capacity::new(10, 5));
        want.stream = StreamView::NewAndOldImages;
        let (c, s) = table::diff("messages", &want, &BTreeMap::new(), Some(&live));
        plan.push(c, s);
        let mut keys = table_spec();
        keys.partition_key = KeySpec { name: "id".into(), ty: AttrType::S };
        let mut live_other = live_table(&table_spec());
        live_other.name = "archive".into();
        let (c, s) = table::diff("archive", &keys, &BTreeMap::new(), Some(&live_other));
        plan.push(c, s);
        let doc = |actions: &[&str]| serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "arn:aws:dynamodb:ca-central-1:123456789012:table/messages"}]});
        let want_role = role::DesiredRole {
            path: None,
            trust: role::trust_document(&["lambda.amazonaws.com".into()]),
            description: None,
            managed: BTreeSet::from(["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole".to_string()]),
            inline: BTreeMap::from([(
                "table".to_string(),
                role::InlinePolicy { document: doc(&["dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan"]), late_template: None },
            )]),
            tags: BTreeMap::new(),
        };
        let live_role = role::LiveRole {
            name: "fn".into(),
            arn: "arn:aws:iam::123456789012:role/fn".into(),
            path: "/".into(),
            trust: role::trust_document(&["lambda.amazonaws.com".into()]),
            description: None,
            managed: BTreeSet::new(),
            inline: BTreeMap::from([("table".to_string(), doc(&["dynamodb:Query", "dynamodb:PutItem"]))]),
            tags: BTreeMap::new(),
        };
        let (c, s) = role::diff("fn", &want_role, Some(&live_role));
        plan.push(c, s);
        plan
    }

    #[test]
    fn human_plan() {
        insta::assert_snapshot!(human(&representative(), false));
    }

    #[test]
    fn human_plan_without_changes() {
        let mut plan = Plan::new("cruddur", "local", "us-east-1", "123456789012");
        let live = live_table(&table_spec());
        let (c, s) = table::diff("messages", &table_spec(), &BTreeMap::new(), Some(&live));
        plan.push(c, s);
        insta::assert_snapshot!(human(&plan, false));
    }

    #[test]
    fn json_plan() {
        insta::assert_snapshot!(json(&representative()));
    }

    #[test]
    fn markdown_report() {
        insta::assert_snapshot!(markdown(&representative()));
    }

    #[test]
    fn drift_report() {
        insta::assert_snapshot!(drift_human(&representative(), false));
    }

    #[test]
    fn colour_only_when_asked() {
        let plan = representative();
        assert!(!human(&plan, false).contains('\u{1b}'));
        assert!(human(&plan, true).contains('\u{1b}'));
    }
}

#[cfg(test)]
mod escaping {
    use super::*;
    use crate::plan::{FieldDiff, ResourceChange};

    /// A drift where AWS holds hostile text in an environment variable: a terminal title
    /// sequence, a screen clear, a forged markdown row, backticks and HTML.
    fn hostile() -> Plan {
        let mut plan = Plan::new("s", "prod", "us-east-1", "1");
        let mut c = ResourceChange::new("lambda_function.f", Action::Update);
        let evil = "\u{1b}]0;owned\u{7}\u{1b}[2J\n| `x` | in sync | 0 |\n<img src=x>``";
        c.diffs.push(FieldDiff::new(format!("environment.K{evil}"), evil, "ok"));
        plan.push(c, vec![]);
        plan
    }

    #[test]
    fn human_output_shows_control_characters_escaped() {
        for out in [human(&hostile(), false), drift_human(&hostile(), false)] {
            assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out}");
            assert!(out.contains("\\u{1b}]0;owned\\u{7}\\u{1b}[2J\\n| `x`"), "{out}");
            // The value did not add lines.
            assert_eq!(out.lines().filter(|l| l.contains("in sync | 0")).count(), out.lines().filter(|l| l.contains("owned")).count());
        }
    }

    #[test]
    fn markdown_cells_cannot_forge_rows_or_end_their_code_span() {
        let md = markdown(&hostile());
        assert!(!md.contains('\u{1b}'), "{md}");
        // One table row for the resource, one for the field: no row was forged.
        assert_eq!(md.lines().filter(|l| l.starts_with('|') && l.contains("in sync")).count(), 1, "{md}");
        let row = md.lines().find(|l| l.contains("owned")).unwrap();
        assert!(row.contains("```") && row.contains("\\|") && !row.contains("\n"), "{row}");
        // Every unescaped pipe is a cell border: 4 borders for 3 cells.
        assert_eq!(row.replace("\\|", "").matches('|').count(), 4, "{row}");
        assert_eq!(md_code("plain"), "`plain`");
    }
}
