//! `validate`: parse and check the spec offline, every env of it.

use std::process::ExitCode;

use anyhow::Result;

use super::Global;
use crate::log;
use crate::spec::{SpecDocument, SpecError};

pub fn run(g: &Global) -> Result<ExitCode> {
    let doc = SpecDocument::load(&g.file)?;
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    for (_, resolved) in doc.resolve_all() {
        match resolved {
            Ok((_, w)) => warnings.extend(w),
            Err(SpecError::Invalid { problems: p }) => problems.extend(p),
            Err(e) => return Err(e.into()),
        }
    }
    warnings.dedup();
    for w in &warnings {
        log::warn(&w.to_string());
    }
    if !problems.is_empty() {
        problems.dedup();
        return Err(SpecError::Invalid { problems }.into());
    }
    println!("{} is valid (environments: {}).", g.file.display(), doc.env_names().join(", "));
    Ok(ExitCode::SUCCESS)
}
