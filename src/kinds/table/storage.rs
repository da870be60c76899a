//! How a table is stored: its encryption at rest (`encryption:`) and its table class
//! (`table_class:`). Both are read from DescribeTable (no extra call), managed only when the spec
//! declares them, and each change is an UpdateTable of its own with a wait after it (the table is
//! UPDATING meanwhile; rule 1: one kind of change per UpdateTable).

use aws_sdk_dynamodb::types as ddb;

use crate::plan::{FieldDiff, Step};
use crate::spec::{TableClass, TableEncryption, TableEncryptionWord, TableSpec};

use super::{LiveTable, TableOp};

/// The KMS key of a described table (None: an AWS owned key, which DescribeTable leaves out).
pub(crate) fn kms_key(t: &ddb::TableDescription) -> Option<String> {
    let d = t.sse_description()?;
    let on = matches!(d.status(), Some(ddb::SseStatus::Enabled | ddb::SseStatus::Enabling | ddb::SseStatus::Updating));
    on.then(|| d.kms_master_key_arn().unwrap_or("").to_string())
}

/// The class of a described table (no summary: standard, as AWS answers for such tables).
pub(crate) fn class(t: &ddb::TableDescription) -> TableClass {
    match t.table_class_summary().and_then(|s| s.table_class()) {
        Some(ddb::TableClass::StandardInfrequentAccess) => TableClass::StandardInfrequentAccess,
        _ => TableClass::Standard,
    }
}

pub(crate) fn table_class(c: TableClass) -> ddb::TableClass {
    match c {
        TableClass::Standard => ddb::TableClass::Standard,
        TableClass::StandardInfrequentAccess => ddb::TableClass::StandardInfrequentAccess,
    }
}

/// UpdateTable's SSESpecification: KMS (with a key, or the AWS managed one), or back to an AWS
/// owned key (`Enabled: false`).
pub(crate) fn sse(kms: bool, key: Option<&str>) -> ddb::SseSpecification {
    let b = ddb::SseSpecification::builder().enabled(kms);
    if kms {
        b.sse_type(ddb::SseType::Kms).set_kms_master_key_id(key.map(str::to_string)).build()
    } else {
        b.build()
    }
}

/// (KMS or not, the customer key) that the spec asks for; an undeclared encryption is AWS's
/// default (not KMS).
pub(crate) fn wanted_sse(spec: &TableSpec) -> (bool, Option<&str>) {
    match &spec.encryption {
        None | Some(TableEncryption::Word(TableEncryptionWord::AwsOwned)) => (false, None),
        Some(TableEncryption::Word(TableEncryptionWord::AwsManaged)) => (true, None),
        Some(TableEncryption::Kms { kms_key }) => (true, Some(kms_key)),
    }
}

fn shown(e: &TableEncryption) -> serde_json::Value {
    serde_json::to_value(e).unwrap_or_default()
}

fn shown_live(key: Option<&str>) -> serde_json::Value {
    match key {
        None => serde_json::json!("aws_owned"),
        Some(k) => serde_json::json!({ "kms_key": k }),
    }
}

/// A new table's diffs for what it is created with.
pub(crate) fn create_diffs(spec: &TableSpec, diffs: &mut Vec<FieldDiff>) {
    if let Some(e) = &spec.encryption {
        diffs.push(FieldDiff::new("encryption", None::<String>, shown(e)));
    }
    if let Some(c) = spec.table_class {
        diffs.push(FieldDiff::new("table_class", None::<String>, c));
    }
}

/// Whether the live key is the one the spec asks for. `aws_managed` is any KMS key: telling the
/// AWS managed key from a customer one needs KMS (DescribeKey), which the tool does not call.
fn same_encryption(want: &TableEncryption, live: Option<&str>) -> bool {
    match (want, live) {
        (TableEncryption::Word(TableEncryptionWord::AwsOwned), None) => true,
        (TableEncryption::Word(TableEncryptionWord::AwsManaged), Some(_)) => true,
        (TableEncryption::Kms { kms_key }, Some(k)) => k == kms_key,
        _ => false,
    }
}

/// The steps for the encryption and class the spec declares, each followed by a wait.
pub(crate) fn steps(address: &str, name: &str, spec: &TableSpec, live: &LiveTable, diffs: &mut Vec<FieldDiff>) -> Vec<Step> {
    let mut steps = Vec::new();
    if let Some(want) = spec.encryption.as_ref().filter(|w| !same_encryption(w, live.kms_key.as_deref())) {
        let mut d = FieldDiff::new("encryption", shown_live(live.kms_key.as_deref()), shown(want));
        if live.kms_key.is_some() && !matches!(want, TableEncryption::Word(TableEncryptionWord::AwsOwned)) {
            d = d.note("the items are re-encrypted with the new key; the old key must stay usable until the table is ACTIVE again");
        }
        diffs.push(d);
        let (kms, key) = wanted_sse(spec);
        let op = TableOp::SetEncryption { name: name.into(), kms, kms_key: key.map(str::to_string) };
        steps.push(super::diff::step(address, format!("change the encryption of table {name}"), op));
        steps.push(super::diff::wait_step(address, name));
    }
    if let Some(want) = spec.table_class.filter(|c| *c != live.table_class) {
        diffs.push(FieldDiff::new("table_class", live.table_class, want).note("AWS allows two table class changes per table in 30 days"));
        steps.push(super::diff::step(
            address,
            format!("change the class of table {name}"),
            TableOp::SetTableClass { name: name.into(), class: want },
        ));
        steps.push(super::diff::wait_step(address, name));
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(encryption: Option<TableEncryption>, class: Option<TableClass>) -> TableSpec {
        let mut s: TableSpec = serde_yaml::from_str("partition_key: { name: pk, type: S }").unwrap();
        (s.encryption, s.table_class) = (encryption, class);
        s
    }

    fn live(key: Option<&str>, class: TableClass) -> LiveTable {
        let mut t = super::super::tests::live_table();
        (t.kms_key, t.table_class) = (key.map(str::to_string), class);
        t
    }

    fn ops(steps: &[Step]) -> Vec<TableOp> {
        steps.iter().filter_map(|s| s.op.get::<TableOp>().cloned()).collect()
    }

    #[test]
    fn encryption_and_class_change_one_update_each_with_a_wait_and_only_when_declared() {
        let key = "arn:aws:kms:us-east-1:1:key/k";
        let mut d = Vec::new();
        // Not declared: nothing, whatever the table has.
        assert!(steps("a", "t", &with(None, None), &live(Some(key), TableClass::StandardInfrequentAccess), &mut d).is_empty());
        let s = steps(
            "a",
            "t",
            &with(Some(TableEncryption::Kms { kms_key: key.into() }), Some(TableClass::StandardInfrequentAccess)),
            &live(None, TableClass::Standard),
            &mut d,
        );
        assert_eq!(
            ops(&s),
            [
                TableOp::SetEncryption { name: "t".into(), kms: true, kms_key: Some(key.into()) },
                TableOp::WaitActive { name: "t".into() },
                TableOp::SetTableClass { name: "t".into(), class: TableClass::StandardInfrequentAccess },
                TableOp::WaitActive { name: "t".into() },
            ]
        );
        assert_eq!(d.iter().map(|d| d.path.as_str()).collect::<Vec<_>>(), ["encryption", "table_class"]);
        // In sync: the same key; the AWS managed key is any KMS key (KMS is not asked).
        let mut d = Vec::new();
        assert!(steps(
            "a",
            "t",
            &with(Some(TableEncryption::Kms { kms_key: key.into() }), None),
            &live(Some(key), TableClass::Standard),
            &mut d
        )
        .is_empty());
        let managed = Some(TableEncryption::Word(TableEncryptionWord::AwsManaged));
        assert!(steps("a", "t", &with(managed.clone(), None), &live(Some(key), TableClass::Standard), &mut d).is_empty());
        assert!(d.is_empty());
        // Back to an AWS owned key: KMS off.
        let owned = Some(TableEncryption::Word(TableEncryptionWord::AwsOwned));
        let s = steps("a", "t", &with(owned, None), &live(Some(key), TableClass::Standard), &mut d);
        assert_eq!(ops(&s)[0], TableOp::SetEncryption { name: "t".into(), kms: false, kms_key: None });
        let s = steps("a", "t", &with(managed, None), &live(None, TableClass::Standard), &mut Vec::new());
        assert_eq!(ops(&s)[0], TableOp::SetEncryption { name: "t".into(), kms: true, kms_key: None });
    }
}
