//! The resource kinds, behind one interface ([`Kind`]), and their registry ([`REGISTRY`]).
//!
//! A kind is one module: its live model, a pure `diff`, its own operations and their
//! execution. The engine (`crate::engine`) drives every kind through [`Kind`] and never names
//! one. Adding a kind: a module implementing [`Kind`], and one line in [`REGISTRY`]
//! (docs/architecture.md has the checklist).

pub mod endpoint;
pub mod function;
pub mod mapping;
pub mod queue;
pub mod retry;
pub mod role;
pub mod table;
pub mod wait;

use std::any::Any;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use anyhow::Result;
use futures::future::BoxFuture;
use futures::{stream, StreamExt};
use serde::Serialize;

use crate::aws::AwsContext;
use crate::plan::{ResourceChange, Step};
use crate::spec::refs::RefContext;
use crate::spec::{Desired, Resources};

/// Every kind, in dependency order: a kind may refer only to kinds before it. Plans list
/// resources in this order; destroy and prune delete in the reverse order.
pub static REGISTRY: &[&dyn Kind] =
    &[&table::Tables, &queue::Queues, &endpoint::Endpoints, &role::Roles, &function::Functions, &mapping::Mappings];

/// The kind whose addresses start with `prefix`.
pub fn kind_of(prefix: &str) -> Option<&'static dyn Kind> {
    REGISTRY.iter().copied().find(|k| k.kind() == prefix)
}

/// The kind whose resources `${NAMESPACE.NAME.attr}` references name.
pub fn kind_of_namespace(namespace: &str) -> Option<&'static dyn Kind> {
    REGISTRY.iter().copied().find(|k| k.namespace() == Some(namespace))
}

/// One resource the spec declares, and what it refers to.
#[derive(Debug, Clone, PartialEq)]
pub struct Declared {
    pub address: String,
    /// Addresses it refers to: they are read and planned with it under `--target`.
    pub refers_to: Vec<String>,
    /// The subset that must exist before it can be made (apply runs it in a later wave).
    pub needs_first: Vec<String>,
}

/// What one kind planned for one resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub change: ResourceChange,
    pub steps: Vec<Step>,
    /// References whose value this apply changes (`tables.NAME.stream_arn` of a table it
    /// creates): known only after apply, so later kinds plan around them.
    pub changes_references: Vec<String>,
}

impl Planned {
    pub fn new((change, steps): (ResourceChange, Vec<Step>)) -> Self {
        Planned { change, steps, changes_references: Vec::new() }
    }
}

/// What a kind's `diff` and `destroy` read: the desired model, everything observed, the
/// references resolved against it, and what earlier kinds' changes make unknown.
pub struct PlanContext<'a> {
    pub desired: &'a Desired,
    pub live: &'a Live,
    pub refs: &'a RefContext,
    pub changing: &'a BTreeSet<String>,
}

/// The interface every resource kind implements.
///
/// A trait of object-safe methods (async ones return [`BoxFuture`]) rather than a struct of
/// function pointers: the registry is a plain slice of `&dyn Kind`, optional duties have
/// default bodies, and each kind's private types stay in its module (its live model travels
/// as [`LiveData`], its operations as [`Op`]).
pub trait Kind: Sync {
    /// The address prefix: `dynamodb_table`, `iam_role`, ...
    fn kind(&self) -> &'static str;

    /// Its section of `infra.yaml` (`tables`, `vpc_endpoints`), if it has its own (a trigger
    /// lives inside its function). Default: its reference namespace.
    fn section(&self) -> Option<&'static str> {
        self.namespace()
    }

    /// The section name of `${NAMESPACE.NAME.attr}` references to this kind, if it has any.
    fn namespace(&self) -> Option<&'static str> {
        None
    }

    /// The resources of this kind the spec declares, with what each refers to (read from the
    /// desired model, never from the text of references in the engine).
    fn declared(&self, desired: &Desired) -> Vec<Declared>;

    /// Whether planning this kind's resources needs the account id (ARNs): STS is asked only
    /// then, so that a table-only run needs nothing but DynamoDB.
    fn needs_account(&self, desired: &Desired) -> bool {
        !self.declared(desired).is_empty()
    }

    /// Keeps only the declared resources whose address `keep` accepts (`--target`).
    fn retain(&self, resources: &mut Resources, keep: &dyn Fn(&str) -> bool);

    /// Reads every declared resource of this kind.
    fn observe<'a>(&'a self, ctx: &'a AwsContext, desired: &'a Desired) -> BoxFuture<'a, Result<Box<dyn LiveData>>>;

    /// Values of this kind's references known from what was observed (`tables.NAME.stream_arn`
    /// → the ARN), beside those the spec layer derives (names, ARNs).
    fn reference_values(&self, _live: &Live) -> BTreeMap<String, String> {
        BTreeMap::new()
    }

    /// Reads the current values of one resource's references during apply, when a value did
    /// not exist at plan time.
    fn read_reference_values<'a>(&'a self, _ctx: &'a AwsContext, _name: &'a str) -> BoxFuture<'a, Result<BTreeMap<String, String>>> {
        Box::pin(async { Ok(BTreeMap::new()) })
    }

    /// The sensitive values the spec gives this kind's resources (`lambda_function.F
    /// environment.DB_PASSWORD` → the value as written): saved plans keep a salted hash of each,
    /// never the value, so that `apply FILE` runs no value nobody saw planned.
    fn secrets(&self, _desired: &Desired) -> BTreeMap<String, String> {
        BTreeMap::new()
    }

    /// The pure diff of every declared resource: one change each, with its ordered steps.
    fn diff(&self, cx: &PlanContext) -> Vec<Planned>;

    /// The changes that delete this kind's declared resources (destroy): only what this stack's
    /// env owns, and never what deletion protection guards.
    fn destroy(&self, cx: &PlanContext) -> Vec<(ResourceChange, Vec<Step>)>;

    /// The Resource Groups Tagging API's type of this kind's resources ("dynamodb:table"), when
    /// that API covers them: discovery then finds them all with one query for every kind.
    fn tagging_type(&self) -> Option<&'static str> {
        None
    }

    /// Finds the resources of this kind that carry this stack env's ownership marker and
    /// that the spec does not declare, and reads each (keyed by spec key). `tagged`: what the
    /// Tagging API found for every kind. None when the kind has nothing to look for.
    fn discover<'a>(
        &'a self,
        _ctx: &'a AwsContext,
        _desired: &'a Desired,
        _tagged: &'a Tagged<'a>,
    ) -> BoxFuture<'a, Result<Option<Box<dyn LiveData>>>> {
        Box::pin(async { Ok(None) })
    }

    /// The changes of the resources `discover` found: deleted (or released, when the
    /// resource says `on_removal: retain`), marked as not in the spec.
    fn prune(&self, _cx: &PlanContext) -> Vec<Planned> {
        Vec::new()
    }

    /// The change that removes this stack's ownership from one resource of this kind
    /// (declared or discovered), leaving it in place (`forget`). None when `address` is not
    /// one of this kind's resources that this stack's env owns.
    fn forget(&self, _cx: &PlanContext, _address: &str) -> Option<(ResourceChange, Vec<Step>)> {
        None
    }

    /// `import`: reads one live resource by its AWS name and writes it back as spec (None: it
    /// does not exist). Default: this kind cannot be imported yet.
    fn import<'a>(&'a self, _ctx: &'a AwsContext, _name: &'a str) -> BoxFuture<'a, Result<Option<Imported>>> {
        let kind = self.kind();
        Box::pin(async move { anyhow::bail!("importing a {kind} is not supported yet") })
    }

    /// Reads one of this kind's operations back from the plan's JSON (`parse_op::<MyOp>`).
    fn parse_op(&self, call: serde_json::Value) -> Result<Op, serde_json::Error>;

    /// Runs one of this kind's operations.
    fn execute<'a>(&'a self, ctx: &'a AwsContext, op: &'a Op) -> BoxFuture<'a, Result<()>>;
}

// ---------------------------------------------------------------------------------------------
// Operations

/// A kind's operation, as the engine carries it: the kind's name and its typed call. It
/// serializes as `{"kind": ..., "call": ...}` (the plan format); the value in memory keeps what
/// serialization masks (sensitive values), so apply sends the real one.
#[derive(Clone)]
pub struct Op {
    kind: &'static str,
    call: Arc<dyn Call>,
}

/// What a kind's operation type is: any serializable value.
pub trait Call: erased_serde::Serialize + Any + Send + Sync + fmt::Debug {
    fn as_any(&self) -> &dyn Any;
}

erased_serde::serialize_trait_object!(Call);

impl<T: Serialize + fmt::Debug + Send + Sync + 'static> Call for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Op {
    pub fn new<T: Call>(kind: &'static str, call: T) -> Self {
        Op { kind, call: Arc::new(call) }
    }

    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// The typed call, when it is a `T`.
    pub fn get<T: 'static>(&self) -> Option<&T> {
        self.call.as_any().downcast_ref::<T>()
    }

    /// The typed call of a kind's own operation; an error if the engine routed another.
    pub fn expect<T: 'static>(&self) -> Result<&T> {
        self.get::<T>().ok_or_else(|| anyhow::anyhow!("a {} operation was routed to the wrong kind", self.kind))
    }
}

impl fmt::Debug for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{:?}", self.kind, self.call)
    }
}

impl PartialEq for Op {
    fn eq(&self, other: &Self) -> bool {
        let json = |c: &Arc<dyn Call>| serde_json::to_value(&**c).ok();
        self.kind == other.kind && json(&self.call) == json(&other.call)
    }
}

impl Serialize for Op {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Op", 2)?;
        st.serialize_field("kind", self.kind)?;
        st.serialize_field("call", &*self.call)?;
        st.end()
    }
}

impl<'de> serde::Deserialize<'de> for Op {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        struct Raw {
            kind: String,
            call: serde_json::Value,
        }
        let raw = Raw::deserialize(d)?;
        let kind = kind_of(&raw.kind).ok_or_else(|| serde::de::Error::custom(format!("unknown kind `{}`", raw.kind)))?;
        kind.parse_op(raw.call).map_err(serde::de::Error::custom)
    }
}

/// An operation of `kind` read back from JSON.
pub fn parse_op<T: Call + serde::de::DeserializeOwned>(kind: &'static str, call: serde_json::Value) -> Result<Op, serde_json::Error> {
    Ok(Op::new(kind, serde_json::from_value::<T>(call)?))
}

/// A step of a kind: its address, what it does, and its typed operation.
pub fn step<T: Call>(kind: &'static str, address: &str, description: String, call: T) -> Step {
    Step { address: address.to_string(), description, op: Op::new(kind, call) }
}

// ---------------------------------------------------------------------------------------------
// Live

/// One kind's observation, type-erased for the engine.
pub trait LiveData: Any + Send + Sync + fmt::Debug {
    fn as_any(&self) -> &dyn Any;
    /// A fingerprint per address (saved plans refuse to apply when one changed).
    fn fingerprints(&self, kind: &str) -> BTreeMap<String, String>;
}

/// Most kinds observe one value per declared name.
impl<T: Serialize + fmt::Debug + Send + Sync + 'static> LiveData for BTreeMap<String, T> {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn fingerprints(&self, kind: &str) -> BTreeMap<String, String> {
        self.iter().map(|(n, v)| (format!("{kind}.{n}"), crate::saved::hash(v))).collect()
    }
}

/// Everything read from AWS for one spec.
#[derive(Debug)]
pub struct Live {
    /// When the reads started (milliseconds since the epoch): seeds client tokens.
    pub observed_at: String,
    pub account_id: String,
    pub partition: String,
    pub kinds: BTreeMap<&'static str, Box<dyn LiveData>>,
    /// What each kind's `discover` found: resources this stack env owns and the spec does
    /// not declare (empty under `--target`).
    pub owned: BTreeMap<&'static str, Box<dyn LiveData>>,
}

impl Live {
    /// What `kind` discovered beyond the spec, when it keeps one `T` per spec key.
    pub fn orphans<T: 'static>(&self, kind: &str) -> Option<&BTreeMap<String, T>> {
        self.owned.get(kind)?.as_any().downcast_ref::<BTreeMap<String, T>>()
    }

    /// What `kind` observed for `name`, when it observes one `T` per name.
    pub fn get<T: 'static>(&self, kind: &str, name: &str) -> Option<&T> {
        self.all::<T>(kind)?.get(name)
    }

    /// Everything `kind` observed, when it observes one `T` per name.
    pub fn all<T: 'static>(&self, kind: &str) -> Option<&BTreeMap<String, T>> {
        self.kinds.get(kind)?.as_any().downcast_ref::<BTreeMap<String, T>>()
    }
}

/// Reads every item of one kind, at most [`READ_CONCURRENCY`] at once; an error says which
/// resource it was reading. The reads are made before the returned future runs, so it holds
/// no closure (and is `Send` whenever the reads are).
pub fn read_each<'a, S, T, F, Fut>(
    kind: &'a str,
    items: &'a BTreeMap<String, S>,
    read: F,
) -> impl std::future::Future<Output = Result<BTreeMap<String, T>>> + 'a
where
    F: Fn(&'a String, &'a S) -> Fut,
    Fut: std::future::Future<Output = Result<T>> + 'a,
    T: 'a,
{
    use anyhow::Context as _;
    let reads: Vec<_> = items
        .iter()
        .map(|(name, spec)| {
            let read = read(name, spec);
            async move { (name, read.await) }
        })
        .collect();
    async move {
        let results: Vec<(&String, Result<T>)> = stream::iter(reads).buffer_unordered(READ_CONCURRENCY).collect().await;
        results.into_iter().map(|(name, r)| r.with_context(|| format!("reading {kind}.{name}")).map(|t| (name.clone(), t))).collect()
    }
}

/// How many reads of one kind run at once: enough to overlap round trips, few enough for
/// AWS's limits.
pub const READ_CONCURRENCY: usize = 16;

/// Boxes a kind's observation for the engine.
pub fn boxed<T: LiveData>(r: Result<T>) -> Result<Box<dyn LiveData>> {
    r.map(|t| Box::new(t) as Box<dyn LiveData>)
}

/// One live resource written back as spec, for `import`.
#[derive(Debug, Clone)]
pub struct Imported {
    /// Its section of `infra.yaml` (`tables`) and key there.
    pub section: &'static str,
    pub key: String,
    /// The spec's body, in the spec type's key order, defaults left out.
    pub value: serde_yaml::Value,
    /// Comments above fields (dotted paths below the key): where a value was chosen for the user.
    pub comments: BTreeMap<String, String>,
    /// What the spec cannot say about it (import prints these).
    pub notes: Vec<String>,
    /// Its live tags: whose it is (stack and env) when this tool made it.
    pub tags: BTreeMap<String, String>,
    /// Files of the project it needs, by path relative to the spec (`policies/P.json`,
    /// `lambda/F/...`); policy files are turned into references by the command.
    pub files: Vec<(String, Vec<u8>)>,
    /// What it refers to, imported too: (section, AWS name) (`roles`, `tables`, and
    /// `vpc_endpoints` by VPC id or `default`).
    pub follow: Vec<(&'static str, String)>,
    /// Values only AWS knows and the references that say them (`arn:...` →
    /// `${tables.NAME.arn}`), for the policy files and environment variables of the project.
    pub refs: Vec<(String, String)>,
}

impl Imported {
    /// A resource with only its spec (no files, references or followers).
    pub fn new(section: &'static str, key: &str, value: serde_yaml::Value, tags: BTreeMap<String, String>) -> Self {
        Imported {
            section,
            key: key.to_string(),
            value,
            comments: BTreeMap::new(),
            notes: Vec::new(),
            tags,
            files: Vec::new(),
            follow: Vec::new(),
            refs: Vec::new(),
        }
    }
}

/// A spec value as `import` writes it: nulls, empty mappings and lists left out.
pub fn spec_value<T: serde::Serialize>(spec: &T) -> serde_yaml::Value {
    fn prune(v: serde_yaml::Value) -> serde_yaml::Value {
        match v {
            serde_yaml::Value::Mapping(m) => serde_yaml::Value::Mapping(
                m.into_iter()
                    .filter(|(_, v)| match v {
                        serde_yaml::Value::Null => false,
                        serde_yaml::Value::Mapping(m) => !m.is_empty(),
                        serde_yaml::Value::Sequence(s) => !s.is_empty(),
                        _ => true,
                    })
                    .map(|(k, v)| (k, prune(v)))
                    .collect(),
            ),
            serde_yaml::Value::Number(n)
                if n.as_f64().is_some_and(|f| f.fract() == 0.0 && f.abs() < 1e15) && !n.is_i64() && !n.is_u64() =>
            {
                serde_yaml::Value::Number((n.as_f64().unwrap_or_default() as i64).into())
            }
            serde_yaml::Value::Sequence(s) => serde_yaml::Value::Sequence(s.into_iter().map(prune).collect()),
            other => other,
        }
    }
    prune(serde_yaml::to_value(spec).unwrap_or_default())
}

/// A resource's tags as its spec says them: the tool's own and AWS's (`aws:`) left out.
pub fn user_tags(tags: &BTreeMap<String, String>, own: &[&str]) -> BTreeMap<String, String> {
    tags.iter()
        .filter(|(k, _)| !k.starts_with("aws:") && !OWNERSHIP_TAGS.contains(&k.as_str()) && !own.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Shared by the kinds

/// The ownership marker's tag: its value is [`owner_id`], a digest of the stack and env.
pub const OWNER_TAG: &str = "cruddur-infra:owner";
/// Set on a resource whose spec says `lifecycle.on_removal: retain`: read when the spec no
/// longer declares it.
pub const ON_REMOVAL_TAG: &str = "cruddur-infra:on-removal";
/// The tags that say who owns a resource: `forget` removes them all.
pub const OWNERSHIP_TAGS: &[&str] = &[
    "managed-by",
    "cruddur-infra:stack",
    "cruddur-infra:env",
    OWNER_TAG,
    ON_REMOVAL_TAG,
    "cruddur-infra:name",
    table::scaling::AUTOSCALE_TAG,
];

/// The ownership marker of this stack's env (as Kubernetes ApplySets name their sets): a
/// versioned digest of stack and env, so that no hand-typed tag matches it by accident and
/// a resource tagged for another stack or env never does.
pub fn owner_id(desired: &Desired) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("cruddur-infra\0{}\0{}", desired.stack, desired.env));
    format!("v1-{}", crate::ids::hex(&digest[..16]))
}

/// The tags the tool puts on everything it manages, beside the user's own.
pub fn own_tags(desired: &Desired) -> BTreeMap<String, String> {
    let mut t = identity_tags(desired);
    t.insert(OWNER_TAG.to_string(), owner_id(desired));
    t
}

/// The readable tags naming this stack's env (resources made before the ownership marker
/// carry only these: they are still found by name, and gain the marker on the next apply).
pub fn identity_tags(desired: &Desired) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("managed-by".to_string(), "cruddur-infra".to_string()),
        ("cruddur-infra:stack".to_string(), desired.stack.clone()),
        ("cruddur-infra:env".to_string(), desired.env.clone()),
    ])
}

/// True when `tags` carry this stack env's ownership marker (and name it): only such a
/// resource is ever deleted or released without being declared.
pub fn owned(tags: &BTreeMap<String, String>, desired: &Desired) -> bool {
    ours(tags, desired) && tags.get(OWNER_TAG) == Some(&owner_id(desired))
}

/// What the Resource Groups Tagging API finds with this stack env's marker: queried once, on
/// first use, so that kinds that do not need it (roles, endpoints) start at once.
pub struct Tagged<'a> {
    ctx: &'a AwsContext,
    desired: &'a Desired,
    found: tokio::sync::OnceCell<TaggedByType>,
}

/// By resource type ("lambda:function"), each resource's ARN and tags.
pub type TaggedByType = BTreeMap<String, Vec<TaggedResource>>;

/// One resource the Tagging API found: its ARN and tags.
pub type TaggedResource = (String, BTreeMap<String, String>);

impl<'a> Tagged<'a> {
    pub fn new(ctx: &'a AwsContext, desired: &'a Desired) -> Self {
        Tagged { ctx, desired, found: tokio::sync::OnceCell::new() }
    }

    /// The AWS names (the ARN's last part) of the resources of `resource_type` that this
    /// stack env owns.
    pub async fn names(&self, resource_type: &str) -> Result<Vec<String>> {
        let found = self.found.get_or_try_init(|| crate::discover::tagged(self.ctx, self.desired)).await?;
        let all = found.get(resource_type).into_iter().flatten();
        Ok(all
            .filter(|(_, tags)| owned(tags, self.desired))
            .map(|(arn, _)| arn.rsplit([':', '/']).next().unwrap_or(arn).to_string())
            .collect())
    }
}

/// A kind's `discover`: of `names` (AWS names of resources found by this env's marker), those
/// whose spec key the kind does not `declare`, each read by `read` (None: gone since, or not
/// this env's after all), by spec key.
pub async fn read_undeclared<T, Fut>(
    kind: &str,
    names: Vec<String>,
    desired: &Desired,
    declared: impl Fn(&str) -> bool,
    read: impl Fn(String) -> Fut,
) -> Result<Option<Box<dyn LiveData>>>
where
    T: Serialize + fmt::Debug + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    let found: BTreeMap<String, String> = names.into_iter().map(|n| (desired.spec_key(&n), n)).filter(|(k, _)| !declared(k)).collect();
    let read = read_each(kind, &found, |_, aws| read(aws.clone()));
    let all: BTreeMap<String, T> = read.await?.into_iter().filter_map(|(k, t)| Some((k, t?))).collect();
    boxed(Ok(all)).map(Some)
}

/// A discovered resource's change: `deleted` by its steps, or released (when its tags say
/// `on_removal: retain`, `release` removes this stack's tags), marked as not in the spec.
pub fn orphan_change(
    address: String,
    desired: &Desired,
    tags: &BTreeMap<String, String>,
    delete: Vec<Step>,
    release: impl FnOnce(Vec<String>) -> Vec<Step>,
) -> Planned {
    use crate::plan::{Action, FieldDiff};
    let file = desired.spec_path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_else(|| "the spec".into());
    let retain = tags.get(ON_REMOVAL_TAG).map(String::as_str) == Some("retain");
    let (mut change, steps) = if retain {
        let (mut c, steps) = forget_change(&address, tags, release);
        c.reason = Some(format!("no longer in {file}; lifecycle.on_removal is retain: kept in place, no longer managed"));
        (c, steps)
    } else {
        let mut c = ResourceChange::new(&address, Action::Delete);
        c.diffs.push(FieldDiff::new("exists", true, false));
        c.reason = Some(format!("no longer in {file}"));
        (c, delete)
    };
    change.not_in_spec = true;
    Planned { change, steps, changes_references: Vec::new() }
}

/// The change of `forget`: this stack's ownership tags removed by `untag`, nothing else.
pub fn forget_change(
    address: &str,
    tags: &BTreeMap<String, String>,
    untag: impl FnOnce(Vec<String>) -> Vec<Step>,
) -> (ResourceChange, Vec<Step>) {
    use crate::plan::{Action, FieldDiff};
    let keys: Vec<String> = OWNERSHIP_TAGS.iter().filter(|k| tags.contains_key(**k)).map(|k| k.to_string()).collect();
    let mut c = ResourceChange::new(address, Action::Update);
    c.diffs = keys.iter().map(|k| FieldDiff::new(format!("tags.{k}"), &tags[k], None::<String>)).collect();
    c.reason = Some("forgotten: left in place, no longer managed by this stack".into());
    (c, untag(keys))
}

/// Whether any of these tags holds a `${...}` reference: a kind whose resources' ARNs are made
/// of their names needs the account id only then.
pub fn tags_refer<'a>(mut tags: impl Iterator<Item = &'a BTreeMap<String, String>>) -> bool {
    tags.any(|t| t.values().any(|v| v.contains("${")))
}

/// The user's tags with references resolved, and the tool's own.
pub fn resolved_tags(user: &BTreeMap<String, String>, desired: &Desired, refs: &RefContext) -> BTreeMap<String, String> {
    let mut tags = own_tags(desired);
    for (k, v) in user {
        tags.insert(k.clone(), refs.resolve(v).0);
    }
    tags
}

/// True when `tags` say this stack's env made the resource.
pub fn ours(tags: &BTreeMap<String, String>, desired: &Desired) -> bool {
    // The readable tags only: a resource made before the marker existed is still ours.
    identity_tags(desired).iter().all(|(k, v)| tags.get(k) == Some(v))
}

/// The owner a resource's tags name, when it is another stack or env of this tool
/// ("stack cruddur, env local"). Untagged resources have none here (adopting them is import's
/// business).
pub fn other_owner(tags: &BTreeMap<String, String>, desired: &Desired) -> Option<String> {
    if tags.get("managed-by").map(String::as_str) != Some("cruddur-infra") {
        return None;
    }
    let stack = tags.get("cruddur-infra:stack").map(String::as_str).unwrap_or("?");
    let env = tags.get("cruddur-infra:env").map(String::as_str).unwrap_or("?");
    (stack != desired.stack || env != desired.env).then(|| format!("stack {stack}, env {env}"))
}

/// Blocks a planned change of a resource found by name that another stack or env owns: it
/// is never adopted, changed or deleted (no steps), and the plan names the owner.
pub fn block_if_owned_elsewhere(p: &mut Planned, tags: Option<&BTreeMap<String, String>>, desired: &Desired) {
    let Some(owner) = tags.and_then(|t| other_owner(t, desired)) else { return };
    let same_stack = tags.and_then(|t| t.get("cruddur-infra:stack")) == Some(&desired.stack);
    p.change.blocked = Some(if same_stack {
        format!(
            "owned by {owner}: env `{}` never adopts, changes or deletes it. To run both envs in one account, give this env \
             its own names (`name_suffix: -{}` under environments.{}), or use another account.",
            desired.env, desired.env, desired.env
        )
    } else {
        format!(
            "owned by {owner}: stack `{}` never adopts, changes or deletes it. Give this resource another name in this spec \
             (or this env a `name_suffix`), or use another account.",
            desired.stack
        )
    });
    p.steps.clear();
    p.changes_references.clear();
}

/// What a kind found by name planned: its pure diff (made with the AWS name, the env's
/// `name_suffix` included), addressed by the spec key, and blocked when the live resource's
/// tags name another stack or env.
pub fn found_by_name(
    kind: &str,
    key: &str,
    desired: &Desired,
    live_tags: Option<&BTreeMap<String, String>>,
    diff: (ResourceChange, Vec<Step>),
) -> Planned {
    let mut p = Planned::new(readdress(diff, &format!("{kind}.{key}")));
    block_if_owned_elsewhere(&mut p, live_tags, desired);
    p
}

/// A kind's pure diff made with a resource's AWS name, addressed by its spec key.
pub fn readdress((mut change, mut steps): (ResourceChange, Vec<Step>), address: &str) -> (ResourceChange, Vec<Step>) {
    if change.address != address {
        // Messages that name the address (`--allow-replace ADDRESS`) name the spec's.
        for text in [&mut change.reason, &mut change.blocked].into_iter().flatten() {
            *text = text.replace(&change.address, address);
        }
    }
    change.address = address.to_string();
    for s in &mut steps {
        s.address = address.to_string();
    }
    (change, steps)
}

/// An idempotency token for a create: the same for every retry of one plan's step, new for
/// the next plan (EC2 remembers tokens, so a fixed one could return a deleted endpoint).
pub fn client_token(desired: &Desired, name: &str, observed_at: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{}/{}/{name}/{observed_at}", desired.stack, desired.env));
    crate::ids::hex(&digest[..16])
}

/// A policy file resolved against what is known now (null when it does not parse), and
/// whether every value in it was known.
pub fn resolved_document(desired: &Desired, file: &str, refs: &RefContext) -> (serde_json::Value, bool) {
    let template = desired.files.get(file).cloned().unwrap_or_default();
    let (text, complete) = refs.resolve(&template);
    (serde_json::from_str(&text).unwrap_or(serde_json::Value::Null), complete)
}

/// The addresses that references in `text` name (`hard`: only those whose value exists only
/// once the resource does, such as a stream ARN; a name or ARN can be written before).
pub fn referenced(text: &str, hard: bool) -> Vec<String> {
    use crate::spec::refs::{occurrences, parse_syntax};
    occurrences(text)
        .into_iter()
        .filter_map(|o| {
            let r = parse_syntax(&o.expr).ok()?;
            let (namespace, name) = r.target()?;
            if hard && !r.exists_only_once_made() {
                return None;
            }
            Some(format!("{}.{name}", kind_of_namespace(namespace)?.kind()))
        })
        .collect()
}

/// The texts of the policy files `files` names.
pub fn file_texts<'a>(desired: &'a Desired, files: impl IntoIterator<Item = &'a String>) -> Vec<&'a str> {
    files.into_iter().filter_map(|f| desired.files.get(f)).map(String::as_str).collect()
}

/// A declared resource with the references of `texts` (soft and hard) plus `always` (hard).
pub fn declared_with(address: String, texts: &[&str], always: Vec<String>) -> Declared {
    let mut refers_to: Vec<String> = texts.iter().flat_map(|t| referenced(t, false)).collect();
    let mut needs_first: Vec<String> = texts.iter().flat_map(|t| referenced(t, true)).collect();
    refers_to.extend(always.iter().cloned());
    needs_first.extend(always);
    Declared { address, refers_to, needs_first }
}

/// A destroy change: deleted by `steps`, up to date when there is nothing to delete, or left
/// alone for the reason given (not ours, protected).
pub fn destroy_change(address: String, steps: Vec<Step>, left_alone: Option<String>) -> (ResourceChange, Vec<Step>) {
    use crate::plan::{Action, FieldDiff};
    match left_alone {
        Some(why) => {
            let mut c = ResourceChange::new(address, Action::NoOp);
            c.reason = Some(why);
            (c, vec![])
        }
        None if steps.is_empty() => (ResourceChange::new(address, Action::NoOp), vec![]),
        None => {
            let mut c = ResourceChange::new(address, Action::Delete);
            c.diffs.push(FieldDiff::new("exists", true, false));
            (c, steps)
        }
    }
}

/// Why destroy leaves a resource someone else made.
pub const NOT_OURS: &str = "not tagged as made by this stack and env: left alone";

/// Resolves a template during apply, when values that did not exist at plan time (the stream
/// ARN of a table created by this apply) do: each such reference is read again from its kind.
pub async fn resolve_late(ctx: &AwsContext, template: &str) -> Result<String> {
    use crate::spec::refs::{occurrences, parse_syntax};
    let identity = ctx.identity().await?;
    let mut refs = RefContext {
        region: ctx.region.clone(),
        account_id: Some(identity.account_id.clone()),
        partition: identity.partition.clone(),
        values: BTreeMap::new(),
        name_suffix: ctx.name_suffix.clone(),
        role_paths: BTreeMap::new(),
    };
    let mut read = BTreeSet::new();
    for o in occurrences(template) {
        let Ok(r) = parse_syntax(&o.expr) else { continue };
        let (Some(_), Some((namespace, name))) = (r.key(), r.target()) else { continue };
        let Some(kind) = kind_of_namespace(namespace) else { continue };
        if read.insert((namespace, name.to_string())) {
            refs.values.extend(kind.read_reference_values(ctx, name).await?);
        }
    }
    let (text, complete) = refs.resolve(template);
    if !complete {
        anyhow::bail!("a value in this document is still unknown after the steps before it: {text}");
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired(stack: &str, env: &str) -> Desired {
        let doc = crate::spec::SpecDocument::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("infra.yaml")).unwrap();
        let (mut d, _) = doc.resolve("local").unwrap();
        (d.stack, d.env) = (stack.into(), env.into());
        d
    }

    #[test]
    fn the_marker_is_per_stack_and_env_and_deletion_needs_it() {
        let (a, b, c) = (desired("s", "dev"), desired("s", "prod"), desired("t", "dev"));
        assert_ne!(owner_id(&a), owner_id(&b));
        assert_ne!(owner_id(&a), owner_id(&c));
        assert!(owner_id(&a).starts_with("v1-") && owner_id(&a).len() == 35);
        let readable = identity_tags(&a);
        assert!(ours(&readable, &a) && !owned(&readable, &a), "readable tags alone never allow a prune");
        assert!(owned(&own_tags(&a), &a) && !owned(&own_tags(&a), &b) && !owned(&own_tags(&c), &a));
    }

    #[test]
    fn a_resource_of_another_stack_or_env_is_blocked_with_the_right_advice() {
        let me = desired("s", "dev");
        let mut p = Planned::new((ResourceChange::new("dynamodb_table.t", crate::plan::Action::Update), vec![]));
        block_if_owned_elsewhere(&mut p, Some(&own_tags(&desired("s", "prod"))), &me);
        assert!(p.change.blocked.as_deref().unwrap().contains("name_suffix: -dev"), "{:?}", p.change.blocked);
        let mut p = Planned::new((ResourceChange::new("dynamodb_table.t", crate::plan::Action::Update), vec![]));
        block_if_owned_elsewhere(&mut p, Some(&own_tags(&desired("other", "dev"))), &me);
        let b = p.change.blocked.unwrap();
        assert!(b.contains("owned by stack other, env dev") && b.contains("another name in this spec"), "{b}");
    }
}
