//! The failure loop's reports: pure functions of what was read and done.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::PathBuf;

use serde_json::{json, Value};

use super::record::{summary, Outcome};
use super::{Failure, Inspection, Redriven};

/// The JSON of `inspect` (docs/contract.md): `{"failures": [...]}` with the trigger, the queue
/// and what could not be read.
pub fn json(i: &Inspection) -> Value {
    json!({
        "trigger": i.trigger,
        "queue": i.queue,
        "failures": i.failures,
        "unreadable": i.unreadable,
        "in_flight": i.in_flight,
    })
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The messages hidden by someone else's receive, which no read can see.
fn in_flight(i: &Inspection) -> String {
    format!("{} hidden by someone else's receive (in flight): not read", plural(i.in_flight as usize, "message", "messages"))
}

/// One failed batch's header and records.
fn batch(out: &mut String, n: usize, f: &Failure) {
    let count =
        f.approximate_invoke_count.map(|c| format!(" after {}", plural(c as usize, "invocation", "invocations"))).unwrap_or_default();
    let version = f.function_version.as_deref().map(|v| format!(" of version {v}")).unwrap_or_default();
    let error = f.function_error.as_deref().map(|e| format!(" (function error: {e})")).unwrap_or_else(|| {
        if f.condition == "RetryAttemptsExhausted" {
            " (records reported in batchItemFailures)".into()
        } else {
            String::new()
        }
    });
    let _ = writeln!(out, "\nBatch {n}: {}{count}{version}{error}", f.condition);
    let at = f.timestamp.as_deref().map(|t| format!(", given up on at {t}")).unwrap_or_default();
    let _ = writeln!(out, "  message {}{at}", f.message_id);
    let size = f.batch_size.map(|b| format!(" ({})", plural(b as usize, "record", "records"))).unwrap_or_default();
    let range = if f.start_sequence_number == f.end_sequence_number {
        format!("sequence number {}", f.start_sequence_number)
    } else {
        format!("sequence numbers {} to {}", f.start_sequence_number, f.end_sequence_number)
    };
    let _ = writeln!(out, "  shard {}, {range}{size}", f.shard_id);
    if let Some(why) = &f.expired_reason {
        let _ = writeln!(out, "  expired: {why}");
        return;
    }
    if f.records.is_empty() {
        if let Some(why) = &f.problem {
            let _ = writeln!(out, "  {why}");
            return;
        }
    }
    for r in &f.records {
        let _ = writeln!(out, "    {}", summary(r));
    }
    if f.skipped_by_filter > 0 {
        let _ = writeln!(
            out,
            "    ({} of the range the filter does not pass: never delivered)",
            plural(f.skipped_by_filter, "record", "records")
        );
    }
    if let Some(why) = f.problem.as_deref().filter(|_| !f.records.is_empty()) {
        let _ = writeln!(out, "    (kept by redrive: {why})");
    }
}

/// `inspect`'s report for a person.
pub fn human(i: &Inspection, written: &[PathBuf]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}: {} in queue {}", i.trigger, plural(i.failures.len(), "failed batch", "failed batches"), i.queue);
    for (n, f) in i.failures.iter().enumerate() {
        batch(&mut out, n + 1, f);
    }
    for u in &i.unreadable {
        let _ = writeln!(out, "\nMessage {}: {}", u.message_id, u.reason);
    }
    if i.in_flight > 0 {
        let _ = writeln!(out, "\n{}", in_flight(i));
    }
    if !written.is_empty() {
        let _ = writeln!(
            out,
            "\nWrote {} (the event Lambda delivered: a fixture for the handler's tests):",
            plural(written.len(), "batch", "batches")
        );
        for p in written {
            let _ = writeln!(out, "  {}", p.display());
        }
    }
    if i.failures.iter().any(|f| f.problem.is_none()) {
        let _ = writeln!(out, "\nNext: fix the handler, apply, then `cruddur-infra dlq redrive {}`.", i.trigger);
    }
    out
}

/// What `redrive` will do, before it asks.
pub fn redrive_plan(i: &Inspection, target: &str, ready: &[&Failure], kept: &[&Failure]) -> String {
    let mut out = String::new();
    if i.failures.is_empty() && i.unreadable.is_empty() {
        let _ = writeln!(out, "{}: queue {} holds no failed batch: nothing to redrive.", i.trigger, i.queue);
        if i.in_flight > 0 {
            let _ = writeln!(out, "{}", in_flight(i));
        }
        return out;
    }
    let _ = writeln!(
        out,
        "{}: {} of queue {} to redrive: each invokes {target} synchronously, and its message is deleted when it succeeds.",
        i.trigger,
        plural(ready.len(), "batch", "batches"),
        i.queue
    );
    for f in ready {
        let _ = writeln!(
            out,
            "  + batch {}..{} on {}: {}",
            f.start_sequence_number,
            f.end_sequence_number,
            f.shard_id,
            plural(f.records.len(), "record", "records")
        );
    }
    for f in kept {
        let why = f.problem.as_deref().unwrap_or_default();
        let _ = writeln!(out, "  ! batch {}..{} kept: {why}", f.start_sequence_number, f.end_sequence_number);
    }
    for u in &i.unreadable {
        let _ = writeln!(out, "  ! message {} kept: {}", u.message_id, u.reason);
    }
    out
}

/// What one invocation's answer means, in a line.
pub fn outcome_line(o: &Outcome) -> String {
    match o {
        Outcome::Succeeded => "succeeded".into(),
        Outcome::FunctionError { error, message } if message.is_empty() => format!("failed: {error}"),
        Outcome::FunctionError { error, message } => format!("failed: {error}: {message}"),
        Outcome::PartialFailure { failed } => {
            format!("{} failed again (batchItemFailures: {})", plural(failed.len(), "record", "records"), failed.join(", "))
        }
    }
}

/// `redrive`'s results, batch by batch, and what is left.
pub fn redrive_results(ready: &[&Failure], results: &BTreeMap<String, Redriven>) -> String {
    let mut out = String::from("\n");
    let mut done = 0;
    for f in ready {
        let range = format!("{}..{}", f.start_sequence_number, f.end_sequence_number);
        let v = |v: &Option<String>| v.as_deref().map(|v| format!(" (version {v})")).unwrap_or_default();
        match results.get(&f.message_id) {
            Some(Redriven::Done { version }) => {
                done += 1;
                let _ = writeln!(out, "  redriven: batch {range}{}: its message is deleted", v(version));
            }
            Some(Redriven::Failed { version, outcome }) => {
                let _ = writeln!(out, "  kept: batch {range}{}: {}", v(version), outcome_line(outcome));
            }
            Some(Redriven::CallFailed(why)) => {
                let _ = writeln!(out, "  kept: batch {range}: {why}");
            }
            _ => {
                let _ = writeln!(out, "  kept: batch {range}: its message was not received again (another consumer has it?)");
            }
        }
    }
    let _ = writeln!(out, "\nRedriven {done} of {}.", plural(ready.len(), "batch", "batches"));
    out
}
