//! The pure diff of a gateway endpoint: created (or blocked when the VPC has someone else's),
//! its route tables as a set, its policy by meaning, its tags.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{default_policy, EndpointOp, LiveEndpoint, LiveVpcSide, KIND};
use crate::plan::{Action, FieldDiff, ResourceChange, Step};
use crate::policy;
use crate::spec::{RouteTables, VpcEndpointSpec};

pub(super) fn step(address: &str, description: String, op: EndpointOp) -> Step {
    Step::new(KIND, address, description, op)
}

/// The step that deletes an endpoint.
pub(super) fn delete(address: &str, e: &LiveEndpoint) -> Vec<Step> {
    vec![step(address, format!("delete endpoint {} (and its routes)", e.id), EndpointOp::Delete { id: e.id.clone() })]
}

/// The step that removes this stack's tags from an endpoint.
pub(super) fn untag(address: &str, e: &LiveEndpoint, remove: Vec<String>) -> Vec<Step> {
    let op = EndpointOp::Tag { id: e.id.clone(), set: BTreeMap::new(), remove };
    vec![step(address, format!("remove this stack's tags from endpoint {}", e.id), op)]
}

/// `policy`: the resolved policy document of the spec, `None` for AWS's default.
/// `tags`: the tool's identifying tags. `token`: a client token for a create.
pub fn diff(
    name: &str,
    spec: &VpcEndpointSpec,
    policy_doc: Option<&Value>,
    tags: &BTreeMap<String, String>,
    live: &LiveVpcSide,
    token: &str,
) -> (ResourceChange, Vec<Step>) {
    let address = format!("{KIND}.{name}");
    let want_rts: BTreeSet<String> = match &spec.route_tables {
        RouteTables::List(ids) => ids.iter().cloned().collect(),
        RouteTables::Word(_) => live.vpc_route_tables.clone(),
    };
    let want_policy = policy_doc.cloned().unwrap_or_else(default_policy);
    let Some(ep) = &live.endpoint else {
        let mut change = ResourceChange::new(&address, Action::Create);
        change.diffs.push(FieldDiff::new("service", None::<String>, &live.service_name));
        change.diffs.push(FieldDiff::new("vpc", None::<String>, &live.vpc_id));
        change.diffs.push(FieldDiff::new("route_tables", None::<String>, &want_rts));
        if policy_doc.is_some() {
            change.diffs.push(FieldDiff::new("policy", None::<String>, policy::normalize(&want_policy)));
        }
        if let Some(id) = &spec.adopt {
            change.blocked = Some(format!(
                "`adopt: {id}` names no gateway endpoint for {} in {} that another stack does not own: nothing is \
                 created while `adopt` names it. Check the id (and `vpc`), or remove `adopt` to create a new endpoint.",
                live.service_name, live.vpc_id
            ));
        } else if let Some((id, owner)) = live.foreign_owners.iter().next() {
            // Another env's endpoint: never suggest retagging it (that would take it over).
            change.blocked = Some(format!(
                "{} already has a gateway endpoint for {} owned by {owner} ({id}): it is neither adopted, retagged nor \
                 deleted. Two envs cannot both route this VPC's tables to one service: run this env in another VPC \
                 (`vpc:`), or another account.",
                live.vpc_id, live.service_name
            ));
        } else if !live.foreign.is_empty() {
            let tag_args: Vec<String> = tags.iter().map(|(k, v)| format!("Key={k},Value={v}")).collect();
            change.blocked = Some(format!(
                "{} already has a gateway endpoint for {} that this stack did not create ({}). It is neither adopted \
                 nor deleted. To manage it with this spec, tag it: `aws ec2 create-tags --resources {} --tags {}`; \
                 or delete it if nobody needs it.",
                live.vpc_id,
                live.service_name,
                live.foreign.join(", "),
                live.foreign[0],
                tag_args.join(" ")
            ));
        }
        let steps = vec![
            step(
                &address,
                format!("create gateway endpoint for {} in {}", live.service_name, live.vpc_id),
                EndpointOp::Create {
                    name: name.into(),
                    vpc_id: live.vpc_id.clone(),
                    service_name: live.service_name.clone(),
                    route_tables: want_rts,
                    policy: policy_doc.cloned(),
                    tags: tags.clone(),
                    client_token: token.into(),
                },
            ),
            step(
                &address,
                format!("wait until the endpoint for {} is available", live.service_name),
                EndpointOp::WaitAvailable {
                    name: name.into(),
                    vpc_id: live.vpc_id.clone(),
                    service_name: live.service_name.clone(),
                    tags: tags.clone(),
                },
            ),
        ];
        return (change, steps);
    };

    let mut diffs = Vec::new();
    let mut steps = Vec::new();
    let add: BTreeSet<String> = want_rts.difference(&ep.route_tables).cloned().collect();
    let remove: BTreeSet<String> = ep.route_tables.difference(&want_rts).cloned().collect();
    for rt in &add {
        diffs.push(FieldDiff::new(format!("route_tables.{rt}"), None::<String>, "associated"));
    }
    for rt in &remove {
        diffs.push(FieldDiff::new(format!("route_tables.{rt}"), "associated", None::<String>));
    }
    if !add.is_empty() || !remove.is_empty() {
        steps.push(step(
            &address,
            format!("update the route tables of endpoint {} (+{} -{})", ep.id, add.len(), remove.len()),
            EndpointOp::ModifyRouteTables { id: ep.id.clone(), add, remove },
        ));
    }
    if !policy::equivalent(&ep.policy, &want_policy) {
        let widen = policy::broadening(Some(&ep.policy), &want_policy);
        let mut d = FieldDiff::new("policy", policy::normalize(&ep.policy), policy::normalize(&want_policy));
        if !widen.is_empty() {
            d = d.broadens(widen.join("; "));
        }
        diffs.push(d);
        steps.push(step(
            &address,
            format!("update the policy of endpoint {}", ep.id),
            EndpointOp::ModifyPolicy { id: ep.id.clone(), policy: want_policy.clone() },
        ));
    }
    let set: BTreeMap<String, String> =
        tags.iter().filter(|(k, v)| ep.tags.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect();
    if !set.is_empty() {
        for (k, v) in &set {
            diffs.push(FieldDiff::new(format!("tags.{k}"), ep.tags.get(k), v));
        }
        steps.push(step(&address, format!("tag endpoint {}", ep.id), EndpointOp::Tag { id: ep.id.clone(), set, remove: vec![] }));
    }
    let action = if diffs.is_empty() { Action::NoOp } else { Action::Update };
    let mut change = ResourceChange::new(&address, action);
    change.diffs = diffs;
    (change, steps)
}
