//! Apply: refuse what is unsafe, run the steps in order, then re-observe and prove that the
//! live state matches the spec.

use anyhow::Result;

use crate::aws::AwsContext;
use crate::engine;
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

/// Checks the plan for changes that must not run: blocked ones, and destructive ones (a
/// table replaced or deleted) whose address the user did not name in `--allow-data-loss`;
/// and every name given must be such a change ([`check_consent`]).
pub fn guard(plan: &Plan, allowed: &[String]) -> Result<(), ApplyError> {
    check_consent(plan, allowed)?;
    let mut reasons = Vec::new();
    for c in &plan.changes {
        if let Some(b) = &c.blocked {
            reasons.push(format!("{}: {b}", c.address));
        } else if c.destructive && !allowed.iter().any(|a| a == &c.address) {
            reasons.push(format!(
                "{} would be {} and its data lost; if that is what you want, run again with --allow-data-loss {}",
                c.address,
                if c.action == crate::plan::Action::Delete { "deleted" } else { "replaced" },
                c.address
            ));
        }
    }
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(ApplyError::Refused(reasons.join("\n  ")))
    }
}

/// Every address named in `--allow-data-loss` must be a change of this plan that loses data:
/// a typo must not consent to nothing (or to something else later).
pub fn check_consent(plan: &Plan, allowed: &[String]) -> Result<(), ApplyError> {
    let destructive: Vec<&str> =
        plan.changes.iter().filter(|c| c.destructive && c.action.is_change()).map(|c| c.address.as_str()).collect();
    let unknown: Vec<&String> = allowed.iter().filter(|a| !destructive.contains(&a.as_str())).collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let list = if destructive.is_empty() { "none".to_string() } else { destructive.join(", ") };
    Err(ApplyError::Refused(format!(
        "--allow-data-loss {}: not a change that loses data in this plan (those are: {list}); nothing was changed",
        unknown.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
    )))
}

/// One resource's steps, with their places in the plan.
pub type Group<'a> = (String, Vec<(usize, &'a crate::plan::Step)>);

/// The plan's steps grouped by resource (in plan order), in waves: a resource runs once every
/// resource it must wait for (a function for its role, a mapping for its function and table,
/// anything for a stream it names) is done. The resources of one wave run side by side, each
/// one's own steps in order.
pub fn waves<'a>(desired: &Desired, plan: &'a Plan) -> Vec<Vec<Group<'a>>> {
    let mut groups: Vec<Group> = Vec::new();
    for (i, s) in plan.steps.iter().enumerate() {
        match groups.iter_mut().find(|(a, _)| *a == s.address) {
            Some((_, v)) => v.push((i, s)),
            None => groups.push((s.address.clone(), vec![(i, s)])),
        }
    }
    let mut level: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    // Each declared resource, with what must exist before it.
    let declared: std::collections::BTreeMap<String, Vec<String>> =
        engine::declared(desired).into_iter().map(|d| (d.address, d.needs_first)).collect();
    for (a, _) in groups.iter().filter(|(a, _)| declared.contains_key(a)) {
        let l = declared[a].iter().filter_map(|d| level.get(d).map(|l| l + 1)).max().unwrap_or(0);
        level.insert(a.clone(), l);
    }
    // What the spec no longer declares goes last, after the changes that stop using it, one
    // kind per wave in reverse dependency order (mappings, functions, roles, endpoints, tables).
    let after = level.values().max().map_or(0, |m| m + 1);
    let kinds = crate::kinds::REGISTRY.len();
    for (a, _) in groups.iter().filter(|(a, _)| !declared.contains_key(a)) {
        let rank = crate::kinds::REGISTRY.iter().position(|k| a.starts_with(&format!("{}.", k.kind()))).unwrap_or(0);
        level.insert(a.clone(), after + (kinds - 1 - rank));
    }
    let depth = level.values().max().map_or(0, |m| m + 1);
    let mut out = vec![Vec::new(); depth];
    for g in groups {
        out[level[&g.0]].push(g);
    }
    out.retain(|w| !w.is_empty());
    out
}

/// The pauses before reading live AWS again when the check after apply still finds a difference.
const CONVERGENCE_REREADS: &[std::time::Duration] = &[std::time::Duration::from_secs(3), std::time::Duration::from_secs(6)];

/// Runs one step, saying so on stderr; an error names the step and its place in the plan.
pub async fn run_step(ctx: &AwsContext, index: usize, total: usize, step: &crate::plan::Step) -> Result<()> {
    crate::log::info(&format!("[{}/{total}] {}", index + 1, step.description));
    engine::execute(ctx, step)
        .await
        .map_err(|e| e.context(ApplyError::StepFailed { index: index + 1, total, description: step.description.clone() }))
}

/// Runs the plan's steps, then re-observes. Returns the plan computed after apply (no-op).
/// `targets`: the same restriction as the plan's, so that the check judges only what apply did.
/// `lease`: the apply lease held, checked before every step (a lost lease stops apply).
pub async fn run(
    ctx: &AwsContext,
    desired: &Desired,
    targets: &[String],
    plan: &Plan,
    allow_data_loss: &[String],
    lease: Option<&crate::lease::Lease>,
) -> Result<Plan> {
    guard(plan, allow_data_loss)?;
    let total = plan.steps.len();
    for wave in waves(desired, plan) {
        // Every resource of the wave runs to its end or its first error; then errors stop apply.
        let results = futures::future::join_all(wave.into_iter().map(|(_, steps)| async move {
            for (i, step) in steps {
                if let Some(l) = lease {
                    l.check()?;
                }
                run_step(ctx, i, total, step).await?;
            }
            anyhow::Ok(())
        }))
        .await;
        let mut errors = results.into_iter().filter_map(Result::err);
        if let Some(first) = errors.next() {
            for other in errors {
                crate::log::warn(&format!("{other:#}"));
            }
            return Err(first);
        }
    }
    crate::log::info("checking that the live state now matches the spec...");
    // Reads right after AWS accepted a change may still see the old value for a while (rules
    // 33-36): a difference is read again, a bounded number of times, before it is an error.
    let mut after = engine::restrict_to_targets(desired, targets, engine::plan(desired, &engine::observe(ctx, desired).await?));
    for pause in CONVERGENCE_REREADS {
        if !after.has_changes() {
            break;
        }
        crate::log::info(&format!(
            "  the live state does not match yet (AWS shows some changes a while later): reading again in {}s",
            pause.as_secs()
        ));
        tokio::time::sleep(*pause).await;
        after = engine::restrict_to_targets(desired, targets, engine::plan(desired, &engine::observe(ctx, desired).await?));
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::table::{self, TableOp};
    use crate::plan::Step;

    fn step(address: &str) -> Step {
        Step {
            address: address.into(),
            description: address.into(),
            op: crate::plan::Op::new(table::KIND, TableOp::WaitActive { name: "x".into() }),
        }
    }

    #[test]
    fn independent_resources_share_a_wave_and_dependents_wait() {
        let doc = crate::spec::SpecDocument::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("infra.yaml")).unwrap();
        let (desired, _) = doc.resolve("local").unwrap();
        let mut plan = Plan::new("cruddur", "local", "us-east-1", "1");
        for a in [
            "dynamodb_table.cruddur-messages",
            "dynamodb_table.cruddur-messages",
            "vpc_endpoint.dynamodb",
            "iam_role.cruddur-messaging-stream",
            "lambda_function.cruddur-messaging-stream",
            "lambda_event_source_mapping.cruddur-messaging-stream",
        ] {
            plan.steps.push(step(a));
        }
        let waves: Vec<Vec<(String, usize)>> =
            waves(&desired, &plan).into_iter().map(|w| w.into_iter().map(|(a, s)| (a, s.len())).collect()).collect();
        assert_eq!(
            waves,
            vec![
                // The role's policy names the table's ARN, which IAM takes before the table exists.
                vec![
                    ("dynamodb_table.cruddur-messages".to_string(), 2),
                    ("vpc_endpoint.dynamodb".to_string(), 1),
                    ("iam_role.cruddur-messaging-stream".to_string(), 1)
                ],
                vec![("lambda_function.cruddur-messaging-stream".to_string(), 1)],
                vec![("lambda_event_source_mapping.cruddur-messaging-stream".to_string(), 1)],
            ]
        );
    }
}
