//! `import`: a live queue written back as spec, its ARN and URL as references.

use anyhow::Result;

use super::{observe, DEFAULT_RETENTION_S, DEFAULT_VISIBILITY_S};
use crate::aws::AwsContext;
use crate::kinds::support::import::{spec_value, user_tags};
use crate::kinds::Imported;
use crate::spec::{QueueEncryption, QueueEncryptionWord, QueueSpec};

pub(super) async fn import(ctx: &AwsContext, name: &str) -> Result<Option<Imported>> {
    let Some(q) = observe(ctx, name).await? else { return Ok(None) };
    let spec = QueueSpec {
        message_retention_s: (q.message_retention_s != DEFAULT_RETENTION_S).then_some(q.message_retention_s),
        visibility_timeout_s: (q.visibility_timeout_s != DEFAULT_VISIBILITY_S).then_some(q.visibility_timeout_s),
        encryption: (q.encryption != QueueEncryption::Word(QueueEncryptionWord::SqsManaged)).then(|| q.encryption.clone()),
        lifecycle: Default::default(),
        tags: user_tags(&q.tags, &[]),
    };
    let mut i = Imported::new("queues", name, spec_value(&spec), q.tags.clone());
    // The queue's ARN and URL in policies and environments become references.
    i.refs.push((q.arn.clone(), format!("${{queues.{name}.arn}}")));
    i.refs.push((q.url.clone(), format!("${{queues.{name}.url}}")));
    i.refs.push((name.to_string(), format!("${{queues.{name}.name}}")));
    Ok(Some(i))
}
