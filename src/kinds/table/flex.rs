//! Conversions between the spec's table types and DynamoDB's.

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use aws_sdk_dynamodb::types as ddb;

use crate::spec::{AttrType, Billing, Capacity, KeySpec, Projection, StreamView};

pub(super) fn attr_type(t: &ddb::ScalarAttributeType) -> Result<AttrType> {
    Ok(match t {
        ddb::ScalarAttributeType::S => AttrType::S,
        ddb::ScalarAttributeType::N => AttrType::N,
        ddb::ScalarAttributeType::B => AttrType::B,
        other => bail!("unknown attribute type {other:?}"),
    })
}

pub(super) fn keys(schema: &[ddb::KeySchemaElement], types: &BTreeMap<String, AttrType>) -> Result<(KeySpec, Option<KeySpec>)> {
    let find = |kt: ddb::KeyType| -> Option<KeySpec> {
        schema
            .iter()
            .find(|k| k.key_type == kt)
            .map(|k| KeySpec { name: k.attribute_name.clone(), ty: types.get(&k.attribute_name).copied().unwrap_or(AttrType::S) })
    };
    let pk = find(ddb::KeyType::Hash).context("key schema without a HASH key")?;
    Ok((pk, find(ddb::KeyType::Range)))
}

pub(super) fn capacity(p: Option<&ddb::ProvisionedThroughputDescription>) -> Capacity {
    Capacity::new(p.and_then(|p| p.read_capacity_units).unwrap_or(0), p.and_then(|p| p.write_capacity_units).unwrap_or(0))
}

pub(super) fn projection(p: Option<&ddb::Projection>) -> Projection {
    match p.and_then(|p| p.projection_type.as_ref()) {
        Some(ddb::ProjectionType::KeysOnly) => Projection::KeysOnly,
        Some(ddb::ProjectionType::Include) => {
            let mut attrs = p.and_then(|p| p.non_key_attributes.clone()).unwrap_or_default();
            attrs.sort();
            Projection::Include(attrs)
        }
        _ => Projection::All,
    }
}

pub(super) fn stream_view(t: &ddb::StreamViewType) -> StreamView {
    match t {
        ddb::StreamViewType::KeysOnly => StreamView::KeysOnly,
        ddb::StreamViewType::NewImage => StreamView::NewImage,
        ddb::StreamViewType::OldImage => StreamView::OldImage,
        _ => StreamView::NewAndOldImages,
    }
}

pub(super) fn view_type(v: StreamView) -> Option<ddb::StreamViewType> {
    Some(match v {
        StreamView::Off => return None,
        StreamView::KeysOnly => ddb::StreamViewType::KeysOnly,
        StreamView::NewImage => ddb::StreamViewType::NewImage,
        StreamView::OldImage => ddb::StreamViewType::OldImage,
        StreamView::NewAndOldImages => ddb::StreamViewType::NewAndOldImages,
    })
}

pub(super) fn throughput(c: Capacity) -> Result<ddb::ProvisionedThroughput> {
    Ok(ddb::ProvisionedThroughput::builder().read_capacity_units(c.read).write_capacity_units(c.write).build()?)
}

pub(super) fn key_schema(pk: &KeySpec, sk: &Option<KeySpec>) -> Result<Vec<ddb::KeySchemaElement>> {
    let mut out = vec![ddb::KeySchemaElement::builder().attribute_name(&pk.name).key_type(ddb::KeyType::Hash).build()?];
    if let Some(sk) = sk {
        out.push(ddb::KeySchemaElement::builder().attribute_name(&sk.name).key_type(ddb::KeyType::Range).build()?);
    }
    Ok(out)
}

pub(super) fn attribute_definitions(attrs: &BTreeMap<String, AttrType>) -> Result<Vec<ddb::AttributeDefinition>> {
    attrs
        .iter()
        .map(|(n, t)| {
            let ty = match t {
                AttrType::S => ddb::ScalarAttributeType::S,
                AttrType::N => ddb::ScalarAttributeType::N,
                AttrType::B => ddb::ScalarAttributeType::B,
            };
            Ok(ddb::AttributeDefinition::builder().attribute_name(n).attribute_type(ty).build()?)
        })
        .collect()
}

pub(super) fn ddb_projection(p: &Projection) -> ddb::Projection {
    match p {
        Projection::All => ddb::Projection::builder().projection_type(ddb::ProjectionType::All).build(),
        Projection::KeysOnly => ddb::Projection::builder().projection_type(ddb::ProjectionType::KeysOnly).build(),
        Projection::Include(a) => {
            ddb::Projection::builder().projection_type(ddb::ProjectionType::Include).set_non_key_attributes(Some(a.clone())).build()
        }
    }
}

pub(super) fn billing_mode(b: Billing) -> ddb::BillingMode {
    match b {
        Billing::Provisioned => ddb::BillingMode::Provisioned,
        Billing::OnDemand => ddb::BillingMode::PayPerRequest,
    }
}
