//! Saved plans: `plan --out FILE` writes the plan with a fingerprint of every live value it was
//! computed from; `apply FILE` re-reads AWS and refuses if anything changed since, else runs
//! exactly that plan. The file holds no credentials, and sensitive values are masked in it:
//! beside the masked plan it keeps a salted SHA-256 of each sensitive value, so that a value
//! changed since (which the masked plan cannot show) is refused too. A plan saved by another
//! version of the tool is refused.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::ids::hash;
use crate::kinds::Live;
use crate::plan::Plan;
use crate::spec::Desired;

pub const SAVED_PLAN_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedPlan {
    pub saved_plan_version: u32,
    pub tool_version: String,
    pub env: String,
    /// When the live state was read; reused so that the re-computed plan is identical.
    pub observed_at: String,
    /// What each live value hashed to when the plan was made.
    pub fingerprints: BTreeMap<String, String>,
    /// The plan as it was shown (JSON): apply computes the plan again and refuses if it differs.
    pub plan: serde_json::Value,
    /// Random, per file: what the hashes of sensitive values are salted with.
    #[serde(default)]
    pub salt: String,
    /// Where each sensitive value goes → SHA-256 of salt, place and value (never the value).
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    /// The `--allow-data-loss` addresses the plan was made with: apply consents to them.
    #[serde(default)]
    pub consent: Vec<String>,
}

fn salted(salt: &str, place: &str, value: &str) -> String {
    hash(&(salt, place, value))
}

/// Hashes of the sensitive values, salted.
fn secret_hashes(salt: &str, secrets: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    secrets.iter().map(|(k, v)| (k.clone(), salted(salt, k, v))).collect()
}

/// A fingerprint per live resource (and the account).
pub fn fingerprints(live: &Live, desired: &Desired) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    out.insert("account".to_string(), hash(&(&live.account_id, &live.partition)));
    for (kind, data) in live.kinds.iter().chain(&live.owned) {
        out.extend(data.fingerprints(kind, desired));
    }
    out
}

pub fn write(path: &Path, plan: &Plan, live: &Live, desired: &Desired, consent: &[String]) -> Result<()> {
    let secrets = &crate::engine::secrets(desired);
    let salt = crate::ids::random_hex()?;
    let saved = SavedPlan {
        consent: consent.to_vec(),
        secrets: secret_hashes(&salt, secrets),
        salt,
        saved_plan_version: SAVED_PLAN_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        env: plan.env.clone(),
        observed_at: live.observed_at.clone(),
        fingerprints: fingerprints(live, desired),
        plan: serde_json::to_value(plan)?,
    };
    let text = serde_json::to_string_pretty(&saved)?;
    std::fs::write(path, text + "\n").with_context(|| format!("cannot write the plan to {}", path.display()))
}

pub fn read(path: &Path) -> Result<SavedPlan> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read the saved plan {}", path.display()))?;
    let saved: SavedPlan =
        serde_json::from_str(&text).with_context(|| format!("{} is not a saved plan of cruddur-infra", path.display()))?;
    if saved.saved_plan_version != SAVED_PLAN_VERSION {
        bail!("{} is a saved plan of version {}; this tool reads version {SAVED_PLAN_VERSION}", path.display(), saved.saved_plan_version);
    }
    let this = env!("CARGO_PKG_VERSION");
    if saved.tool_version != this {
        bail!(
            "{} was saved by cruddur-infra {}; this is cruddur-infra {this}, which may plan differently: run `cruddur-infra plan --out FILE` again",
            path.display(),
            saved.tool_version
        );
    }
    Ok(saved)
}

/// What changed since the plan was saved: the live resources whose fingerprint differs, and
/// whether the plan computed now differs from the saved one (the spec or its files changed).
pub fn staleness(saved: &SavedPlan, live: &Live, now: &Plan, desired: &Desired) -> Vec<String> {
    let secrets = &crate::engine::secrets(desired);
    let current = fingerprints(live, desired);
    let mut out: Vec<String> = current
        .iter()
        .filter(|(k, v)| saved.fingerprints.get(*k) != Some(*v))
        .map(|(k, _)| format!("{k} changed in AWS since the plan was made"))
        .collect();
    out.extend(saved.fingerprints.keys().filter(|k| !current.contains_key(*k)).map(|k| format!("{k} is no longer in the spec")));
    let hashes = secret_hashes(&saved.salt, secrets);
    for k in hashes.keys().chain(saved.secrets.keys()).collect::<std::collections::BTreeSet<_>>() {
        if hashes.get(k) != saved.secrets.get(k) {
            out.push(format!("the sensitive value of {k} changed since the plan was made (its value is not shown)"));
        }
    }
    // Prices are left out of the comparison: a table's size (what point-in-time recovery is
    // charged on) moves with its items, not with the plan.
    let priceless = |v: &serde_json::Value| {
        let mut v = v.clone();
        for c in v["changes"].as_array_mut().into_iter().flatten() {
            c.as_object_mut().map(|o| o.remove("cost"));
        }
        v["summary"].as_object_mut().map(|o| o.remove("cost"));
        v
    };
    let same = serde_json::to_value(now).ok().map(|v| priceless(&v)) == Some(priceless(&saved.plan));
    if out.is_empty() && !same {
        out.push("the spec, a policy file or the Lambda code changed since the plan was made".into());
    }
    out
}
