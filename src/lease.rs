//! The apply lease: two applies of one stack and env never interleave. It lives on AWS, so a
//! laptop and CI see the same one: an item `STACK/ENV` in a small tool-owned DynamoDB table
//! ([`TABLE`], on-demand, created on first use), taken with a conditional put. It expires
//! [`LEASE`] after its last renewal (apply renews it every third of that), so an apply killed
//! with `kill -9` blocks the next one for at most that long, and at once not at all when the
//! killed process ran on the same host (its pid is gone). The item says who holds it.

use std::collections::HashMap;
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

fn now() -> u64 {
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
    pub since: u64,
    pub expires: u64,
}

impl Holder {
    fn of(item: &HashMap<String, AttributeValue>) -> Holder {
        let s = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
        let n = |k: &str| item.get(k).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()).unwrap_or(0);
        Holder { who: s("holder"), host: s("host"), pid: n("pid") as u32, token: s("token"), since: n("since"), expires: n("expires") }
    }

    /// Held by a process of this host that no longer runs (killed): its lease is stale.
    fn dead_here(&self) -> bool {
        cfg!(target_os = "linux") && self.host == host() && self.pid != 0 && !std::path::Path::new(&format!("/proc/{}", self.pid)).exists()
    }

    fn describe(&self) -> String {
        format!(
            "{} (pid {} on {}), for {}s; it expires in {}s unless renewed",
            self.who,
            self.pid,
            self.host,
            now().saturating_sub(self.since),
            self.expires.saturating_sub(now())
        )
    }
}

/// A lease held by this process; renewed in the background until released.
pub struct Lease {
    ctx: AwsContext,
    key: String,
    token: String,
    renewal: tokio::task::JoinHandle<()>,
}

async fn ensure_table(ctx: &AwsContext) -> Result<()> {
    match ctx.dynamodb.describe_table().table_name(TABLE).send().await {
        Ok(_) => return Ok(()),
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

/// Puts our item if the lease is free (or expired, or `take_over` names the stale holder's
/// token). `None`: ours now; `Some(holder)`: someone else's.
async fn try_put(ctx: &AwsContext, key: &str, token: &str, take_over: Option<&str>) -> Result<Option<Holder>> {
    let t = now();
    let mut put = ctx
        .dynamodb
        .put_item()
        .table_name(TABLE)
        .item("lock", AttributeValue::S(key.into()))
        .item("holder", AttributeValue::S(format!("{}@{}", std::env::var("USER").unwrap_or_else(|_| "someone".into()), host())))
        .item("host", AttributeValue::S(host()))
        .item("pid", AttributeValue::N(std::process::id().to_string()))
        .item("token", AttributeValue::S(token.into()))
        .item("since", AttributeValue::N(t.to_string()))
        .item("expires", AttributeValue::N((t + LEASE.as_secs()).to_string()))
        .expression_attribute_names("#l", "lock")
        .expression_attribute_names("#x", "expires")
        .expression_attribute_values(":now", AttributeValue::N(t.to_string()));
    put = match take_over {
        None => put.condition_expression("attribute_not_exists(#l) OR #x < :now"),
        Some(old) => put
            .condition_expression("attribute_not_exists(#l) OR #x < :now OR #t = :old")
            .expression_attribute_names("#t", "token")
            .expression_attribute_values(":old", AttributeValue::S(old.into())),
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
                None => Box::pin(try_put(ctx, key, token, None)).await,
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
    let mut take_over: Option<String> = None;
    loop {
        let Some(holder) = try_put(ctx, &key, &token, take_over.as_deref()).await? else { break };
        if holder.dead_here() {
            crate::log::info(&format!(
                "  the lease of {key} is held by pid {} of this host, which no longer runs: taking it over",
                holder.pid
            ));
            take_over = Some(holder.token.clone());
            continue;
        }
        if start.elapsed() >= timeout {
            bail!(
                "another apply holds the lease of stack {} env {}: {}. Nothing was changed. Wait for it, or run again \
                 with --lock-timeout (e.g. --lock-timeout 10m) to wait in line.",
                desired.stack,
                desired.env,
                holder.describe()
            );
        }
        if shown.is_none_or(|s| s.elapsed() >= Duration::from_secs(10)) {
            crate::log::info(&format!("  waiting for the lease of {key}, held by {}", holder.describe()));
            shown = Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_secs(2).min(timeout.saturating_sub(start.elapsed())).max(Duration::from_millis(100))).await;
    }
    crate::log::debug(&format!("holding the lease of {key}"));
    let renewal = tokio::spawn(renew(ctx.clone(), key.clone(), token.clone()));
    Ok(Lease { ctx: ctx.clone(), key, token, renewal })
}

/// Extends the lease every third of its length while apply runs.
async fn renew(ctx: AwsContext, key: String, token: String) {
    loop {
        tokio::time::sleep(LEASE / 3).await;
        let r = ctx
            .dynamodb
            .update_item()
            .table_name(TABLE)
            .key("lock", AttributeValue::S(key.clone()))
            .update_expression("SET #x = :x")
            .condition_expression("#t = :t")
            .expression_attribute_names("#x", "expires")
            .expression_attribute_names("#t", "token")
            .expression_attribute_values(":x", AttributeValue::N((now() + LEASE.as_secs()).to_string()))
            .expression_attribute_values(":t", AttributeValue::S(token.clone()))
            .send()
            .await;
        if let Err(e) = r {
            crate::log::warn(&format!("could not renew the lease of {key}: {}", aws_error("DynamoDB", "UpdateItem", &key, e)));
        }
    }
}

impl Lease {
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
                "could not release the lease of {} (it expires by itself within {}s): {}",
                self.key,
                LEASE.as_secs(),
                aws_error("DynamoDB", "DeleteItem", &self.key, e)
            )),
        }
    }
}
