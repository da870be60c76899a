//! `lambda_event_source_mapping`: a function's trigger on a table's current stream. Found by
//! function + source ARN (never duplicated); replaced when the table's stream ARN changes.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use aws_sdk_lambda::types as lam;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::aws::{aws_error, AwsContext};
use crate::plan::{Action, FieldDiff, ResourceChange, Step};
use crate::spec::{Desired, FunctionSpec, Resources, StartingPosition, TriggerSpec};

use super::{function, queue, table, wait, Declared, Kind, LiveData, Op, PlanContext, Planned};

pub const KIND: &str = "lambda_event_source_mapping";

/// The event source mapping kind: the triggers of the spec's functions.
pub struct Mappings;

/// A function's mapping is `lambda_event_source_mapping.FUNCTION`, or `FUNCTION.TABLE` when
/// the function has several triggers.
pub fn addresses(name: &str, f: &FunctionSpec) -> Vec<String> {
    match f.triggers.as_slice() {
        [] => vec![],
        [_] => vec![format!("{KIND}.{name}")],
        many => many.iter().map(|t| format!("{KIND}.{name}.{}", t.table)).collect(),
    }
}

/// Every mapping of a function: listed by its name and by its ARN (a mapping made with one is
/// not always listed by the other), both at once.
async fn observe_function(ctx: &AwsContext, name: &str) -> Result<Vec<LiveMapping>> {
    let by_arn = async {
        let id = ctx.identity().await?;
        list(ctx, &format!("arn:{}:lambda:{}:{}:function:{name}", id.partition, ctx.region, id.account_id)).await
    };
    let (mut all, more) = tokio::try_join!(by_arn, list(ctx, name))?;
    merge(&mut all, more);
    Ok(all)
}

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

    fn observe<'a>(&'a self, ctx: &'a AwsContext, desired: &'a Desired) -> BoxFuture<'a, Result<Box<dyn LiveData>>> {
        Box::pin(async move {
            let r = &desired.resources.functions;
            // Also without triggers: a trigger the spec dropped is still listed, and pruned.
            let read = super::read_each(KIND, r, |name, _| {
                let aws = desired.aws_name(name);
                async move { observe_function(ctx, &aws).await }
            });
            super::boxed(read.await)
        })
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
                let stream = TableStream {
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
                let f = Function { name: &function, role_changes };
                let mut p = Planned::new(diff(&address, &f, &trigger, &stream, live_m));
                // Owned through its function: another env's function's trigger is not ours either.
                super::block_if_owned_elsewhere(&mut p, owner_tags, desired);
                out.push(p);
            }
        }
        out
    }

    fn destroy(&self, cx: &PlanContext) -> Vec<(ResourceChange, Vec<Step>)> {
        let mut out = Vec::new();
        for (name, spec) in &cx.desired.resources.functions {
            let f = cx.live.get::<function::LiveFunctionSide>(function::KIND, name).and_then(|f| f.function.as_ref());
            let mine = f.is_some_and(|f| super::ours(&f.tags, cx.desired));
            let mappings = cx.live.get::<Vec<LiveMapping>>(KIND, name).cloned().unwrap_or_default();
            let addresses = addresses(name, spec);
            let name = &cx.desired.aws_name(name);
            for (address, trigger) in addresses.into_iter().zip(&spec.triggers) {
                let prefix = format!(":table/{}/stream/", cx.desired.aws_name(&trigger.table));
                let steps: Vec<Step> = mappings
                    .iter()
                    .filter(|m| !m.dying() && m.source_arn.contains(&prefix))
                    .map(|m| {
                        step(
                            &address,
                            format!("delete the mapping {} of {name}", m.uuid),
                            MappingOp::Delete { function: name.clone(), uuid: m.uuid.clone() },
                        )
                    })
                    .collect();
                let left = (!steps.is_empty() && !mine).then(|| "its function is not this stack's: left alone".to_string());
                out.push(super::destroy_change(address, if mine { steps } else { vec![] }, left));
            }
        }
        out
    }

    /// The triggers of this stack env's functions that the spec no longer declares: owned
    /// through their function (mappings carry no tags), listed by function.
    fn discover<'a>(
        &'a self,
        ctx: &'a AwsContext,
        desired: &'a Desired,
        tagged: &'a super::Tagged<'a>,
    ) -> BoxFuture<'a, Result<Option<Box<dyn LiveData>>>> {
        Box::pin(async move {
            let names = tagged.names(function::TAGGING_TYPE).await?;
            let declared = |k: &str| desired.resources.functions.contains_key(k);
            super::read_undeclared(KIND, names, desired, declared, |aws| async move {
                let mappings = observe_function(ctx, &aws).await?;
                Ok(Some(OrphanTriggers { function: aws, mappings }))
            })
            .await
        })
    }

    fn prune(&self, cx: &PlanContext) -> Vec<Planned> {
        let desired = cx.desired;
        let no_tags = std::collections::BTreeMap::new();
        let mut out = Vec::new();
        let mut push = |address: String, function: &str, m: &LiveMapping| {
            let delete = vec![step(
                &address,
                format!("delete the mapping {} of {function}", m.uuid),
                MappingOp::Delete { function: function.into(), uuid: m.uuid.clone() },
            )];
            out.push(super::orphan_change(address, desired, &no_tags, delete, |_| vec![]));
        };
        // Triggers of declared functions that the spec no longer lists.
        for (name, spec) in &desired.resources.functions {
            let f = cx.live.get::<function::LiveFunctionSide>(function::KIND, name).and_then(|f| f.function.as_ref());
            if !f.is_some_and(|f| super::owned(&f.tags, desired)) {
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

    fn parse_op(&self, call: serde_json::Value) -> Result<Op, serde_json::Error> {
        super::parse_op::<MappingOp>(KIND, call)
    }

    fn execute<'a>(&'a self, ctx: &'a AwsContext, op: &'a Op) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { execute(ctx, op.expect::<MappingOp>()?).await })
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
    pub batch_size: Option<i64>,
    pub starting_position: Option<String>,
    pub state: String,
    pub report_batch_item_failures: bool,
    pub tuning: Tuning,
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

/// The settings a mapping is created or updated with.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MappingSettings {
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
                filter: canonical_patterns(t.filter.iter().cloned()),
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
        add("filter", json!(self.filter), json!(want.filter));
        let dest = |d: &str| if d.is_empty() { json!(null) } else { json!(d) };
        add("on_failure", dest(&self.on_failure), dest(&want.on_failure));
        out
    }
}

/// Filter patterns compared by meaning: key order never counts (JSON objects), the order of
/// values in a list of alternatives does not either, nor the order of the patterns.
pub fn canonical_patterns(patterns: impl Iterator<Item = serde_json::Value>) -> Vec<serde_json::Value> {
    fn canon(v: serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(m) => serde_json::Value::Object(m.into_iter().map(|(k, v)| (k, canon(v))).collect()),
            serde_json::Value::Array(a) => {
                let mut a: Vec<serde_json::Value> = a.into_iter().map(canon).collect();
                a.sort_by_key(|x| x.to_string());
                serde_json::Value::Array(a)
            }
            other => other,
        }
    }
    let mut out: Vec<serde_json::Value> = patterns.map(canon).collect();
    out.sort_by_key(|x| x.to_string());
    out.dedup();
    out
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
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

/// Whether the spec leaves a tuning setting out (its effective value is AWS's default).
fn unset(t: &TriggerSpec, field: &str) -> bool {
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

/// The filter every create and update sends: no patterns is an empty `FilterCriteria` object
/// (`{}`), which is how AWS documents removing a mapping's filters.
fn filter_criteria(t: &Tuning) -> lam::FilterCriteria {
    let filters: Vec<lam::Filter> = t.filter.iter().map(|p| lam::Filter::builder().pattern(p.to_string()).build()).collect();
    lam::FilterCriteria::builder().set_filters((!filters.is_empty()).then_some(filters)).build()
}

fn position(p: StartingPosition) -> &'static str {
    match p {
        StartingPosition::Latest => "LATEST",
        StartingPosition::TrimHorizon => "TRIM_HORIZON",
    }
}

// ---------------------------------------------------------------------------------------------
// observe

fn live_of(m: &lam::EventSourceMappingConfiguration) -> LiveMapping {
    LiveMapping {
        uuid: m.uuid().unwrap_or_default().to_string(),
        source_arn: m.event_source_arn().unwrap_or_default().to_string(),
        batch_size: m.batch_size().map(i64::from),
        starting_position: m.starting_position().map(|p| p.as_str().to_string()),
        state: m.state().unwrap_or("Enabled").to_string(),
        report_batch_item_failures: m.function_response_types().contains(&lam::FunctionResponseType::ReportBatchItemFailures),
        tuning: {
            let d = Tuning::aws_default();
            let patterns = m.filter_criteria().map(|f| f.filters()).unwrap_or_default().iter().filter_map(|f| f.pattern());
            Tuning {
                maximum_retry_attempts: m.maximum_retry_attempts().map_or(d.maximum_retry_attempts, i64::from),
                maximum_record_age_s: m.maximum_record_age_in_seconds().map_or(d.maximum_record_age_s, i64::from),
                bisect_batch_on_error: m.bisect_batch_on_function_error().unwrap_or(d.bisect_batch_on_error),
                parallelization_factor: m.parallelization_factor().map_or(d.parallelization_factor, i64::from),
                batching_window_s: m.maximum_batching_window_in_seconds().map_or(d.batching_window_s, i64::from),
                // A pattern AWS holds is JSON; one that is not is kept as text, so it differs.
                filter: canonical_patterns(
                    patterns.map(|p| serde_json::from_str(p).unwrap_or_else(|_| serde_json::Value::String(p.into()))),
                ),
                on_failure: m.destination_config().and_then(|d| d.on_failure()).and_then(|o| o.destination()).unwrap_or("").to_string(),
            }
        },
    }
}

/// Every mapping of a function, by its name or its ARN (a mapping made with one is not always
/// listed by the other, so observe lists both and merges them).
pub async fn list(ctx: &AwsContext, function: &str) -> Result<Vec<LiveMapping>> {
    let mut out = Vec::new();
    let mut marker = None;
    loop {
        let o = ctx
            .lambda
            .list_event_source_mappings()
            .function_name(function)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| aws_error("Lambda", "ListEventSourceMappings", function, e))?;
        out.extend(o.event_source_mappings().iter().map(live_of));
        marker = o.next_marker().map(str::to_string);
        if marker.is_none() {
            return Ok(out);
        }
    }
}

/// Adds the mappings of `more` not already in `all` (by UUID), keeping UUID order.
pub fn merge(all: &mut Vec<LiveMapping>, more: Vec<LiveMapping>) {
    for m in more {
        if !all.iter().any(|x| x.uuid == m.uuid) {
            all.push(m);
        }
    }
    all.sort_by(|a, b| a.uuid.cmp(&b.uuid));
}

// ---------------------------------------------------------------------------------------------
// diff (pure)

fn step(address: &str, description: String, op: MappingOp) -> Step {
    super::step(KIND, address, description, op)
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
}

/// `trigger.on_failure` is an ARN (or none): a queue of the spec is resolved by the caller.
pub fn diff(address: &str, f: &Function, trigger: &TriggerSpec, stream: &TableStream, live: &[LiveMapping]) -> (ResourceChange, Vec<Step>) {
    let function = f.name;
    let want = MappingSettings::from(trigger);
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
            diffs.push(FieldDiff::new("batch_size", None::<i64>, want.batch_size));
            diffs.push(FieldDiff::new("starting_position", None::<String>, position(want.starting_position)));
            diffs.push(FieldDiff::new("enabled", None::<bool>, want.enabled));
            diffs.push(FieldDiff::new("report_batch_item_failures", None::<bool>, want.report_batch_item_failures));
            for (field, _, after) in Tuning::aws_default().diffs(&want.tuning) {
                diffs.push(FieldDiff::new(field, None::<String>, after));
            }
            change.action = if on_table.is_empty() { Action::Create } else { Action::Replace };
            if change.action == Action::Replace {
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

// ---------------------------------------------------------------------------------------------
// execute

const PROPAGATION: Duration = Duration::from_secs(120);

/// The mapping of `function` on `source`, if one exists and is not being deleted.
async fn find(ctx: &AwsContext, function: &str, source: &str) -> Result<Option<LiveMapping>> {
    Ok(list(ctx, function).await?.into_iter().find(|m| m.source_arn == source && !m.dying()))
}

/// Waits until a deleted mapping is gone (GetEventSourceMapping says ResourceNotFound): until
/// then AWS refuses a successor on the same source as a duplicate.
async fn wait_gone(ctx: &AwsContext, function: &str, uuid: &str) -> Result<()> {
    wait::until(&format!("the mapping {uuid} of {function} to be deleted"), Duration::from_secs(600), || async {
        match ctx.lambda.get_event_source_mapping().uuid(uuid).send().await {
            Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(wait::Poll::Done),
            Err(e) => Err(aws_error("Lambda", "GetEventSourceMapping", uuid, e).into()),
            Ok(m) => Ok(wait::Poll::Pending(format!("state {}", m.state().unwrap_or("?")))),
        }
    })
    .await
}

/// The settings a create and an update both send, in full, on either request builder (the
/// SDK gives them no common trait).
macro_rules! with_settings {
    ($req:expr, $s:expr) => {{
        let s: &MappingSettings = $s;
        let types = if s.report_batch_item_failures { vec![lam::FunctionResponseType::ReportBatchItemFailures] } else { vec![] };
        $req.batch_size(s.batch_size as i32)
            .enabled(s.enabled)
            .set_function_response_types(Some(types))
            .maximum_retry_attempts(s.tuning.maximum_retry_attempts as i32)
            .maximum_record_age_in_seconds(s.tuning.maximum_record_age_s as i32)
            .bisect_batch_on_function_error(s.tuning.bisect_batch_on_error)
            .parallelization_factor(s.tuning.parallelization_factor as i32)
            .maximum_batching_window_in_seconds(s.tuning.batching_window_s as i32)
            .filter_criteria(filter_criteria(&s.tuning))
    }};
}

/// The on-failure destination: an update always sends it (`""` removes one, rule 20); a create
/// only when there is one.
fn destination(s: &MappingSettings) -> lam::DestinationConfig {
    lam::DestinationConfig::builder().on_failure(lam::OnFailure::builder().destination(&s.tuning.on_failure).build()).build()
}

/// Updates a mapping with every setting. `role_changes`: its function's role changed in this
/// apply, so a refusal of what the new permissions allow (an on-failure queue) is retried while
/// IAM propagates; otherwise it fails at once.
async fn update(ctx: &AwsContext, function: &str, uuid: &str, s: &MappingSettings, role_changes: bool) -> Result<()> {
    use super::retry::{self, Next};
    let start = Instant::now();
    retry::retry(&format!("the update of the mapping of {function}"), retry::AWS, || async move {
        match with_settings!(ctx.lambda.update_event_source_mapping().uuid(uuid), s).destination_config(destination(s)).send().await {
            Ok(_) => Ok(()),
            Err(e) if role_changes && e.code() == Some("InvalidParameterValueException") && start.elapsed() < PROPAGATION => {
                Err(Next::Retry(format!(
                    "Lambda refuses the update of the mapping of {function} ({}); its role changed in this apply and IAM may \
                     still be propagating",
                    e.message().unwrap_or("")
                )))
            }
            Err(e) => Err(Next::Fail(aws_error("Lambda", "UpdateEventSourceMapping", uuid, e).into())),
        }
    })
    .await
}

pub async fn execute(ctx: &AwsContext, op: &MappingOp) -> Result<()> {
    match op {
        MappingOp::Create { function, table: tname, source_arn, settings } => {
            let source = match source_arn {
                Some(a) => a.clone(),
                None => table::observe(ctx, tname)
                    .await?
                    .and_then(|t| t.stream_arn)
                    .with_context(|| format!("table {tname} has no stream to trigger {function}"))?,
            };
            // Never a second mapping: one may exist from an attempt whose answer was lost.
            if let Some(m) = find(ctx, function, &source).await? {
                crate::log::info(&format!("  the mapping of {function} on this stream already exists ({}): updating it", m.uuid));
                return update(ctx, function, &m.uuid, settings, false).await;
            }
            use super::retry::{self, Next};
            let start = Instant::now();
            let source = &source;
            retry::retry(&format!("the creation of the mapping of {function}"), retry::AWS, || async move {
                let create = ctx
                    .lambda
                    .create_event_source_mapping()
                    .function_name(function)
                    .event_source_arn(source)
                    .starting_position(lam::EventSourcePosition::from(position(settings.starting_position)));
                let dest = (!settings.tuning.on_failure.is_empty()).then(|| destination(settings));
                let r = with_settings!(create, settings).set_destination_config(dest).send().await;
                match r {
                    Ok(_) => Ok(()),
                    Err(e) if e.code() == Some("ResourceConflictException") => {
                        let found = find(ctx, function, source).await.map_err(Next::Fail)?;
                        match found {
                            Some(m) => update(ctx, function, &m.uuid, settings, false).await.map_err(Next::Fail),
                            // Only a mapping being deleted is there (rule 28): it will be gone.
                            None => Err(Next::Retry(format!("a mapping of {function} on this stream is still being deleted"))),
                        }
                    }
                    // The role's stream permissions may not have propagated yet (rule 8).
                    Err(e) if e.code() == Some("InvalidParameterValueException") && start.elapsed() < PROPAGATION => {
                        Err(Next::Retry(format!(
                            "Lambda cannot use the stream for {function} yet ({}); IAM may still be propagating",
                            e.message().unwrap_or("")
                        )))
                    }
                    Err(e) => Err(Next::Fail(aws_error("Lambda", "CreateEventSourceMapping", function, e).into())),
                }
            })
            .await
        }
        MappingOp::Update { function, uuid, settings, role_changes } => update(ctx, function, uuid, settings, *role_changes).await,
        MappingOp::Delete { function, uuid } => {
            match ctx.lambda.delete_event_source_mapping().uuid(uuid).send().await {
                Ok(_) => {}
                Err(e) if e.code() == Some("ResourceNotFoundException") => return Ok(()),
                Err(e) => return Err(aws_error("Lambda", "DeleteEventSourceMapping", uuid, e).into()),
            }
            wait_gone(ctx, function, uuid).await
        }
        MappingOp::WaitSettled { function, uuid_or_table } => {
            wait::until(&format!("the mapping of {function} to settle"), Duration::from_secs(600), || async {
                let all = list(ctx, function).await?;
                let m = all
                    .iter()
                    .filter(|m| !m.dying())
                    .find(|m| &m.uuid == uuid_or_table || m.source_arn.contains(&format!(":table/{uuid_or_table}/stream/")));
                Ok(match m.map(|m| m.state.as_str()) {
                    Some("Enabled" | "Disabled") => wait::Poll::Done,
                    Some(s) => wait::Poll::Pending(format!("state {s}")),
                    None => wait::Poll::Pending("not listed yet".into()),
                })
            })
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE_ARN: &str = "arn:aws:dynamodb:us-east-1:1:table/t";

    fn trigger() -> TriggerSpec {
        TriggerSpec {
            table: "t".into(),
            starting_position: StartingPosition::Latest,
            batch_size: 1,
            enabled: true,
            report_batch_item_failures: true,
            maximum_retry_attempts: None,
            maximum_record_age_s: None,
            bisect_batch_on_error: None,
            parallelization_factor: None,
            batching_window_s: None,
            filter: vec![],
            on_failure: None,
        }
    }

    fn live(uuid: &str, stream: &str) -> LiveMapping {
        LiveMapping {
            uuid: uuid.into(),
            source_arn: format!("{TABLE_ARN}/stream/{stream}"),
            batch_size: Some(1),
            starting_position: Some("LATEST".into()),
            state: "Enabled".into(),
            report_batch_item_failures: true,
            tuning: Tuning::aws_default(),
        }
    }

    #[test]
    fn tuning_is_sent_in_full_and_a_removed_setting_goes_back_to_aws_default() {
        let mut t = trigger();
        t.maximum_retry_attempts = Some(3);
        t.bisect_batch_on_error = Some(true);
        t.filter = vec![serde_json::json!({"eventName": ["INSERT"], "dynamodb": {"Keys": {"pk": {"S": [{"prefix": "MSG#"}]}}}})];
        let mut m = live("u1", "s1");
        let (c, steps) = diff("m", &F, &t, &stream(Some(&format!("{TABLE_ARN}/stream/s1")), false), std::slice::from_ref(&m));
        let paths: Vec<&str> = c.diffs.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(paths, ["maximum_retry_attempts", "bisect_batch_on_error", "filter"]);
        assert_eq!(ops(&steps), ["update", "wait_settled"]);
        // Compared by meaning: key order, the order of alternatives and of patterns do not count.
        m.tuning = MappingSettings::from(&t).tuning;
        m.tuning.filter = canonical_patterns(
            [serde_json::from_str(r#"{"dynamodb": {"Keys": {"pk": {"S": [{"prefix": "MSG#"}]}}}, "eventName": ["INSERT"]}"#).unwrap()]
                .into_iter(),
        );
        let arn = format!("{TABLE_ARN}/stream/s1");
        assert_eq!(diff("m", &F, &t, &stream(Some(&arn), false), std::slice::from_ref(&m)).0.action, Action::NoOp);
        // Removed from the spec: the update sends AWS's defaults, and the plan says so.
        let (c, steps) = diff("m", &F, &trigger(), &stream(Some(&arn), false), std::slice::from_ref(&m));
        assert!(c.diffs.iter().all(|d| d.note.as_deref() == Some("not in the spec: back to AWS's default")), "{:?}", c.diffs);
        assert_eq!(c.diffs[0].after, -1);
        let sent = steps[0].op.get::<MappingOp>().cloned();
        assert!(matches!(sent, Some(MappingOp::Update { settings, .. }) if settings.tuning == Tuning::aws_default()));
    }

    #[test]
    fn an_on_failure_destination_is_set_and_removed_by_sending_an_empty_one() {
        let arn = format!("{TABLE_ARN}/stream/s1");
        let mut t = trigger();
        t.on_failure = Some("arn:aws:sqs:us-east-1:1:dlq".into());
        let (c, steps) = diff("m", &F, &t, &stream(Some(&arn), false), &[live("u1", "s1")]);
        assert_eq!(c.diffs.len(), 1);
        assert_eq!((c.diffs[0].path.as_str(), &c.diffs[0].after), ("on_failure", &serde_json::json!("arn:aws:sqs:us-east-1:1:dlq")));
        assert_eq!(ops(&steps), ["update", "wait_settled"]);
        let mut m = live("u1", "s1");
        m.tuning.on_failure = "arn:aws:sqs:us-east-1:1:dlq".into();
        assert_eq!(diff("m", &F, &t, &stream(Some(&arn), false), std::slice::from_ref(&m)).0.action, Action::NoOp);
        let (c, steps) = diff("m", &F, &trigger(), &stream(Some(&arn), false), &[m]);
        assert_eq!(c.diffs[0].note.as_deref(), Some("not in the spec: back to AWS's default"));
        assert_eq!(c.diffs[0].after, serde_json::Value::Null);
        let Some(MappingOp::Update { settings, .. }) = steps[0].op.get::<MappingOp>() else { panic!() };
        // The update sends an empty destination: an omitted one would leave it as it is.
        assert_eq!(destination(settings).on_failure().and_then(|o| o.destination()), Some(""));
    }

    const F: Function = Function { name: "f", role_changes: false };

    fn stream(current: Option<&str>, changes: bool) -> TableStream<'_> {
        TableStream { name: "t", table_arn: TABLE_ARN.into(), current, changes }
    }

    fn ops(steps: &[Step]) -> Vec<String> {
        steps
            .iter()
            .map(|s| match s.op.get::<MappingOp>() {
                Some(o) => serde_json::to_value(o).unwrap()["op"].as_str().unwrap().to_string(),
                None => panic!("{:?}", s.op),
            })
            .collect()
    }

    #[test]
    fn the_mapping_on_the_current_stream_is_a_no_op() {
        let cur = format!("{TABLE_ARN}/stream/2");
        let (c, steps) = diff("m", &F, &trigger(), &stream(Some(&cur), false), &[live("u1", "2")]);
        assert_eq!(c.action, Action::NoOp);
        assert!(steps.is_empty());
    }

    #[test]
    fn a_mapping_on_an_old_stream_is_deleted_and_one_is_made_on_the_current_stream() {
        let cur = format!("{TABLE_ARN}/stream/2");
        let (c, steps) = diff("m", &F, &trigger(), &stream(Some(&cur), false), &[live("old", "1")]);
        assert_eq!(c.action, Action::Replace);
        assert_eq!(ops(&steps), ["delete", "create", "wait_settled"]);
        let Some(MappingOp::Create { source_arn, .. }) = steps[1].op.get::<MappingOp>().cloned() else { panic!() };
        assert_eq!(source_arn.as_deref(), Some(cur.as_str()));
        // With the current one present too, only the stale one goes.
        let (c, steps) = diff("m", &F, &trigger(), &stream(Some(&cur), false), &[live("old", "1"), live("u2", "2")]);
        assert_eq!(c.action, Action::Update);
        assert_eq!(ops(&steps), ["delete"]);
    }

    #[test]
    fn a_stream_that_this_apply_changes_replaces_the_mapping_with_a_late_source() {
        let cur = format!("{TABLE_ARN}/stream/2");
        let (c, steps) = diff("m", &F, &trigger(), &stream(Some(&cur), true), &[live("u2", "2")]);
        assert_eq!(c.action, Action::Replace);
        assert!(c.reason.as_deref().unwrap().contains("stream changes → the mapping is replaced"));
        assert_eq!(ops(&steps), ["delete", "create", "wait_settled"]);
        assert!(matches!(steps[1].op.get::<MappingOp>(), Some(MappingOp::Create { source_arn: None, .. })));
        // A table created by this apply: a plain create, source known after apply.
        let (c, _) = diff("m", &F, &trigger(), &stream(None, true), &[]);
        assert_eq!(c.action, Action::Create);
    }

    #[test]
    fn a_mapping_being_deleted_is_neither_the_trigger_nor_deleted_again() {
        let cur = format!("{TABLE_ARN}/stream/2");
        let mut dying = live("u1", "2");
        dying.state = "Deleting".into();
        // Only a dying one on the current stream: the trigger must be created, nothing deleted.
        let (c, steps) = diff("m", &F, &trigger(), &stream(Some(&cur), false), &[dying.clone()]);
        assert_eq!(c.action, Action::Create);
        assert_eq!(ops(&steps), ["create", "wait_settled"]);
        // Beside the live one: no change at all.
        let (c, steps) = diff("m", &F, &trigger(), &stream(Some(&cur), false), &[dying, live("u2", "2")]);
        assert_eq!(c.action, Action::NoOp);
        assert!(steps.is_empty());
    }

    #[test]
    fn settings_update_in_place_but_starting_position_replaces() {
        let cur = format!("{TABLE_ARN}/stream/2");
        let mut t = trigger();
        t.batch_size = 25;
        t.enabled = false;
        let (c, steps) = diff("m", &F, &t, &stream(Some(&cur), false), &[live("u2", "2")]);
        assert_eq!(c.action, Action::Update);
        let paths: Vec<&str> = c.diffs.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(paths, ["batch_size", "enabled"]);
        assert_eq!(ops(&steps), ["update", "wait_settled"]);
        let mut t = trigger();
        t.starting_position = StartingPosition::TrimHorizon;
        let (c, steps) = diff("m", &F, &t, &stream(Some(&cur), false), &[live("u2", "2")]);
        assert_eq!(c.action, Action::Replace);
        assert_eq!(ops(&steps), ["delete", "create", "wait_settled"]);
    }
}
