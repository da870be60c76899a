//! The engine: observe every kind, plan every kind (pure), destroy, run one step, and the
//! `--target` closure. It drives the kinds of [`REGISTRY`] through [`Kind`] and names none.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Context, Result};

use crate::aws::AwsContext;
use crate::kinds::{kind_of, Declared, Live, PlanContext, REGISTRY};
use crate::plan::{Plan, Step};
use crate::spec::refs::RefContext;
use crate::spec::Desired;

/// Reads the caller's identity, every declared resource of every kind, and (unless the spec is
/// partial) what this stack env owns beyond the spec, concurrently.
pub async fn observe(ctx: &AwsContext, desired: &Desired) -> Result<Live> {
    let observed_at =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis().to_string()).unwrap_or_default();
    // One Tagging API query (made on first use) serves discovery and, as a hint, the kinds'
    // tag reads.
    let tagged = crate::discover::Tagged::new(ctx, desired);
    let tagged = &tagged;
    let reads = futures::future::join_all(REGISTRY.iter().map(|k| async move { (k.kind(), k.observe(ctx, desired, tagged).await) }));
    let owned = async {
        let mut owned = BTreeMap::new();
        if desired.partial {
            return Ok(owned);
        }
        let found =
            futures::future::join_all(REGISTRY.iter().map(|k| async move { (k.kind(), k.discover(ctx, desired, tagged).await) })).await;
        for (kind, f) in found {
            if let Some(f) = f.with_context(|| format!("looking for {kind} resources that are no longer in the spec"))? {
                owned.insert(kind, f);
            }
        }
        anyhow::Ok(owned)
    };
    // STS only when the account guard or a kind needs the account (a DynamoDB-only endpoint
    // such as DynamoDB Local has no STS).
    let needs_account = desired.account_id.is_some() || REGISTRY.iter().any(|k| k.needs_account(desired));
    let identity = async {
        if needs_account {
            ctx.identity().await.map(Some)
        } else {
            Ok(None)
        }
    };
    let (identity, reads, owned) = tokio::join!(identity, reads, owned);
    let identity = identity?.unwrap_or(crate::aws::Identity { account_id: String::new(), partition: "aws".into() });
    if let Some(want) = &desired.account_id {
        if *want != identity.account_id {
            bail!(
                "refusing to touch account {}: env `{}` is pinned to account {want} (environments.{}.account_id). \
                 Use credentials of account {want}, or another --env.",
                identity.account_id,
                desired.env,
                desired.env
            );
        }
    }
    let mut kinds = BTreeMap::new();
    for (kind, read) in reads {
        kinds.insert(kind, read?);
    }
    Ok(Live { observed_at, account_id: identity.account_id, partition: identity.partition, kinds, owned: owned? })
}

/// The references' values as known from what was observed.
pub fn ref_context(desired: &Desired, live: &Live) -> RefContext {
    RefContext {
        region: desired.region.clone(),
        account_id: (!live.account_id.is_empty()).then(|| live.account_id.clone()),
        partition: live.partition.clone(),
        values: REGISTRY.iter().flat_map(|k| k.reference_values(live)).collect(),
        name_suffix: desired.name_suffix.clone(),
        role_paths: desired.resources.roles.iter().filter_map(|(k, r)| Some((k.clone(), r.path.clone()?))).collect(),
    }
}

/// The pure diff of the whole spec: every declared resource appears, in dependency order,
/// then what this stack env owns and the spec no longer declares, in reverse dependency order
/// (deleted after the changes that no longer need it).
pub fn plan(desired: &Desired, live: &Live) -> Plan {
    let mut plan = Plan::new(&desired.stack, &desired.env, &desired.region, &live.account_id);
    plan.waived = desired.waived.clone();
    let refs = ref_context(desired, live);
    let mut changing = BTreeSet::new();
    for kind in REGISTRY {
        let planned = kind.diff(&PlanContext { desired, live, refs: &refs, changing: &changing });
        for p in planned {
            changing.extend(p.changes_references);
            plan.push(p.change, p.steps);
        }
    }
    let cx = PlanContext { desired, live, refs: &refs, changing: &changing };
    for kind in REGISTRY.iter().rev() {
        for p in kind.prune(&cx) {
            plan.push(p.change, p.steps);
        }
    }
    plan
}

/// The plan of `destroy`: every resource this stack's env owns (declared, or found by its
/// marker), deleted in reverse dependency order; what is not ours or is protected is listed as
/// left alone.
pub fn destroy_plan(desired: &Desired, live: &Live) -> Plan {
    let mut plan = Plan::new(&desired.stack, &desired.env, &desired.region, &live.account_id);
    let refs = ref_context(desired, live);
    let changing = BTreeSet::new();
    let cx = PlanContext { desired, live, refs: &refs, changing: &changing };
    for kind in REGISTRY.iter().rev() {
        for (change, steps) in kind.destroy(&cx) {
            plan.push(change, steps);
        }
        // What the spec dropped goes too (released instead when it says `on_removal: retain`).
        for p in kind.prune(&cx) {
            plan.push(p.change, p.steps);
        }
    }
    plan
}

/// The change of `forget ADDRESS`: the kind that owns the address removes this stack's tags.
pub fn forget(desired: &Desired, live: &Live, address: &str) -> Option<(crate::plan::ResourceChange, Vec<Step>)> {
    let refs = ref_context(desired, live);
    let changing = BTreeSet::new();
    let cx = PlanContext { desired, live, refs: &refs, changing: &changing };
    let kind = kind_of(address.split('.').next()?)?;
    kind.forget(&cx, address)
}

/// Every sensitive value the spec gives its resources, by where it goes.
pub fn secrets(desired: &Desired) -> BTreeMap<String, String> {
    REGISTRY.iter().flat_map(|k| k.secrets(desired)).collect()
}

/// How every declared resource is doing right now (`status`), in registry order; the kinds read
/// concurrently.
pub async fn health(ctx: &AwsContext, desired: &Desired) -> Result<Vec<crate::status::Health>> {
    let reads = futures::future::join_all(REGISTRY.iter().map(|k| async move { (k.kind(), k.health(ctx, desired).await) })).await;
    let mut out = Vec::new();
    for (kind, r) in reads {
        out.extend(r.with_context(|| format!("reading how the {kind} resources are doing"))?);
    }
    Ok(out)
}

/// Runs one step, by the kind that planned it.
pub async fn execute(ctx: &AwsContext, step: &Step) -> Result<()> {
    match kind_of(step.op.kind()) {
        Some(kind) => kind.execute(ctx, &step.op).await,
        None => bail!("step `{}` is of an unknown kind `{}`", step.description, step.op.kind()),
    }
}

/// Every resource the spec declares, in dependency order.
pub fn declared(desired: &Desired) -> Vec<Declared> {
    REGISTRY.iter().flat_map(|k| k.declared(desired)).collect()
}

/// The addresses of the resources a spec declares, in dependency order.
pub fn addresses(desired: &Desired) -> Vec<String> {
    declared(desired).into_iter().map(|d| d.address).collect()
}

/// The targets and everything they depend on, transitively.
pub fn closure(desired: &Desired, targets: &[String]) -> BTreeSet<String> {
    let all: BTreeMap<String, Vec<String>> = declared(desired).into_iter().map(|d| (d.address, d.refers_to)).collect();
    let mut out = BTreeSet::new();
    let mut todo: Vec<String> = targets.to_vec();
    while let Some(a) = todo.pop() {
        if out.insert(a.clone()) {
            todo.extend(all.get(&a).cloned().unwrap_or_default());
        }
    }
    out
}

/// The targets and everything that depends on them, transitively (what `destroy --target`
/// deletes: a resource's dependents lose it, its dependencies do not).
pub fn dependents(desired: &Desired, targets: &[String]) -> Result<BTreeSet<String>> {
    check_targets(desired, targets)?;
    let all = declared(desired);
    let mut out: BTreeSet<String> = targets.iter().cloned().collect();
    loop {
        let before = out.len();
        for d in &all {
            if d.refers_to.iter().any(|r| out.contains(r)) {
                out.insert(d.address.clone());
            }
        }
        if out.len() == before {
            return Ok(out);
        }
    }
}

fn check_targets(desired: &Desired, targets: &[String]) -> Result<()> {
    let known = addresses(desired);
    for t in targets {
        if !known.contains(t) {
            bail!("--target {t}: no such resource in the spec; the spec declares: {}", known.join(", "));
        }
    }
    Ok(())
}

/// The spec cut down to `targets` and their dependencies, so that only those are read.
pub fn targeted(desired: &Desired, targets: &[String]) -> Result<Desired> {
    check_targets(desired, targets)?;
    let keep = closure(desired, targets);
    let mut d = desired.clone();
    d.partial = true;
    for kind in REGISTRY {
        kind.retain(&mut d.resources, &|address| keep.contains(address));
    }
    Ok(d)
}

/// The plan with only the changes and steps of `keep`, in the plan's order.
pub fn restrict(plan: Plan, keep: &BTreeSet<String>) -> Plan {
    let mut out = Plan::new(&plan.stack, &plan.env, &plan.region, &plan.account_id);
    out.waived = plan.waived;
    for c in plan.changes.into_iter().filter(|c| keep.contains(&c.address)) {
        out.push(c, vec![]);
    }
    out.steps = plan.steps.into_iter().filter(|s| keep.contains(&s.address)).collect();
    out
}

/// With targets, the plan keeps only them and their dependencies.
pub fn restrict_to_targets(desired: &Desired, targets: &[String], plan: Plan) -> Plan {
    if targets.is_empty() {
        plan
    } else {
        restrict(plan, &closure(desired, targets))
    }
}
