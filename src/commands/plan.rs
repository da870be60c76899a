//! `plan`: read live AWS and show what apply would change; optionally save it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use super::{use_color, Global};
use crate::{aws, log, render};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Human,
    Json,
}

pub struct Options {
    pub detailed_exitcode: bool,
    pub output: Output,
    pub out: Option<PathBuf>,
}

pub async fn run(g: &Global, o: Options) -> Result<ExitCode> {
    let desired = g.load(None)?;
    let (_, live) = g.observe(&desired, aws::Access::ReadOnly).await?;
    let plan = g.plan(&desired, &live);
    if let Some(path) = &o.out {
        crate::saved::write(path, &plan, &live, &crate::engine::secrets(&desired))?;
        log::info(&format!("plan saved to {}; apply exactly it with `cruddur-infra apply {}`", path.display(), path.display()));
    }
    match o.output {
        Output::Human => print!("{}", render::human(&plan, use_color())),
        Output::Json => print!("{}", render::json(&plan)),
    }
    Ok(if o.detailed_exitcode && plan.has_changes() { ExitCode::from(2) } else { ExitCode::SUCCESS })
}
