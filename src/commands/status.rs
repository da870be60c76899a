//! `status`: read-only; is the env's stack working right now? Every trigger's state and last
//! batch, its on-failure queue's depth, every alarm of the spec and its state. Exit 0 healthy,
//! 2 when something is not, 1 on error.

use anyhow::Result;

use super::{use_color, Global};
use crate::exit::ExitStatus;
use crate::status::Report;
use crate::{aws, engine, render};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Human,
    Json,
    Markdown,
}

pub async fn run(g: &Global, output: Output) -> Result<ExitStatus> {
    let desired = g.load(None)?;
    let ctx = g.connect(&desired, aws::Access::ReadOnly).await;
    let health = engine::health(&ctx, &desired).await?;
    let report = Report::new(&desired.stack, &desired.env, &desired.region, health);
    match output {
        Output::Human => print!("{}", render::status_human(&report, use_color())),
        Output::Json => print!("{}", render::status_json(&report)),
        Output::Markdown => print!("{}", render::status_markdown(&report)),
    }
    Ok(ExitStatus::changes_if(!report.healthy))
}
