//! Renderers: they read only the plan.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};
use serde_json::Value;

use crate::plan::{Action, Plan};

fn paint(color: bool, style: Style, text: &str) -> String {
    if color { format!("{}{text}{}", style.render(), style.render_reset()) } else { text.to_string() }
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

/// A value as a reviewer reads it: strings bare, null as `(none)`, the rest as compact JSON.
pub fn value(v: &Value) -> String {
    match v {
        Value::Null => "(none)".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A policy document (trust, inline or endpoint policy).
fn is_document(v: &Value) -> bool {
    v.get("Statement").is_some()
}

fn broadens_line(out: &mut String, d: &crate::plan::FieldDiff, color: bool) {
    if let Some(b) = &d.broadens {
        let style = Style::new().bold().fg_color(Some(AnsiColor::Red.into()));
        let _ = writeln!(out, "          {} {b}", paint(color, style, "[broadens permissions]"));
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
    let _ = writeln!(out, "      {sym} {}:", d.path);
    let diff = similar::TextDiff::from_lines(&before, &after);
    for change in diff.iter_all_changes() {
        let (mark, style) = match change.tag() {
            similar::ChangeTag::Delete => ("-", action_style(Action::Delete)),
            similar::ChangeTag::Insert => ("+", action_style(Action::Create)),
            similar::ChangeTag::Equal => (" ", Style::new()),
        };
        let line = format!("{mark} {}", change.value().trim_end_matches('\n'));
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
        plan.account_id
    );
    for c in &plan.changes {
        let st = action_style(c.action);
        let sym = format!("{:>3}", c.action.symbol());
        let _ = writeln!(out, "{} {} {}", paint(color, st, &sym), paint(color, bold, &c.address), action_words(c.action));
        for d in &c.diffs {
            if is_document(&d.before) || is_document(&d.after) {
                document_diff(&mut out, d, color);
                continue;
            }
            let (s, line) = match (&d.before, &d.after) {
                (Value::Null, a) => ("+", format!("{} = {}", d.path, value(a))),
                (b, Value::Null) => ("-", format!("{} = {}", d.path, value(b))),
                (b, a) => ("~", format!("{}: {} → {}", d.path, value(b), value(a))),
            };
            let _ = writeln!(out, "      {} {line}", paint(color, action_style(match s { "+" => Action::Create, "-" => Action::Delete, _ => Action::Update }), s));
            if let Some(n) = &d.note {
                let _ = writeln!(out, "          {}", paint(color, Style::new().italic(), &format!("note: {n}")));
            }
            broadens_line(&mut out, d, color);
        }
        if let Some(r) = &c.reason {
            let _ = writeln!(out, "      reason: {r}");
        }
        if let Some(b) = &c.blocked {
            let _ = writeln!(out, "      {} {b}", paint(color, action_style(Action::Delete), "blocked:"));
        }
    }
    if !plan.steps.is_empty() {
        let _ = writeln!(out, "\n{}", paint(color, bold, "Steps apply will run, in order:"));
        for (i, s) in plan.steps.iter().enumerate() {
            let _ = writeln!(out, "  {:>3}. {}", i + 1, s.description);
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
pub fn drift_state(a: Action) -> &'static str {
    match a {
        Action::NoOp => "in sync",
        Action::Create => "missing",
        _ => "drifted",
    }
}

/// The human drift report: every declared resource as in sync, drifted or missing.
pub fn drift_human(plan: &Plan, color: bool) -> String {
    let mut out = String::new();
    let bold = Style::new().bold();
    let _ = writeln!(out, "{} env {} ({}, account {})\n", paint(color, bold, "cruddur-infra drift:"), plan.env, plan.region, plan.account_id);
    for c in &plan.changes {
        let state = drift_state(c.action);
        let st = if c.action == Action::NoOp { action_style(Action::NoOp) } else { action_style(Action::Delete) };
        let _ = writeln!(out, "  {:<9} {}", paint(color, st, state), c.address);
        for d in &c.diffs {
            let _ = writeln!(out, "      {}: live {} · spec {}", d.path, value(&d.before), value(&d.after));
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
    let _ = writeln!(out, "## cruddur-infra drift: {} ({}, {}): {state}\n", plan.env, plan.region, plan.account_id);
    let _ = writeln!(out, "| resource | state | changes |\n|---|---|---|");
    for c in &plan.changes {
        let _ = writeln!(out, "| `{}` | {} | {} |", c.address, drift_state(c.action), c.diffs.len());
    }
    for c in plan.changes.iter().filter(|c| !c.diffs.is_empty()) {
        let _ = writeln!(out, "\n### `{}` ({})\n", c.address, action_words(c.action));
        let _ = writeln!(out, "| field | live | spec |\n|---|---|---|");
        for d in &c.diffs {
            let _ = writeln!(out, "| `{}` | `{}` | `{}` |", d.path, value(&d.before).replace('|', "\\|"), value(&d.after).replace('|', "\\|"));
        }
    }
    out
}
