//! The pure diff of a trigger: the mapping on the table's current stream updated in place (every
//! setting sent), mappings on older streams deleted, replaced when the stream or the starting
//! position changes.

use super::flex::position;
use super::{LiveMapping, MappingOp, MappingSettings, Tuning, KIND};
use crate::plan::{Action, FieldDiff, ResourceChange, Risk, RiskKind, Step};
use crate::spec::TriggerSpec;

pub(super) fn step(address: &str, description: String, op: MappingOp) -> Step {
    Step::new(KIND, address, description, op)
}

/// Whether the spec leaves a tuning setting out (its effective value is AWS's default).
pub(super) fn unset(t: &TriggerSpec, field: &str) -> bool {
    match field {
        "maximum_retry_attempts" => t.maximum_retry_attempts.is_none(),
        "maximum_record_age_s" => t.maximum_record_age_s.is_none(),
        "bisect_batch_on_error" => t.bisect_batch_on_error.is_none(),
        "parallelization_factor" => t.parallelization_factor.is_none(),
        "batching_window_s" => t.batching_window_s.is_none(),
        "filter" => t.filter.is_empty(),
        "on_failure" => t.on_failure.is_none(),
        _ => false,
    }
}

/// What the plan knows about the trigger's table.
pub struct TableStream<'a> {
    pub name: &'a str,
    /// `arn:...:table/NAME`, to recognise mappings on this table's older streams.
    pub table_arn: String,
    /// The stream ARN now, if there is one.
    pub current: Option<&'a str>,
    /// True when this apply gives the table a new stream ARN (created, replaced, re-enabled).
    pub changes: bool,
}

/// The trigger's function, as its mapping's diff needs it.
pub struct Function<'a> {
    /// Its AWS name.
    pub name: &'a str,
    /// Its role's permissions change in this apply: Lambda may refuse what the new permissions
    /// allow (an on-failure queue) until IAM has propagated them, so the update retries that.
    pub role_changes: bool,
    /// The alias its triggers invoke (its `deploy`), None for the function itself.
    pub alias: Option<&'a str>,
}

/// How the plan names what a trigger invokes.
fn invoked(qualifier: Option<&str>) -> String {
    match qualifier {
        Some(q) => format!("alias {q}"),
        None => "the function".into(),
    }
}

/// `trigger.on_failure` is an ARN (or none): a queue of the spec is resolved by the caller.
pub fn diff(address: &str, f: &Function, trigger: &TriggerSpec, stream: &TableStream, live: &[LiveMapping]) -> (ResourceChange, Vec<Step>) {
    let function = f.name;
    let mut want = MappingSettings::from(trigger);
    want.alias = f.alias.map(str::to_string);
    let on_table: Vec<&LiveMapping> =
        live.iter().filter(|m| !m.dying() && m.source_arn.starts_with(&format!("{}/stream/", stream.table_arn))).collect();
    let current: Option<&LiveMapping> = match (stream.changes, stream.current) {
        (false, Some(arn)) => on_table.iter().copied().find(|m| m.source_arn == arn),
        _ => None,
    };
    let stale: Vec<&LiveMapping> = on_table.iter().copied().filter(|m| Some(m.uuid.as_str()) != current.map(|c| c.uuid.as_str())).collect();
    let mut diffs = Vec::new();
    let mut steps = Vec::new();
    let mut change = ResourceChange::new(address, Action::NoOp);

    let recreate_position = current.is_some_and(|c| c.starting_position.as_deref().is_some_and(|p| p != position(want.starting_position)));
    for m in &stale {
        diffs.push(FieldDiff::new(format!("source.{}", m.uuid), &m.source_arn, None::<String>).note(if stream.changes {
            "the table's stream changes (a new stream ARN): the mapping on the old stream is replaced".to_string()
        } else {
            "a mapping on an older stream of the table, which no longer delivers records".to_string()
        }));
        steps.push(step(
            address,
            format!("delete the mapping {} of {function} on an old stream", m.uuid),
            MappingOp::Delete { function: function.into(), uuid: m.uuid.clone() },
        ));
    }
    if let Some(c) = current.filter(|_| recreate_position) {
        diffs.push(
            FieldDiff::new("starting_position", &c.starting_position, position(want.starting_position))
                .note("cannot change in place: the mapping is replaced"),
        );
        steps.push(step(
            address,
            format!("delete the mapping {} of {function} (starting position changes)", c.uuid),
            MappingOp::Delete { function: function.into(), uuid: c.uuid.clone() },
        ));
    }
    match current.filter(|_| !recreate_position) {
        Some(c) => {
            if c.qualifier != want.alias {
                diffs.push(
                    FieldDiff::new("invokes", invoked(c.qualifier.as_deref()), invoked(want.alias.as_deref()))
                        .note("changed in place: the trigger keeps its position in the stream"),
                );
            }
            if c.batch_size.is_some_and(|b| b != want.batch_size) {
                diffs.push(FieldDiff::new("batch_size", c.batch_size, want.batch_size));
            }
            if c.enabled() != want.enabled {
                diffs.push(FieldDiff::new("enabled", c.enabled(), want.enabled));
            }
            if c.report_batch_item_failures != want.report_batch_item_failures {
                diffs.push(FieldDiff::new("report_batch_item_failures", c.report_batch_item_failures, want.report_batch_item_failures));
            }
            for (field, before, after) in c.tuning.diffs(&want.tuning) {
                let d = FieldDiff::new(field, before, after);
                diffs.push(if unset(trigger, field) { d.note("not in the spec: back to AWS's default") } else { d });
            }
            if !diffs.is_empty() {
                change.action = Action::Update;
                let only_stale = diffs.iter().all(|d| d.path.starts_with("source."));
                if !only_stale {
                    steps.push(step(
                        address,
                        format!("update the mapping {} of {function}", c.uuid),
                        MappingOp::Update {
                            function: function.into(),
                            uuid: c.uuid.clone(),
                            settings: want.clone(),
                            role_changes: f.role_changes,
                        },
                    ));
                    steps.push(step(
                        address,
                        format!("wait until the mapping of {function} is settled"),
                        MappingOp::WaitSettled { function: function.into(), uuid_or_table: c.uuid.clone() },
                    ));
                }
            }
        }
        None => {
            let source_arn = if stream.changes { None } else { stream.current.map(str::to_string) };
            diffs.push(FieldDiff::new(
                "source",
                None::<String>,
                source_arn
                    .clone()
                    .unwrap_or_else(|| format!("the stream of table {} {}", stream.name, crate::spec::refs::KNOWN_AFTER_APPLY)),
            ));
            if want.alias.is_some() {
                diffs.push(FieldDiff::new("invokes", None::<String>, invoked(want.alias.as_deref())));
            }
            diffs.push(FieldDiff::new("batch_size", None::<i64>, want.batch_size));
            diffs.push(FieldDiff::new("starting_position", None::<String>, position(want.starting_position)));
            diffs.push(FieldDiff::new("enabled", None::<bool>, want.enabled));
            diffs.push(FieldDiff::new("report_batch_item_failures", None::<bool>, want.report_batch_item_failures));
            for (field, _, after) in Tuning::aws_default().diffs(&want.tuning) {
                diffs.push(FieldDiff::new(field, None::<String>, after));
            }
            change.action = if on_table.is_empty() { Action::Create } else { Action::Replace };
            if change.action == Action::Replace {
                let from = position(want.starting_position);
                change.risks.push(Risk::new(
                    RiskKind::PositionRestarts,
                    format!("the new trigger starts reading the stream at {from}: records are skipped or read again"),
                ));
                change.reason = Some(if stream.changes {
                    format!("table {}'s stream changes → the mapping is replaced on the new stream", stream.name)
                } else {
                    "the mapping's starting position cannot change in place".into()
                });
            }
            steps.push(step(
                address,
                format!("create the mapping of {function} on the stream of table {}", stream.name),
                MappingOp::Create { function: function.into(), table: stream.name.into(), source_arn, settings: want.clone() },
            ));
            steps.push(step(
                address,
                format!("wait until the mapping of {function} is settled"),
                MappingOp::WaitSettled { function: function.into(), uuid_or_table: stream.name.into() },
            ));
        }
    }
    if change.action == Action::NoOp && !diffs.is_empty() {
        change.action = Action::Update;
    }
    change.diffs = diffs;
    (change, steps)
}
