//! `deploy:` on a function: every code or configuration change publishes a version of exactly
//! what apply set (CodeSha256 and RevisionId guarded), then moves an alias to it; the triggers
//! invoke the alias (`mapping` updates them in place). A bake then watches the function's alarms
//! and moves the alias back to the version it replaced when one goes to ALARM. There is no state
//! file: the alias's description records the version it replaced (docs/aws-behaviour.md rule 43).
//! `rollback` makes the same move by hand. Old versions beyond `keep_versions` that no alias
//! points at (and that no alias records) are deleted.

mod execute;
mod observe;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

pub use execute::{execute, rollback_step};
pub use observe::{aliases, read};

use super::diff::{config_diffs, step};
use super::{DesiredFunction, FunctionConfig, FunctionOp, LiveFunctionSide};
use crate::plan::FieldDiff;
use crate::spec::{monitoring, DeploySpec, Desired, Rollback};

/// How a function is deployed, as the spec says: references resolved, its alarms by AWS name.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredDeploy {
    pub alias: String,
    pub bake_s: i64,
    pub rollback: bool,
    pub keep_versions: i64,
    /// The alarms a bake watches: the function's pack and any `alarms:` entry on its name.
    pub watch: Vec<String>,
}

impl DesiredDeploy {
    pub fn of(desired: &Desired, key: &str, d: &DeploySpec) -> Self {
        DesiredDeploy {
            alias: d.alias.clone(),
            bake_s: d.bake_s,
            rollback: d.rolls_back(),
            keep_versions: d.keep_versions,
            watch: monitoring::of_function(desired, key).iter().map(|k| desired.aws_name(k)).collect(),
        }
    }

    /// The plan's words for the move: `new, bake 300 s, rollback on alarm`.
    fn shown(&self, first: bool) -> String {
        if first {
            return "new (the first version: nothing to bake against)".into();
        }
        match (self.bake_s, self.rollback) {
            (0, _) => "new".into(),
            (s, true) => format!("new, bake {s} s, rollback on alarm"),
            (s, false) => format!("new, bake {s} s, no rollback"),
        }
    }
}

/// A function's alias, its published versions and the versions any alias points at.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LiveDeploy {
    pub alias: Option<LiveAlias>,
    /// Published versions (not `$LATEST`), oldest first.
    pub versions: Vec<LiveVersion>,
    /// The versions some alias of the function points at or routes to (never deleted).
    pub aliased: BTreeSet<String>,
    /// The versions some alias records as the one it replaced (kept for a rollback).
    pub recorded: BTreeSet<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LiveAlias {
    pub name: String,
    pub version: String,
    pub description: String,
    /// Versions it also routes a weight of traffic to (RoutingConfig).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub routing: BTreeSet<String>,
    #[serde(skip)]
    pub revision_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LiveVersion {
    pub version: String,
    pub code_sha256: String,
    pub config: FunctionConfig,
}

/// What an alias's description records (the tool writes it at every move). A record names the
/// version the alias was moved to, and is believed only while the alias is still there (a move
/// by hand that kept the description is not mistaken for the tool's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// The alias was made at this version: nothing before it.
    First { at: String },
    /// The last move put `at` in place of `previous`; `baking` until its bake passed (a bake cut
    /// short is resumed by the next apply).
    Replaced { at: String, previous: String, baking: bool },
    /// A rollback moved it from `from` back to `to`; it goes no further back.
    RolledBack { from: String, to: String },
    /// A description this tool did not write.
    Unknown,
}

pub const RECORD_PREFIX: &str = "cruddur-infra: ";
const BAKING: &str = " (baking)";

impl Record {
    pub fn parse(description: &str) -> Record {
        let Some(rest) = description.strip_prefix(RECORD_PREFIX) else { return Record::Unknown };
        if let Some(at) = rest.strip_prefix("first version ") {
            return Record::First { at: at.to_string() };
        }
        if let Some(r) = rest.strip_prefix("version ") {
            let (r, baking) = match r.strip_suffix(BAKING) {
                Some(r) => (r, true),
                None => (r, false),
            };
            if let Some((at, previous)) = r.split_once(" replaced version ") {
                return Record::Replaced { at: at.to_string(), previous: previous.to_string(), baking };
            }
        }
        if let Some((from, to)) = rest.strip_prefix("rolled back from version ").and_then(|r| r.split_once(" to version ")) {
            return Record::RolledBack { from: from.to_string(), to: to.to_string() };
        }
        Record::Unknown
    }

    pub fn text(&self) -> String {
        match self {
            Record::First { at } => format!("{RECORD_PREFIX}first version {at}"),
            Record::Replaced { at, previous, baking } => {
                format!("{RECORD_PREFIX}version {at} replaced version {previous}{}", if *baking { BAKING } else { "" })
            }
            Record::RolledBack { from, to } => format!("{RECORD_PREFIX}rolled back from version {from} to version {to}"),
            Record::Unknown => String::new(),
        }
    }

    /// The record of an alias now at `version`: Unknown when the record names another version
    /// (the alias was moved by someone else since).
    pub fn of(description: &str, version: &str) -> Record {
        let r = Record::parse(description);
        let at = match &r {
            Record::First { at } | Record::Replaced { at, .. } => at.as_str(),
            Record::RolledBack { to, .. } => to.as_str(),
            Record::Unknown => return r,
        };
        if at == version {
            r
        } else {
            Record::Unknown
        }
    }

    /// The version this record keeps for a rollback.
    pub fn kept(&self) -> Option<&str> {
        match self {
            Record::Replaced { previous, .. } => Some(previous),
            _ => None,
        }
    }
}

/// Whether a published version is exactly what the spec wants: `code_sha256` (the spec's code,
/// or the deployed one when it is the same files in another zip) and the configuration.
fn matches(v: &LiveVersion, want: &DesiredFunction, code_sha256: &str) -> bool {
    let mut diffs = Vec::new();
    config_diffs(Some(&v.config), &want.config, &mut diffs);
    v.code_sha256 == code_sha256 && diffs.is_empty()
}

/// The versions a prune deletes: published, pointed at by no alias (nor weighted in one's
/// routing), recorded by none, beyond the newest `keep` of those. (A deploy's new version is
/// aliased, and the one it replaces is recorded: neither is ever among them.)
pub fn prunable(live: &LiveDeploy, keep: i64) -> Vec<String> {
    let mut free: Vec<&LiveVersion> =
        live.versions.iter().filter(|v| !live.aliased.contains(&v.version) && !live.recorded.contains(&v.version)).collect();
    free.sort_by_key(|v| std::cmp::Reverse(v.version.parse::<u64>().unwrap_or(0)));
    free.into_iter().skip(keep.max(0) as usize).map(|v| v.version.clone()).collect()
}

/// The deploy's diffs and steps, after the function's own: publish and move the alias when the
/// function changes or the alias is not at a version of what the spec says; bake (or finish a
/// bake cut short); prune. `changed`: the function's configuration or code is updated first;
/// `code_sha256`: the code $LATEST will have.
pub fn plan(
    address: &str,
    name: &str,
    want: &DesiredFunction,
    live: &LiveFunctionSide,
    changed: bool,
    code_sha256: &str,
) -> (Vec<FieldDiff>, Vec<crate::plan::Step>) {
    let Some(d) = &want.deploy else { return (Vec::new(), Vec::new()) };
    let empty = LiveDeploy::default();
    let l = live.deploy.as_ref().unwrap_or(&empty);
    let alias = l.alias.as_ref();
    let record = alias.map(|a| Record::of(&a.description, &a.version)).unwrap_or(Record::Unknown);
    let current = alias.and_then(|a| l.versions.iter().find(|v| v.version == a.version));
    let weighted = alias.is_some_and(|a| !a.routing.is_empty());
    let in_sync = !changed && !weighted && current.is_some_and(|v| matches(v, want, code_sha256));
    let mut diffs = Vec::new();
    let mut steps = Vec::new();
    let first = alias.is_none();
    let bake = |steps: &mut Vec<crate::plan::Step>| {
        let rule = if d.rollback { "move it back if one goes to ALARM" } else { "report any in ALARM" };
        steps.push(step(
            address,
            format!("bake alias {} of function {name} for {} s: watch {} alarm(s), {rule}", d.alias, d.bake_s, d.watch.len()),
            FunctionOp::Bake { name: name.into(), alias: d.alias.clone(), bake_s: d.bake_s, rollback: d.rollback, watch: d.watch.clone() },
        ));
    };
    if !in_sync {
        let before = alias.map(|a| format!("version {}", a.version));
        let mut diff = FieldDiff::new(format!("alias.{}", d.alias), before, d.shown(first));
        if let Some(a) = alias {
            let rolled_from = match &record {
                Record::RolledBack { from, .. } => l.versions.iter().find(|v| v.version == *from && matches(v, want, code_sha256)),
                _ => None,
            };
            if let Some(v) = rolled_from {
                diff = diff.note(format!(
                    "version {} was rolled back, and the spec's code and configuration are that version's: apply deploys it again",
                    v.version
                ));
            } else if weighted {
                diff = diff.note(format!(
                    "its weighted routing to version(s) {} is cleared",
                    a.routing.iter().cloned().collect::<Vec<_>>().join(", ")
                ));
            } else if !changed {
                diff = diff.note(format!("version {} is not the spec's code and configuration (a rollback, or a move by hand)", a.version));
            }
        }
        diffs.push(diff);
        let watch = if d.rollback && !first { d.watch.clone() } else { Vec::new() };
        steps.push(step(
            address,
            format!("publish a version of function {name} and move alias {} to it", d.alias),
            FunctionOp::PublishAndMove {
                name: name.into(),
                alias: d.alias.clone(),
                code_sha256: code_sha256.to_string(),
                config: want.config.clone(),
                watch,
                bakes: d.bake_s > 0 && !first,
            },
        ));
        if d.bake_s > 0 && !first {
            bake(&mut steps);
        }
    } else if let (Record::Replaced { at, .. }, true) = (&record, record_baking(&record) && d.bake_s > 0) {
        // A bake that did not finish (apply stopped, the alarms unreadable or not made yet).
        diffs.push(
            FieldDiff::new(
                format!("alias.{}", d.alias),
                format!("version {at}, bake not finished"),
                d.shown(false).replacen("new", "baked", 1),
            )
            .note("its bake was cut short: it runs again"),
        );
        bake(&mut steps);
    }
    let doomed = prunable(l, d.keep_versions);
    if !doomed.is_empty() || !in_sync {
        if !doomed.is_empty() {
            diffs.push(
                FieldDiff::new("versions", format!("{} published", l.versions.len()), format!("delete {}", doomed.join(", ")))
                    .note(format!("beyond keep_versions ({}) and pointed at by no alias", d.keep_versions)),
            );
        }
        steps.push(step(
            address,
            format!("delete the versions of function {name} beyond the newest {} that no alias points at", d.keep_versions),
            FunctionOp::PruneVersions { name: name.into(), keep: d.keep_versions },
        ));
    }
    (diffs, steps)
}

fn record_baking(r: &Record) -> bool {
    matches!(r, Record::Replaced { baking: true, .. })
}

impl DeploySpec {
    /// Whether an alarm during the bake moves the alias back (the default when it bakes).
    pub fn rolls_back(&self) -> bool {
        match self.rollback {
            Some(Rollback::OnAlarm) => true,
            Some(Rollback::Never) => false,
            None => self.bake_s > 0,
        }
    }
}
