//! `forget ADDRESS...`: stop managing resources and keep it (Terraform's `state rm`,
//! CloudFormation's `Retain`): this stack's ownership tags are removed from it, after showing
//! what will change and asking, and nothing else is touched. It is then in no later plan.

use crate::exit::ExitStatus;

use anyhow::{bail, Result};

use super::{ask, use_color, Global};
use crate::plan::Plan;
use crate::{apply, aws, engine, log, render};

pub struct Options {
    pub addresses: Vec<String>,
    pub yes: bool,
}

pub async fn run(g: &Global, o: Options) -> Result<ExitStatus> {
    // The whole spec: the resource is found among what it no longer declares.
    let desired = Global { targets: vec![], ..g.clone() }.load(None)?;
    let declared = engine::addresses(&desired);
    if let Some(address) = o.addresses.iter().find(|a| declared.contains(a)) {
        bail!(
            "{address} is still in {}: remove it from the spec first (the next apply would otherwise adopt it again); \
             nothing was changed",
            desired.spec_path.display()
        );
    }
    let (ctx, live) = g.observe(&desired, aws::Access::ReadWrite).await?;
    let mut plan = Plan::new(&desired.stack, &desired.env, &desired.region, &live.account_id);
    for address in &o.addresses {
        let Some((change, steps)) = engine::forget(&desired, &live, address) else {
            bail!(
                "{address}: no such resource of stack {}, env {} (only one carrying this stack env's tags can be forgotten; \
                 a trigger goes with its function); nothing was changed",
                desired.stack,
                desired.env
            );
        };
        plan.push(change, steps);
    }
    print!("{}", render::human(&plan, use_color()));
    if !o.yes {
        let q = format!("\nStop managing {} and leave it in place? Only 'yes' is accepted: ", o.addresses.join(", "));
        if ask(&q, "forget needs --yes when there is no terminal to ask on; nothing was changed")? != "yes" {
            log::info("Forget cancelled; nothing was changed.");
            return Ok(ExitStatus::Failure);
        }
    }
    for (i, step) in plan.steps.iter().enumerate() {
        apply::run_step(&ctx, i, plan.steps.len(), step).await?;
    }
    println!(
        "\nForgotten: {} left in place, and no longer managed by stack {}, env {}.",
        o.addresses.join(", "),
        desired.stack,
        desired.env
    );
    Ok(ExitStatus::Success)
}
