//! The JSON Schema of `infra.yaml` (`cruddur-infra schema`), generated from the spec types so
//! that editors complete and check the same format the tool reads.

use std::collections::BTreeMap;

use schemars::JsonSchema;

use super::types::{AlarmSpec, AssumeRoleSpec, FunctionSpec, QueueSpec, RoleSpec, TableSpec, TopicSpec, VpcEndpointSpec};

/// A spec of cruddur-infra: the resources of one application, and its environments.
#[allow(dead_code)]
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "cruddur-infra spec (infra.yaml)")]
struct Spec {
    /// The format version: 1.
    version: u32,
    /// The stack's name: tagged on everything the tool creates.
    stack: String,
    /// The environment used when --env is not given.
    default_env: String,
    /// Environments by name.
    environments: BTreeMap<String, Environment>,
    /// DynamoDB tables by name.
    #[serde(default)]
    tables: BTreeMap<String, TableSpec>,
    /// SQS queues by name.
    #[serde(default)]
    queues: BTreeMap<String, QueueSpec>,
    /// SNS topics by name.
    #[serde(default)]
    topics: BTreeMap<String, TopicSpec>,
    /// Gateway VPC endpoints by a name of the spec's own.
    #[serde(default)]
    vpc_endpoints: BTreeMap<String, VpcEndpointSpec>,
    /// IAM roles by name.
    #[serde(default)]
    roles: BTreeMap<String, RoleSpec>,
    /// Lambda functions by name.
    #[serde(default)]
    functions: BTreeMap<String, FunctionSpec>,
    /// CloudWatch metric alarms by name (beside those the functions' and tables' `monitoring`
    /// derives).
    #[serde(default)]
    alarms: BTreeMap<String, AlarmSpec>,
    /// Production checks not to report (pitr, deletion-protection, trigger-retries,
    /// trigger-on-failure, log-retention, iam-wildcard, alarms, alarm-thresholds), each with
    /// why.
    #[serde(default)]
    waive: BTreeMap<String, String>,
}

#[allow(dead_code)]
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
struct Environment {
    /// The AWS region of the environment's resources.
    region: String,
    /// An endpoint such as a local emulator (else AWS's own).
    #[serde(default)]
    endpoint_url: Option<String>,
    /// Per-service endpoints, beating endpoint_url: keys dynamodb, dynamodb_streams, ec2, iam, lambda,
    /// sts, resource_groups_tagging_api, application_auto_scaling,
    /// cloudwatch_logs, sqs, sns, cloudwatch.
    #[serde(default)]
    endpoints: BTreeMap<String, String>,
    /// Refuse any account but this one (12 digits, quoted).
    #[serde(default)]
    account_id: Option<String>,
    /// A production environment: risky plans are shown in a banner; destroy refuses it.
    #[serde(default)]
    protected: bool,
    /// Appended to every table's, role's and function's AWS name in this env (e.g. `-staging`),
    /// so that two envs can share an account; addresses and references keep the spec's keys.
    #[serde(default)]
    name_suffix: Option<String>,
    /// The AWS profile this env's account is reached with (`--profile` overrides it for a run).
    #[serde(default)]
    profile: Option<String>,
    /// A role to assume (STS AssumeRole) on top of the base credentials: this env's account.
    #[serde(default)]
    assume_role: Option<AssumeRoleSpec>,
    /// A partial spec deep-merged over the resources.
    #[serde(default)]
    overrides: Option<Overrides>,
    /// Production checks not to report in this env, each with why.
    #[serde(default)]
    waive: BTreeMap<String, String>,
}

/// Any part of the resources, deep-merged over them.
#[allow(dead_code)]
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
struct Overrides {
    #[serde(default)]
    tables: Option<BTreeMap<String, serde_json::Map<String, serde_json::Value>>>,
    #[serde(default)]
    queues: Option<BTreeMap<String, serde_json::Map<String, serde_json::Value>>>,
    #[serde(default)]
    topics: Option<BTreeMap<String, serde_json::Map<String, serde_json::Value>>>,
    #[serde(default)]
    vpc_endpoints: Option<BTreeMap<String, serde_json::Map<String, serde_json::Value>>>,
    #[serde(default)]
    roles: Option<BTreeMap<String, serde_json::Map<String, serde_json::Value>>>,
    #[serde(default)]
    functions: Option<BTreeMap<String, serde_json::Map<String, serde_json::Value>>>,
    #[serde(default)]
    alarms: Option<BTreeMap<String, serde_json::Map<String, serde_json::Value>>>,
}

/// The schema as pretty JSON.
pub fn json() -> String {
    serde_json::to_string_pretty(&schemars::schema_for!(Spec)).expect("a schema serializes") + "\n"
}
