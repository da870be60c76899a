//! AWS clients: one shared SDK configuration per run, the endpoint / region / credential
//! precedence of the command-line contract, bounded retries, and typed AWS errors.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::spec::Desired;

/// Where the connection settings came from, for messages.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    pub endpoint_url: Option<String>,
    pub region: Option<String>,
    pub profile: Option<String>,
}

/// Whether the clients may change anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// plan, drift, validate: every operation that is not a read is refused before it is sent.
    ReadOnly,
    /// apply.
    ReadWrite,
}

/// Refuses every operation that is not a read (Describe*, List*, Get*, BatchGet*, Query, Scan),
/// in the client itself, before anything is sent: plan and drift cannot write by construction.
#[derive(Debug)]
pub struct ReadOnlyGuard;

/// Whether an operation name is a read.
pub fn is_read(operation: &str) -> bool {
    ["Describe", "List", "Get", "BatchGet", "Query", "Scan"].iter().any(|p| operation.starts_with(p))
}

impl aws_smithy_runtime_api::client::interceptors::Intercept for ReadOnlyGuard {
    fn name(&self) -> &'static str {
        "cruddur-infra read-only guard"
    }

    fn read_before_serialization(
        &self,
        _context: &aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef<'_>,
        _components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        match cfg.load::<aws_smithy_runtime_api::client::orchestrator::Metadata>() {
            Some(m) if is_read(m.name()) => Ok(()),
            Some(m) => Err(format!("{} {} is a write, and this command is read-only", m.service(), m.name()).into()),
            None => Err("an operation without a name is refused by the read-only guard".into()),
        }
    }
}

/// The SDK retries every `LimitExceededException` as throttling. DynamoDB's daily quota of
/// throughput decreases is one too, and retrying it never helps (docs/aws-behaviour.md rule 30): this
/// classifier forbids retrying that one, so the tool reports it at once.
#[derive(Debug)]
struct DecreaseQuotaIsFinal;

impl aws_smithy_runtime_api::client::retries::classifiers::ClassifyRetry for DecreaseQuotaIsFinal {
    fn classify_retry(
        &self,
        ctx: &aws_smithy_runtime_api::client::interceptors::context::InterceptorContext,
    ) -> aws_smithy_runtime_api::client::retries::classifiers::RetryAction {
        use aws_smithy_runtime_api::client::retries::classifiers::RetryAction;
        let quota = ctx
            .output_or_error()
            .and_then(|r| r.err())
            .and_then(|e| e.as_operation_error())
            .and_then(|e| e.downcast_ref::<aws_sdk_dynamodb::operation::update_table::UpdateTableError>())
            .is_some_and(|e| e.code() == Some("LimitExceededException") && e.message().is_some_and(|m| m.contains("decrease")));
        if quota {
            RetryAction::RetryForbidden
        } else {
            RetryAction::NoActionIndicated
        }
    }

    fn name(&self) -> &'static str {
        "cruddur-infra: DynamoDB's daily decrease quota is final"
    }
}

/// A connection closed before the answer came (a reset by a load balancer, a lost answer) is
/// transient: the SDK classifies hyper's `IncompleteMessage` so, but not when the pooled client
/// wraps it (`client error (SendRequest)`), which left such calls unretried.
#[derive(Debug)]
struct ConnectionClosedIsTransient;

impl aws_smithy_runtime_api::client::retries::classifiers::ClassifyRetry for ConnectionClosedIsTransient {
    fn classify_retry(
        &self,
        ctx: &aws_smithy_runtime_api::client::interceptors::context::InterceptorContext,
    ) -> aws_smithy_runtime_api::client::retries::classifiers::RetryAction {
        use aws_smithy_runtime_api::client::retries::classifiers::RetryAction;
        let closed = ctx.output_or_error().and_then(|r| r.err()).and_then(|e| e.as_connector_error()).is_some_and(|c| {
            c.is_other() && c.as_other().is_none() && {
                let text = aws_smithy_types::error::display::DisplayErrorContext(c).to_string();
                text.contains("connection closed") || text.contains("connection reset")
            }
        });
        if closed {
            RetryAction::transient_error()
        } else {
            RetryAction::NoActionIndicated
        }
    }

    fn name(&self) -> &'static str {
        "cruddur-infra: a closed connection is transient"
    }
}

/// A connection refused by this machine means nothing listens there (the emulator is not
/// running, or the port is wrong): no retry can change that within a run, so the user hears it
/// at once instead of after eight backed-off attempts. A refusal from a remote endpoint is
/// still retried, as the SDKs do (a proxy or load balancer restarting).
#[derive(Debug)]
struct LocalRefusalIsFinal;

impl aws_smithy_runtime_api::client::retries::classifiers::ClassifyRetry for LocalRefusalIsFinal {
    fn classify_retry(
        &self,
        ctx: &aws_smithy_runtime_api::client::interceptors::context::InterceptorContext,
    ) -> aws_smithy_runtime_api::client::retries::classifiers::RetryAction {
        use aws_smithy_runtime_api::client::retries::classifiers::RetryAction;
        let refused = ctx.output_or_error().and_then(|r| r.err()).and_then(|e| e.as_connector_error()).is_some_and(|c| {
            c.is_io() && aws_smithy_types::error::display::DisplayErrorContext(c).to_string().contains("Connection refused")
        });
        if refused {
            RetryAction::RetryForbidden
        } else {
            RetryAction::NoActionIndicated
        }
    }

    fn name(&self) -> &'static str {
        "cruddur-infra: a connection refused on this machine is final"
    }
}

/// A service client built on first use (`ctx.dynamodb.describe_table()` derefs to it): a run
/// builds only the clients its command reaches, so that start-up costs no client it never uses.
pub type Lazy<T> = std::sync::Arc<std::sync::LazyLock<T, Box<dyn FnOnce() -> T + Send>>>;

#[derive(Clone)]
pub struct AwsContext {
    pub region: String,
    /// DynamoDB's endpoint (where the apply lease lives), None for AWS's own.
    pub endpoint_url: Option<String>,
    pub dynamodb: Lazy<aws_sdk_dynamodb::Client>,
    /// DynamoDB Streams: a failed batch's records, read back by sequence number (`dlq`).
    pub streams: Lazy<aws_sdk_dynamodbstreams::Client>,
    pub iam: Lazy<aws_sdk_iam::Client>,
    pub lambda: Lazy<aws_sdk_lambda::Client>,
    pub ec2: Lazy<aws_sdk_ec2::Client>,
    pub sts: Lazy<aws_sdk_sts::Client>,
    /// The Resource Groups Tagging API: discovery of what this stack env owns.
    pub tagging: Lazy<aws_sdk_resourcegroupstagging::Client>,
    /// Application Auto Scaling: the scaling of provisioned tables (`capacity.autoscale`).
    pub autoscaling: Lazy<aws_sdk_applicationautoscaling::Client>,
    /// CloudWatch Logs: a function's log group and its retention.
    pub logs: Lazy<aws_sdk_cloudwatchlogs::Client>,
    pub sqs: Lazy<aws_sdk_sqs::Client>,
    /// SNS: the topics alarms notify.
    pub sns: Lazy<aws_sdk_sns::Client>,
    /// CloudWatch: metric alarms.
    pub cloudwatch: Lazy<aws_sdk_cloudwatch::Client>,
    /// The env's `name_suffix`, for names resolved during apply.
    pub name_suffix: String,
    /// Whether the clients may change anything (read-only runs may take hints, `discover`).
    pub access: Access,
    /// The caller's identity, read once on first use and shared by every reader.
    identity: std::sync::Arc<tokio::sync::OnceCell<Identity>>,
}

/// Who the credentials are: STS GetCallerIdentity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub account_id: String,
    pub partition: String,
}

impl AwsContext {
    /// The caller's account and partition, from one GetCallerIdentity per run.
    pub async fn identity(&self) -> anyhow::Result<Identity> {
        let id = self
            .identity
            .get_or_try_init(|| async {
                let out =
                    self.sts.get_caller_identity().send().await.map_err(|e| aws_error("STS", "GetCallerIdentity", "the caller", e))?;
                let account_id = out.account().ok_or_else(|| anyhow::anyhow!("GetCallerIdentity returned no account"))?.to_string();
                let partition = out.arn().and_then(|a| a.split(':').nth(1)).unwrap_or("aws").to_string();
                anyhow::Ok(Identity { account_id, partition })
            })
            .await?;
        Ok(id.clone())
    }
}

/// An error answered by AWS (or the endpoint standing in for it).
#[derive(Debug, thiserror::Error)]
#[error("{service} {operation} on {resource} failed: {code}: {message}{}", hint.as_ref().map(|h| format!("\n  hint: {h}")).unwrap_or_default())]
pub struct AwsError {
    pub service: &'static str,
    pub operation: &'static str,
    pub resource: String,
    pub code: String,
    pub message: String,
    pub hint: Option<String>,
}

/// The error code of an SDK error (`ResourceNotFoundException`, ...), if AWS sent one.
pub fn code<E: ProvideErrorMetadata>(e: &E) -> Option<&str> {
    e.code()
}

/// The first line of an answer's body, short, for a message ("(empty body)" when none).
fn first_line(body: Option<&[u8]>) -> String {
    let text = String::from_utf8_lossy(body.unwrap_or_default());
    let line = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    match line.char_indices().nth(120) {
        _ if line.is_empty() => "(empty body)".into(),
        Some((i, _)) => format!("{}...", &line[..i]),
        None => line.to_string(),
    }
}

/// A chain of causes in words, cut before the SDK's debug rendering of it.
fn without_debug(text: &str) -> String {
    let marks =
        [" (DispatchFailure", " (ConstructionFailure", " (TimeoutError", " (ResponseError", " (ServiceError", " Error {", "Some(", "{ "];
    let cut = marks.iter().filter_map(|m| text.find(m)).min().unwrap_or(text.len());
    text[..cut].trim_end_matches([':', ' ']).to_string()
}

/// Wraps an SDK error with the operation and resource it concerns, as one readable line: the
/// code and message AWS sent; for an answer the SDK could not read (an HTML page from a proxy,
/// an empty body, the other protocol's format), the HTTP status and the body's first line;
/// without an answer, the cause in words. Never the SDK's debug output.
pub fn aws_error<E>(service: &'static str, operation: &'static str, resource: &str, e: SdkError<E, HttpResponse>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = e.code().unwrap_or("").to_string();
    let raw = e.raw_response().map(|r| (r.status().as_u16(), first_line(r.body().bytes())));
    let message = match (e.message(), &raw) {
        (Some(m), _) => m.to_string(),
        (None, Some((status, body))) if matches!(e, SdkError::ResponseError(_)) || code.is_empty() => {
            format!("not a {service} answer: {body}")
        }
        (None, Some((status, _))) => format!("HTTP {status}, no message"),
        (None, None) => without_debug(&aws_smithy_types::error::display::DisplayErrorContext(&e).to_string()),
    };
    let code = match (code.is_empty(), &raw) {
        (false, _) => code,
        (true, Some((status, _))) => format!("HTTP {status}"),
        (true, None) => "error".into(),
    };
    let hint = hint_for(&code, &message, service);
    AwsError { service, operation, resource: resource.to_string(), code, message, hint }
}

fn hint_for(code: &str, message: &str, service: &str) -> Option<String> {
    let m = message.to_ascii_lowercase();
    if code == "UnknownOperationException" || m.starts_with("not a ") {
        return Some(format!(
            "is this endpoint {service}? --target only what it serves, or send {service} elsewhere (AWS_ENDPOINT_URL_{}, or the env's endpoints:)",
            service.to_ascii_uppercase().replace(' ', "_")
        ));
    }
    if m.contains("time to live has been modified multiple times") {
        return Some("AWS allows one time-to-live change per table per hour: apply again an hour after the last change".into());
    }
    if code == "UnrecognizedClientException" {
        return Some("the endpoint does not accept these credentials: check AWS_PROFILE / --profile and the account".into());
    }
    if m.contains("no credentials") || m.contains("credentials provider") || code == "InvalidClientTokenId" {
        return Some("set AWS credentials (AWS_PROFILE / --profile, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)".into());
    }
    if m.contains("loading credentials") {
        return Some(
            "the credentials could not be loaded: check the profile (--profile, or the env's `profile:`) and, for an env \
             with `assume_role:`, that STS can be reached and the role may be assumed with them"
                .into(),
        );
    }
    if code == "ExpiredToken" || code == "ExpiredTokenException" {
        return Some("the session token has expired: refresh your credentials (e.g. `aws sso login`)".into());
    }
    if m.contains("dispatch failure") || m.contains("connection refused") || m.contains("timed out") || m.contains("io error") {
        return Some(
            "the endpoint cannot be reached: is the emulator running (./scripts/emulator start), or is --endpoint-url right?".into(),
        );
    }
    None
}

/// The endpoint in order of precedence: `--endpoint-url`, `AWS_ENDPOINT_URL`, the env's
/// `endpoint_url` in the spec, else AWS's own (None).
pub fn resolve_endpoint(flag: Option<&str>, desired: &Desired) -> Option<String> {
    flag.map(str::to_string)
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok().filter(|s| !s.is_empty()))
        .or_else(|| desired.endpoint_url.clone())
}

/// The services the tool calls, by their key in an env's `endpoints:` (and, upper-cased, in
/// `AWS_ENDPOINT_URL_<SERVICE>`).
pub const SERVICES: &[&str] = &[
    "dynamodb",
    "dynamodb_streams",
    "ec2",
    "iam",
    "lambda",
    "sts",
    "resource_groups_tagging_api",
    "application_auto_scaling",
    "cloudwatch_logs",
    "sqs",
    "sns",
    "cloudwatch",
];

/// One service's endpoint: the service's own (`AWS_ENDPOINT_URL_<SERVICE>`, else the env's
/// `endpoints:` entry) beats the global one (`--endpoint-url`, else `AWS_ENDPOINT_URL`, else the
/// env's `endpoint_url`); None: AWS's own, where the SDK also honours the shared config file's
/// `services` sections.
pub fn service_endpoint(service: &str, flag: Option<&str>, desired: &Desired) -> Option<String> {
    std::env::var(format!("AWS_ENDPOINT_URL_{}", service.to_ascii_uppercase()))
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| desired.endpoints.get(service).cloned())
        .or_else(|| resolve_endpoint(flag, desired))
}

pub fn is_loopback(url: &str) -> bool {
    let rest = url.split("://").nth(1).unwrap_or(url);
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = if host.starts_with('[') {
        host.split(']').next().unwrap_or("").trim_start_matches('[')
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    host == "localhost" || host == "::1" || host.starts_with("127.")
}

/// Builds the shared clients. The region is `--region`, else the env's region in the spec:
/// the spec says where the resources live, so `AWS_REGION` does not move them.
pub async fn connect(desired: &Desired, opts: &ConnectOptions, access: Access) -> AwsContext {
    let region = opts.region.clone().unwrap_or_else(|| desired.region.clone());
    let endpoints: BTreeMap<&'static str, Option<String>> =
        SERVICES.iter().map(|s| (*s, service_endpoint(s, opts.endpoint_url.as_deref(), desired))).collect();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.clone()))
        .retry_config(
            // 8 attempts, backoff capped at 5 s (at most ~16 s of waiting per call): a reconciler
            // rides out a burst of faults (Terraform's provider retries up to 25 times) without
            // keeping a user long at an endpoint that is down.
            RetryConfig::standard()
                .with_max_attempts(8)
                .with_initial_backoff(Duration::from_millis(200))
                .with_max_backoff(Duration::from_secs(5)),
        )
        // Per attempt: 3 s to connect, 30 s for the answer. In the HTTP client rather than as
        // the SDK's attempt timeout, so that the wait for a rate's turn (`pace`) counts against
        // neither.
        .timeout_config(TimeoutConfig::builder().connect_timeout(Duration::from_secs(3)).read_timeout(Duration::from_secs(30)).build())
        .http_client(crate::pace::http_client())
        // A request waiting for its rate's turn sends no body meanwhile: the SDK's upload stall
        // protection (1 s of zero throughput after a 5 s grace) would fail it. The requests are
        // small documents; a stalled upload is still cut off by the read timeout.
        .stalled_stream_protection(
            aws_sdk_sts::config::StalledStreamProtectionConfig::enabled().upload_enabled(false).download_enabled(true).build(),
        );
    // `--profile` beats the env's `profile`.
    let profile = opts.profile.as_ref().or(desired.profile.as_ref());
    if let Some(p) = profile {
        loader = loader.profile_name(p);
    }
    // Local emulators accept any credentials; spare the user from inventing some when every
    // service goes to one on this machine.
    let all_local = endpoints.values().all(|e| e.as_deref().is_some_and(is_loopback));
    if all_local {
        let has_creds = std::env::var_os("AWS_ACCESS_KEY_ID").is_some() || std::env::var_os("AWS_PROFILE").is_some() || profile.is_some();
        if !has_creds {
            crate::log::debug("every endpoint is on this machine: using placeholder credentials");
            loader = loader.credentials_provider(aws_sdk_sts::config::Credentials::new(
                "test",
                "test",
                None,
                None,
                "cruddur-infra-local-emulator",
            ));
        }
    }
    let mut sdk = loader.load().await;
    if let Some(role) = &desired.assume_role {
        // AssumeRole with the base credentials, at the env's STS endpoint; the SDK's identity
        // cache refreshes the session before it expires (an apply may outlast the hour).
        let session = role.session_name.clone().unwrap_or_else(|| format!("cruddur-infra-{}-{}", desired.stack, desired.env));
        let mut sts = sdk.to_builder();
        sts.set_endpoint_url(endpoints["sts"].clone());
        let mut provider = aws_config::sts::AssumeRoleProvider::builder(&role.arn).session_name(session).configure(&sts.build());
        if let Some(id) = &role.external_id {
            provider = provider.external_id(id);
        }
        let provider = provider.build().await;
        crate::log::debug(&format!("credentials: assuming {}", role.arn));
        sdk = sdk.into_builder().credentials_provider(aws_sdk_sts::config::SharedCredentialsProvider::new(provider)).build();
    }
    for (service, url) in &endpoints {
        crate::log::debug(&format!("{service}: {}", url.as_deref().unwrap_or("AWS's own endpoint")));
    }
    // The SDK's retry quota (a token bucket of 500, 14 per failed retry under the current retry
    // spec) protects long-running services from retry storms; it would end a run after ~35
    // failed retries in one process, though every call is already bounded (8 attempts with
    // backoff) and the tool's waits have deadlines. One unlimited bucket for every client.
    use aws_sdk_sts::config::retry::{RetryPartition, TokenBucket};
    let partition = RetryPartition::custom("cruddur-infra").token_bucket(TokenBucket::unlimited()).build();
    // AWS counts its rates per account and region: envs of this process with the same region,
    // credentials and endpoint share one budget (`pace`).
    let scope = format!("{region}|{:?}|{:?}|{:?}", profile, desired.assume_role.as_ref().map(|r| &r.arn), endpoints["dynamodb"]);
    let pace = crate::pace::PaceByOperation::new(&scope);
    macro_rules! client {
        ($krate:ident, $service:literal $(, $classifier:expr)?) => {{
            let (sdk, partition, pace) = (sdk.clone(), partition.clone(), pace.clone());
            let endpoint = endpoints[$service].clone();
            let make = move || {
                let mut conf = $krate::config::Builder::from(&sdk);
                conf.set_retry_partition(Some(partition));
                conf = conf.retry_classifier(ConnectionClosedIsTransient);
                if endpoint.as_deref().is_some_and(is_loopback) {
                    conf = conf.retry_classifier(LocalRefusalIsFinal);
                }
                conf.set_endpoint_url(endpoint);
                if access == Access::ReadOnly {
                    conf = conf.interceptor(ReadOnlyGuard);
                }
                conf = conf.interceptor(pace);
                $(conf = conf.retry_classifier($classifier);)?
                $krate::Client::from_conf(conf.build())
            };
            std::sync::Arc::new(std::sync::LazyLock::new(Box::new(make) as Box<dyn FnOnce() -> _ + Send>))
        }};
    }
    AwsContext {
        region,
        endpoint_url: endpoints["dynamodb"].clone(),
        dynamodb: client!(aws_sdk_dynamodb, "dynamodb", DecreaseQuotaIsFinal),
        streams: client!(aws_sdk_dynamodbstreams, "dynamodb_streams"),
        iam: client!(aws_sdk_iam, "iam"),
        lambda: client!(aws_sdk_lambda, "lambda"),
        ec2: client!(aws_sdk_ec2, "ec2"),
        sts: client!(aws_sdk_sts, "sts"),
        tagging: client!(aws_sdk_resourcegroupstagging, "resource_groups_tagging_api"),
        autoscaling: client!(aws_sdk_applicationautoscaling, "application_auto_scaling"),
        logs: client!(aws_sdk_cloudwatchlogs, "cloudwatch_logs"),
        sqs: client!(aws_sdk_sqs, "sqs"),
        sns: client!(aws_sdk_sns, "sns"),
        cloudwatch: client!(aws_sdk_cloudwatch, "cloudwatch"),
        name_suffix: desired.name_suffix.clone(),
        access,
        identity: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired() -> Desired {
        Desired {
            spec_path: "infra.yaml".into(),
            base_dir: ".".into(),
            stack: "s".into(),
            env: "local".into(),
            region: "us-east-1".into(),
            endpoint_url: None,
            endpoints: Default::default(),
            account_id: None,
            protected: false,
            name_suffix: String::new(),
            resources: Default::default(),
            files: Default::default(),
            code: Default::default(),
            partial: false,
            waived: Default::default(),
            profile: None,
            assume_role: None,
        }
    }

    #[tokio::test]
    async fn read_only_clients_refuse_writes_before_sending_anything() {
        // Nothing listens on port 9: a write that got past the guard would fail to connect instead.
        let opts = ConnectOptions { endpoint_url: Some("http://127.0.0.1:9".into()), ..Default::default() };
        let ctx = connect(&desired(), &opts, Access::ReadOnly).await;
        let err = ctx.dynamodb.delete_table().table_name("t").send().await.unwrap_err();
        let text = aws_smithy_types::error::display::DisplayErrorContext(&err).to_string();
        assert!(text.contains("DeleteTable is a write, and this command is read-only"), "{text}");
        let err = ctx.iam.put_role_policy().role_name("r").policy_name("p").policy_document("{}").send().await.unwrap_err();
        assert!(aws_smithy_types::error::display::DisplayErrorContext(&err).to_string().contains("read-only"));
        let err = ctx.lambda.update_event_source_mapping().uuid("u").send().await.unwrap_err();
        assert!(aws_smithy_types::error::display::DisplayErrorContext(&err).to_string().contains("read-only"));
        // A read goes through the guard (and then fails to connect).
        let err = ctx.dynamodb.describe_table().table_name("t").send().await.unwrap_err();
        assert!(!aws_smithy_types::error::display::DisplayErrorContext(&err).to_string().contains("read-only"));
    }

    #[test]
    fn reads_are_named_reads() {
        for r in ["DescribeTable", "ListTagsOfResource", "GetRole", "GetCallerIdentity", "Query", "Scan"] {
            assert!(is_read(r), "{r}");
        }
        for w in ["UpdateTable", "PutRolePolicy", "CreateEventSourceMapping", "ModifyVpcEndpoint", "TagResource"] {
            assert!(!is_read(w), "{w}");
        }
    }

    #[test]
    fn loopback_detection() {
        assert!(is_loopback("http://127.0.0.1:4566"));
        assert!(is_loopback("http://localhost:5000/"));
        assert!(is_loopback("http://[::1]:4566"));
        assert!(!is_loopback("https://dynamodb.us-east-1.amazonaws.com"));
        assert!(!is_loopback("http://10.0.0.1:4566"));
    }
}
