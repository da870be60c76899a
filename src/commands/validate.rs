//! `validate`: parse and check the spec offline, every env of it.

use std::process::ExitCode;

use anyhow::Result;

use super::Global;
use crate::log;
use crate::spec::{SpecDocument, SpecError};

pub fn run(g: &Global) -> Result<ExitCode> {
    let doc = SpecDocument::load(&g.file)?;
    let (resolved, problems) = doc.resolve_every_env()?;
    let mut warnings: Vec<_> = resolved.into_iter().flat_map(|(_, _, w)| w).collect();
    warnings.dedup();
    for w in &warnings {
        log::warn(&w.to_string());
    }
    if !problems.is_empty() {
        return Err(SpecError::Invalid { problems }.into());
    }
    println!("{} is valid (environments: {}).", g.file.display(), doc.env_names().join(", "));
    Ok(ExitCode::SUCCESS)
}
