//! `drift`: read-only; exit 0 when live AWS matches the spec, 2 on drift.

use std::process::ExitCode;

use anyhow::Result;

use super::{use_color, Global};
use crate::{aws, render};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Human,
    Json,
    Markdown,
}

pub async fn run(g: &Global, output: Output) -> Result<ExitCode> {
    let desired = g.load(None)?;
    let (_, live) = g.observe(&desired, aws::Access::ReadOnly).await?;
    let plan = g.plan(&desired, &live);
    match output {
        Output::Human => print!("{}", render::drift_human(&plan, use_color())),
        Output::Json => print!("{}", render::json(&plan)),
        Output::Markdown => print!("{}", render::markdown(&plan)),
    }
    Ok(if plan.has_changes() { ExitCode::from(2) } else { ExitCode::SUCCESS })
}
