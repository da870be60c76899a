//! `plan`: read live AWS and show what apply would change; optionally save it.

use crate::exit::ExitStatus;
use std::path::PathBuf;

use anyhow::Result;

use super::{use_color, Global};
use crate::{aws, log, render};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Human,
    Json,
    Markdown,
}

pub struct Options {
    pub detailed_exitcode: bool,
    pub output: Output,
    pub out: Option<PathBuf>,
    /// Consent to data loss, checked against this plan and saved with it.
    pub allow_data_loss: Vec<String>,
    /// Every env of the spec, concurrently, in one report.
    pub all_envs: bool,
}

pub async fn run(g: &Global, o: Options) -> Result<ExitStatus> {
    if o.all_envs {
        if o.out.is_some() || !o.allow_data_loss.is_empty() {
            anyhow::bail!("a saved plan (--out, --allow-data-loss) is for one env: drop --all-envs");
        }
        let results = super::plan_all_envs(g).await?;
        match o.output {
            Output::Human => print!("{}", render::all_envs_human(&results, false, use_color())),
            Output::Json => print!("{}", render::all_envs_json(&results)),
            Output::Markdown => print!("{}", render::all_envs_markdown(&results, false)),
        }
        return Ok(super::all_envs_exit(&results, o.detailed_exitcode));
    }
    let desired = g.load(None)?;
    let (_, live) = g.observe(&desired, aws::Access::ReadOnly).await?;
    let plan = g.plan(&desired, &live);
    crate::apply::check_consent(&plan, &o.allow_data_loss)?;
    if let Some(path) = &o.out {
        crate::saved::write(path, &plan, &live, &desired, &o.allow_data_loss)?;
        log::info(&format!("plan saved to {}; apply exactly it with `cruddur-infra apply {}`", path.display(), path.display()));
    }
    match o.output {
        Output::Human => print!("{}", render::human(&plan, use_color())),
        Output::Json => print!("{}", render::json(&plan)),
        Output::Markdown => print!("{}", render::plan_markdown(&plan)),
    }
    Ok(ExitStatus::changes_if(o.detailed_exitcode && plan.has_changes()))
}
