//! `apply`: show the plan (or read a saved one), refuse what is unsafe, ask, make it so, and
//! check that it converged.

use crate::exit::ExitStatus;
use std::path::PathBuf;

use anyhow::{bail, Result};

use super::{ask, use_color, Global};
use crate::plan::{Action, Plan};
use crate::spec::Desired;
use crate::{apply, aws, log, render};

pub struct Options {
    pub yes: bool,
    /// `--allow-data-loss` (alias `--allow-replace`): the destructive changes consented to.
    pub allow_data_loss: Vec<String>,
    pub plan_file: Option<PathBuf>,
    /// Hold the lease of the stack and env: `None` decides by the endpoint (not for the
    /// local emulator).
    pub lock: Option<bool>,
    pub lock_timeout: std::time::Duration,
}

/// For a protected (production) env: what in the plan deserves a second look, as a banner.
pub fn banner(desired: &Desired, plan: &Plan) -> Option<String> {
    if !desired.protected {
        return None;
    }
    let mut lines = Vec::new();
    for c in &plan.changes {
        if matches!(c.action, Action::Replace | Action::Delete) || c.destructive {
            lines.push(format!("{} will be {}", c.address, if c.action == Action::Delete { "DESTROYED" } else { "REPLACED" }));
        }
        for d in &c.diffs {
            if let Some(b) = &d.broadens {
                lines.push(format!("{} {}: broadens permissions: {b}", c.address, d.path));
            }
        }
    }
    if lines.is_empty() {
        return None;
    }
    let mut out = format!("\n!!! PROTECTED ENVIRONMENT `{}` ({}, account {}) !!!\n", desired.env, plan.region, render::account(plan));
    for l in lines {
        out.push_str(&format!("!!!   {l}\n"));
    }
    out.push_str("!!! Read the changes above before you answer.\n");
    Some(out)
}

pub async fn run(g: &Global, o: Options) -> Result<ExitStatus> {
    let saved = o.plan_file.as_deref().map(crate::saved::read).transpose()?;
    if let Some(s) = &saved {
        if g.env.as_ref().is_some_and(|e| *e != s.env) {
            bail!("the saved plan is for env `{}`, not `{}`", s.env, g.env.as_deref().unwrap_or(""));
        }
    }
    let desired = g.load(saved.as_ref().map(|s| s.env.as_str()))?;
    let ctx = g.connect(&desired, aws::Access::ReadWrite).await;
    // The lease first, so that what is read and planned is not changed by another apply.
    let lock = o.lock.unwrap_or_else(|| !ctx.endpoint_url.as_deref().is_some_and(aws::is_loopback));
    let lease = if lock { Some(crate::lease::acquire(&ctx, &desired, o.lock_timeout).await?) } else { None };
    let result = locked(g, &o, &desired, &ctx, saved.as_ref(), lease.as_ref()).await;
    if let Some(l) = lease {
        l.release().await;
    }
    result
}

/// Apply while holding the lease (or without one).
async fn locked(
    g: &Global,
    o: &Options,
    desired: &Desired,
    ctx: &crate::aws::AwsContext,
    saved: Option<&crate::saved::SavedPlan>,
    lease: Option<&crate::lease::Lease>,
) -> Result<ExitStatus> {
    let mut live = super::read(ctx, desired).await?;
    if let Some(s) = &saved {
        live.observed_at = s.observed_at.clone();
    }
    let plan = g.plan(desired, &live);
    if let Some(s) = &saved {
        let stale = crate::saved::staleness(s, &live, &plan, desired);
        if !stale.is_empty() {
            bail!(
                "refusing to apply {}: it no longer describes what apply would do; nothing was changed:\n  {}\nRun `cruddur-infra plan --out FILE` again.",
                o.plan_file.as_deref().unwrap_or(std::path::Path::new("")).display(),
                stale.join("\n  ")
            );
        }
    }
    print!("{}", render::human(&plan, use_color()));
    if !plan.has_changes() {
        return Ok(ExitStatus::Success);
    }
    // A saved plan carries the consent it was made with.
    let mut consent = o.allow_data_loss.clone();
    consent.extend(saved.iter().flat_map(|s| s.consent.iter().cloned()));
    consent.sort();
    consent.dedup();
    apply::guard(&plan, &consent)?;
    if let Some(b) = banner(desired, &plan) {
        print!("{b}");
    }
    if !o.yes && saved.is_none() {
        let q = format!(
            "\nApply these changes to env {} ({}, account {})? Only 'yes' is accepted: ",
            desired.env,
            plan.region,
            render::account(&plan)
        );
        if ask(&q, "apply needs --yes when there is no terminal to ask on; nothing was changed")? != "yes" {
            log::info("Apply cancelled; nothing was changed.");
            return Ok(ExitStatus::Failure);
        }
    }
    let s = plan.summary.clone();
    apply::run(ctx, desired, &g.targets, &plan, &consent, lease).await?;
    println!(
        "\nApply complete: {} added, {} changed, {} replaced, {} destroyed. The live state matches the spec.",
        s.create, s.update, s.replace, s.delete
    );
    Ok(ExitStatus::Success)
}
