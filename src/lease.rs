//! The apply lease: two applies of one stack and env never interleave. It lives on AWS, so a
//! laptop and CI see the same one: an item `STACK/ENV` in a small tool-owned DynamoDB table
//! ([`TABLE`], on-demand, created on first use), taken with a conditional put.
//!
//! No clock is compared across machines (docs/aws-behaviour.md rule 38; the design of AWS Labs'
//! DynamoDB Lock Client): the item holds a lease duration and a record version number, which the
//! holder changes at every renewal (every third of [`LEASE`]). A waiter that sees the same
//! version for a whole lease duration, measured on its own clock, takes the lease over; so does
//! one on the holder's host once the holder's process is gone (`kill -9`). The holder, whose
//! renewals keep failing, stops before its next step once a waiter could have taken over.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Result};
use aws_sdk_dynamodb::types::{self as ddb, AttributeValue};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::aws::{aws_error, code, AwsContext};
use crate::spec::Desired;

/// The table of leases, one item per stack and env.
pub const TABLE: &str = "cruddur-infra-locks";
/// How long a lease lasts without renewal.
pub const LEASE: Duration = Duration::from_secs(120);

/// Seconds since the epoch on this host's clock: shown to people, never compared with another
/// host's.
fn epoch_seconds() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".into())
}

/// Who holds a lease, as its item says.
#[derive(Debug, Clone)]
pub struct Holder {
    pub who: String,
    pub host: String,
    pub pid: u32,
    pub token: String,
    /// What changes at every renewal: the record version number, or, in an item an older tool
    /// wrote, its `expires` (which that tool rewrote at each renewal).
    pub version: Version,
    /// The lease duration the holder promised to renew within.
    pub lease: Duration,
}

impl Holder {
    fn of(item: &HashMap<String, AttributeValue>) -> Holder {
        let s = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
        let n = |k: &str| item.get(k).and_then(|v| v.as_n().ok()).and_then(|n| n.parse::<u64>().ok());
        Holder {
            who: s("holder"),
            host: s("host"),
            pid: n("pid").unwrap_or(0) as u32,
            token: s("token"),
            version: match item.get("rvn").and_then(|v| v.as_s().ok()) {
                Some(r) => Version::Rvn(r.clone()),
                None => Version::Expires(item.get("expires").and_then(|v| v.as_n().ok()).cloned().unwrap_or_default()),
            },
            lease: n("lease_ms").map(Duration::from_millis).unwrap_or(LEASE),
        }
    }

    /// Held by a process of this host that no longer runs (killed): its lease is stale.
    fn dead_here(&self) -> bool {
        cfg!(target_os = "linux") && self.host == host() && self.pid != 0 && !std::path::Path::new(&format!("/proc/{}", self.pid)).exists()
    }

    fn describe(&self, unchanged_for: Duration) -> String {
        format!(
            "{} (pid {} on {}); it is taken over once it goes {}s without renewal, measured here (unchanged for {}s so far)",
            self.who,
            self.pid,
            self.host,
            self.lease.as_secs(),
            unchanged_for.as_secs()
        )
    }
}

/// The part of a lease item its holder changes at every renewal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Version {
    Rvn(String),
    /// An item of an older tool: its `expires` (a number), rewritten at each renewal.
    Expires(String),
}

/// A moment on this host, measured both monotonically and on the wall clock: the elapsed time is
/// the larger of the two, so that a machine that slept (the monotonic clock stops meanwhile)
/// does not believe its lease fresh. Never compared with another host's clock.
#[derive(Debug, Clone, Copy)]
struct Moment {
    instant: Instant,
    wall: SystemTime,
}

impl Moment {
    fn now() -> Self {
        Moment { instant: Instant::now(), wall: SystemTime::now() }
    }

    fn elapsed(&self) -> Duration {
        self.instant.elapsed().max(self.wall.elapsed().unwrap_or_default())
    }
}

/// What a waiter has seen of the holder's item: its version, and since when (on this host).
struct Seen {
    version: Version,
    since: Moment,
}

impl Seen {
    /// Records the holder's version as seen now; returns how long it has been unchanged.
    fn observe(seen: &mut Option<Seen>, version: &Version) -> Duration {
        match seen {
            Some(s) if s.version == *version => s.since.elapsed(),
            _ => {
                *seen = Some(Seen { version: version.clone(), since: Moment::now() });
                Duration::ZERO
            }
        }
    }
}

/// How a holder's lease stands, as its renewals found it.
#[derive(Debug, Clone)]
struct Held {
    /// When the last renewal that took was sent (not when its answer came: a retried call may
    /// answer late).
    renewed: Moment,
    /// The last renewal's error, if it failed.
    error: Option<String>,
    /// A renewal was refused because another apply holds the lease now.
    taken: bool,
}

/// Whether the holder of a lease last renewed `since_renewal` ago has lost it: a waiter may
/// take it over after one whole lease without a new version (measured from its first read,
/// which can be no earlier than the renewal), so the holder stops a quarter of a lease before.
pub fn lost(since_renewal: Duration, lease: Duration) -> bool {
    since_renewal >= lease - lease / 4
}

/// A lease held by this process; renewed in the background until released.
pub struct Lease {
    ctx: AwsContext,
    key: String,
    token: String,
    held: Arc<Mutex<Held>>,
    renewal: tokio::task::JoinHandle<()>,
}

/// Makes sure the table of leases exists and is ACTIVE (a table another apply has just created
/// is CREATING, and refuses items until it is ACTIVE: rule 37).
async fn ensure_table(ctx: &AwsContext) -> Result<()> {
    match ctx.dynamodb.describe_table().table_name(TABLE).send().await {
        Ok(o) if o.table().and_then(|t| t.table_status()) == Some(&ddb::TableStatus::Active) => return Ok(()),
        Ok(_) => return crate::kinds::table::wait_table(ctx, TABLE, false).await,
        Err(e) if code(&e) == Some("ResourceNotFoundException") => {}
        Err(e) => return Err(aws_error("DynamoDB", "DescribeTable", TABLE, e).into()),
    }
    crate::log::info(&format!("creating the table of apply leases, {TABLE} (on-demand, once per account and region)"));
    let r = ctx
        .dynamodb
        .create_table()
        .table_name(TABLE)
        .billing_mode(ddb::BillingMode::PayPerRequest)
        .attribute_definitions(
            ddb::AttributeDefinition::builder().attribute_name("lock").attribute_type(ddb::ScalarAttributeType::S).build()?,
        )
        .key_schema(ddb::KeySchemaElement::builder().attribute_name("lock").key_type(ddb::KeyType::Hash).build()?)
        .tags(ddb::Tag::builder().key("managed-by").value("cruddur-infra").build()?)
        .send()
        .await;
    match r {
        Ok(_) => {}
        // Another apply created it at the same moment.
        Err(e) if code(&e) == Some("ResourceInUseException") => {}
        Err(e) => return Err(aws_error("DynamoDB", "CreateTable", TABLE, e).into()),
    }
    crate::kinds::table::wait_table(ctx, TABLE, false).await
}

/// Puts our item if the lease is free, or `take_over` names the version of a stale holder's
/// item. `None`: ours now; `Some(holder)`: someone else's.
async fn try_put(ctx: &AwsContext, key: &str, token: &str, rvn: &str, take_over: Option<&Version>) -> Result<Option<Holder>> {
    let mut put = ctx
        .dynamodb
        .put_item()
        .table_name(TABLE)
        .item("lock", AttributeValue::S(key.into()))
        .item("holder", AttributeValue::S(format!("{}@{}", std::env::var("USER").unwrap_or_else(|_| "someone".into()), host())))
        .item("host", AttributeValue::S(host()))
        .item("pid", AttributeValue::N(std::process::id().to_string()))
        .item("token", AttributeValue::S(token.into()))
        .item("rvn", AttributeValue::S(rvn.into()))
        .item("lease_ms", AttributeValue::N(LEASE.as_millis().to_string()))
        // Shown to people only (the holder's clock).
        .item("since", AttributeValue::N(epoch_seconds().to_string()))
        .expression_attribute_names("#l", "lock");
    // Taken over only if it is still the version watched go unrenewed.
    put = match take_over {
        None => put.condition_expression("attribute_not_exists(#l)"),
        Some(Version::Rvn(old)) => put
            .condition_expression("attribute_not_exists(#l) OR #r = :old")
            .expression_attribute_names("#r", "rvn")
            .expression_attribute_values(":old", AttributeValue::S(old.clone())),
        Some(Version::Expires(old)) => put
            .condition_expression("attribute_not_exists(#l) OR (attribute_not_exists(#r) AND #x = :old)")
            .expression_attribute_names("#r", "rvn")
            .expression_attribute_names("#x", "expires")
            .expression_attribute_values(":old", AttributeValue::N(old.clone())),
    };
    match put.send().await {
        Ok(_) => Ok(None),
        Err(e) if e.code() == Some("ConditionalCheckFailedException") => {
            let item = ctx
                .dynamodb
                .get_item()
                .table_name(TABLE)
                .key("lock", AttributeValue::S(key.into()))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| aws_error("DynamoDB", "GetItem", &format!("{TABLE}/{key}"), e))?;
            match item.item() {
                // Released in between: try again.
                None => Box::pin(try_put(ctx, key, token, rvn, None)).await,
                // Our own put, whose answer was lost and which the SDK retried.
                Some(i) if Holder::of(i).token == token => Ok(None),
                Some(i) => Ok(Some(Holder::of(i))),
            }
        }
        Err(e) => Err(aws_error("DynamoDB", "PutItem", &format!("{TABLE}/{key}"), e).into()),
    }
}

/// Takes the lease of `desired`'s stack and env, waiting up to `timeout` for its holder.
pub async fn acquire(ctx: &AwsContext, desired: &Desired, timeout: Duration) -> Result<Lease> {
    ensure_table(ctx).await?;
    let key = format!("{}/{}", desired.stack, desired.env);
    let token = crate::ids::random_hex()?;
    let start = Instant::now();
    let mut shown: Option<Instant> = None;
    let mut take_over: Option<Version> = None;
    let mut seen: Option<Seen> = None;
    let taken_at = loop {
        let rvn = crate::ids::random_hex()?;
        let sent = Moment::now();
        let Some(holder) = try_put(ctx, &key, &token, &rvn, take_over.as_ref()).await? else { break sent };
        if holder.dead_here() {
            crate::log::info(&format!(
                "  the lease of {key} is held by pid {} of this host, which no longer runs: taking it over",
                holder.pid
            ));
            take_over = Some(holder.version.clone());
            continue;
        }
        let unchanged = Seen::observe(&mut seen, &holder.version);
        if unchanged >= holder.lease {
            crate::log::info(&format!(
                "  the lease of {key}, held by {}, was not renewed for {}s: taking it over",
                holder.who,
                unchanged.as_secs()
            ));
            take_over = Some(holder.version.clone());
            continue;
        }
        take_over = None;
        if start.elapsed() >= timeout {
            bail!(
                "another apply holds the lease of stack {} env {}: {}. Nothing was changed. Wait for it, or run again \
                 with --lock-timeout (e.g. --lock-timeout 10m) to wait in line.",
                desired.stack,
                desired.env,
                holder.describe(unchanged)
            );
        }
        if shown.is_none_or(|s| s.elapsed() >= Duration::from_secs(10)) {
            crate::log::info(&format!("  waiting for the lease of {key}, held by {}", holder.describe(unchanged)));
            shown = Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_secs(2).min(timeout.saturating_sub(start.elapsed())).max(Duration::from_millis(100))).await;
    };
    crate::log::debug(&format!("holding the lease of {key}"));
    let held = Arc::new(Mutex::new(Held { renewed: taken_at, error: None, taken: false }));
    let renewal = tokio::spawn(renew(ctx.clone(), key.clone(), token.clone(), held.clone()));
    Ok(Lease { ctx: ctx.clone(), key, token, held, renewal })
}

/// Gives the lease a new version every third of its length while apply runs.
async fn renew(ctx: AwsContext, key: String, token: String, held: Arc<Mutex<Held>>) {
    loop {
        tokio::time::sleep(LEASE / 3).await;
        let Ok(rvn) = crate::ids::random_hex() else { continue };
        let sent = Moment::now();
        let r = ctx
            .dynamodb
            .update_item()
            .table_name(TABLE)
            .key("lock", AttributeValue::S(key.clone()))
            .update_expression("SET #r = :r")
            .condition_expression("#t = :t")
            .expression_attribute_names("#r", "rvn")
            .expression_attribute_names("#t", "token")
            .expression_attribute_values(":r", AttributeValue::S(rvn))
            .expression_attribute_values(":t", AttributeValue::S(token.clone()))
            .send()
            .await;
        let mut state = held.lock().unwrap_or_else(|e| e.into_inner());
        match r {
            Ok(_) => (state.renewed, state.error) = (sent, None),
            // Not ours any more: another apply took it over (our renewals had stopped too long).
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => {
                crate::log::warn(&format!("the lease of {key} was taken over by another apply"));
                state.taken = true;
                return;
            }
            Err(e) => {
                let e = aws_error("DynamoDB", "UpdateItem", &key, e).to_string();
                crate::log::warn(&format!("could not renew the lease of {key}: {e}"));
                state.error = Some(e);
            }
        }
    }
}

impl Lease {
    /// An error once the lease may have passed to another apply (its renewals failed for most
    /// of a lease): apply stops before its next step.
    pub fn check(&self) -> Result<()> {
        let held = self.held.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if held.taken {
            bail!(
                "another apply took over the lease of {}: apply stops before its next step. Run apply again: it plans from what is live.",
                self.key
            );
        }
        let since = held.renewed.elapsed();
        if lost(since, LEASE) {
            bail!(
                "the lease of {} was not renewed for {}s (last error: {}): another apply may hold it now, so apply stops \
                 before its next step. Run apply again: it plans from what is live.",
                self.key,
                since.as_secs(),
                held.error.unwrap_or_else(|| "none".into())
            );
        }
        Ok(())
    }

    /// Gives the lease back (only if it is still ours).
    pub async fn release(self) {
        self.renewal.abort();
        let r = self
            .ctx
            .dynamodb
            .delete_item()
            .table_name(TABLE)
            .key("lock", AttributeValue::S(self.key.clone()))
            .condition_expression("#t = :t")
            .expression_attribute_names("#t", "token")
            .expression_attribute_values(":t", AttributeValue::S(self.token.clone()))
            .send()
            .await;
        match r {
            Ok(_) => {}
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => {}
            Err(e) => crate::log::warn(&format!(
                "could not release the lease of {} (another apply takes it over once it goes {}s unrenewed): {}",
                self.key,
                LEASE.as_secs(),
                aws_error("DynamoDB", "DeleteItem", &self.key, e)
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_holder_whose_renewals_fail_stops_before_a_waiter_can_take_over() {
        let lease = Duration::from_secs(120);
        assert!(!lost(Duration::from_secs(40), lease), "one renewal missed");
        assert!(!lost(Duration::from_secs(80), lease), "two missed");
        assert!(lost(Duration::from_secs(90), lease), "a quarter of a lease before any waiter may take it");
    }

    #[test]
    fn a_waiter_measures_an_unchanged_version_on_its_own_clock() {
        let mut seen = None;
        let v = |s: &str| Version::Rvn(s.into());
        assert_eq!(Seen::observe(&mut seen, &v("v1")), Duration::ZERO);
        std::thread::sleep(Duration::from_millis(20));
        assert!(Seen::observe(&mut seen, &v("v1")) >= Duration::from_millis(20));
        assert_eq!(Seen::observe(&mut seen, &v("v2")), Duration::ZERO, "a renewal starts the count again");
        // An older tool's item renews its `expires`: that is its version.
        assert_eq!(Seen::observe(&mut seen, &Version::Expires("100".into())), Duration::ZERO);
        assert_eq!(Seen::observe(&mut seen, &Version::Expires("140".into())), Duration::ZERO);
    }
}
