//! The types of `infra.yaml`, exactly the format of docs/contract.md. Every struct denies unknown
//! fields so that a typo is an error, never a silently ignored setting.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecFile {
    pub version: u32,
    pub stack: String,
    pub default_env: String,
    pub environments: BTreeMap<String, EnvSpec>,
    #[serde(default)]
    pub tables: serde_yaml::Value,
    #[serde(default)]
    pub queues: serde_yaml::Value,
    #[serde(default)]
    pub topics: serde_yaml::Value,
    #[serde(default)]
    pub vpc_endpoints: serde_yaml::Value,
    #[serde(default)]
    pub roles: serde_yaml::Value,
    #[serde(default)]
    pub functions: serde_yaml::Value,
    #[serde(default)]
    pub alarms: serde_yaml::Value,
    /// Production checks not to report, each with why.
    #[serde(default)]
    pub waive: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvSpec {
    pub region: String,
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// Per-service endpoints (`dynamodb: http://localhost:8000`), beating `endpoint_url`.
    #[serde(default)]
    pub endpoints: BTreeMap<String, String>,
    /// Optional guard: refuse to touch any other account.
    #[serde(default)]
    pub account_id: Option<String>,
    /// A production environment: risky plans are shown in a banner before the question.
    #[serde(default)]
    pub protected: bool,
    /// Appended to every table's, role's and function's AWS name in this env (`-staging`), so
    /// that two envs can share an account; addresses and references keep the spec's keys.
    #[serde(default)]
    pub name_suffix: Option<String>,
    /// The AWS profile this env's account is reached with (`--profile` overrides it for a run).
    #[serde(default)]
    pub profile: Option<String>,
    /// A role to assume (STS AssumeRole) on top of the base credentials: this env's account.
    #[serde(default)]
    pub assume_role: Option<AssumeRoleSpec>,
    /// A partial spec deep-merged over the resources.
    #[serde(default)]
    pub overrides: Option<serde_yaml::Value>,
    /// Production checks not to report in this env, each with why.
    #[serde(default)]
    pub waive: BTreeMap<String, String>,
}

/// How an env's account is reached: STS AssumeRole, refreshed before it expires.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssumeRoleSpec {
    /// The role's ARN (`arn:aws:iam::123456789012:role/deployer`).
    pub arn: String,
    /// The external id the role's trust policy requires, if any.
    #[serde(default)]
    pub external_id: Option<String>,
    /// The session name CloudTrail shows (default: `cruddur-infra-STACK-ENV`).
    #[serde(default)]
    pub session_name: Option<String>,
}

/// The resources of one environment, after the overlay has been merged.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    #[serde(default)]
    pub tables: BTreeMap<String, TableSpec>,
    #[serde(default)]
    pub queues: BTreeMap<String, QueueSpec>,
    #[serde(default)]
    pub topics: BTreeMap<String, TopicSpec>,
    #[serde(default)]
    pub vpc_endpoints: BTreeMap<String, VpcEndpointSpec>,
    #[serde(default)]
    pub roles: BTreeMap<String, RoleSpec>,
    #[serde(default)]
    pub functions: BTreeMap<String, FunctionSpec>,
    #[serde(default)]
    pub alarms: BTreeMap<String, AlarmSpec>,
    /// The alarms of the monitoring packs that a `--target` leaves out (never in a file).
    #[serde(skip)]
    #[schemars(skip)]
    pub packs_left_out: std::collections::BTreeSet<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash, schemars::JsonSchema)]
pub enum AttrType {
    S,
    N,
    B,
}

impl std::fmt::Display for AttrType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AttrType::S => "S",
            AttrType::N => "N",
            AttrType::B => "B",
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: AttrType,
}

impl std::fmt::Display for KeySpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name, self.ty)
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Billing {
    #[default]
    Provisioned,
    OnDemand,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Capacity {
    /// Read capacity units; with `autoscale`, the starting value.
    pub read: i64,
    /// Write capacity units; with `autoscale`, the starting value.
    pub write: i64,
    /// Application Auto Scaling of both read and write: while it is on, any live capacity within
    /// [min, max] is in sync, and apply leaves the throughput to the scaler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscale: Option<Autoscale>,
}

impl Capacity {
    /// Fixed units, not autoscaled (live capacity, throughput updates).
    pub fn new(read: i64, write: i64) -> Self {
        Capacity { read, write, autoscale: None }
    }

    /// The units alone, whatever the scaling.
    pub fn units(&self) -> (i64, i64) {
        (self.read, self.write)
    }
}

/// A target-tracking scaling range, for the read and the write dimension alike.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Autoscale {
    /// The fewest units the scaler may set (at least 1).
    pub min: i64,
    /// The most units the scaler may set (at most 40000).
    pub max: i64,
    /// The consumed/provisioned ratio to hold, in percent (20 to 90).
    pub target_utilization: f64,
}

/// An index's projection: `all`, `keys_only` or `{ include: [attr, ...] }` (docs/contract.md). Read
/// and written through [`ProjectionForm`]: serde_yaml would otherwise want a YAML tag
/// (`!include [...]`) for the last one.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(from = "ProjectionForm", into = "ProjectionForm")]
#[schemars(with = "ProjectionForm")]
pub enum Projection {
    All,
    KeysOnly,
    Include(Vec<String>),
}

/// How a projection is written in the spec.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum ProjectionForm {
    /// `all` or `keys_only`.
    Word(ProjectionWord),
    /// `{ include: [attr, ...] }`: the keys and these attributes.
    Include { include: Vec<String> },
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProjectionWord {
    All,
    KeysOnly,
}

impl From<ProjectionForm> for Projection {
    fn from(f: ProjectionForm) -> Self {
        match f {
            ProjectionForm::Word(ProjectionWord::All) => Projection::All,
            ProjectionForm::Word(ProjectionWord::KeysOnly) => Projection::KeysOnly,
            ProjectionForm::Include { include } => Projection::Include(include),
        }
    }
}

impl From<Projection> for ProjectionForm {
    fn from(p: Projection) -> Self {
        match p {
            Projection::All => ProjectionForm::Word(ProjectionWord::All),
            Projection::KeysOnly => ProjectionForm::Word(ProjectionWord::KeysOnly),
            Projection::Include(include) => ProjectionForm::Include { include },
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StreamView {
    #[default]
    Off,
    KeysOnly,
    NewImage,
    OldImage,
    NewAndOldImages,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    pub partition_key: KeySpec,
    #[serde(default)]
    pub sort_key: Option<KeySpec>,
    #[serde(default)]
    pub billing: Billing,
    #[serde(default)]
    pub capacity: Option<Capacity>,
    #[serde(default)]
    pub global_secondary_indexes: BTreeMap<String, GsiSpec>,
    #[serde(default)]
    pub stream: StreamView,
    #[serde(default)]
    pub deletion_protection: bool,
    /// Point-in-time recovery: `true`, `false`, or `{ recovery_period_days: N }` (on, keeping
    /// N days, 1 to 35). Left out: not managed (neither read nor changed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub point_in_time_recovery: Option<Pitr>,
    /// Time to live: `{ attribute: NAME }` (items expire at the epoch seconds in NAME) or
    /// `false`. AWS allows one change per table per hour. Left out: not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<Ttl>,
    /// Encryption at rest: `aws_owned` (AWS's default), `aws_managed` (the KMS key
    /// `alias/aws/dynamodb`) or `{ kms_key: ARN }` (a customer managed key). Left out: not
    /// managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<TableEncryption>,
    /// `standard` (AWS's default) or `standard_infrequent_access`. Left out: not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_class: Option<TableClass>,
    /// What happens to the table when a later spec drops it.
    #[serde(default, skip_serializing_if = "Lifecycle::is_default")]
    pub lifecycle: Lifecycle,
    /// Alarms derived from the table: its read and write throttle events, and each index's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<TableMonitoring>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

impl TableSpec {
    /// A table with this partition key and every other field as the spec's defaults (what
    /// `partition_key:` alone says).
    pub fn new(partition_key: KeySpec) -> Self {
        TableSpec {
            partition_key,
            sort_key: None,
            billing: Billing::default(),
            capacity: None,
            global_secondary_indexes: BTreeMap::new(),
            stream: StreamView::default(),
            deletion_protection: false,
            point_in_time_recovery: None,
            ttl: None,
            encryption: None,
            table_class: None,
            lifecycle: Lifecycle::default(),
            monitoring: None,
            tags: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
pub enum Tracing {
    PassThrough,
    Active,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    X86_64,
    Arm64,
}

impl Architecture {
    /// Lambda's spelling.
    pub fn aws(&self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }
}

/// Point-in-time recovery of a table (UpdateContinuousBackups).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Pitr {
    /// On (with the recovery period it has, 35 days unless set) or off.
    Switch(bool),
    /// On, keeping this many days (1 to 35).
    Period { recovery_period_days: i64 },
}

impl Pitr {
    pub fn enabled(&self) -> bool {
        !matches!(self, Pitr::Switch(false))
    }

    /// The recovery period the spec asks for, if it names one.
    pub fn days(&self) -> Option<i64> {
        match self {
            Pitr::Period { recovery_period_days } => Some(*recovery_period_days),
            Pitr::Switch(_) => None,
        }
    }
}

/// A table's encryption at rest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(untagged)]
pub enum TableEncryption {
    /// `aws_owned` or `aws_managed`.
    Word(TableEncryptionWord),
    /// A customer managed KMS key, by its ARN.
    Kms { kms_key: String },
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TableEncryptionWord {
    AwsOwned,
    AwsManaged,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TableClass {
    #[default]
    Standard,
    StandardInfrequentAccess,
}

/// A table's time to live (UpdateTimeToLive).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Ttl {
    /// On: items expire at the epoch seconds held in this attribute.
    On { attribute: String },
    /// `false`: off.
    Switch(bool),
}

impl Ttl {
    /// The attribute when on.
    pub fn attribute(&self) -> Option<&str> {
        match self {
            Ttl::On { attribute } => Some(attribute),
            Ttl::Switch(_) => None,
        }
    }
}

/// A resource's life beyond the spec.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Lifecycle {
    /// `delete` (the default): a table dropped from the spec is deleted, with
    /// `--allow-data-loss` naming it. `retain`: it is released instead (this stack's ownership
    /// tags removed) and kept with its data. Recorded on the table as a tag, so that it still
    /// holds once the table is no longer in the spec.
    #[serde(default)]
    pub on_removal: OnRemoval,
}

impl Lifecycle {
    fn is_default(&self) -> bool {
        *self == Lifecycle::default()
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnRemoval {
    #[default]
    Delete,
    Retain,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GsiSpec {
    pub partition_key: KeySpec,
    #[serde(default)]
    pub sort_key: Option<KeySpec>,
    pub projection: Projection,
    #[serde(default)]
    pub capacity: Option<Capacity>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(untagged)]
pub enum RouteTables {
    /// The word `all`: every route table of the VPC.
    Word(String),
    List(Vec<String>),
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VpcEndpointSpec {
    pub service: String,
    #[serde(default = "default_vpc")]
    pub vpc: String,
    #[serde(default = "all_route_tables")]
    pub route_tables: RouteTables,
    #[serde(default)]
    pub policy: Option<String>,
    /// An existing endpoint this spec takes over (`vpce-...`), like Terraform's import block: a
    /// nameless endpoint someone else made is adopted only when named here, never by accident.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopt: Option<String>,
}

fn default_vpc() -> String {
    "default".into()
}

fn all_route_tables() -> RouteTables {
    RouteTables::Word("all".into())
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleSpec {
    /// The role's IAM path (`/service-role/`), for a role that lives there (import writes it).
    /// Default: `/cruddur-infra/` for a role the tool creates, and any path for a role that
    /// exists (found by name). IAM cannot move a role: a different path is refused, not changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub trust: Vec<String>,
    #[serde(default)]
    pub managed_policies: Vec<String>,
    /// Policy name → path of a JSON policy document, relative to the spec file.
    #[serde(default)]
    pub inline_policies: BTreeMap<String, String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StartingPosition {
    #[default]
    Latest,
    TrimHorizon,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerSpec {
    pub table: String,
    #[serde(default)]
    pub starting_position: StartingPosition,
    #[serde(default = "default_batch_size")]
    pub batch_size: i64,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub report_batch_item_failures: bool,
    /// How often a failed batch is retried (-1: until the record expires, AWS's default; 0 to
    /// 10000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_retry_attempts: Option<i64>,
    /// The oldest record sent (-1: no limit, AWS's default; 60 to 604800 seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_record_age_s: Option<i64>,
    /// Split a failing batch in two and retry each half (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bisect_batch_on_error: Option<bool>,
    /// Batches processed at once per shard (1 to 10, default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallelization_factor: Option<i64>,
    /// How long to gather records before invoking (0 to 300 seconds, default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batching_window_s: Option<i64>,
    /// Event filter patterns (AWS's pattern syntax, written as YAML): a record invokes the
    /// function only if one matches. At most 5.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filter: Vec<serde_json::Value>,
    /// Where a batch that failed for good is recorded: a queue of this spec (its key under
    /// `queues:`), or the ARN of an SQS queue or SNS topic. Lambda sends it with the function's
    /// role, which needs `sqs:SendMessage` (or `sns:Publish`) on it. Left out: nowhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<String>,
}

fn default_batch_size() -> i64 {
    100
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// How a function's code reaches its triggers: through an alias, moved to a version published
/// of each change, then watched (docs/contract.md, "Safe code deployment of a function").
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeploySpec {
    /// The alias the triggers invoke (`live`): 1 to 128 of a-z, A-Z, 0-9, `-`, `_`, not only digits.
    pub alias: String,
    /// After moving the alias, watch the function's alarms this long, in seconds (default 0: no
    /// bake; at most 3600).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub bake_s: i64,
    /// `on_alarm` (the default with a bake): an alarm in ALARM during the bake moves the alias
    /// back; `never`: it is only reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<Rollback>,
    /// Published versions kept beyond those an alias points at or records (default 5).
    #[serde(default = "default_keep_versions")]
    pub keep_versions: i64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rollback {
    OnAlarm,
    Never,
}

fn default_keep_versions() -> i64 {
    5
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// An SQS standard queue, named by its key (plus the env's `name_suffix`). Every setting has
/// AWS's default when left out, and is brought back to it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueSpec {
    /// How long a message is kept, in seconds: 60 to 1209600 (14 days). AWS's default: 345600
    /// (4 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_retention_s: Option<i64>,
    /// How long a received message stays hidden from other consumers, in seconds: 0 to 43200.
    /// AWS's default: 30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility_timeout_s: Option<i64>,
    /// Encryption at rest: `sqs_managed` (SSE-SQS, AWS's default), `none`, or `{ kms_key: KEY }`
    /// (SSE-KMS with a key id, ARN or alias such as `alias/aws/sqs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<QueueEncryption>,
    /// What happens to the queue (and the messages in it) when a later spec drops it.
    #[serde(default, skip_serializing_if = "Lifecycle::is_default")]
    pub lifecycle: Lifecycle,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// A queue's encryption at rest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(untagged)]
pub enum QueueEncryption {
    /// `sqs_managed` or `none`.
    Word(QueueEncryptionWord),
    /// SSE-KMS with this key.
    Kms { kms_key: String },
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum QueueEncryptionWord {
    SqsManaged,
    None,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FunctionSpec {
    pub runtime: String,
    pub handler: String,
    pub source: String,
    pub role: String,
    #[serde(default = "default_memory")]
    pub memory_mb: i64,
    #[serde(default = "default_timeout")]
    pub timeout_s: i64,
    /// `default` or a VPC id: the function runs in all of that VPC's subnets, with its
    /// security groups. For a narrower placement, name `subnets` (and `security_groups`) instead.
    #[serde(default)]
    pub vpc: Option<String>,
    /// Exactly these subnets (ids), instead of a whole VPC.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subnets: Vec<String>,
    /// Exactly these security groups (ids), with `subnets`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_groups: Vec<String>,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// Days the log group `/aws/lambda/NAME` keeps the function's logs (1, 3, 5, 7, 14, 30, ...,
    /// 3653); made with it before the function first writes. Left out: not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_retention_days: Option<i64>,
    /// Concurrent executions reserved for the function (0 stops it). Left out: not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved_concurrency: Option<i64>,
    /// X-Ray tracing: `PassThrough` (AWS's default) or `Active`. Left out: not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<Tracing>,
    /// The instruction set: `x86_64` (AWS's default) or `arm64`. Left out: not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<Architecture>,
    #[serde(default)]
    pub triggers: Vec<TriggerSpec>,
    /// Deploys through an alias: each change publishes a version, moves the alias, and bakes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy: Option<DeploySpec>,
    /// Alarms derived from the function and its triggers (errors, throttles, iterator age, the
    /// on-failure queue's depth), sent to `notify`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<FunctionMonitoring>,
    /// Environment variables whose values are masked in every output (names that look secret,
    /// such as `*_SECRET`, `*_TOKEN`, `*PASSWORD*`, are masked anyway).
    #[serde(default)]
    pub sensitive: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

fn default_memory() -> i64 {
    128
}

fn default_timeout() -> i64 {
    3
}

/// An SNS topic, named by its key (plus the env's `name_suffix`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TopicSpec {
    /// Who receives what is published: a set, compared by protocol and endpoint. An email
    /// subscription waits for its recipient to confirm it (and is not drift meanwhile).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subscriptions: Vec<Subscription>,
    /// What happens to the topic when a later spec drops it.
    #[serde(default, skip_serializing_if = "Lifecycle::is_default")]
    pub lifecycle: Lifecycle,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// One subscription of a topic.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Subscription {
    /// `email`, `email-json`, `sqs`, `lambda`, `https`, `http`, `sms`.
    pub protocol: String,
    /// The address, queue ARN, function ARN or URL.
    pub endpoint: String,
}

/// A CloudWatch metric alarm, written out.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlarmSpec {
    /// The metric's namespace: `AWS/Lambda`, `AWS/DynamoDB`, `AWS/SQS`, ...
    pub namespace: String,
    pub metric: String,
    /// The metric's dimensions (`FunctionName: ...`); values may hold references.
    #[serde(default)]
    pub dimensions: BTreeMap<String, String>,
    pub statistic: Statistic,
    /// The length of one period, in seconds: 10, 30, or a multiple of 60.
    pub period_s: i64,
    /// How many periods are evaluated.
    pub evaluation_periods: i64,
    /// Of those, how many must breach (default: all of them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datapoints_to_alarm: Option<i64>,
    pub threshold: f64,
    pub comparison: Comparison,
    #[serde(default)]
    pub treat_missing_data: MissingData,
    /// The metric's unit, when it is published in several (`Seconds`, `Count`, ...): CloudWatch
    /// then evaluates only the data points of that unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Topics of this spec (their keys) or SNS topic ARNs, told when the alarm goes to ALARM and
    /// back to OK (at most 5).
    #[serde(default)]
    pub notify: Vec<String>,
    /// Tell `notify` when the alarm returns to OK too (default true).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub notify_ok: bool,
    /// Tell `notify` when the alarm has too little data to judge (default false).
    #[serde(default, skip_serializing_if = "is_false")]
    pub notify_insufficient_data: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
pub enum Statistic {
    SampleCount,
    Average,
    Sum,
    Minimum,
    Maximum,
}

impl Statistic {
    pub fn aws(self) -> &'static str {
        match self {
            Statistic::SampleCount => "SampleCount",
            Statistic::Average => "Average",
            Statistic::Sum => "Sum",
            Statistic::Minimum => "Minimum",
            Statistic::Maximum => "Maximum",
        }
    }
}

/// How the metric is compared with the threshold.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
pub enum Comparison {
    #[serde(rename = ">=")]
    GreaterOrEqual,
    #[serde(rename = ">")]
    Greater,
    #[serde(rename = "<=")]
    LessOrEqual,
    #[serde(rename = "<")]
    Less,
}

impl Comparison {
    /// CloudWatch's name of it.
    pub fn aws(self) -> &'static str {
        match self {
            Comparison::GreaterOrEqual => "GreaterThanOrEqualToThreshold",
            Comparison::Greater => "GreaterThanThreshold",
            Comparison::LessOrEqual => "LessThanOrEqualToThreshold",
            Comparison::Less => "LessThanThreshold",
        }
    }

    pub fn of_aws(s: &str) -> Option<Self> {
        [Comparison::GreaterOrEqual, Comparison::Greater, Comparison::LessOrEqual, Comparison::Less].into_iter().find(|c| c.aws() == s)
    }
}

/// What a period without data counts as.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MissingData {
    /// CloudWatch's default.
    #[default]
    Missing,
    NotBreaching,
    Breaching,
    Ignore,
}

impl MissingData {
    pub fn aws(self) -> &'static str {
        match self {
            MissingData::Missing => "missing",
            MissingData::NotBreaching => "notBreaching",
            MissingData::Breaching => "breaching",
            MissingData::Ignore => "ignore",
        }
    }

    pub fn of_aws(s: &str) -> Self {
        [MissingData::NotBreaching, MissingData::Breaching, MissingData::Ignore].into_iter().find(|m| m.aws() == s).unwrap_or_default()
    }
}

/// One alarm of a monitoring pack: its threshold, or `false` for none.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Threshold {
    /// `false`: this alarm is turned off (`true` is not a threshold).
    Switch(bool),
    /// Alarm at this value or more.
    Value(f64),
}

impl Threshold {
    /// The threshold, when the alarm is on; `default` when left out.
    pub fn of(t: Option<Threshold>, default: f64) -> Option<f64> {
        match t {
            None => Some(default),
            Some(Threshold::Value(v)) => Some(v),
            Some(Threshold::Switch(_)) => None,
        }
    }
}

/// The monitoring pack of a function with triggers (a stream consumer).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FunctionMonitoring {
    /// Topics of this spec, or SNS topic ARNs, told of every alarm of the pack (alarm and OK).
    #[serde(default)]
    pub notify: Vec<String>,
    /// Invocations that failed, per minute (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Threshold>,
    /// Invocations refused for lack of concurrency, per minute (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttles: Option<Threshold>,
    /// How far behind its stream the trigger reads, in seconds (default: half the trigger's
    /// `maximum_record_age_s`, at most 3600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iterator_age_s: Option<Threshold>,
    /// Messages waiting in the trigger's on-failure queue (default 1: any failed batch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dlq_depth: Option<Threshold>,
}

/// The monitoring pack of a table: throttle events of the table and each index.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TableMonitoring {
    #[serde(default)]
    pub notify: Vec<String>,
    /// Read and write throttle events per minute, of the table and each index (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttles: Option<Threshold>,
}
