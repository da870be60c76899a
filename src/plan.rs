//! The plan: plain serde data computed by pure functions from (Desired, Live). Renderers and
//! apply read only this. It is serialized (the JSON plan, saved plans) and never read back:
//! `apply FILE` plans again and compares the JSON.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Create,
    Update,
    Replace,
    Delete,
    NoOp,
}

impl Action {
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
            Action::NoOp => " ",
        }
    }

    pub fn is_change(self) -> bool {
        matches!(self, Action::Create | Action::Update | Action::Replace | Action::Delete)
    }
}

/// One field that differs. `before` is null for a created field, `after` null for a removed one.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FieldDiff {
    pub path: String,
    pub before: Value,
    pub after: Value,
    /// Why this field matters: forces replacement, loses stream records, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Set when the change lets something do more than before (IAM grants): what it adds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broadens: Option<String>,
}

impl FieldDiff {
    pub fn new(path: impl Into<String>, before: impl Serialize, after: impl Serialize) -> Self {
        FieldDiff {
            path: path.into(),
            before: serde_json::to_value(before).unwrap_or(Value::Null),
            after: serde_json::to_value(after).unwrap_or(Value::Null),
            note: None,
            broadens: None,
        }
    }

    pub fn broadens(mut self, what: impl Into<String>) -> Self {
        self.broadens = Some(what.into());
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }
}

/// What makes `live` tags equal `want`: (diffs, keys to set, keys to remove). Keys under `aws:`
/// belong to AWS and are left alone.
pub fn tag_delta(
    want: &std::collections::BTreeMap<String, String>,
    live: &std::collections::BTreeMap<String, String>,
) -> (Vec<FieldDiff>, std::collections::BTreeMap<String, String>, Vec<String>) {
    let mut diffs = Vec::new();
    let mut set = std::collections::BTreeMap::new();
    let mut remove = Vec::new();
    for (k, v) in want {
        if live.get(k) != Some(v) {
            diffs.push(FieldDiff::new(format!("tags.{k}"), live.get(k), v));
            set.insert(k.clone(), v.clone());
        }
    }
    for (k, v) in live {
        if !want.contains_key(k) && !k.starts_with("aws:") {
            diffs.push(FieldDiff::new(format!("tags.{k}"), v, None::<String>));
            remove.push(k.clone());
        }
    }
    (diffs, set, remove)
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ResourceChange {
    pub address: String,
    pub action: Action,
    pub diffs: Vec<FieldDiff>,
    /// Why a resource is replaced (or not supported).
    pub reason: Option<String>,
    /// Data is lost if this change is applied (table replace/delete).
    #[serde(default)]
    pub destructive: bool,
    /// Why apply must refuse this change whatever the flags (e.g. deletion protection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked: Option<String>,
    /// The resource is this stack env's but the spec no longer declares it (found by its
    /// ownership marker): deleted, or released when it says `on_removal: retain`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_in_spec: bool,
    /// What a reviewer must not miss in this change (data loss, a trigger restarting its
    /// position, permissions broadened, an alarm silenced). Data loss and broadened permissions
    /// are derived by [`Plan::push`]; the others are said by the kind.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub risks: Vec<Risk>,
    /// The fixed monthly charges of a priced resource, before and after the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<Cost>,
}

/// The kinds of risk the plan leads with (docs/contract.md, "Plan review").
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum RiskKind {
    /// A table deleted or replaced: its items are lost.
    DataLoss,
    /// A trigger replaced: the new one starts reading the stream at its starting position.
    PositionRestarts,
    /// An IAM grant or an endpoint policy lets something do more than before.
    PermissionsBroadened,
    /// An alarm removed, or its actions turned off: something fails and nobody is told.
    AlarmSilenced,
    /// A production check this env waives.
    CheckWaived,
}

impl RiskKind {
    /// How the risk is named in a plan a reviewer reads.
    pub fn words(self) -> &'static str {
        match self {
            RiskKind::DataLoss => "data loss",
            RiskKind::PositionRestarts => "trigger replaced",
            RiskKind::PermissionsBroadened => "permissions broadened",
            RiskKind::AlarmSilenced => "alarm removed or silenced",
            RiskKind::CheckWaived => "production check waived",
        }
    }
}

/// One risk of a change: its kind and what exactly happens.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Risk {
    pub kind: RiskKind,
    pub what: String,
}

impl Risk {
    pub fn new(kind: RiskKind, what: impl Into<String>) -> Self {
        Risk { kind, what: what.into() }
    }
}

/// A monthly amount in US dollars: exact, or a range (a capacity the scaler moves).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Usd {
    Exact(f64),
    Range { min: f64, max: f64 },
}

impl Usd {
    pub const ZERO: Usd = Usd::Exact(0.0);

    /// (lowest, highest).
    pub fn bounds(self) -> (f64, f64) {
        match self {
            Usd::Exact(x) => (x, x),
            Usd::Range { min, max } => (min, max),
        }
    }

    /// An amount between `min` and `max` (exact when they round alike).
    pub fn of(min: f64, max: f64) -> Usd {
        // Rounded to a hundredth of a cent: sums of hourly prices carry float noise.
        let r = |x: f64| (x * 10_000.0).round() / 10_000.0;
        if r(min) == r(max) {
            Usd::Exact(r(min))
        } else {
            Usd::Range { min: r(min), max: r(max) }
        }
    }

    pub fn plus(self, other: Usd) -> Usd {
        let ((a, b), (c, d)) = (self.bounds(), other.bounds());
        Usd::of(a + c, b + d)
    }

    /// `self - other`, bound by bound (the ranges of one resource line up: min with min).
    pub fn minus(self, other: Usd) -> Usd {
        let ((a, b), (c, d)) = (self.bounds(), other.bounds());
        Usd::of(a - c, b - d)
    }

    /// `$5.69`, `$5.69–$56.94`; with `signed`, `+$5.69`, `-$1.00`, `+$0.00–+$51.25`.
    pub fn show(self, signed: bool) -> String {
        let one = |x: f64| {
            // The sign of what is shown: -0.004 is "+$0.00", not "-$0.00".
            let cents = (x * 100.0).round() / 100.0;
            let sign = if !signed {
                ""
            } else if cents < 0.0 {
                "-"
            } else {
                "+"
            };
            format!("{sign}${:.2}", cents.abs())
        };
        match self {
            Usd::Exact(x) => one(x),
            Usd::Range { min, max } => format!("{}–{}", one(min), one(max)),
        }
    }
}

/// A priced resource's fixed monthly charges (docs/pricing.md): before and after the change.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Cost {
    pub monthly_usd_before: Usd,
    pub monthly_usd_after: Usd,
}

/// What the plan changes in fixed monthly charges, and what they are after it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CostSummary {
    pub monthly_usd_delta: Usd,
    pub monthly_usd_after: Usd,
}

impl ResourceChange {
    pub fn new(address: impl Into<String>, action: Action) -> Self {
        ResourceChange {
            address: address.into(),
            action,
            diffs: Vec::new(),
            reason: None,
            destructive: false,
            blocked: None,
            not_in_spec: false,
            risks: Vec::new(),
            cost: None,
        }
    }
}

/// One step of apply, in order. Waits are steps too.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Step {
    pub address: String,
    pub description: String,
    pub op: Op,
}

impl Step {
    /// A step of kind `kind` at `address`: what it does, and its typed operation.
    pub fn new<T: Call>(kind: &'static str, address: &str, description: String, call: T) -> Self {
        Step { address: address.to_string(), description, op: Op::new(kind, call) }
    }
}

/// A kind's operation, as the engine carries it: the kind's name and its typed call. It
/// serializes as `{"kind": ..., "call": ...}` (the plan format); the value in memory keeps what
/// serialization masks (sensitive values), so apply sends the real one. It is never read back.
#[derive(Clone)]
pub struct Op {
    kind: &'static str,
    call: Arc<dyn Call>,
}

/// What a kind's operation type is: any serializable value.
pub trait Call: erased_serde::Serialize + Any + Send + Sync + fmt::Debug {
    fn as_any(&self) -> &dyn Any;
}

erased_serde::serialize_trait_object!(Call);

impl<T: Serialize + fmt::Debug + Send + Sync + 'static> Call for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Op {
    pub fn new<T: Call>(kind: &'static str, call: T) -> Self {
        Op { kind, call: Arc::new(call) }
    }

    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// The typed call, when it is a `T`.
    pub fn get<T: 'static>(&self) -> Option<&T> {
        self.call.as_any().downcast_ref::<T>()
    }

    /// The typed call of a kind's own operation; an error if the engine routed another.
    pub fn expect<T: 'static>(&self) -> anyhow::Result<&T> {
        self.get::<T>().ok_or_else(|| anyhow::anyhow!("a {} operation was routed to the wrong kind", self.kind))
    }
}

impl fmt::Debug for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{:?}", self.kind, self.call)
    }
}

impl PartialEq for Op {
    fn eq(&self, other: &Self) -> bool {
        let json = |c: &Arc<dyn Call>| serde_json::to_value(&**c).ok();
        self.kind == other.kind && json(&self.call) == json(&other.call)
    }
}

impl Serialize for Op {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Op", 2)?;
        st.serialize_field("kind", self.kind)?;
        st.serialize_field("call", &*self.call)?;
        st.end()
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub delete: usize,
    pub no_op: usize,
    /// Fixed monthly charges: present when the plan prices a resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<CostSummary>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Plan {
    pub format_version: u32,
    pub stack: String,
    pub env: String,
    pub region: String,
    pub account_id: String,
    pub changes: Vec<ResourceChange>,
    pub summary: Summary,
    /// The production checks this env waives, with why (a risk a reviewer sees on every plan).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub waived: std::collections::BTreeMap<String, String>,
    pub steps: Vec<Step>,
}

impl Plan {
    pub fn new(stack: &str, env: &str, region: &str, account_id: &str) -> Self {
        Plan {
            format_version: FORMAT_VERSION,
            stack: stack.into(),
            env: env.into(),
            region: region.into(),
            account_id: account_id.into(),
            changes: Vec::new(),
            summary: Summary::default(),
            waived: Default::default(),
            steps: Vec::new(),
        }
    }

    /// Adds a resource's change and its steps; derives its data-loss and broadened-permission
    /// risks, and adds its cost to the summary's.
    pub fn push(&mut self, mut change: ResourceChange, steps: Vec<Step>) {
        let mut derived = Vec::new();
        if change.destructive && change.action.is_change() {
            let what = match change.action {
                Action::Replace => "replaced: deleted and created again, every item is lost",
                _ => "deleted with every item",
            };
            derived.push(Risk::new(RiskKind::DataLoss, what));
        }
        for d in &change.diffs {
            if let Some(b) = &d.broadens {
                derived.push(Risk::new(RiskKind::PermissionsBroadened, format!("{}: {b}", d.path)));
            }
        }
        for r in derived {
            if !change.risks.contains(&r) {
                change.risks.push(r);
            }
        }
        if let Some(c) = &change.cost {
            let s = self.summary.cost.get_or_insert(CostSummary { monthly_usd_delta: Usd::ZERO, monthly_usd_after: Usd::ZERO });
            // What is not changed costs what it costs: no delta (an autoscaled table's live units
            // against its range would otherwise read as one).
            if change.action.is_change() {
                s.monthly_usd_delta = s.monthly_usd_delta.plus(c.monthly_usd_after.minus(c.monthly_usd_before));
            }
            s.monthly_usd_after = s.monthly_usd_after.plus(c.monthly_usd_after);
        }
        match change.action {
            Action::Create => self.summary.create += 1,
            Action::Update => self.summary.update += 1,
            Action::Replace => self.summary.replace += 1,
            Action::Delete => self.summary.delete += 1,
            Action::NoOp => self.summary.no_op += 1,
        }
        self.changes.push(change);
        self.steps.extend(steps);
    }

    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action.is_change())
    }

    /// Every risk of the plan, in the order a reviewer reads them (by kind, then address): the
    /// changes' own, and each waived production check.
    pub fn risks(&self) -> Vec<(String, Risk)> {
        let mut out: Vec<(String, Risk)> = self
            .changes
            .iter()
            .filter(|c| c.action.is_change())
            .flat_map(|c| c.risks.iter().map(|r| (c.address.clone(), r.clone())))
            .collect();
        out.extend(
            self.waived.iter().map(|(id, why)| (format!("env {}", self.env), Risk::new(RiskKind::CheckWaived, format!("{id}: {why}")))),
        );
        out.sort_by(|a, b| (a.1.kind, &a.0).cmp(&(b.1.kind, &b.0)));
        out
    }
}
