//! `destroy`: delete what the spec declares and this stack's env owns, in reverse dependency
//! order, after showing it and asking.

use std::process::ExitCode;

use anyhow::Result;

use super::{Global, ask, use_color};
use crate::{apply, aws, engine, log, render};

pub struct Options {
    pub yes: bool,
}

pub async fn run(g: &Global, o: Options) -> Result<ExitCode> {
    let desired = g.load(None)?;
    let (ctx, live) = g.observe(&desired, aws::Access::ReadWrite).await?;
    let plan = engine::destroy_plan(&desired, &live);
    print!("{}", render::human(&plan, use_color()));
    if !plan.has_changes() {
        return Ok(ExitCode::SUCCESS);
    }
    if !o.yes {
        let q = format!("\nThis deletes the resources above, data included. Type the env's name (`{}`) to go on: ", desired.env);
        if ask(&q, "destroy needs --yes when there is no terminal to ask on; nothing was deleted")? != desired.env {
            log::info("Destroy cancelled; nothing was deleted.");
            return Ok(ExitCode::from(1));
        }
    }
    // In order: the plan lists what depends on others first.
    for (i, step) in plan.steps.iter().enumerate() {
        apply::run_step(&ctx, i, plan.steps.len(), step).await?;
    }
    println!("\nDestroy complete: {} deleted.", plan.summary.delete);
    Ok(ExitCode::SUCCESS)
}
