//! `destroy`: delete what this stack's env owns (declared, or dropped from the spec and found by
//! its ownership marker), in reverse dependency order, after showing it and asking. With `--target`, a target and what depends on it, never
//! what it depends on. A protected env is never destroyed; a table only with its address
//! named in `--allow-data-loss`.

use crate::exit::ExitStatus;

use anyhow::{bail, Result};

use super::{ask, use_color, Global};
use crate::{apply, aws, engine, log, render};

pub struct Options {
    pub yes: bool,
    pub allow_data_loss: Vec<String>,
}

pub async fn run(g: &Global, o: Options) -> Result<ExitStatus> {
    // The whole spec: a target's dependents are found, and read, through it.
    let desired = Global { targets: vec![], ..g.clone() }.load(None)?;
    if desired.protected {
        bail!(
            "env `{}` is protected (environments.{}.protected: true): destroy never deletes a protected env; nothing was read or \
             deleted. To destroy it, set `protected: false` for it in a reviewed change first.",
            desired.env,
            desired.env
        );
    }
    let keep = (!g.targets.is_empty()).then(|| engine::dependents(&desired, &g.targets)).transpose()?;
    let (ctx, live) = g.observe(&desired, aws::Access::ReadWrite).await?;
    let mut plan = engine::destroy_plan(&desired, &live);
    if let Some(keep) = &keep {
        plan = engine::restrict(plan, keep);
    }
    print!("{}", render::human(&plan, use_color()));
    if !plan.has_changes() {
        return Ok(ExitStatus::Success);
    }
    apply::guard(&plan, &o.allow_data_loss)?;
    if !o.yes {
        let q = format!("\nThis deletes the resources above, data included. Type the env's name (`{}`) to go on: ", desired.env);
        if ask(&q, "destroy needs --yes when there is no terminal to ask on; nothing was deleted")? != desired.env {
            log::info("Destroy cancelled; nothing was deleted.");
            return Ok(ExitStatus::Failure);
        }
    }
    // In order: the plan lists what depends on others first.
    for (i, step) in plan.steps.iter().enumerate() {
        apply::run_step(&ctx, i, plan.steps.len(), step).await?;
    }
    println!("\nDestroy complete: {} deleted.", plan.summary.delete);
    Ok(ExitStatus::Success)
}
