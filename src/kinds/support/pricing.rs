//! Fixed monthly charges, from the price table kept in the repository (`pricing/prices.json`,
//! its date and source inside; docs/pricing.md). Only what is charged whatever the traffic is
//! priced: provisioned capacity, point-in-time recovery, alarms. Usage is named, never guessed.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::plan::Usd;

const TABLE: &str = include_str!("../../../pricing/prices.json");

#[derive(Debug, Deserialize)]
pub struct PriceTable {
    pub date: String,
    pub source: String,
    pub hours_per_month: f64,
    pub usage_not_priced: Vec<String>,
    pub regions: BTreeMap<String, RegionPrices>,
}

#[derive(Debug, Deserialize)]
pub struct RegionPrices {
    pub dynamodb: DynamoPrices,
    pub cloudwatch: CloudWatchPrices,
}

#[derive(Debug, Deserialize)]
pub struct DynamoPrices {
    pub standard: CapacityPrices,
    pub standard_infrequent_access: CapacityPrices,
    pub pitr_gb_month: f64,
}

#[derive(Debug, Deserialize)]
pub struct CapacityPrices {
    pub rcu_hour: f64,
    pub wcu_hour: f64,
}

#[derive(Debug, Deserialize)]
pub struct CloudWatchPrices {
    pub alarm_month: f64,
    pub high_resolution_alarm_month: f64,
}

/// The table shipped in the binary.
pub fn table() -> &'static PriceTable {
    static T: OnceLock<PriceTable> = OnceLock::new();
    T.get_or_init(|| serde_json::from_str(TABLE).expect("pricing/prices.json is valid (tested)"))
}

/// The prices of `region`; None where the table has none (then nothing is priced).
pub fn region(region: &str) -> Option<&'static RegionPrices> {
    table().regions.get(region)
}

/// Provisioned read and write units a month, by table class: exact, or the range of what a
/// scaler may set. `reads` and `writes` are (min, max) unit counts.
pub fn capacity(p: &RegionPrices, infrequent_access: bool, reads: (i64, i64), writes: (i64, i64)) -> Usd {
    let c = if infrequent_access { &p.dynamodb.standard_infrequent_access } else { &p.dynamodb.standard };
    let h = table().hours_per_month;
    let at = |r: i64, w: i64| (r as f64 * c.rcu_hour + w as f64 * c.wcu_hour) * h;
    Usd::of(at(reads.0, writes.0), at(reads.1, writes.1))
}

/// Point-in-time recovery of a table of `size_bytes` (charged per GB-month of the table's size;
/// AWS bills storage in GB of 2^30 bytes).
pub fn pitr(p: &RegionPrices, size_bytes: i64) -> Usd {
    let x = size_bytes as f64 / (1u64 << 30) as f64 * p.dynamodb.pitr_gb_month;
    Usd::of(x, x)
}

/// One alarm a month: a high-resolution one (a period under a minute) costs more.
pub fn alarm(p: &RegionPrices, period_s: i64) -> Usd {
    Usd::Exact(if period_s < 60 { p.cloudwatch.high_resolution_alarm_month } else { p.cloudwatch.alarm_month })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_table_parses_and_prices_both_regions() {
        let t = table();
        assert!(!t.date.is_empty() && t.source.contains("refresh-prices"));
        for r in ["us-east-1", "ca-central-1"] {
            let p = region(r).unwrap();
            assert!(p.dynamodb.standard.wcu_hour > p.dynamodb.standard.rcu_hour);
        }
        let p = region("us-east-1").unwrap();
        // 10 RCU and 10 WCU a month: (10 × 0.00013 + 10 × 0.00065) × 730.
        assert_eq!(capacity(p, false, (10, 10), (10, 10)), Usd::Exact(5.694));
        assert_eq!(capacity(p, false, (5, 50), (5, 50)), Usd::Range { min: 2.847, max: 28.47 });
        assert_eq!(alarm(p, 60), Usd::Exact(0.1));
        assert_eq!(alarm(p, 10), Usd::Exact(0.3));
        assert_eq!(pitr(p, 5 << 30), Usd::Exact(1.0));
        assert_eq!(Usd::Exact(-0.004).show(true), "+$0.00");
        assert_eq!(Usd::Range { min: -1.0, max: 2.5 }.show(true), "-$1.00–+$2.50");
        assert!(region("xx-nowhere-1").is_none());
    }
}
