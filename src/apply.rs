//! Apply: refuse what is unsafe, run the steps in order, then re-observe and prove that the
//! live state matches the spec.

use anyhow::Result;

use crate::aws::AwsContext;
use crate::kinds;
use crate::plan::Plan;
use crate::spec::Desired;

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("refusing to apply: {0}")]
    Refused(String),
    #[error("step {index} of {total} failed ({description})")]
    StepFailed { index: usize, total: usize, description: String },
    #[error("apply did not converge: after all steps, the live state still differs from the spec:\n{0}")]
    NotConverged(String),
}

/// Checks the plan for changes that must not run: blocked ones, and destructive ones whose
/// address the user did not name in `--allow-replace`.
pub fn guard(plan: &Plan, allow_replace: &[String]) -> Result<(), ApplyError> {
    let mut reasons = Vec::new();
    for c in &plan.changes {
        if let Some(b) = &c.blocked {
            reasons.push(format!("{}: {b}", c.address));
        } else if c.destructive && !allow_replace.iter().any(|a| a == &c.address) {
            reasons.push(format!(
                "{} would be {} and its data lost; if that is what you want, run again with --allow-replace {}",
                c.address,
                if c.action == crate::plan::Action::Delete { "deleted" } else { "replaced" },
                c.address
            ));
        }
    }
    if reasons.is_empty() { Ok(()) } else { Err(ApplyError::Refused(reasons.join("\n  "))) }
}

/// Runs the plan's steps, then re-observes. Returns the plan computed after apply (no-op).
pub async fn run(ctx: &AwsContext, desired: &Desired, plan: &Plan, allow_replace: &[String]) -> Result<Plan> {
    guard(plan, allow_replace)?;
    let total = plan.steps.len();
    for (i, step) in plan.steps.iter().enumerate() {
        crate::log::info(&format!("[{}/{total}] {}", i + 1, step.description));
        kinds::execute(ctx, step)
            .await
            .map_err(|e| e.context(ApplyError::StepFailed { index: i + 1, total, description: step.description.clone() }))?;
    }
    crate::log::info("checking that the live state now matches the spec...");
    let live = kinds::observe(ctx, desired).await?;
    let after = kinds::plan(desired, &live);
    if after.has_changes() {
        let left: Vec<String> = after
            .changes
            .iter()
            .filter(|c| c.action.is_change())
            .flat_map(|c| c.diffs.iter().map(move |d| format!("  {}: {}: {} → {}", c.address, d.path, d.before, d.after)))
            .collect();
        return Err(ApplyError::NotConverged(left.join("\n")).into());
    }
    Ok(after)
}
