//! `drift`: read-only; exit 0 when live AWS matches the spec, 2 on drift.

use crate::exit::ExitStatus;

use anyhow::Result;

use super::{use_color, Global};
use crate::{aws, render};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Human,
    Json,
    Markdown,
}

pub async fn run(g: &Global, output: Output, all_envs: bool) -> Result<ExitStatus> {
    if all_envs {
        let results = super::plan_all_envs(g).await?;
        match output {
            Output::Human => print!("{}", render::all_envs_human(&results, true, use_color())),
            Output::Json => print!("{}", render::all_envs_json(&results)),
            Output::Markdown => print!("{}", render::all_envs_markdown(&results, true)),
        }
        return Ok(super::all_envs_exit(&results, true));
    }
    let desired = g.load(None)?;
    let (_, live) = g.observe(&desired, aws::Access::ReadOnly).await?;
    let plan = g.plan(&desired, &live);
    match output {
        Output::Human => print!("{}", render::drift_human(&plan, use_color())),
        Output::Json => print!("{}", render::json(&plan)),
        Output::Markdown => print!("{}", render::markdown(&plan)),
    }
    Ok(ExitStatus::changes_if(plan.has_changes()))
}
