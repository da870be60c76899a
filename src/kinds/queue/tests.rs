//! The queue's pure diff, without a network.

use std::collections::BTreeMap;

use super::diff::diff;
use super::flex::encryption_of;
use super::*;
use crate::plan::{Action, Step};
use crate::spec::{QueueEncryption, QueueEncryptionWord, QueueSpec};

fn live() -> LiveQueue {
    LiveQueue {
        name: "q".into(),
        url: "http://x/1/q".into(),
        arn: "arn:aws:sqs:us-east-1:1:q".into(),
        message_retention_s: DEFAULT_RETENTION_S,
        visibility_timeout_s: DEFAULT_VISIBILITY_S,
        encryption: QueueEncryption::Word(QueueEncryptionWord::SqsManaged),
        tags: BTreeMap::from([("a".into(), "1".into())]),
    }
}

fn tags() -> BTreeMap<String, String> {
    BTreeMap::from([("a".into(), "1".into())])
}

fn ops(steps: &[Step]) -> Vec<QueueOp> {
    steps.iter().map(|s| s.op.get::<QueueOp>().cloned().unwrap()).collect()
}

/// The one step's operation.
fn one(steps: &[Step]) -> QueueOp {
    let [op] = <[QueueOp; 1]>::try_from(ops(steps)).unwrap();
    op
}

#[test]
fn a_new_queue_is_created_with_every_setting_and_its_tags() {
    let spec = QueueSpec { message_retention_s: Some(1_209_600), ..Default::default() };
    let (c, steps) = diff("q", &spec, &tags(), None);
    assert_eq!(c.action, Action::Create);
    let QueueOp::Create { attributes, tags, .. } = one(&steps) else { panic!() };
    assert_eq!(attributes["MessageRetentionPeriod"], "1209600");
    assert_eq!(attributes["VisibilityTimeout"], "30");
    assert_eq!(attributes["SqsManagedSseEnabled"], "true");
    assert_eq!(tags["a"], "1");
}

#[test]
fn the_same_queue_is_a_no_op_and_a_removed_setting_goes_back_to_aws_default() {
    let (c, steps) = diff("q", &QueueSpec::default(), &tags(), Some(&live()));
    assert_eq!(c.action, Action::NoOp, "{:?}", c.diffs);
    assert!(steps.is_empty());
    let mut l = live();
    l.visibility_timeout_s = 120;
    let (c, steps) = diff("q", &QueueSpec::default(), &tags(), Some(&l));
    assert_eq!(c.diffs.len(), 1);
    assert_eq!(c.diffs[0].note.as_deref(), Some("not in the spec: back to AWS's default"));
    assert_eq!(
        ops(&steps),
        [QueueOp::SetAttributes { name: "q".into(), attributes: BTreeMap::from([("VisibilityTimeout".into(), "30".into())]) }]
    );
}

#[test]
fn encryption_moves_between_kms_sqs_managed_and_none_clearing_what_it_had() {
    let mut l = live();
    l.encryption = QueueEncryption::Kms { kms_key: "alias/aws/sqs".into() };
    let (c, steps) = diff("q", &QueueSpec::default(), &tags(), Some(&l));
    assert_eq!(c.diffs[0].path, "encryption");
    let QueueOp::SetAttributes { attributes, .. } = one(&steps) else { panic!() };
    assert_eq!(attributes, BTreeMap::from([("KmsMasterKeyId".into(), String::new()), ("SqsManagedSseEnabled".into(), "true".into())]));
    let spec = QueueSpec { encryption: Some(QueueEncryption::Kms { kms_key: "k".into() }), ..Default::default() };
    let QueueOp::SetAttributes { attributes, .. } = one(&diff("q", &spec, &tags(), Some(&live())).1) else { panic!() };
    assert_eq!(attributes, BTreeMap::from([("KmsMasterKeyId".into(), "k".into()), ("SqsManagedSseEnabled".into(), "false".into())]));
}

#[test]
fn tags_are_set_and_removed_to_match_the_spec() {
    let mut l = live();
    l.tags.insert("old".into(), "x".into());
    let mut want = tags();
    want.insert("a".into(), "2".into());
    let QueueOp::Tag { set, remove, .. } = one(&diff("q", &QueueSpec::default(), &want, Some(&l)).1) else { panic!() };
    assert_eq!(set, BTreeMap::from([("a".into(), "2".into())]));
    assert_eq!(remove, ["old"]);
}

#[test]
fn encryption_is_read_from_the_attributes() {
    let a = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>();
    assert_eq!(encryption_of(&a(&[("SqsManagedSseEnabled", "true")])), QueueEncryption::Word(QueueEncryptionWord::SqsManaged));
    assert_eq!(encryption_of(&a(&[("SqsManagedSseEnabled", "false")])), QueueEncryption::Word(QueueEncryptionWord::None));
    assert_eq!(
        encryption_of(&a(&[("KmsMasterKeyId", "k"), ("SqsManagedSseEnabled", "false")])),
        QueueEncryption::Kms { kms_key: "k".into() }
    );
}
