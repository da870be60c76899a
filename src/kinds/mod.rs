//! The resource kinds, behind one interface ([`Kind`]). This file is the interface and its data
//! types, nothing else: the registry is `registry.rs`, the helpers every kind uses are in
//! `support/`, and each kind is a folder of its own (docs/architecture.md has the recipes).
//!
//! A kind is a folder: its live model, a pure `diff`, its own operations and their execution.
//! The engine (`crate::engine`) drives every kind through [`Kind`] and never names one.

pub mod alarm;
pub mod endpoint;
pub mod function;
pub mod queue;
pub mod registry;
pub mod role;
pub mod support;
pub mod table;
pub mod topic;

use std::any::Any;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use anyhow::Result;
use futures::future::BoxFuture;
use serde::Serialize;

use crate::aws::AwsContext;
use crate::discover::Tagged;
use crate::plan::{Op, ResourceChange, Step};
use crate::spec::refs::RefContext;
use crate::spec::{Desired, Resources};

pub use registry::{kind_of, kind_of_namespace, REGISTRY};

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

/// What a kind's `observe` returns: its live model, type-erased.
pub type Observed<'a> = BoxFuture<'a, Result<Box<dyn LiveData>>>;

/// What a kind's `discover` returns: what it owns beyond the spec (None: nothing to look for).
pub type Discovered<'a> = BoxFuture<'a, Result<Option<Box<dyn LiveData>>>>;

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

    /// Reads every declared resource of this kind. `tagged`: what the Tagging API lists with
    /// this stack env's marker, a hint a kind may use instead of a per-resource tag read
    /// ([`Tagged::hint`]).
    fn observe<'a>(&'a self, ctx: &'a AwsContext, desired: &'a Desired, tagged: &'a Tagged<'a>) -> Observed<'a>;

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
    fn discover<'a>(&'a self, _ctx: &'a AwsContext, _desired: &'a Desired, _tagged: &'a Tagged<'a>) -> Discovered<'a> {
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

    /// `status`: how this kind's declared resources are doing right now (read-only): a trigger's
    /// state, an alarm's. Default: nothing to say.
    fn health<'a>(&'a self, _ctx: &'a AwsContext, _desired: &'a Desired) -> BoxFuture<'a, Result<Vec<crate::status::Health>>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    /// Runs one of this kind's operations.
    fn execute<'a>(&'a self, ctx: &'a AwsContext, op: &'a Op) -> BoxFuture<'a, Result<()>>;
}

/// One kind's observation, type-erased for the engine.
pub trait LiveData: Any + Send + Sync + fmt::Debug {
    fn as_any(&self) -> &dyn Any;
    /// A fingerprint per address (saved plans refuse to apply when one changed), judged against
    /// the spec the plan was made from.
    fn fingerprints(&self, kind: &str, desired: &Desired) -> BTreeMap<String, String>;
}

/// Most kinds observe one value per declared name.
impl<T: Fingerprint + fmt::Debug + Send + Sync + 'static> LiveData for BTreeMap<String, T> {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn fingerprints(&self, kind: &str, desired: &Desired) -> BTreeMap<String, String> {
        self.iter().map(|(n, v)| (format!("{kind}.{n}"), v.fingerprint(n, desired))).collect()
    }
}

/// What a saved plan fingerprints of a live value (`apply FILE` refuses when one changed): all
/// of it, except what the kind itself does not treat as drift, which would refuse a plan that
/// planning again finds unchanged (a scaler's capacity within the spec's range, a state that
/// changes on its own: ACTIVE/UPDATING, Active/Inactive). `key`: the resource's spec key.
pub trait Fingerprint: Serialize + Sized {
    fn fingerprint(&self, _key: &str, _desired: &Desired) -> String {
        crate::ids::hash(self)
    }
}

impl<T: Fingerprint> Fingerprint for Option<T> {
    fn fingerprint(&self, key: &str, desired: &Desired) -> String {
        match self {
            Some(t) => t.fingerprint(key, desired),
            None => crate::ids::hash(&None::<()>),
        }
    }
}

impl<T: Fingerprint> Fingerprint for Vec<T> {
    fn fingerprint(&self, key: &str, desired: &Desired) -> String {
        crate::ids::hash(&self.iter().map(|t| t.fingerprint(key, desired)).collect::<Vec<_>>())
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

/// A live resource that the spec cannot describe (`import` refuses one asked for by name, and
/// leaves out, with a warning, one it came across by following another).
#[derive(Debug, thiserror::Error)]
#[error("{kind} {name} cannot be written as spec: {why}")]
pub struct CannotSay {
    pub kind: &'static str,
    pub name: String,
    pub why: String,
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
