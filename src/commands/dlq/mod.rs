//! `dlq inspect` and `dlq redrive`: the failure loop of a stream trigger (docs/contract.md, "The
//! failure loop of a stream trigger"). When a batch exhausts its retries, Lambda records only a
//! description of it in the trigger's on-failure queue (docs/aws-behaviour.md rule 44); the records
//! stay in the stream for 24 hours. `inspect` reads the queue without consuming it (rule 45),
//! fetches each batch's records from the stream while they are kept, and can write each batch as
//! the event Lambda delivered; `redrive` invokes the function (its alias, with `deploy`) with each
//! batch still in the stream and deletes the message of each batch that succeeds.
//!
//! `record.rs` holds the pure parts (the record, sequence numbers, the event, an invocation's
//! outcome), `read.rs` the reads, `report.rs` the human and JSON reports.

mod read;
mod record;
mod report;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use aws_sdk_lambda::types::InvocationType;
use aws_smithy_types::Blob;
use serde::Serialize;
use serde_json::Value;

use super::{ask, Global};
use crate::aws::{self, aws_error, code, AwsContext};
use crate::exit::ExitStatus;
use crate::kinds::function::mapping;
use crate::kinds::queue;
use crate::log;
use crate::spec::Desired;
use read::Fetched;
use record::Outcome;

pub struct InspectOptions {
    pub address: String,
    pub out: Option<PathBuf>,
    pub json: bool,
}

pub struct RedriveOptions {
    pub address: String,
    pub yes: bool,
}

/// A trigger of the spec and what the failure loop needs of it.
#[derive(Debug, Clone, PartialEq)]
struct Trigger {
    address: String,
    /// The function's AWS name, and the alias it invokes (`deploy`).
    function: String,
    qualifier: Option<String>,
    timeout_s: i64,
    /// The on-failure queue's name, and its account when the spec gives an ARN of another.
    queue: String,
    queue_owner: Option<String>,
    filter: Vec<Value>,
    /// Whether the function's `batchItemFailures` counts (without it Lambda ignores the answer).
    report_batch_item_failures: bool,
}

/// The trigger at `address` in the env's spec, with an SQS on-failure queue.
fn trigger_of(desired: &Desired, address: &str) -> Result<Trigger> {
    let mut known = Vec::new();
    for (name, spec) in &desired.resources.functions {
        for (a, t) in mapping::addresses(name, spec).into_iter().zip(&spec.triggers) {
            if a != address {
                known.push(a);
                continue;
            }
            let Some(dest) = &t.on_failure else {
                bail!(
                    "{address} has no on_failure destination: Lambda drops a batch it gives up on and records nothing; \
                     give the trigger an `on_failure` queue in {}",
                    desired.spec_path.display()
                );
            };
            let (queue, queue_owner) = if desired.resources.queues.contains_key(dest) {
                (desired.aws_name(dest), None)
            } else {
                let parts: Vec<&str> = dest.split(':').collect();
                match parts.as_slice() {
                    ["arn", _, "sqs", _, account, name] => (name.to_string(), Some(account.to_string())),
                    ["arn", _, "sns", ..] => bail!(
                        "{address} sends its failure records to the SNS topic {dest}: they went to its subscribers, \
                         there is no queue to read; an SQS on_failure queue keeps them"
                    ),
                    _ => bail!("{address}: its on_failure `{dest}` is neither a queue of the spec nor an SQS queue's ARN"),
                }
            };
            return Ok(Trigger {
                address: a,
                function: desired.aws_name(name),
                qualifier: spec.deploy.as_ref().map(|d| d.alias.clone()),
                timeout_s: spec.timeout_s,
                queue,
                queue_owner,
                filter: t.filter.clone(),
                report_batch_item_failures: t.report_batch_item_failures,
            });
        }
    }
    let list = if known.is_empty() { "it declares none".to_string() } else { format!("its triggers: {}", known.join(", ")) };
    bail!("{address} is not a trigger of {} (env {}): {list}", desired.spec_path.display(), desired.env)
}

/// One failed batch: its description, and its records while the stream keeps them.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub message_id: String,
    pub condition: String,
    pub function_arn: String,
    pub function_version: Option<String>,
    pub function_error: Option<String>,
    pub approximate_invoke_count: Option<i64>,
    pub timestamp: Option<String>,
    pub shard_id: String,
    pub start_sequence_number: String,
    pub end_sequence_number: String,
    pub batch_size: Option<i64>,
    pub stream_arn: String,
    pub expired: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expired_reason: Option<String>,
    /// The records as Lambda delivered them (those of the range the trigger's filter passes).
    pub records: Vec<Value>,
    /// Records of the range the filter does not pass (Lambda never delivered them).
    pub skipped_by_filter: usize,
    /// False when the stream stopped answering before the batch's end sequence number.
    pub complete: bool,
    /// Why `redrive` keeps this batch rather than invoke the function with it (expired, not read
    /// in full, nothing the filter passes, not the records that failed); None: redrivable.
    pub problem: Option<String>,
}

/// A message of the queue that is not a stream trigger's failure record.
#[derive(Debug, Clone, Serialize)]
pub struct Unreadable {
    pub message_id: String,
    pub reason: String,
}

/// What `inspect` found.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    pub trigger: String,
    pub queue: String,
    pub failures: Vec<Failure>,
    pub unreadable: Vec<Unreadable>,
    /// Messages hidden by someone else's receive: not read.
    pub in_flight: i64,
}

/// The filter Lambda applies on each stream the function's triggers read: the live mappings'
/// (what built the batches), else the spec's.
async fn live_filters(ctx: &AwsContext, t: &Trigger) -> BTreeMap<String, Vec<Value>> {
    match mapping::list(ctx, &t.function).await {
        Ok(ms) => ms.into_iter().filter(|m| !m.dying()).map(|m| (m.source_arn, m.tuning.filter)).collect(),
        Err(e) => {
            log::warn(&format!("{}: its live filter could not be read ({e:#}); the spec's is used", t.address));
            BTreeMap::new()
        }
    }
}

/// Reads the queue (peeks) and the stream: every failure, in the order of its first record.
async fn inspection(ctx: &AwsContext, t: &Trigger) -> Result<(Inspection, String)> {
    let url = queue_url(ctx, t).await?;
    let (visible, in_flight) = queue::counts(ctx, &url, &t.queue).await?.with_context(|| no_queue(t))?;
    let (messages, filters) = tokio::join!(read::peek(ctx, &url, visible), live_filters(ctx, t));
    let mut failures = Vec::new();
    let mut unreadable = Vec::new();
    for m in messages? {
        let message_id = m.message_id().unwrap_or_default().to_string();
        match record::parse(m.body().unwrap_or_default()) {
            Ok(r) => {
                let filter = filters.get(&r.batch.stream_arn).unwrap_or(&t.filter);
                failures.push(failure(ctx, filter, message_id, r).await)
            }
            Err(reason) => unreadable.push(Unreadable { message_id, reason }),
        }
    }
    failures.sort_by(|a, b| record::seq_cmp(&a.start_sequence_number, &b.start_sequence_number));
    Ok((Inspection { trigger: t.address.clone(), queue: t.queue.clone(), failures, unreadable, in_flight }, url))
}

/// One failure record with its records; a batch whose records cannot be read says why (the
/// others are still read).
async fn failure(ctx: &AwsContext, filter: &[Value], message_id: String, r: record::FailureRecord) -> Failure {
    let (records, skipped, complete, expired_reason, error) = match read::fetch(ctx, &r.batch, filter).await {
        Ok(Fetched::Records { records, skipped, complete }) => (records, skipped, complete, None, None),
        Ok(Fetched::Expired(why)) => (vec![], 0, false, Some(why), None),
        Err(e) => (vec![], 0, false, None, Some(format!("its records could not be read: {e:#}"))),
    };
    let problem = if let Some(why) = expired_reason.clone().or(error) {
        Some(why)
    } else if !complete {
        Some("the stream stopped answering before the batch's end sequence number: some of its records were not read".into())
    } else if records.is_empty() {
        Some("no record of its range passes the trigger's filter".into())
    } else if r.batch.batch_size.is_some_and(|n| n != records.len() as i64) {
        Some(format!(
            "the trigger's filter passes {} record(s) of its range, but {} failed (was the filter changed since?)",
            records.len(),
            r.batch.batch_size.unwrap_or_default()
        ))
    } else {
        None
    };
    Failure {
        message_id,
        condition: r.request.condition,
        function_arn: r.request.function_arn,
        function_version: r.response.executed_version,
        function_error: r.response.function_error,
        approximate_invoke_count: r.request.approximate_invoke_count,
        timestamp: r.timestamp,
        shard_id: r.batch.shard_id,
        start_sequence_number: r.batch.start_sequence_number,
        end_sequence_number: r.batch.end_sequence_number,
        batch_size: r.batch.batch_size,
        stream_arn: r.batch.stream_arn,
        expired: expired_reason.is_some(),
        expired_reason,
        records,
        skipped_by_filter: skipped,
        complete,
        problem,
    }
}

fn no_queue(t: &Trigger) -> String {
    format!("{}: its on-failure queue {} does not exist (apply makes it)", t.address, t.queue)
}

async fn queue_url(ctx: &AwsContext, t: &Trigger) -> Result<String> {
    let url = match &t.queue_owner {
        None => queue::url_of(ctx, &t.queue).await?,
        Some(owner) => ctx
            .sqs
            .get_queue_url()
            .queue_name(&t.queue)
            .queue_owner_aws_account_id(owner)
            .send()
            .await
            .map_err(|e| aws_error("SQS", "GetQueueUrl", &t.queue, e))?
            .queue_url()
            .map(str::to_string),
    };
    url.with_context(|| no_queue(t))
}

/// The file of a batch under `--out`: its shard and first sequence number.
fn batch_file(f: &Failure) -> String {
    format!("{}-{}.json", f.shard_id, f.start_sequence_number)
}

pub async fn inspect(g: &Global, o: InspectOptions) -> Result<ExitStatus> {
    let desired = g.load(None)?;
    let t = trigger_of(&desired, &o.address)?;
    // Read-write clients: a peek is a ReceiveMessage, which the read-only guard counts as a
    // write; this command only ever receives with VisibilityTimeout 0 and reads the stream.
    let ctx = g.connect(&desired, aws::Access::ReadWrite).await;
    let (found, _) = inspection(&ctx, &t).await?;
    let mut written = Vec::new();
    if let Some(dir) = &o.out {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        for f in found.failures.iter().filter(|f| f.problem.is_none()) {
            let path = dir.join(batch_file(f));
            let text = serde_json::to_string_pretty(&record::event_of(&f.records))? + "\n";
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
            written.push(path);
        }
    }
    if o.json {
        println!("{}", serde_json::to_string_pretty(&report::json(&found))?);
    } else {
        print!("{}", report::human(&found, &written));
    }
    Ok(ExitStatus::Success)
}

/// What became of one batch in `redrive`.
#[derive(Debug, Clone, PartialEq)]
enum Redriven {
    Done {
        version: Option<String>,
    },
    Failed {
        version: Option<String>,
        outcome: Outcome,
    },
    /// The call itself failed (nothing is known of what the function did).
    CallFailed(String),
    NotReceived,
}

pub async fn redrive(g: &Global, o: RedriveOptions) -> Result<ExitStatus> {
    let desired = g.load(None)?;
    let t = trigger_of(&desired, &o.address)?;
    let ctx = g.connect(&desired, aws::Access::ReadWrite).await;
    let (found, url) = inspection(&ctx, &t).await?;
    let target = match &t.qualifier {
        Some(q) => format!("{}:{q}", t.function),
        None => t.function.clone(),
    };
    let (ready, kept): (Vec<&Failure>, Vec<&Failure>) = found.failures.iter().partition(|f| f.problem.is_none());
    print!("{}", report::redrive_plan(&found, &target, &ready, &kept));
    if ready.is_empty() {
        let clean = found.failures.is_empty() && found.unreadable.is_empty() && found.in_flight == 0;
        return Ok(if clean { ExitStatus::Success } else { ExitStatus::Failure });
    }
    if !o.yes {
        let q = format!("\nInvoke {target} with {} batch(es)? Only 'yes' is accepted: ", ready.len());
        if ask(&q, "redrive needs --yes when there is no terminal to ask on; nothing was invoked")? != "yes" {
            log::info("Redrive cancelled; nothing was invoked.");
            return Ok(ExitStatus::Failure);
        }
    }
    let shown: BTreeSet<&str> =
        found.failures.iter().map(|f| f.message_id.as_str()).chain(found.unreadable.iter().map(|u| u.message_id.as_str())).collect();
    let (results, arrived) = run_redrive(&ctx, &t, &url, &ready, &shown).await?;
    print!("{}", report::redrive_results(&ready, &results));
    if arrived > 0 {
        println!("{arrived} more message(s) arrived in the queue since it was read: left untouched; run inspect again.");
    }
    let all = ready.iter().all(|f| matches!(results.get(&f.message_id), Some(Redriven::Done { .. })));
    let left = kept.len() + found.unreadable.len() + usize::from(found.in_flight > 0) + arrived;
    Ok(if all && left == 0 { ExitStatus::Success } else { ExitStatus::Failure })
}

/// Receives the queue's messages, hidden while the run lasts (so that no other consumer takes
/// them and every receipt handle stays the latest), until every batch shown is held or receives
/// bring no new message; invokes the function with each held batch in stream order (as shown);
/// deletes the message of each batch that succeeded; and always, even after an error, makes every
/// other message it received visible again.
async fn run_redrive(
    ctx: &AwsContext,
    t: &Trigger,
    url: &str,
    ready: &[&Failure],
    shown: &BTreeSet<&str>,
) -> Result<(BTreeMap<String, Redriven>, usize)> {
    let wanted: BTreeSet<&str> = ready.iter().map(|f| f.message_id.as_str()).collect();
    // Long enough for every invocation of this run, as SQS allows at most 12 hours.
    let hide_s = ((ready.len() as i64 + 1) * (t.timeout_s + 30)).min(43_200) as i32;
    let mut held: BTreeMap<String, String> = BTreeMap::new();
    let mut others: BTreeMap<String, String> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    let mut idle = 0;
    let mut stopped = None;
    while held.len() < wanted.len() && idle < 3 {
        let messages = match read::receive(ctx, url, hide_s).await {
            Ok(m) => m,
            Err(e) => {
                stopped = Some(e);
                break;
            }
        };
        let before = seen.len();
        for m in messages {
            let (Some(id), Some(receipt)) = (m.message_id(), m.receipt_handle()) else { continue };
            seen.insert(id.to_string());
            // The latest receive's handle: a delete with an older one may leave the message.
            if wanted.contains(id) {
                held.insert(id.to_string(), receipt.to_string());
            } else {
                others.insert(id.to_string(), receipt.to_string()); // not shown (kept, or arrived since): untouched
            }
        }
        idle = if seen.len() == before { idle + 1 } else { 0 };
    }
    let mut release: Vec<String> = others.values().cloned().collect();
    let mut results = BTreeMap::new();
    // A shard's batches in order: once one fails again, its later ones wait (as Lambda never
    // delivers past a failing batch of a shard).
    let mut blocked = BTreeSet::new();
    for f in ready {
        let Some(receipt) = held.get(&f.message_id) else { continue };
        if blocked.contains(&f.shard_id) {
            results.insert(f.message_id.clone(), Redriven::CallFailed("an earlier batch of its shard failed again: kept, in order".into()));
            release.push(receipt.clone());
            continue;
        }
        let result = match invoke(ctx, t, f).await {
            Ok((version, outcome)) => {
                log::info(&format!("batch {}..{}: {}", f.start_sequence_number, f.end_sequence_number, report::outcome_line(&outcome)));
                if outcome == Outcome::Succeeded {
                    let deleted = ctx.sqs.delete_message().queue_url(url).receipt_handle(receipt).send().await;
                    match deleted {
                        Ok(_) => Redriven::Done { version },
                        Err(e) => Redriven::CallFailed(format!(
                            "redriven, but its message could not be deleted: {}",
                            aws_error("SQS", "DeleteMessage", &t.queue, e)
                        )),
                    }
                } else {
                    Redriven::Failed { version, outcome }
                }
            }
            Err(e) => Redriven::CallFailed(format!("{e:#}")),
        };
        if !matches!(result, Redriven::Done { .. }) {
            release.push(receipt.clone());
            blocked.insert(f.shard_id.clone());
        }
        results.insert(f.message_id.clone(), result);
    }
    for receipt in release {
        // Visible again now rather than when the run's visibility timeout ends.
        let r = ctx.sqs.change_message_visibility().queue_url(url).receipt_handle(&receipt).visibility_timeout(0).send().await;
        if let Err(e) = r {
            log::warn(&format!("{}", aws_error("SQS", "ChangeMessageVisibility", &t.queue, e)));
        }
    }
    if let Some(e) = stopped {
        log::warn(&format!("receiving the queue's messages stopped: {e:#}"));
    }
    for id in wanted {
        results.entry(id.to_string()).or_insert(Redriven::NotReceived);
    }
    let arrived = others.keys().filter(|id| !shown.contains(id.as_str())).count();
    Ok((results, arrived))
}

/// The most a synchronous invocation takes (Lambda quotas: 6 MB of request payload).
const INVOKE_PAYLOAD_MAX: usize = 6 * 1024 * 1024;
/// Invokes refused before the function ran (throttled, not ready) are tried this often.
const INVOKE_ATTEMPTS: u32 = 5;

/// One synchronous invocation with a batch: the version that ran and what it answered.
async fn invoke(ctx: &AwsContext, t: &Trigger, f: &Failure) -> Result<(Option<String>, Outcome)> {
    let payload = serde_json::to_vec(&record::event_of(&f.records))?;
    if payload.len() > INVOKE_PAYLOAD_MAX {
        bail!("the batch is {} bytes as an event; a synchronous Invoke takes at most 6 MB", payload.len());
    }
    // The function may run for its whole timeout: the answer's deadline is longer. No retry: a
    // retried Invoke whose answer was lost would run the function again.
    let timeouts = aws_sdk_lambda::config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .read_timeout(Duration::from_secs(t.timeout_s.max(1) as u64 + 30))
        .build();
    let once = aws_sdk_lambda::config::retry::RetryConfig::standard().with_max_attempts(1);
    // Retried by hand only when Lambda says the function did not run: throttled
    // (TooManyRequestsException) or not ready (ResourceConflictException: Pending or updating).
    let mut attempt = 0u32;
    let out = loop {
        attempt += 1;
        let sent = ctx
            .lambda
            .invoke()
            .function_name(&t.function)
            .set_qualifier(t.qualifier.clone())
            .invocation_type(InvocationType::RequestResponse)
            .payload(Blob::new(payload.clone()))
            .customize()
            .config_override(aws_sdk_lambda::config::Builder::default().timeout_config(timeouts.clone()).retry_config(once.clone()))
            .send()
            .await;
        match sent {
            Ok(out) => break out,
            Err(e) if attempt < INVOKE_ATTEMPTS && matches!(code(&e), Some("TooManyRequestsException" | "ResourceConflictException")) => {
                let wait = Duration::from_secs(1 << attempt.min(4));
                log::info(&format!("Invoke of {}: {} (it did not run); again in {wait:?}", t.function, code(&e).unwrap_or_default()));
                tokio::time::sleep(wait).await;
            }
            Err(e) => return Err(aws_error("Lambda", "Invoke", &t.function, e).into()),
        }
    };
    let body = out.payload().map(|p| p.as_ref().to_vec()).unwrap_or_default();
    let batch: Vec<&str> = f.records.iter().filter_map(|r| r.pointer("/dynamodb/SequenceNumber").and_then(Value::as_str)).collect();
    let judged = if t.report_batch_item_failures || out.function_error().is_some() {
        record::outcome(out.function_error(), &body, &batch)
    } else {
        Outcome::Succeeded // without ReportBatchItemFailures Lambda ignores the answer
    };
    Ok((out.executed_version().map(str::to_string), judged))
}
