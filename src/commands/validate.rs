//! `validate`: parse and check the spec offline, every env of it.

use crate::exit::ExitStatus;

use anyhow::Result;

use super::Global;
use crate::log;
use crate::spec::{SpecDocument, SpecError};

pub fn run(g: &Global) -> Result<ExitStatus> {
    let doc = SpecDocument::load(&g.file)?;
    let (resolved, problems) = doc.resolve_every_env()?;
    let mut warnings: Vec<_> = resolved.into_iter().flat_map(|(_, _, w)| w).collect();
    // The same finding in several envs (a shared trigger) is said once.
    let mut seen = std::collections::BTreeSet::new();
    warnings.retain(|w| seen.insert(w.to_string()));
    for w in &warnings {
        log::warn(&w.to_string());
    }
    if !problems.is_empty() {
        return Err(SpecError::Invalid { problems }.into());
    }
    super::strict_checks(g.strict, &warnings)?;
    println!("{} is valid (environments: {}).", g.file.display(), doc.env_names().join(", "));
    Ok(ExitStatus::Success)
}
