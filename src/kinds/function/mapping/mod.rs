//! `lambda_event_source_mapping`: a function's trigger on a table's current stream. Found by
//! function + source ARN (never duplicated); replaced when the table's stream ARN changes. A
//! sub-resource of its function (owned through it, written inside it), and a kind of its own,
//! registered after functions. Its filter patterns are compared by meaning (`spec::filter`); the
//! files as in every kind's folder (docs/architecture.md).

mod diff;
mod execute;
mod flex;
mod health;
mod observe;
#[cfg(test)]
mod tests;

use anyhow::Result;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::aws::AwsContext;
use crate::discover::Tagged;
use crate::kinds::support::{changes, ownership, reading};
use crate::kinds::{queue, table, Declared, Discovered, Fingerprint, Kind, Observed, PlanContext, Planned};
use crate::plan::{Op, ResourceChange, Step};
use crate::spec::{Desired, FunctionSpec, Resources, StartingPosition, TriggerSpec};

use super as function;

pub use observe::list;

pub const KIND: &str = "lambda_event_source_mapping";

/// The event source mapping kind: the triggers of the spec's functions.
pub struct Mappings;

impl Kind for Mappings {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn declared(&self, desired: &Desired) -> Vec<Declared> {
        let mut out = Vec::new();
        for (f, spec) in &desired.resources.functions {
            for (address, t) in addresses(f, spec).into_iter().zip(&spec.triggers) {
                let mut deps = vec![format!("{}.{f}", function::KIND), format!("{}.{}", table::KIND, t.table)];
                // A queue of the spec as on-failure destination exists first.
                deps.extend(
                    t.on_failure.iter().filter(|q| desired.resources.queues.contains_key(*q)).map(|q| format!("{}.{q}", queue::KIND)),
                );
                out.push(Declared { address, refers_to: deps.clone(), needs_first: deps });
            }
        }
        out
    }

    /// Triggers are part of their function's spec: they go with it.
    fn retain(&self, _resources: &mut Resources, _keep: &dyn Fn(&str) -> bool) {}

    fn observe<'a>(&'a self, ctx: &'a AwsContext, desired: &'a Desired, _tagged: &'a Tagged<'a>) -> Observed<'a> {
        // Also without triggers: a trigger the spec dropped is still listed, and pruned.
        Box::pin(reading::observe_each(KIND, &desired.resources.functions, move |name, _| {
            let aws = desired.aws_name(name);
            async move { observe::list(ctx, &aws).await }
        }))
    }

    fn diff(&self, cx: &PlanContext) -> Vec<Planned> {
        let (desired, live) = (cx.desired, cx.live);
        let mut out = Vec::new();
        let empty = Vec::new();
        for (name, spec) in &desired.resources.functions {
            let live_m = live.get::<Vec<LiveMapping>>(KIND, name).unwrap_or(&empty);
            let function = desired.aws_name(name);
            let owner_tags =
                live.get::<function::LiveFunctionSide>(function::KIND, name).and_then(|f| f.function.as_ref()).map(|f| &f.tags);
            for (address, trigger) in addresses(name, spec).into_iter().zip(&spec.triggers) {
                let key = format!("tables.{}.stream_arn", trigger.table);
                let table = desired.aws_name(&trigger.table);
                let stream = diff::TableStream {
                    name: &table,
                    table_arn: format!("arn:{}:dynamodb:{}:{}:table/{table}", live.partition, desired.region, live.account_id),
                    current: cx.refs.values.get(&key).map(String::as_str),
                    changes: cx.changing.contains(&key),
                };
                // `diff` sees the on-failure destination as an ARN: a queue of the spec's is its.
                let mut trigger = trigger.clone();
                if let Some(q) = trigger.on_failure.as_mut().filter(|q| desired.resources.queues.contains_key(q.as_str())) {
                    *q = cx.refs.resolve(&format!("${{queues.{q}.arn}}")).0;
                }
                let role_changes = cx.changing.contains(&format!("roles.{}.permissions", spec.role));
                let f = diff::Function { name: &function, role_changes, alias: spec.deploy.as_ref().map(|d| d.alias.as_str()) };
                let mut p = Planned::new(diff::diff(&address, &f, &trigger, &stream, live_m));
                // Owned through its function: another env's function's trigger is not ours either.
                ownership::block_if_owned_elsewhere(&mut p, owner_tags, desired);
                out.push(p);
            }
        }
        out
    }

    fn destroy(&self, cx: &PlanContext) -> Vec<(ResourceChange, Vec<Step>)> {
        let mut out = Vec::new();
        for (name, spec) in &cx.desired.resources.functions {
            let f = cx.live.get::<function::LiveFunctionSide>(function::KIND, name).and_then(|f| f.function.as_ref());
            let mine = f.is_some_and(|f| ownership::ours(&f.tags, cx.desired));
            let mappings = cx.live.get::<Vec<LiveMapping>>(KIND, name).cloned().unwrap_or_default();
            let addresses = addresses(name, spec);
            let name = &cx.desired.aws_name(name);
            for (address, trigger) in addresses.into_iter().zip(&spec.triggers) {
                let prefix = format!(":table/{}/stream/", cx.desired.aws_name(&trigger.table));
                let steps: Vec<Step> = mappings
                    .iter()
                    .filter(|m| !m.dying() && m.source_arn.contains(&prefix))
                    .map(|m| {
                        Step::new(
                            KIND,
                            &address,
                            format!("delete the mapping {} of {name}", m.uuid),
                            MappingOp::Delete { function: name.clone(), uuid: m.uuid.clone() },
                        )
                    })
                    .collect();
                let left = (!steps.is_empty() && !mine).then(|| "its function is not this stack's: left alone".to_string());
                out.push(changes::destroy_change(address, if mine { steps } else { vec![] }, left));
            }
        }
        out
    }

    /// The triggers of this stack env's functions that the spec no longer declares: owned
    /// through their function (mappings carry no tags), listed by function.
    fn discover<'a>(&'a self, ctx: &'a AwsContext, desired: &'a Desired, tagged: &'a Tagged<'a>) -> Discovered<'a> {
        let declared = |k: &str| desired.resources.functions.contains_key(k);
        let read = move |aws: String| async move {
            let mappings = observe::list(ctx, &aws).await?;
            Ok(Some(OrphanTriggers { function: aws, mappings }))
        };
        Box::pin(reading::discover_tagged(KIND, function::TAGGING_TYPE, tagged, desired, declared, read))
    }

    fn prune(&self, cx: &PlanContext) -> Vec<Planned> {
        let desired = cx.desired;
        let no_tags = std::collections::BTreeMap::new();
        let mut out = Vec::new();
        let mut push = |address: String, function: &str, m: &LiveMapping| {
            let delete = vec![Step::new(
                KIND,
                &address,
                format!("delete the mapping {} of {function}", m.uuid),
                MappingOp::Delete { function: function.into(), uuid: m.uuid.clone() },
            )];
            out.push(changes::orphan_change(address, desired, &no_tags, delete, |_| vec![]));
        };
        // Triggers of declared functions that the spec no longer lists.
        for (name, spec) in &desired.resources.functions {
            let f = cx.live.get::<function::LiveFunctionSide>(function::KIND, name).and_then(|f| f.function.as_ref());
            if !f.is_some_and(|f| ownership::owned(&f.tags, desired)) {
                continue;
            }
            let wanted: Vec<String> = spec.triggers.iter().map(|t| desired.aws_name(&t.table)).collect();
            for m in cx.live.get::<Vec<LiveMapping>>(KIND, name).into_iter().flatten().filter(|m| !m.dying()) {
                let table = source_table(&m.source_arn);
                if !wanted.contains(&table) {
                    push(format!("{KIND}.{name}.{}", desired.spec_key(&table)), &desired.aws_name(name), m);
                }
            }
        }
        // Every trigger of a function the spec dropped.
        for (key, o) in cx.live.orphans::<OrphanTriggers>(KIND).into_iter().flatten() {
            let alive: Vec<&LiveMapping> = o.mappings.iter().filter(|m| !m.dying()).collect();
            for m in &alive {
                let address = match alive.len() {
                    1 => format!("{KIND}.{key}"),
                    _ => format!("{KIND}.{key}.{}", desired.spec_key(&source_table(&m.source_arn))),
                };
                push(address, &o.function, m);
            }
        }
        out
    }

    fn health<'a>(&'a self, ctx: &'a AwsContext, desired: &'a Desired) -> BoxFuture<'a, Result<Vec<crate::status::Health>>> {
        Box::pin(health::health(ctx, desired))
    }

    fn execute<'a>(&'a self, ctx: &'a AwsContext, op: &'a Op) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { execute::execute(ctx, op.expect::<MappingOp>()?).await })
    }
}

/// A function's mapping is `lambda_event_source_mapping.FUNCTION`, or `FUNCTION.TABLE` when
/// the function has several triggers.
pub fn addresses(name: &str, f: &FunctionSpec) -> Vec<String> {
    match f.triggers.as_slice() {
        [] => vec![],
        [_] => vec![format!("{KIND}.{name}")],
        many => many.iter().map(|t| format!("{KIND}.{name}.{}", t.table)).collect(),
    }
}

/// The triggers of a function the spec no longer declares.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OrphanTriggers {
    /// The function's AWS name.
    pub function: String,
    pub mappings: Vec<LiveMapping>,
}

/// The table name in a stream ARN (`arn:...:table/NAME/stream/...`).
pub fn source_table(arn: &str) -> String {
    arn.split_once(":table/").map(|(_, rest)| rest.split('/').next().unwrap_or(rest)).unwrap_or(arn).to_string()
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LiveMapping {
    pub uuid: String,
    pub source_arn: String,
    /// What it invokes of its function: an alias (or a version), None for the function itself
    /// (its FunctionArn's qualifier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qualifier: Option<String>,
    pub batch_size: Option<i64>,
    pub starting_position: Option<String>,
    pub state: String,
    pub report_batch_item_failures: bool,
    pub tuning: Tuning,
    /// What Lambda says of its last batch (`OK`, `PROBLEM: ...`, `No records processed`): what
    /// `status` reads, never drift.
    #[serde(skip)]
    pub last_processing_result: Option<String>,
}

impl LiveMapping {
    fn enabled(&self) -> bool {
        !matches!(self.state.as_str(), "Disabled" | "Disabling")
    }

    /// Being deleted (DeleteEventSourceMapping is asynchronous, rule 28): it is never adopted,
    /// updated or deleted again, and no longer counts as the trigger.
    pub fn dying(&self) -> bool {
        self.state == "Deleting"
    }
}

/// A mapping's fingerprint keeps of its state only what the plan reads of it: on, off or being
/// deleted (Creating, Updating, Enabling come and go on their own).
impl Fingerprint for LiveMapping {
    fn fingerprint(&self, _key: &str, _desired: &Desired) -> String {
        let mut m = self.clone();
        m.state = if self.dying() {
            "Deleting"
        } else if self.enabled() {
            "Enabled"
        } else {
            "Disabled"
        }
        .to_string();
        crate::ids::hash(&m)
    }
}

impl Fingerprint for OrphanTriggers {
    fn fingerprint(&self, key: &str, desired: &Desired) -> String {
        crate::ids::hash(&(&self.function, self.mappings.fingerprint(key, desired)))
    }
}

/// The settings a mapping is created or updated with.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MappingSettings {
    /// The alias of its function it invokes (the function's `deploy`), None for the function.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    pub batch_size: i64,
    pub starting_position: StartingPosition,
    pub enabled: bool,
    pub report_batch_item_failures: bool,
    /// Always sent in full: an omitted field of UpdateEventSourceMapping means "unchanged", so a
    /// setting removed from the spec is reset by sending AWS's default.
    #[serde(flatten)]
    pub tuning: Tuning,
}

impl From<&TriggerSpec> for MappingSettings {
    fn from(t: &TriggerSpec) -> Self {
        let d = Tuning::aws_default();
        MappingSettings {
            alias: None,
            batch_size: t.batch_size,
            starting_position: t.starting_position,
            enabled: t.enabled,
            report_batch_item_failures: t.report_batch_item_failures,
            tuning: Tuning {
                maximum_retry_attempts: t.maximum_retry_attempts.unwrap_or(d.maximum_retry_attempts),
                maximum_record_age_s: t.maximum_record_age_s.unwrap_or(d.maximum_record_age_s),
                bisect_batch_on_error: t.bisect_batch_on_error.unwrap_or(d.bisect_batch_on_error),
                parallelization_factor: t.parallelization_factor.unwrap_or(d.parallelization_factor),
                batching_window_s: t.batching_window_s.unwrap_or(d.batching_window_s),
                // As written: only the comparison is by meaning (`filter::same`).
                filter: t.filter.clone(),
                on_failure: t.on_failure.clone().unwrap_or_default(),
            },
        }
    }
}

/// A stream trigger's failure handling, concurrency and filter, as effective values.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Tuning {
    pub maximum_retry_attempts: i64,
    pub maximum_record_age_s: i64,
    pub bisect_batch_on_error: bool,
    pub parallelization_factor: i64,
    pub batching_window_s: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filter: Vec<serde_json::Value>,
    /// The on-failure destination's ARN; empty for none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub on_failure: String,
}

impl Tuning {
    /// What AWS uses for a DynamoDB stream when a setting is not given.
    pub fn aws_default() -> Self {
        Tuning {
            maximum_retry_attempts: -1,
            maximum_record_age_s: -1,
            bisect_batch_on_error: false,
            parallelization_factor: 1,
            batching_window_s: 0,
            filter: Vec::new(),
            on_failure: String::new(),
        }
    }

    /// (field, before, after) of every setting that differs.
    fn diffs(&self, want: &Tuning) -> Vec<(&'static str, serde_json::Value, serde_json::Value)> {
        use serde_json::json;
        let mut out = Vec::new();
        let mut add = |f: &'static str, a: serde_json::Value, b: serde_json::Value| {
            if a != b {
                out.push((f, a, b));
            }
        };
        add("maximum_retry_attempts", json!(self.maximum_retry_attempts), json!(want.maximum_retry_attempts));
        add("maximum_record_age_s", json!(self.maximum_record_age_s), json!(want.maximum_record_age_s));
        add("bisect_batch_on_error", json!(self.bisect_batch_on_error), json!(want.bisect_batch_on_error));
        add("parallelization_factor", json!(self.parallelization_factor), json!(want.parallelization_factor));
        add("batching_window_s", json!(self.batching_window_s), json!(want.batching_window_s));
        // By meaning: a filter written in another order is the same filter.
        let same = crate::spec::filter::same(&self.filter, &want.filter);
        add("filter", json!(self.filter), if same { json!(self.filter) } else { json!(want.filter) });
        let dest = |d: &str| if d.is_empty() { json!(null) } else { json!(d) };
        add("on_failure", dest(&self.on_failure), dest(&want.on_failure));
        out
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum MappingOp {
    /// `source_arn`: the stream, or None when the table's stream is made by this apply and is
    /// read when the step runs.
    Create {
        function: String,
        table: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source_arn: Option<String>,
        settings: MappingSettings,
    },
    Update {
        function: String,
        uuid: String,
        settings: MappingSettings,
        /// The function's role changes in this apply (see [`Function::role_changes`]).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        role_changes: bool,
    },
    Delete {
        function: String,
        uuid: String,
    },
    WaitSettled {
        function: String,
        uuid_or_table: String,
    },
}
