//! `sqs_queue`: an SQS standard queue, found by name (the spec's key plus the env's
//! `name_suffix`). Its settings have AWS's defaults when the spec leaves them out, and are
//! brought back to them; its URL is a reference value (`${queues.NAME.url}`).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result};
use aws_sdk_sqs::types::QueueAttributeName as Attr;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::aws::{aws_error, AwsContext};
use crate::plan::{Action, FieldDiff, ResourceChange, Step};
use crate::spec::{Desired, OnRemoval, QueueEncryption, QueueEncryptionWord, QueueSpec, Resources};

use super::{Declared, Kind, LiveData, Op, PlanContext, Planned};

pub const KIND: &str = "sqs_queue";

/// The Resource Groups Tagging API's type filter for queues: a queue's ARN has no resource
/// type (`arn:aws:sqs:REGION:ACCOUNT:NAME`), so the service alone names them.
pub const TAGGING_TYPE: &str = "sqs";

/// AWS's defaults for a queue created without attributes.
pub const DEFAULT_RETENTION_S: i64 = 345_600;
pub const DEFAULT_VISIBILITY_S: i64 = 30;

/// The queue kind.
pub struct Queues;

impl Kind for Queues {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn namespace(&self) -> Option<&'static str> {
        Some("queues")
    }

    fn declared(&self, desired: &Desired) -> Vec<Declared> {
        let r = &desired.resources.queues;
        r.iter()
            .map(|(n, q)| super::declared_with(format!("{KIND}.{n}"), &q.tags.values().map(String::as_str).collect::<Vec<_>>(), vec![]))
            .collect()
    }

    /// A queue's ARN is made of its name: only its tags' references could need the account.
    fn needs_account(&self, desired: &Desired) -> bool {
        super::tags_refer(desired.resources.queues.values().map(|q| &q.tags))
    }

    fn retain(&self, resources: &mut Resources, keep: &dyn Fn(&str) -> bool) {
        resources.queues.retain(|n, _| keep(&format!("{KIND}.{n}")));
    }

    fn observe<'a>(&'a self, ctx: &'a AwsContext, desired: &'a Desired) -> BoxFuture<'a, Result<Box<dyn LiveData>>> {
        Box::pin(async move {
            let r = &desired.resources.queues;
            super::boxed(
                super::read_each(KIND, r, |name, _| {
                    let aws = desired.aws_name(name);
                    async move { observe(ctx, &aws).await }
                })
                .await,
            )
        })
    }

    fn reference_values(&self, live: &super::Live) -> BTreeMap<String, String> {
        let all = live.all::<Option<LiveQueue>>(KIND).into_iter().flatten();
        all.filter_map(|(n, q)| Some((format!("queues.{n}.url"), q.as_ref()?.url.clone()))).collect()
    }

    fn read_reference_values<'a>(&'a self, ctx: &'a AwsContext, name: &'a str) -> BoxFuture<'a, Result<BTreeMap<String, String>>> {
        Box::pin(async move {
            let url = url_of(ctx, &format!("{name}{}", ctx.name_suffix)).await?;
            Ok(url.map(|u| (format!("queues.{name}.url"), u)).into_iter().collect())
        })
    }

    fn diff(&self, cx: &PlanContext) -> Vec<Planned> {
        let mut out = Vec::new();
        for (name, spec) in &cx.desired.resources.queues {
            let mut tags = super::resolved_tags(&spec.tags, cx.desired, cx.refs);
            if spec.lifecycle.on_removal == OnRemoval::Retain {
                tags.insert(super::ON_REMOVAL_TAG.into(), "retain".into());
            }
            let live = cx.live.get::<Option<LiveQueue>>(KIND, name).and_then(Option::as_ref);
            let aws = cx.desired.aws_name(name);
            let mut p = super::found_by_name(KIND, name, cx.desired, live.map(|q| &q.tags), diff(&aws, spec, &tags, live));
            if live.is_none() {
                p.changes_references.push(format!("queues.{name}.url"));
            }
            out.push(p);
        }
        out
    }

    fn destroy(&self, cx: &PlanContext) -> Vec<(ResourceChange, Vec<Step>)> {
        let mut out = Vec::new();
        for name in cx.desired.resources.queues.keys() {
            let address = format!("{KIND}.{name}");
            out.push(match cx.live.get::<Option<LiveQueue>>(KIND, name).and_then(Option::as_ref) {
                None => super::destroy_change(address, vec![], None),
                Some(q) if !super::ours(&q.tags, cx.desired) => super::destroy_change(address, vec![], Some(super::NOT_OURS.into())),
                Some(q) => super::destroy_change(address.clone(), delete(&address, q), None),
            });
        }
        out
    }

    fn tagging_type(&self) -> Option<&'static str> {
        Some(TAGGING_TYPE)
    }

    fn discover<'a>(
        &'a self,
        ctx: &'a AwsContext,
        desired: &'a Desired,
        tagged: &'a super::Tagged<'a>,
    ) -> BoxFuture<'a, Result<Option<Box<dyn LiveData>>>> {
        Box::pin(async move {
            let names = tagged.names(TAGGING_TYPE).await?;
            let declared = |k: &str| desired.resources.queues.contains_key(k);
            super::read_undeclared(KIND, names, desired, declared, |aws| async move { observe(ctx, &aws).await }).await
        })
    }

    fn prune(&self, cx: &PlanContext) -> Vec<Planned> {
        let all = cx.live.orphans::<LiveQueue>(KIND).into_iter().flatten();
        all.filter(|(_, q)| super::owned(&q.tags, cx.desired))
            .map(|(key, q)| {
                let address = format!("{KIND}.{key}");
                super::orphan_change(address.clone(), cx.desired, &q.tags, delete(&address, q), |remove| untag(&address, q, remove))
            })
            .collect()
    }

    fn forget(&self, cx: &PlanContext, address: &str) -> Option<(ResourceChange, Vec<Step>)> {
        let key = address.strip_prefix(&format!("{KIND}."))?;
        let declared = cx.live.get::<Option<LiveQueue>>(KIND, key).and_then(Option::as_ref);
        let q = declared.or_else(|| cx.live.orphans::<LiveQueue>(KIND)?.get(key))?;
        super::ours(&q.tags, cx.desired).then(|| super::forget_change(address, &q.tags, |remove| untag(address, q, remove)))
    }

    fn import<'a>(&'a self, ctx: &'a AwsContext, name: &'a str) -> BoxFuture<'a, Result<Option<super::Imported>>> {
        Box::pin(async move {
            let Some(q) = observe(ctx, name).await? else { return Ok(None) };
            let spec = QueueSpec {
                message_retention_s: (q.message_retention_s != DEFAULT_RETENTION_S).then_some(q.message_retention_s),
                visibility_timeout_s: (q.visibility_timeout_s != DEFAULT_VISIBILITY_S).then_some(q.visibility_timeout_s),
                encryption: (q.encryption != QueueEncryption::Word(QueueEncryptionWord::SqsManaged)).then(|| q.encryption.clone()),
                lifecycle: Default::default(),
                tags: super::user_tags(&q.tags, &[]),
            };
            let mut i = super::Imported::new("queues", name, super::spec_value(&spec), q.tags.clone());
            // The queue's ARN and URL in policies and environments become references.
            i.refs.push((q.arn.clone(), format!("${{queues.{name}.arn}}")));
            i.refs.push((q.url.clone(), format!("${{queues.{name}.url}}")));
            Ok(Some(i))
        })
    }

    fn parse_op(&self, call: serde_json::Value) -> Result<Op, serde_json::Error> {
        super::parse_op::<QueueOp>(KIND, call)
    }

    fn execute<'a>(&'a self, ctx: &'a AwsContext, op: &'a Op) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { execute(ctx, op.expect::<QueueOp>()?).await })
    }
}

fn delete(address: &str, q: &LiveQueue) -> Vec<Step> {
    vec![step(address, format!("delete queue {} (and the messages in it)", q.name), QueueOp::Delete { name: q.name.clone() })]
}

/// The step that removes this stack's tags from a queue.
fn untag(address: &str, q: &LiveQueue, remove: Vec<String>) -> Vec<Step> {
    let op = QueueOp::Tag { name: q.name.clone(), set: BTreeMap::new(), remove };
    vec![step(address, format!("remove this stack's tags from queue {}", q.name), op)]
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LiveQueue {
    pub name: String,
    pub url: String,
    pub arn: String,
    pub message_retention_s: i64,
    pub visibility_timeout_s: i64,
    pub encryption: QueueEncryption,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum QueueOp {
    Create { name: String, attributes: BTreeMap<String, String>, tags: BTreeMap<String, String> },
    SetAttributes { name: String, attributes: BTreeMap<String, String> },
    Tag { name: String, set: BTreeMap<String, String>, remove: Vec<String> },
    Delete { name: String },
}

// ---------------------------------------------------------------------------------------------
// observe

/// An SQS call's answer, None when the queue is not there. SQS's JSON protocol says
/// `AWS.SimpleQueueService.NonExistentQueue` where the query protocol said `QueueDoesNotExist`.
fn unless_missing<T, E>(r: Result<T, SdkError<E, HttpResponse>>, operation: &'static str, name: &str) -> Result<Option<T>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match r {
        Ok(t) => Ok(Some(t)),
        Err(e) if matches!(e.code(), Some("QueueDoesNotExist" | "AWS.SimpleQueueService.NonExistentQueue")) => Ok(None),
        Err(e) => Err(aws_error("SQS", operation, name, e).into()),
    }
}

/// A queue's URL, None when it does not exist.
async fn url_of(ctx: &AwsContext, name: &str) -> Result<Option<String>> {
    let out = unless_missing(ctx.sqs.get_queue_url().queue_name(name).send().await, "GetQueueUrl", name)?;
    Ok(out.and_then(|o| o.queue_url().map(str::to_string)))
}

/// Reads one queue by name: its URL, then its attributes and tags at once.
pub async fn observe(ctx: &AwsContext, name: &str) -> Result<Option<LiveQueue>> {
    let Some(url) = url_of(ctx, name).await? else { return Ok(None) };
    let (attrs, tags) = tokio::join!(
        ctx.sqs.get_queue_attributes().queue_url(&url).attribute_names(Attr::All).send(),
        ctx.sqs.list_queue_tags().queue_url(&url).send(),
    );
    let (attrs, tags) = match (unless_missing(attrs, "GetQueueAttributes", name), unless_missing(tags, "ListQueueTags", name)) {
        (Ok(Some(a)), Ok(Some(t))) => (a, t),
        // Deleted between the calls: not there.
        (Ok(None), _) | (_, Ok(None)) => return Ok(None),
        (Err(e), _) | (_, Err(e)) => return Err(e),
    };
    let a: BTreeMap<String, String> = attrs.attributes().into_iter().flatten().map(|(k, v)| (k.as_str().to_string(), v.clone())).collect();
    let num = |k: &str, d: i64| a.get(k).and_then(|v| v.parse().ok()).unwrap_or(d);
    Ok(Some(LiveQueue {
        name: name.to_string(),
        arn: a.get("QueueArn").cloned().unwrap_or_default(),
        message_retention_s: num("MessageRetentionPeriod", DEFAULT_RETENTION_S),
        visibility_timeout_s: num("VisibilityTimeout", DEFAULT_VISIBILITY_S),
        encryption: encryption_of(&a),
        tags: tags.tags().cloned().unwrap_or_default().into_iter().collect(),
        url,
    }))
}

/// A queue's encryption from its attributes: a KMS key wins; else SSE-SQS or none.
fn encryption_of(a: &BTreeMap<String, String>) -> QueueEncryption {
    match a.get("KmsMasterKeyId").filter(|k| !k.is_empty()) {
        Some(k) => QueueEncryption::Kms { kms_key: k.clone() },
        None if a.get("SqsManagedSseEnabled").is_some_and(|v| v == "true") => QueueEncryption::Word(QueueEncryptionWord::SqsManaged),
        None => QueueEncryption::Word(QueueEncryptionWord::None),
    }
}

// ---------------------------------------------------------------------------------------------
// diff (pure)

fn step(address: &str, description: String, op: QueueOp) -> Step {
    super::step(KIND, address, description, op)
}

fn describe(e: &QueueEncryption) -> String {
    match e {
        QueueEncryption::Word(QueueEncryptionWord::SqsManaged) => "sqs_managed".into(),
        QueueEncryption::Word(QueueEncryptionWord::None) => "none".into(),
        QueueEncryption::Kms { kms_key } => format!("kms_key {kms_key}"),
    }
}

/// The attributes that set encryption `want` on a queue that has `from` (None: a new queue).
fn encryption_attributes(want: &QueueEncryption, from: Option<&QueueEncryption>) -> BTreeMap<String, String> {
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
fn wanted(spec: &QueueSpec) -> (i64, i64, QueueEncryption) {
    (
        spec.message_retention_s.unwrap_or(DEFAULT_RETENTION_S),
        spec.visibility_timeout_s.unwrap_or(DEFAULT_VISIBILITY_S),
        spec.encryption.clone().unwrap_or(QueueEncryption::Word(QueueEncryptionWord::SqsManaged)),
    )
}

/// `tags`: the spec's tags resolved, with the tool's own.
pub fn diff(name: &str, spec: &QueueSpec, tags: &BTreeMap<String, String>, live: Option<&LiveQueue>) -> (ResourceChange, Vec<Step>) {
    let address = format!("{KIND}.{name}");
    let (retention, visibility, encryption) = wanted(spec);
    let Some(q) = live else {
        let mut change = ResourceChange::new(&address, Action::Create);
        change.diffs.push(FieldDiff::new("message_retention_s", None::<i64>, retention));
        change.diffs.push(FieldDiff::new("visibility_timeout_s", None::<i64>, visibility));
        change.diffs.push(FieldDiff::new("encryption", None::<String>, describe(&encryption)));
        let mut attributes = encryption_attributes(&encryption, None);
        attributes.insert("MessageRetentionPeriod".into(), retention.to_string());
        attributes.insert("VisibilityTimeout".into(), visibility.to_string());
        let op = QueueOp::Create { name: name.into(), attributes, tags: tags.clone() };
        return (change, vec![step(&address, format!("create queue {name}"), op)]);
    };
    let mut diffs = Vec::new();
    let mut attributes = BTreeMap::new();
    let unset = "not in the spec: back to AWS's default";
    if q.message_retention_s != retention {
        let d = FieldDiff::new("message_retention_s", q.message_retention_s, retention);
        diffs.push(if spec.message_retention_s.is_none() { d.note(unset) } else { d });
        attributes.insert("MessageRetentionPeriod".into(), retention.to_string());
    }
    if q.visibility_timeout_s != visibility {
        let d = FieldDiff::new("visibility_timeout_s", q.visibility_timeout_s, visibility);
        diffs.push(if spec.visibility_timeout_s.is_none() { d.note(unset) } else { d });
        attributes.insert("VisibilityTimeout".into(), visibility.to_string());
    }
    if q.encryption != encryption {
        let d = FieldDiff::new("encryption", describe(&q.encryption), describe(&encryption));
        diffs.push(if spec.encryption.is_none() { d.note(unset) } else { d });
        attributes.extend(encryption_attributes(&encryption, Some(&q.encryption)));
    }
    let mut steps = Vec::new();
    if !attributes.is_empty() {
        steps.push(step(
            &address,
            format!("update the attributes of queue {name}"),
            QueueOp::SetAttributes { name: name.into(), attributes },
        ));
    }
    let set: BTreeMap<String, String> =
        tags.iter().filter(|(k, v)| q.tags.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect();
    // Tags the spec dropped (the tool's own are always in `tags`).
    let remove: Vec<String> = q.tags.keys().filter(|k| !tags.contains_key(*k) && !k.starts_with("aws:")).cloned().collect();
    for (k, v) in &set {
        diffs.push(FieldDiff::new(format!("tags.{k}"), q.tags.get(k), v));
    }
    for k in &remove {
        diffs.push(FieldDiff::new(format!("tags.{k}"), q.tags.get(k), None::<String>));
    }
    if !set.is_empty() || !remove.is_empty() {
        steps.push(step(&address, format!("tag queue {name}"), QueueOp::Tag { name: name.into(), set, remove }));
    }
    let mut change = ResourceChange::new(&address, if diffs.is_empty() { Action::NoOp } else { Action::Update });
    change.diffs = diffs;
    (change, steps)
}

// ---------------------------------------------------------------------------------------------
// execute

/// How long SQS refuses a name after its queue was deleted.
const RECENTLY_DELETED: Duration = Duration::from_secs(70);

async fn url_for(ctx: &AwsContext, name: &str) -> Result<String> {
    url_of(ctx, name).await?.with_context(|| format!("queue {name} does not exist"))
}

pub async fn execute(ctx: &AwsContext, op: &QueueOp) -> Result<()> {
    match op {
        QueueOp::Create { name, attributes, tags } => {
            use super::retry::{self, Next, Policy};
            let policy = Policy { deadline: RECENTLY_DELETED, ..retry::AWS };
            retry::retry(&format!("the creation of queue {name}"), policy, || async {
                let attrs = attributes.iter().map(|(k, v)| (Attr::from(k.as_str()), v.clone())).collect();
                // CreateQueue is idempotent for the same attributes: a create whose answer was
                // lost succeeds again.
                match ctx
                    .sqs
                    .create_queue()
                    .queue_name(name)
                    .set_attributes(Some(attrs))
                    .set_tags(Some(tags.clone().into_iter().collect()))
                    .send()
                    .await
                {
                    Ok(_) => Ok(()),
                    Err(e) if matches!(e.code(), Some("QueueDeletedRecently" | "AWS.SimpleQueueService.QueueDeletedRecently")) => {
                        Err(Next::Retry(format!("SQS keeps the name {name} for 60 s after its queue was deleted")))
                    }
                    Err(e) => Err(Next::Fail(aws_error("SQS", "CreateQueue", name, e).into())),
                }
            })
            .await
        }
        QueueOp::SetAttributes { name, attributes } => {
            let url = url_for(ctx, name).await?;
            let attrs = attributes.iter().map(|(k, v)| (Attr::from(k.as_str()), v.clone())).collect();
            ctx.sqs
                .set_queue_attributes()
                .queue_url(&url)
                .set_attributes(Some(attrs))
                .send()
                .await
                .map_err(|e| aws_error("SQS", "SetQueueAttributes", name, e))?;
            Ok(())
        }
        QueueOp::Tag { name, set, remove } => {
            let url = url_for(ctx, name).await?;
            if !set.is_empty() {
                ctx.sqs
                    .tag_queue()
                    .queue_url(&url)
                    .set_tags(Some(set.clone().into_iter().collect()))
                    .send()
                    .await
                    .map_err(|e| aws_error("SQS", "TagQueue", name, e))?;
            }
            if !remove.is_empty() {
                ctx.sqs
                    .untag_queue()
                    .queue_url(&url)
                    .set_tag_keys(Some(remove.clone()))
                    .send()
                    .await
                    .map_err(|e| aws_error("SQS", "UntagQueue", name, e))?;
            }
            Ok(())
        }
        QueueOp::Delete { name } => {
            // Already gone (another process deleted it first): done.
            let Some(url) = url_of(ctx, name).await? else { return Ok(()) };
            unless_missing(ctx.sqs.delete_queue().queue_url(&url).send().await, "DeleteQueue", name).map(|_| ())
        }
    }
    .context("sqs queue step")
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
