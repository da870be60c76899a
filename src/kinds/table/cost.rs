//! A table's fixed monthly charges (docs/pricing.md): its provisioned capacity and each global
//! secondary index's (an autoscaled dimension as the range its scaler may set), and
//! point-in-time recovery on its size. On-demand requests and storage are usage: not priced.

use super::LiveTable;
use crate::kinds::support::pricing::{self, RegionPrices};
use crate::plan::{Cost, Usd};
use crate::spec::{Billing, Capacity, TableClass, TableSpec};

/// (min, max) units of a capacity the spec says: its autoscaling range, or its fixed units.
fn units(c: Option<&Capacity>) -> ((i64, i64), (i64, i64)) {
    let c = c.copied().unwrap_or(Capacity::new(1, 1));
    match c.autoscale {
        Some(a) => ((a.min, a.max), (a.min, a.max)),
        None => ((c.read, c.read), (c.write, c.write)),
    }
}

/// What the spec's table costs a month: `size_bytes` is the live table's (0 for a new one).
pub fn of_spec(p: &RegionPrices, spec: &TableSpec, live: Option<&LiveTable>) -> Usd {
    let ia = spec.table_class.or(live.map(|t| t.table_class)).unwrap_or_default() == TableClass::StandardInfrequentAccess;
    let mut total = Usd::ZERO;
    if spec.billing == Billing::Provisioned {
        let caps = std::iter::once(spec.capacity.as_ref()).chain(spec.global_secondary_indexes.values().map(|g| g.capacity.as_ref()));
        for c in caps {
            let (r, w) = units(c);
            total = total.plus(pricing::capacity(p, ia, r, w));
        }
    }
    let pitr_on = match spec.point_in_time_recovery {
        Some(want) => want.enabled(),
        None => live.and_then(|t| t.pitr).is_some_and(|p| p.enabled),
    };
    if pitr_on {
        total = total.plus(pricing::pitr(p, live.map_or(0, |t| t.size_bytes)));
    }
    total
}

/// What the live table costs a month, at its capacity now.
pub fn of_live(p: &RegionPrices, t: &LiveTable) -> Usd {
    let ia = t.table_class == TableClass::StandardInfrequentAccess;
    let mut total = Usd::ZERO;
    if t.billing == Billing::Provisioned {
        for c in std::iter::once(&t.capacity).chain(t.indexes.values().map(|i| &i.capacity)) {
            total = total.plus(pricing::capacity(p, ia, (c.read, c.read), (c.write, c.write)));
        }
    }
    if t.pitr.is_some_and(|p| p.enabled) {
        total = total.plus(pricing::pitr(p, t.size_bytes));
    }
    total
}

/// The cost of a change: from the live table (none: nothing) to the spec's (none: deleted).
pub fn cost(region: &str, spec: Option<&TableSpec>, live: Option<&LiveTable>) -> Option<Cost> {
    let p = pricing::region(region)?;
    Some(Cost {
        monthly_usd_before: live.map_or(Usd::ZERO, |t| of_live(p, t)),
        monthly_usd_after: spec.map_or(Usd::ZERO, |s| of_spec(p, s, live)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::SpecDocument;

    fn shipped(env: &str) -> TableSpec {
        let doc = SpecDocument::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("infra.yaml")).unwrap();
        doc.resolve(env).unwrap().0.resources.tables["cruddur-messages"].clone()
    }

    #[test]
    fn the_shipped_table_is_priced_with_its_index_and_prod_as_its_scaling_range() {
        let us = pricing::region("us-east-1").unwrap();
        // local: 5 + 5 RCU, 5 + 5 WCU, 730 hours.
        assert_eq!(of_spec(us, &shipped("local"), None), Usd::Exact(5.694));
        // prod (ca-central-1): the table and its index each scale 5..50, read and write; PITR on
        // a 2 GB table.
        let ca = pricing::region("ca-central-1").unwrap();
        let mut live = crate::kinds::table::tests::live_table();
        (live.size_bytes, live.pitr) = (2 << 30, Some(super::super::LivePitr { enabled: true, recovery_period_days: None }));
        let at = |units: f64| 2.0 * units * (0.000143 + 0.000715) * 730.0 + 2.0 * 0.22;
        let (min, max) = of_spec(ca, &shipped("prod"), Some(&live)).bounds();
        assert!((min - at(5.0)).abs() < 1e-3 && (max - at(50.0)).abs() < 1e-3, "{min} {max}");
        // The live side is priced at what it has now; on-demand has no fixed charge.
        let mut od = shipped("local");
        od.billing = Billing::OnDemand;
        assert_eq!(of_spec(us, &od, None), Usd::ZERO);
    }
}
