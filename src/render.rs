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
    let risks = plan.risks();
    if !risks.is_empty() {
        let st = Style::new().bold().fg_color(Some(AnsiColor::Red.into()));
        let _ = writeln!(out, "{}", paint(color, st, &format!("Risks ({}):", risks.len())));
        for (a, r) in &risks {
            let _ = writeln!(out, "  ! {} {}: {}", paint(color, st, r.kind.words()), text(a), text(&r.what));
        }
        out.push('\n');
    }
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
        if let Some(k) = c.cost.as_ref().filter(|k| c.action.is_change() && k.monthly_usd_before != k.monthly_usd_after) {
            let _ = writeln!(out, "      cost: {}/month → {}/month", k.monthly_usd_before.show(false), k.monthly_usd_after.show(false));
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
    if let Some(c) = cost_line(plan) {
        let _ = writeln!(out, "{c}");
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

/// The most characters a markdown report may have: under GitHub's 65,536 of a comment or a
/// job summary, with room for what a workflow adds around it.
pub const MARKDOWN_LIMIT: usize = 60_000;

/// The longest a value is shown in a markdown diff: a policy document is cut, its length said.
const MD_VALUE_LIMIT: usize = 1_500;

/// The marker a workflow finds its comment by: the report's first line.
pub fn marker(plan: &Plan) -> String {
    format!("<!-- cruddur-infra: stack={} env={} -->", text(&plan.stack), text(&plan.env))
}

/// `s` safe inside HTML (a `<summary>`).
fn html(s: &str) -> String {
    text(s).replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// A value for a markdown cell, at most [`MD_VALUE_LIMIT`] characters.
fn md_value(v: &Value) -> String {
    let s = value(v);
    if s.chars().count() <= MD_VALUE_LIMIT {
        return md_code(&s);
    }
    let cut: String = s.chars().take(MD_VALUE_LIMIT).collect();
    format!("{} … ({} more characters)", md_code(&cut), s.chars().count() - MD_VALUE_LIMIT)
}

/// Dollar signs escaped: GitHub reads `$6.26–$62.63` as inline math otherwise (CommonMark
/// renders `\$` as `$`).
fn md_dollars(s: &str) -> String {
    s.replace('$', "\\$")
}

/// The cost line of a plan, when it prices something.
pub fn cost_line(plan: &Plan) -> Option<String> {
    let c = plan.summary.cost.as_ref()?;
    Some(format!(
        "Cost: {}/month, {}/month after this plan (fixed charges: provisioned capacity, point-in-time recovery, alarms; usage is not priced)",
        c.monthly_usd_delta.show(true),
        c.monthly_usd_after.show(false)
    ))
}

/// The risk lines of `risks` (the plan's): one per risk; past `room` characters, the risks of one
/// kind and one effect share a line (every address still named); past that, a line per kind.
fn risk_lines(risks: &[(String, crate::plan::Risk)], room: usize) -> Vec<String> {
    let one = |kind: crate::plan::RiskKind, addresses: &[&str], what: &str| {
        let who: Vec<String> = addresses.iter().map(|a| md_code(a)).collect();
        format!("- :warning: **{}**: {}: {}", kind.words(), who.join(", "), text(what))
    };
    let lines: Vec<String> = risks.iter().map(|(a, r)| one(r.kind, &[a.as_str()], &r.what)).collect();
    if lines.iter().map(|l| l.len() + 1).sum::<usize>() <= room {
        return lines;
    }
    let mut grouped: Vec<(crate::plan::RiskKind, &str, Vec<&str>)> = Vec::new();
    for (a, r) in risks {
        match grouped.iter_mut().find(|(k, w, _)| *k == r.kind && *w == r.what) {
            Some(g) => g.2.push(a),
            None => grouped.push((r.kind, &r.what, vec![a])),
        }
    }
    let lines: Vec<String> = grouped.iter().map(|(k, w, a)| one(*k, a, w)).collect();
    if lines.iter().map(|l| l.len() + 1).sum::<usize>() <= room {
        return lines;
    }
    // Still too long (each risk says something of its own): a line per kind of risk, its count
    // and as many addresses as its share of the room holds; `plan` names the rest. Every kind of
    // risk keeps its line.
    // A waived check is named by its check and reason (its "address" is the env).
    let mut kinds: Vec<(crate::plan::RiskKind, Vec<String>)> = Vec::new();
    for (a, r) in risks {
        let item = if r.kind == crate::plan::RiskKind::CheckWaived { text(&r.what) } else { md_code(a) };
        match kinds.iter_mut().find(|(k, _)| *k == r.kind) {
            Some(k) => k.1.push(item),
            None => kinds.push((r.kind, vec![item])),
        }
    }
    let share = room / kinds.len().max(1);
    kinds
        .iter()
        .map(|(k, addresses)| {
            let mut line = format!("- :warning: **{}** ({}):", k.words(), addresses.len());
            let mut named = 0;
            for a in addresses {
                let next = format!(" {a},");
                if line.len() + next.len() + 80 > share {
                    break;
                }
                line.push_str(&next);
                named += 1;
            }
            line.pop();
            if named < addresses.len() {
                let _ = write!(line, " and {} more: `cruddur-infra plan` names each", addresses.len() - named);
            }
            line
        })
        .collect()
}

/// The field diffs of one change, collapsed.
fn details_block(c: &crate::plan::ResourceChange, drift: bool) -> String {
    let mut out = String::new();
    let n = c.diffs.len();
    let _ = writeln!(
        out,
        "<details><summary><code>{}</code> {} ({n} field{})</summary>\n",
        html(&c.address),
        if drift { drift_state(c) } else { action_words(c.action) },
        if n == 1 { "" } else { "s" }
    );
    let (b, a) = if drift { ("live", "spec") } else { ("before", "after") };
    let _ = writeln!(out, "| field | {b} | {a} |\n|---|---|---|");
    for d in &c.diffs {
        let _ = writeln!(out, "| {} | {} | {} |", md_code(&d.path), md_value(&d.before), md_value(&d.after));
    }
    for r in c.reason.iter().chain(c.blocked.iter()) {
        let _ = writeln!(out, "\n{}", text(r));
    }
    out.push_str("\n</details>\n");
    out
}

/// The line of one changed resource.
fn change_line(c: &crate::plan::ResourceChange, drift: bool) -> String {
    let words = if drift {
        drift_state(c).to_string()
    } else if c.not_in_spec && c.action != Action::Delete {
        "will be released (kept, no longer managed)".into()
    } else {
        action_words(c.action).to_string()
    };
    let mut line = format!("- `{}` {} {words}", c.action.symbol().trim(), md_code(&c.address));
    if !c.diffs.is_empty() {
        let _ = write!(line, " ({} field{})", c.diffs.len(), if c.diffs.len() == 1 { "" } else { "s" });
    }
    if let Some(cost) = c.cost.as_ref().filter(|k| k.monthly_usd_before != k.monthly_usd_after) {
        let shown = format!(" · {}/month → {}/month", cost.monthly_usd_before.show(false), cost.monthly_usd_after.show(false));
        line.push_str(&md_dollars(&shown));
    }
    if !c.risks.is_empty() {
        line.push_str(" · :warning:");
    }
    if c.blocked.is_some() {
        line.push_str(" · **blocked**");
    }
    line
}

/// The report a reviewer reads on a pull request (docs/contract.md, "Plan review"): the marker,
/// the risks, the cost, one line per changed resource, the diffs collapsed; at most `limit`
/// characters: the diffs are cut first, then the lines of changes without risk are summed up by
/// kind and action; the risk lines are never cut.
fn review(plan: &Plan, drift: bool, limit: usize, with_marker: bool) -> String {
    let mut head = String::new();
    if with_marker {
        let _ = writeln!(head, "{}", marker(plan));
    }
    let changed: Vec<&crate::plan::ResourceChange> = plan.changes.iter().filter(|c| c.action.is_change()).collect();
    let s = &plan.summary;
    let state = match (drift, changed.is_empty()) {
        (true, true) => "in sync".to_string(),
        (true, false) => format!("drift detected: {} of {} resource(s) differ", changed.len(), plan.changes.len()),
        (false, true) => "no changes".to_string(),
        (false, false) => format!("{} to add, {} to change, {} to replace, {} to destroy", s.create, s.update, s.replace, s.delete),
    };
    let _ = writeln!(
        head,
        "## cruddur-infra {}: {} ({}, account {}): {state}\n",
        if drift { "drift" } else { "plan" },
        text(&plan.env),
        text(&plan.region),
        account(plan)
    );
    let all_risks = plan.risks();
    let risks = risk_lines(&all_risks, limit / 2);
    if risks.is_empty() {
        head.push_str("No risks: no data loss, no trigger replaced, no permissions broadened, no alarm removed or silenced, no production check waived.\n\n");
    } else {
        let _ = writeln!(head, "**Risks ({})**\n", all_risks.len());
        for r in &risks {
            let _ = writeln!(head, "{r}");
        }
        head.push('\n');
    }
    if let Some(c) = cost_line(plan).filter(|_| !drift) {
        let _ = writeln!(head, "{}\n", md_dollars(&c));
    }

    // The lines of the changes, the risky ones whatever the size.
    let unchanged = plan.changes.len() - changed.len();
    let lines: Vec<(bool, String)> = changed.iter().map(|c| (!c.risks.is_empty() || c.blocked.is_some(), change_line(c, drift))).collect();
    let reserve = 600;
    let all: usize = lines.iter().map(|(_, l)| l.len() + 1).sum();
    let mut body = String::new();
    if !changed.is_empty() {
        body.push_str(if drift { "**What differs**\n\n" } else { "**Changes**\n\n" });
    }
    if head.len() + body.len() + all + reserve <= limit {
        for (_, l) in &lines {
            let _ = writeln!(body, "{l}");
        }
    } else {
        let mut summed: std::collections::BTreeMap<(String, &str), usize> = std::collections::BTreeMap::new();
        for ((risky, l), c) in lines.iter().zip(&changed) {
            // A risky change keeps its line while there is room (its risk is above anyway).
            if *risky && head.len() + body.len() + l.len() + 2 * reserve <= limit {
                let _ = writeln!(body, "{l}");
            } else {
                let kind = c.address.split('.').next().unwrap_or_default().to_string();
                *summed.entry((kind, if drift { drift_state(c) } else { action_words(c.action) })).or_default() += 1;
            }
        }
        let n: usize = summed.values().sum();
        let parts: Vec<String> = summed.iter().map(|((k, w), n)| format!("{n} {} {w}", md_code(k))).collect();
        let _ = writeln!(
            body,
            "- … and {n} more change(s), summed up to stay under the size limit (every risk is named above): {}",
            parts.join("; ")
        );
    }
    if unchanged > 0 {
        let _ = writeln!(body, "\n{unchanged} resource(s) {}.", if drift { "in sync" } else { "unchanged" });
    }

    // The diffs, while they fit.
    let blocks: Vec<String> = changed.iter().filter(|c| !c.diffs.is_empty()).map(|c| details_block(c, drift)).collect();
    let mut details = String::new();
    let mut left_out = 0;
    for b in &blocks {
        if head.len() + body.len() + details.len() + b.len() + 1 + reserve <= limit {
            details.push('\n');
            details.push_str(b);
        } else {
            left_out += 1;
        }
    }
    let mut out = head + &body + &details;
    if left_out > 0 {
        let _ = writeln!(
            out,
            "\n_{left_out} of {} diff block(s) left out to stay under {limit} characters: `cruddur-infra {}` shows them all._",
            blocks.len(),
            if drift { "drift" } else { "plan" }
        );
    }
    out
}

/// `plan --output markdown`: the pull-request comment.
pub fn plan_markdown(plan: &Plan) -> String {
    review(plan, false, MARKDOWN_LIMIT, true)
}

/// `drift --output markdown`: for a CI job summary or an issue, as bounded as a plan's.
pub fn markdown(plan: &Plan) -> String {
    review(plan, true, MARKDOWN_LIMIT, true)
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
    let mut left_out = 0;
    for res in &r.resources {
        if out.len() + 1_000 > MARKDOWN_LIMIT {
            left_out += 1;
            continue;
        }
        let facts: Vec<String> = res.facts.iter().map(|(k, v)| format!("{k} {}", fact(v))).collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            md_code(&res.address),
            if res.healthy { "yes" } else { "**no**" },
            md_code(&facts.join(", "))
        );
    }
    if left_out > 0 {
        let _ = writeln!(out, "\n_{left_out} resource row(s) left out to stay under {MARKDOWN_LIMIT} characters: the problems above are all there; `cruddur-infra status` shows every row._");
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

/// `--all-envs`, markdown: its marker, a first table of what is not in sync in every env, then a
/// section per env; the whole at most [`MARKDOWN_LIMIT`] characters (each env's section gets its
/// share, its diffs cut first).
pub fn all_envs_markdown(results: &[EnvResult], drift: bool) -> String {
    let mut out = String::new();
    let stack = results.iter().find_map(|(_, r)| r.as_ref().ok()).map(|p| p.stack.clone()).unwrap_or_default();
    let _ = writeln!(out, "<!-- cruddur-infra: stack={} env=all -->", text(&stack));
    let drifted = results.iter().filter(|(_, r)| r.as_ref().map_or(true, Plan::has_changes)).count();
    let state = if drifted == 0 { "in sync".to_string() } else { format!("{drifted} of {} env(s) need attention", results.len()) };
    let _ = writeln!(out, "## cruddur-infra {}: every env: {state}\n", if drift { "drift" } else { "plan" });
    let _ = writeln!(out, "| env | state | differ | in sync | risks |\n|---|---|---|---|---|");
    for (env, r) in results {
        match r {
            Ok(plan) => {
                let differ = plan.changes.iter().filter(|c| c.action.is_change()).count();
                let state = if differ == 0 { "in sync" } else { "drifted" };
                let (in_sync, risks) = (plan.changes.len() - differ, plan.risks().len());
                let _ = writeln!(out, "| {} | {state} | {differ} | {in_sync} | {risks} |", md_code(env));
            }
            Err(e) => {
                let _ = writeln!(out, "| {} | error: {} | | | |", md_code(env), md_code(e));
            }
        }
    }
    let plans: Vec<&Plan> = results.iter().filter_map(|(_, r)| r.as_ref().ok()).collect();
    let share = MARKDOWN_LIMIT.saturating_sub(out.len()) / plans.len().max(1);
    for plan in plans {
        let _ = writeln!(out);
        out.push_str(&review(plan, drift, share, false).replacen("## ", "### ", 1));
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
            size_bytes: 0,
        }
    }

    /// A plan with an in-place table update, a replacement, and a broadening role change.
    pub(super) fn representative() -> Plan {
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

    /// A plan of hundreds of resources: tag changes with large policy diffs, tables deleted,
    /// grants broadened, triggers replaced, and a waived check.
    fn huge() -> Plan {
        use crate::plan::{Risk, RiskKind};
        let mut plan = Plan::new("s", "prod", "us-east-1", "1");
        plan.waived.insert("pitr".into(), "restored from the nightly export".into());
        let policy = serde_json::json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "x".repeat(4000)}]});
        for i in 0..400 {
            let mut c = ResourceChange::new(format!("iam_role.quiet-{i:03}"), Action::Update);
            c.diffs.push(FieldDiff::new("tags.team", "a", "b"));
            c.diffs.push(FieldDiff::new("inline_policies.p", &policy, &policy));
            plan.push(c, vec![]);
        }
        for i in 0..150 {
            let mut c = ResourceChange::new(format!("dynamodb_table.gone-{i:03}"), Action::Delete);
            c.destructive = true;
            plan.push(c, vec![]);
        }
        for i in 0..100 {
            let mut c = ResourceChange::new(format!("iam_role.wider-{i:03}"), Action::Update);
            c.diffs.push(FieldDiff::new("managed_policies.admin", None::<String>, "attached").broadens("attaches AdministratorAccess"));
            plan.push(c, vec![]);
        }
        for i in 0..400 {
            let mut c = ResourceChange::new(format!("cloudwatch_alarm.a-{i:03}"), Action::Delete);
            c.risks.push(Risk::new(
                RiskKind::AlarmSilenced,
                format!("deleted: what it watched (Metric{i} of AWS/Lambda) is no longer watched"),
            ));
            plan.push(c, vec![]);
        }
        for i in 0..50 {
            let mut c = ResourceChange::new(format!("lambda_event_source_mapping.m-{i:03}"), Action::Replace);
            c.risks.push(Risk::new(RiskKind::PositionRestarts, "the new trigger starts reading the stream at LATEST"));
            plan.push(c, vec![]);
        }
        plan
    }

    #[test]
    fn the_markdown_of_hundreds_of_resources_stays_under_the_limit_and_keeps_every_risk() {
        let plan = huge();
        for md in [plan_markdown(&plan), markdown(&plan)] {
            assert!(md.len() <= MARKDOWN_LIMIT, "{} characters", md.len());
            assert_eq!(md.lines().next().unwrap(), "<!-- cruddur-infra: stack=s env=prod -->");
            for c in plan.changes.iter().filter(|c| !c.risks.is_empty() && !c.address.starts_with("cloudwatch_alarm.")) {
                assert!(md.contains(&format!("`{}`", c.address)), "{} is missing", c.address);
            }
            // 400 risks that each say something of their own: past the room, a line per kind
            // with its count, and the rest named by `plan`.
            assert!(md.contains("**alarm removed or silenced** (400):") && md.contains("more: `cruddur-infra plan` names each"), "{md}");
            assert!(md.contains("**production check waived**") && md.contains("restored from the nightly export"));
            // The details were cut first, and the count said.
            assert!(md.contains("diff block(s) left out to stay under 60000 characters"), "{md}");
            // The risks lead: before the first change line.
            let first_risk = md.find(":warning: **data loss**").unwrap();
            assert!(first_risk < md.find("**Changes**").or(md.find("**What differs**")).unwrap());
        }
        assert_eq!(plan.risks().len(), 150 + 100 + 400 + 50 + 1);
        // A small plan keeps everything, its diffs collapsed.
        let small = super::tests::representative();
        let md = plan_markdown(&small);
        assert!(md.contains("<details>") && !md.contains("left out"), "{md}");
    }

    #[test]
    fn the_all_envs_markdown_shares_the_limit() {
        let results: Vec<(String, Result<Plan, String>)> = (0..5).map(|i| (format!("e{i}"), Ok(huge()))).collect();
        let md = all_envs_markdown(&results, true);
        assert!(md.len() <= MARKDOWN_LIMIT, "{} characters", md.len());
        assert!(md.contains("**data loss** (150):") && md.contains("dynamodb_table.gone-000"), "{md}");
    }
}
