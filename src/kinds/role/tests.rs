//! The role's pure diff and import, without a network.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::import::imported;
use super::*;
use crate::plan::Action;

fn want(path: Option<&str>) -> DesiredRole {
    DesiredRole {
        path: path.map(str::to_string),
        trust: trust_document(&["lambda.amazonaws.com".into()]),
        description: None,
        managed: BTreeSet::new(),
        inline: BTreeMap::new(),
        tags: BTreeMap::new(),
    }
}

fn live(path: &str) -> LiveRole {
    LiveRole {
        name: "r".into(),
        arn: format!("arn:aws:iam::1:role{path}r"),
        path: path.into(),
        trust: trust_document(&["lambda.amazonaws.com".into()]),
        description: None,
        managed: BTreeSet::new(),
        inline: BTreeMap::new(),
        tags: BTreeMap::new(),
    }
}

#[test]
fn import_says_the_services_and_notes_a_trust_it_cannot_say() {
    let mut r = live("/service-role/");
    r.trust = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": {"Service": ["lambda.amazonaws.com", "edgelambda.amazonaws.com"]}, "Action": "sts:AssumeRole"}});
    let i = imported(&r);
    assert_eq!(i.value["trust"], serde_yaml::to_value(["edgelambda.amazonaws.com", "lambda.amazonaws.com"]).unwrap());
    assert_eq!(i.value["path"], "/service-role/");
    assert!(i.notes.is_empty());
    r.trust["Statement"]["Condition"] = json!({"StringEquals": {"aws:SourceAccount": "1"}});
    assert!(imported(&r).notes[0].contains("says more than which services may assume it"));
    assert!(imported(&live(crate::spec::refs::ROLE_PATH)).value.get("path").is_none(), "the tool's own path is the default");
}

#[test]
fn a_role_is_made_at_its_path_and_never_moved() {
    let (_, steps) = diff("r", &want(Some("/service-role/")), None);
    assert!(matches!(steps[0].op.get::<RoleOp>(), Some(RoleOp::CreateRole { path, .. }) if path == "/service-role/"));
    let (_, steps) = diff("r", &want(None), None);
    assert!(matches!(steps[0].op.get::<RoleOp>(), Some(RoleOp::CreateRole { path, .. }) if path == crate::spec::refs::ROLE_PATH));
    // Found by name at any path when the spec names none; the same path is no change.
    assert_eq!(diff("r", &want(None), Some(&live("/service-role/"))).0.action, Action::NoOp);
    assert_eq!(diff("r", &want(Some("/service-role/")), Some(&live("/service-role/"))).0.action, Action::NoOp);
    let (c, steps) = diff("r", &want(Some("/app/")), Some(&live("/service-role/")));
    assert!(steps.is_empty());
    assert_eq!(c.diffs[0].path, "path");
    assert!(c.blocked.as_deref().unwrap_or("").contains("IAM cannot move a role"), "{:?}", c.blocked);
}
