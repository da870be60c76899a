//! A table's time to live (`ttl:`): read with DescribeTimeToLive, changed with
//! UpdateTimeToLive. AWS allows one change per table per hour (docs/aws-behaviour.md rule 18), so a plan
//! says when a change spends that allowance, a change that would need two (another attribute)
//! is refused with the two applies it takes, and AWS's refusal is an error, never retried.

use anyhow::Result;
use aws_sdk_dynamodb::types as ddb;
use serde::{Deserialize, Serialize};

use crate::aws::{aws_error, AwsContext};
use crate::plan::{FieldDiff, Step};
use crate::spec::{TableSpec, Ttl};

use super::TableOp;

/// What every TTL change says in the plan.
pub const ONCE_AN_HOUR: &str = "AWS allows one time-to-live change per table per hour";

/// Time to live as DescribeTimeToLive says.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LiveTtl {
    /// ENABLED, ENABLING, DISABLED or DISABLING.
    pub status: String,
    pub attribute: Option<String>,
}

impl LiveTtl {
    /// On, or being turned on.
    pub fn on(&self) -> bool {
        matches!(self.status.as_str(), "ENABLED" | "ENABLING")
    }
}

pub(crate) async fn observe(ctx: &AwsContext, name: &str) -> Result<LiveTtl> {
    let out = ctx
        .dynamodb
        .describe_time_to_live()
        .table_name(name)
        .send()
        .await
        .map_err(|e| aws_error("DynamoDB", "DescribeTimeToLive", name, e))?;
    let d = out.time_to_live_description();
    Ok(LiveTtl {
        status: d.and_then(|d| d.time_to_live_status()).map(|s| s.as_str().to_string()).unwrap_or_else(|| "DISABLED".into()),
        attribute: d.and_then(|d| d.attribute_name()).map(str::to_string),
    })
}

fn shown(t: &LiveTtl) -> serde_json::Value {
    match (&t.attribute, t.on()) {
        (Some(a), true) => serde_json::json!({ "attribute": a }),
        _ => serde_json::json!(false),
    }
}

/// Time to live as the spec says, when it says (None: not managed). `live` None: a new table
/// (off). Returns the steps, and why the change cannot be made in one apply (blocked).
pub(crate) fn steps(
    address: &str,
    name: &str,
    spec: &TableSpec,
    live: Option<&LiveTtl>,
    diffs: &mut Vec<FieldDiff>,
) -> (Vec<Step>, Option<String>) {
    let Some(want) = &spec.ttl else { return (Vec::new(), None) };
    let off = LiveTtl { status: "DISABLED".into(), attribute: None };
    let have = live.unwrap_or(&off);
    let after = serde_json::to_value(want).unwrap_or_default();
    match (want.attribute(), have.on(), have.attribute.as_deref()) {
        (Some(a), true, Some(b)) if a == b => (Vec::new(), None),
        (Some(a), true, b) => {
            diffs.push(FieldDiff::new("ttl", shown(have), after).note(ONCE_AN_HOUR));
            let b = b.unwrap_or("?");
            let why = format!(
                "time to live is on `{b}`: moving it to `{a}` takes two changes (off, then on) and {ONCE_AN_HOUR}. \
                 Set `ttl: false` and apply, then `ttl: {{ attribute: {a} }}` an hour later."
            );
            (Vec::new(), Some(why))
        }
        (Some(_), false, _) if have.status == "DISABLING" => {
            diffs.push(FieldDiff::new("ttl", shown(have), after).note(ONCE_AN_HOUR));
            (Vec::new(), Some(format!("time to live is being turned off, and {ONCE_AN_HOUR}: apply again in an hour")))
        }
        (Some(a), false, _) => {
            let note = if live.is_some() { ONCE_AN_HOUR.to_string() } else { format!("set once the table is ACTIVE; {ONCE_AN_HOUR}") };
            diffs.push(FieldDiff::new("ttl", shown(have), after).note(note));
            let op = TableOp::SetTtl { name: name.into(), attribute: a.into(), enabled: true };
            (vec![super::diff::step(address, format!("turn on time to live of table {name} (attribute {a})"), op)], None)
        }
        (None, true, b) => {
            let b = b.unwrap_or_default().to_string();
            diffs.push(
                FieldDiff::new("ttl", shown(have), after)
                    .note(format!("items stop expiring; {ONCE_AN_HOUR}: it can be turned on again an hour from now")),
            );
            let op = TableOp::SetTtl { name: name.into(), attribute: b, enabled: false };
            (vec![super::diff::step(address, format!("turn off time to live of table {name}"), op)], None)
        }
        (None, false, _) => (Vec::new(), None),
    }
}

pub(crate) async fn set(ctx: &AwsContext, name: &str, attribute: &str, enabled: bool) -> Result<()> {
    let spec = ddb::TimeToLiveSpecification::builder().attribute_name(attribute).enabled(enabled).build()?;
    ctx.dynamodb
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(spec)
        .send()
        .await
        .map_err(|e| aws_error("DynamoDB", "UpdateTimeToLive", name, e))?;
    Ok(())
}

/// How import writes what it read: on with its attribute, else nothing (off is AWS's default).
pub(crate) fn spec_of(live: Option<&LiveTtl>) -> Option<Ttl> {
    let t = live.filter(|t| t.on())?;
    Some(Ttl::On { attribute: t.attribute.clone()? })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(ttl: Option<Ttl>) -> TableSpec {
        let mut s: TableSpec = serde_yaml::from_str("partition_key: { name: pk, type: S }").unwrap();
        s.ttl = ttl;
        s
    }

    fn live(status: &str, attribute: Option<&str>) -> LiveTtl {
        LiveTtl { status: status.into(), attribute: attribute.map(str::to_string) }
    }

    fn on(a: &str) -> Option<Ttl> {
        Some(Ttl::On { attribute: a.into() })
    }

    #[test]
    fn each_change_says_the_hourly_rule_and_an_attribute_change_is_refused_with_the_two_steps() {
        let mut d = Vec::new();
        // Not managed: nothing, whatever the table has.
        assert!(steps("a", "t", &spec(None), Some(&live("ENABLED", Some("x"))), &mut d).0.is_empty() && d.is_empty());
        // The same: nothing.
        assert!(steps("a", "t", &spec(on("x")), Some(&live("ENABLED", Some("x"))), &mut d).0.is_empty() && d.is_empty());
        // Off → on.
        let (s, blocked) = steps("a", "t", &spec(on("x")), Some(&live("DISABLED", None)), &mut d);
        assert_eq!(s.len(), 1);
        assert!(blocked.is_none());
        assert_eq!(s[0].op.get::<TableOp>(), Some(&TableOp::SetTtl { name: "t".into(), attribute: "x".into(), enabled: true }));
        assert_eq!(d[0].note.as_deref(), Some(ONCE_AN_HOUR));
        // On → off: the live attribute is named (the API needs it).
        let mut d = Vec::new();
        let (s, _) = steps("a", "t", &spec(Some(Ttl::Switch(false))), Some(&live("ENABLED", Some("x"))), &mut d);
        assert_eq!(s[0].op.get::<TableOp>(), Some(&TableOp::SetTtl { name: "t".into(), attribute: "x".into(), enabled: false }));
        assert!(d[0].note.as_deref().unwrap().contains("an hour from now"));
        // Another attribute: two changes, so blocked with the way through.
        let mut d = Vec::new();
        let (s, blocked) = steps("a", "t", &spec(on("y")), Some(&live("ENABLED", Some("x"))), &mut d);
        assert!(s.is_empty());
        assert!(blocked.unwrap().contains("Set `ttl: false` and apply, then `ttl: { attribute: y }` an hour later"));
        // Being turned off: on again only in an hour.
        let (s, blocked) = steps("a", "t", &spec(on("x")), Some(&live("DISABLING", Some("x"))), &mut Vec::new());
        assert!(s.is_empty() && blocked.is_some());
        // A new table: on once ACTIVE.
        let mut d = Vec::new();
        let (s, _) = steps("a", "t", &spec(on("x")), None, &mut d);
        assert_eq!(s.len(), 1);
        assert!(d[0].note.as_deref().unwrap().starts_with("set once the table is ACTIVE"));
    }

    #[test]
    fn import_writes_ttl_only_when_on() {
        assert_eq!(spec_of(Some(&live("ENABLED", Some("exp")))), on("exp"));
        assert_eq!(spec_of(Some(&live("DISABLED", None))), None);
        assert_eq!(spec_of(None), None);
    }
}
