//! Monitoring packs: the alarms a function's or a table's `monitoring:` derives from the spec
//! (docs/contract.md, "Operations declared with the stack"). They are ordinary alarms of the
//! alarm kind (`kinds::alarm`), under their own addresses, written with references (`${functions.F.name}`) so that
//! they resolve like any alarm of `alarms:`.

use std::collections::BTreeMap;

use super::{AlarmSpec, Comparison, Desired, FunctionSpec, MissingData, Resources, Statistic, TableSpec, Threshold};

/// The longest an iterator-age alarm waits by default: an hour.
const ITERATOR_AGE_CAP_S: i64 = 3600;
/// How long a DynamoDB stream keeps a record: the age past which a record is lost.
pub const STREAM_RETENTION_S: i64 = 24 * 3600;

/// Where an alarm of the spec comes from: `alarms:` itself, or a monitoring pack (the address of
/// the resource whose `monitoring` derives it).
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    Written,
    Pack(String),
}

/// Every alarm of the spec, by key: those `alarms:` writes out and those the packs derive.
pub fn all(resources: &Resources) -> BTreeMap<String, (AlarmSpec, Origin)> {
    let mut out: BTreeMap<String, (AlarmSpec, Origin)> = BTreeMap::new();
    for (name, f) in &resources.functions {
        for (key, a) in function_pack(name, f, resources) {
            out.insert(key, (a, Origin::Pack(format!("lambda_function.{name}"))));
        }
    }
    for (name, t) in &resources.tables {
        for (key, a) in table_pack(name, t) {
            out.insert(key, (a, Origin::Pack(format!("dynamodb_table.{name}"))));
        }
    }
    out.retain(|k, _| !resources.packs_left_out.contains(k));
    // Written out last: a pack's name the spec also writes is a validation error, not a merge.
    for (key, a) in &resources.alarms {
        out.insert(key.clone(), (a.clone(), Origin::Written));
    }
    out
}

/// The keys of the alarms the packs derive, each with the resource it comes from (validation
/// refuses an `alarms:` entry of the same name, and two packs deriving the same key).
pub fn pack_keys(resources: &Resources) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (name, f) in &resources.functions {
        out.extend(function_pack(name, f, resources).into_iter().map(|(k, _)| (k, format!("functions.{name}.monitoring"))));
    }
    for (name, t) in &resources.tables {
        out.extend(table_pack(name, t).into_iter().map(|(k, _)| (k, format!("tables.{name}.monitoring"))));
    }
    out.retain(|(k, _)| !resources.packs_left_out.contains(k));
    out
}

/// The metric an alarm of a pack watches.
struct Watch {
    namespace: &'static str,
    metric: &'static str,
    dims: BTreeMap<String, String>,
    statistic: Statistic,
}

fn watch(namespace: &'static str, metric: &'static str, dims: BTreeMap<String, String>, statistic: Statistic) -> Watch {
    Watch { namespace, metric, dims, statistic }
}

/// One alarm at or above `threshold` of the watched statistic over one-minute periods.
fn at_least(w: Watch, threshold: f64, periods: i64, notify: &[String], what: String) -> AlarmSpec {
    AlarmSpec {
        namespace: w.namespace.into(),
        metric: w.metric.into(),
        dimensions: w.dims,
        statistic: w.statistic,
        period_s: 60,
        evaluation_periods: periods,
        datapoints_to_alarm: None,
        threshold,
        comparison: Comparison::GreaterOrEqual,
        treat_missing_data: MissingData::NotBreaching,
        unit: None,
        notify: notify.to_vec(),
        notify_ok: true,
        notify_insufficient_data: false,
        description: Some(format!("{what} (cruddur-infra monitoring pack)")),
        tags: BTreeMap::new(),
    }
}

/// The iterator-age threshold of a function's pack, in seconds: the spec's, else half the
/// shortest `maximum_record_age_s` of its triggers (the stream's 24 h when unbounded), at most an
/// hour. None: turned off, or no trigger.
pub fn iterator_age_s(f: &FunctionSpec) -> Option<f64> {
    let m = f.monitoring.as_ref()?;
    if f.triggers.is_empty() {
        return None;
    }
    let shortest = f.triggers.iter().map(|t| t.maximum_record_age_s.filter(|a| *a > 0).unwrap_or(STREAM_RETENTION_S)).min()?;
    Threshold::of(m.iterator_age_s, (shortest / 2).min(ITERATOR_AGE_CAP_S) as f64)
}

fn function_pack(name: &str, f: &FunctionSpec, resources: &Resources) -> Vec<(String, AlarmSpec)> {
    let Some(m) = &f.monitoring else { return Vec::new() };
    let dims = BTreeMap::from([("FunctionName".to_string(), format!("${{functions.{name}.name}}"))]);
    let mut out = Vec::new();
    if let Some(t) = Threshold::of(m.errors, 1.0) {
        let what = format!("function {name} failed invocations");
        out.push((format!("{name}-errors"), at_least(watch("AWS/Lambda", "Errors", dims.clone(), Statistic::Sum), t, 1, &m.notify, what)));
    }
    if let Some(t) = Threshold::of(m.throttles, 1.0) {
        let what = format!("function {name} invocations refused for lack of concurrency");
        out.push((
            format!("{name}-throttles"),
            at_least(watch("AWS/Lambda", "Throttles", dims.clone(), Statistic::Sum), t, 1, &m.notify, what),
        ));
    }
    if let Some(s) = iterator_age_s(f) {
        // IteratorAge is in milliseconds; five minutes above it, not one slow batch. Lambda
        // publishes it with each batch: an idle stream has none, and is fine.
        let what = format!("the triggers of function {name} are {s} s or more behind their stream");
        out.push((
            format!("{name}-iterator-age"),
            at_least(watch("AWS/Lambda", "IteratorAge", dims, Statistic::Maximum), s * 1000.0, 5, &m.notify, what),
        ));
    }
    // The depth of each trigger's on-failure queue (an SQS one).
    if let Some(t) = Threshold::of(m.dlq_depth, 1.0) {
        for q in f.triggers.iter().filter_map(|t| t.on_failure.as_deref()) {
            let (key, queue) = if resources.queues.contains_key(q) {
                (q.to_string(), format!("${{queues.{q}.name}}"))
            } else if q.split(':').nth(2) == Some("sqs") {
                let n = q.rsplit(':').next().unwrap_or(q).to_string();
                (n.clone(), n)
            } else {
                continue;
            };
            let dims = BTreeMap::from([("QueueName".to_string(), queue)]);
            let what = format!("failed batches of function {name}'s trigger recorded in queue {key}");
            let mut a = at_least(watch("AWS/SQS", "ApproximateNumberOfMessagesVisible", dims, Statistic::Maximum), t, 1, &m.notify, what);
            // SQS publishes a queue's metrics only while it is active (an API call within six
            // hours): a failed batch nobody reads would turn the alarm back to OK. Missing data
            // keeps the alarm as it was.
            a.treat_missing_data = MissingData::Ignore;
            out.push((format!("{key}-depth"), a));
        }
    }
    out
}

fn table_pack(name: &str, t: &TableSpec) -> Vec<(String, AlarmSpec)> {
    let Some(m) = &t.monitoring else { return Vec::new() };
    let Some(threshold) = Threshold::of(m.throttles, 1.0) else { return Vec::new() };
    let table = format!("${{tables.{name}.name}}");
    let mut out = Vec::new();
    let indexes = std::iter::once(None).chain(t.global_secondary_indexes.keys().map(Some));
    for index in indexes {
        for (dim, metric) in [("read", "ReadThrottleEvents"), ("write", "WriteThrottleEvents")] {
            let mut dims = BTreeMap::from([("TableName".to_string(), table.clone())]);
            let (key, what) = match index {
                None => (format!("{name}-{dim}-throttles"), format!("{dim} requests to table {name} throttled")),
                Some(i) => {
                    dims.insert("GlobalSecondaryIndexName".into(), i.clone());
                    (format!("{name}-{i}-{dim}-throttles"), format!("{dim} requests to index {i} of table {name} throttled"))
                }
            };
            out.push((key, at_least(watch("AWS/DynamoDB", metric, dims, Statistic::Sum), threshold, 1, &m.notify, what)));
        }
    }
    out
}

/// The alarms of the spec whose dimensions name function `name` (its pack's, and any `alarms:`
/// entry on its FunctionName): what a bake watches.
pub fn of_function(desired: &Desired, name: &str) -> Vec<String> {
    let aws = desired.aws_name(name);
    of(&desired.resources, name, Some(&aws), false)
}

/// [`of_function`] before the env's names are known (validation): by reference only.
pub fn of_function_in(resources: &Resources, name: &str) -> Vec<String> {
    of(resources, name, None, true)
}

/// By reference, by the env's AWS name when known, and (`by_key`, for validation) by the key.
fn of(resources: &Resources, name: &str, aws: Option<&str>, by_key: bool) -> Vec<String> {
    let own = format!("${{functions.{name}.name}}");
    all(resources)
        .into_iter()
        .filter(|(_, (a, _))| {
            a.dimensions.get("FunctionName").is_some_and(|v| *v == own || Some(v.as_str()) == aws || (by_key && *v == name))
        })
        .map(|(k, _)| k)
        .collect()
}
