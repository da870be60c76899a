//! Saved plans: `plan --out FILE` writes the plan with a fingerprint of every live value it was
//! computed from; `apply FILE` re-reads AWS and refuses if anything changed since, else runs
//! exactly that plan. The file holds no credentials, and sensitive values are masked in it.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::kinds::Live;
use crate::plan::Plan;

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
}

pub fn hash<T: Serialize>(v: &T) -> String {
    let text = serde_json::to_string(v).unwrap_or_default();
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A fingerprint per live resource (and the account).
pub fn fingerprints(live: &Live) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    out.insert("account".to_string(), hash(&(&live.account_id, &live.partition)));
    for (kind, data) in &live.kinds {
        out.extend(data.fingerprints(kind));
    }
    out
}

pub fn write(path: &Path, plan: &Plan, live: &Live) -> Result<()> {
    let saved = SavedPlan {
        saved_plan_version: SAVED_PLAN_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        env: plan.env.clone(),
        observed_at: live.observed_at.clone(),
        fingerprints: fingerprints(live),
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
    Ok(saved)
}

/// What changed since the plan was saved: the live resources whose fingerprint differs, and
/// whether the plan computed now differs from the saved one (the spec or its files changed).
pub fn staleness(saved: &SavedPlan, live: &Live, now: &Plan) -> Vec<String> {
    let current = fingerprints(live);
    let mut out: Vec<String> = current
        .iter()
        .filter(|(k, v)| saved.fingerprints.get(*k) != Some(*v))
        .map(|(k, _)| format!("{k} changed in AWS since the plan was made"))
        .collect();
    out.extend(saved.fingerprints.keys().filter(|k| !current.contains_key(*k)).map(|k| format!("{k} is no longer in the spec")));
    if out.is_empty() && serde_json::to_value(now).ok().as_ref() != Some(&saved.plan) {
        out.push("the spec, a policy file or the Lambda code changed since the plan was made".into());
    }
    out
}
