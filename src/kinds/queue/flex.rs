//! Conversions between the spec's queue settings and SQS's attributes.

use std::collections::BTreeMap;

use crate::spec::{QueueEncryption, QueueEncryptionWord, QueueSpec};

use super::{DEFAULT_RETENTION_S, DEFAULT_VISIBILITY_S};

/// A queue's encryption from its attributes: a KMS key wins; else SSE-SQS or none.
pub(super) fn encryption_of(a: &BTreeMap<String, String>) -> QueueEncryption {
    match a.get("KmsMasterKeyId").filter(|k| !k.is_empty()) {
        Some(k) => QueueEncryption::Kms { kms_key: k.clone() },
        None if a.get("SqsManagedSseEnabled").is_some_and(|v| v == "true") => QueueEncryption::Word(QueueEncryptionWord::SqsManaged),
        None => QueueEncryption::Word(QueueEncryptionWord::None),
    }
}

pub(super) fn describe(e: &QueueEncryption) -> String {
    match e {
        QueueEncryption::Word(QueueEncryptionWord::SqsManaged) => "sqs_managed".into(),
        QueueEncryption::Word(QueueEncryptionWord::None) => "none".into(),
        QueueEncryption::Kms { kms_key } => format!("kms_key {kms_key}"),
    }
}

/// The attributes that set encryption `want` on a queue that has `from` (None: a new queue).
pub(super) fn encryption_attributes(want: &QueueEncryption, from: Option<&QueueEncryption>) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    let had_kms = matches!(from, Some(QueueEncryption::Kms { .. }));
    match want {
        QueueEncryption::Word(QueueEncryptionWord::SqsManaged) => {
            if had_kms {
                a.insert("KmsMasterKeyId".into(), String::new());
            }
            a.insert("SqsManagedSseEnabled".into(), "true".into());
        }
        QueueEncryption::Word(QueueEncryptionWord::None) => {
            if had_kms {
                a.insert("KmsMasterKeyId".into(), String::new());
            }
            a.insert("SqsManagedSseEnabled".into(), "false".into());
        }
        QueueEncryption::Kms { kms_key } => {
            a.insert("KmsMasterKeyId".into(), kms_key.clone());
            if from.is_some() {
                a.insert("SqsManagedSseEnabled".into(), "false".into());
            }
        }
    }
    a
}

/// The effective settings of a spec (AWS's defaults where it says nothing).
pub(super) fn wanted(spec: &QueueSpec) -> (i64, i64, QueueEncryption) {
    (
        spec.message_retention_s.unwrap_or(DEFAULT_RETENTION_S),
        spec.visibility_timeout_s.unwrap_or(DEFAULT_VISIBILITY_S),
        spec.encryption.clone().unwrap_or(QueueEncryption::Word(QueueEncryptionWord::SqsManaged)),
    )
}
