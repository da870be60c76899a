//! `rollback lambda_function.NAME`: moves the function's `deploy` alias back to the version it
//! records as replaced, after showing that and asking (as apply does). No state file: the alias's
//! description is the record (docs/aws-behaviour.md rule 43). A second rollback does not walk
//! further back; the next plan shows the spec's code as a change again.

use anyhow::{bail, Result};

use super::{ask, use_color, Global};
use crate::exit::ExitStatus;
use crate::kinds::function;
use crate::plan::Plan;
use crate::{apply, aws, log, render};

pub struct Options {
    pub address: String,
    pub yes: bool,
}

pub async fn run(g: &Global, o: Options) -> Result<ExitStatus> {
    let Some(key) = o.address.strip_prefix(&format!("{}.", function::KIND)) else {
        bail!("{}: rollback moves a function's alias back; give lambda_function.NAME; nothing was changed", o.address);
    };
    let desired = Global { targets: vec![], ..g.clone() }.load(None)?;
    let ctx = g.connect(&desired, aws::Access::ReadWrite).await;
    let (change, steps) = function::deploy::rollback_step(&ctx, &desired, key).await?;
    let mut plan = Plan::new(&desired.stack, &desired.env, &desired.region, &ctx.identity().await?.account_id);
    plan.push(change, steps);
    print!("{}", render::human(&plan, use_color()));
    if !o.yes {
        let q = format!("\nRoll {} back? Only 'yes' is accepted: ", o.address);
        if ask(&q, "rollback needs --yes when there is no terminal to ask on; nothing was changed")? != "yes" {
            log::info("Rollback cancelled; nothing was changed.");
            return Ok(ExitStatus::Failure);
        }
    }
    for (i, step) in plan.steps.iter().enumerate() {
        apply::run_step(&ctx, i, plan.steps.len(), step).await?;
    }
    println!("\nRolled back: {}. The next plan shows the spec's code as a change again.", o.address);
    Ok(ExitStatus::Success)
}
