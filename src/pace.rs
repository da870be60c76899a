//! AWS's documented per-account request rates (docs/aws-behaviour.md rule 46), kept by every
//! client of a run: calls with a rate are held to it (at most N in any second for "N per
//! second") instead of bursting into throttles that the SDK then backs off from (and that,
//! over many resources or envs of one account, can use up its retries).
//!
//! How: one HTTP client is shared by every SDK client of the process ([`http_client`]); an
//! interceptor names each request's rate from its operation ([`RATES`]), and the client waits,
//! before sending, until one more request keeps within it. Retries pass through it too. The wait
//! is before the connection is used, so it counts against no timeout: the per-attempt deadline
//! is the HTTP client's connect and read timeouts. Buckets are per scope (the region and the
//! credentials that decide the account), shared by every env of the process in that scope
//! (`drift --all-envs` over envs of one account shares one budget).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, Metadata};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Which operations of a service share one rate.
#[derive(Debug, Clone, Copy)]
pub enum Ops {
    /// These operations, one budget for them all.
    These(&'static [&'static str]),
    /// Every operation of the service but these (Lambda's "remainder of the control plane").
    AllBut(&'static [&'static str]),
}

/// A documented rate. `burst` None: "N per second" as AWS words it, at most `per_second`
/// requests in any one second (a sliding window: a second's requests may go at once, a plan's 8
/// alarm tag reads wait for none, and the next waits until that second is over). `burst`
/// Some(B): a token bucket AWS documents (EC2's), B at once, refilled at `per_second`.
/// `service` is the SDK's name of the service (its operations' metadata).
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    pub service: &'static str,
    pub ops: Ops,
    pub per_second: u32,
    pub burst: Option<u32>,
}

/// "N per second".
const fn rate(service: &'static str, ops: Ops, per_second: u32) -> Rate {
    Rate { service, ops, per_second, burst: None }
}

/// A documented token bucket: `burst` at once, refilled at `per_second`.
const fn bucket(service: &'static str, ops: Ops, per_second: u32, burst: u32) -> Rate {
    Rate { service, ops, per_second, burst: Some(burst) }
}

/// How much longer than a second the window lasts here: requests sent a second apart may
/// arrive closer together.
const WINDOW: Duration = Duration::from_millis(1100);

const EC2_READ: u32 = 20;
const EC2_WRITE: u32 = 5;

/// The rates AWS documents for the calls the tool makes (sources in docs/aws-behaviour.md rule
/// 46). The first rate that names an operation applies. Services and calls without a documented
/// rate (IAM, Application Auto Scaling, SQS's queue reads, DynamoDB's DescribeTable under its
/// 2,500 per second control plane) are not paced: the SDK's retries handle their throttles.
pub const RATES: &[Rate] = &[
    // DynamoDB's API reference: ListTagsOfResource "up to 10 times per second, per account",
    // TagResource and UntagResource "up to five times per second, per account".
    rate("DynamoDB", Ops::These(&["ListTagsOfResource"]), 10),
    rate("DynamoDB", Ops::These(&["TagResource", "UntagResource"]), 5),
    // Lambda quotas: GetFunction 100 per second; GetPolicy 15; "the remainder of the control
    // plane API requests (excludes invocation, GetFunction, and GetPolicy requests): 15 requests
    // per second across all APIs".
    rate("Lambda", Ops::These(&["GetFunction"]), 100),
    rate("Lambda", Ops::These(&["GetPolicy"]), 15),
    rate("Lambda", Ops::AllBut(&["Invoke", "GetFunction", "GetPolicy"]), 15),
    // STS: 600 per second per account and region, shared by GetCallerIdentity and AssumeRole.
    rate("STS", Ops::These(&["GetCallerIdentity", "AssumeRole"]), 600),
    // The Tagging API: GetResources "maximum of 15 calls per second".
    rate("Resource Groups Tagging API", Ops::These(&["GetResources"]), 15),
    // EC2's request throttling: a bucket per action, 100 tokens refilled at 20 a second for
    // non-mutating actions, 50 at 5 for mutating ones, 100 at 10 for CreateTags / DeleteTags.
    bucket("EC2", Ops::These(&["DescribeVpcs"]), EC2_READ, 100),
    bucket("EC2", Ops::These(&["DescribeRouteTables"]), EC2_READ, 100),
    bucket("EC2", Ops::These(&["DescribeVpcEndpoints"]), EC2_READ, 100),
    bucket("EC2", Ops::These(&["DescribeSubnets"]), EC2_READ, 100),
    bucket("EC2", Ops::These(&["CreateVpcEndpoint"]), EC2_WRITE, 50),
    bucket("EC2", Ops::These(&["ModifyVpcEndpoint"]), EC2_WRITE, 50),
    bucket("EC2", Ops::These(&["DeleteVpcEndpoints"]), EC2_WRITE, 50),
    bucket("EC2", Ops::These(&["CreateTags"]), 10, 100),
    bucket("EC2", Ops::These(&["DeleteTags"]), 10, 100),
    // SQS: "tagging actions are limited to 30 TPS per AWS account".
    rate("SQS", Ops::These(&["ListQueueTags", "TagQueue", "UntagQueue"]), 30),
    // SNS: ListSubscriptionsByTopic 30, ListTagsForResource / TagResource / UntagResource 10;
    // GetTopicAttributes 30 in the smallest regions (3,000 in us-east-1): the smallest is kept.
    rate("SNS", Ops::These(&["ListSubscriptionsByTopic"]), 30),
    rate("SNS", Ops::These(&["ListTagsForResource"]), 10),
    rate("SNS", Ops::These(&["TagResource"]), 10),
    rate("SNS", Ops::These(&["UntagResource"]), 10),
    rate("SNS", Ops::These(&["GetTopicAttributes"]), 30),
    // CloudWatch: DescribeAlarms 9 per second, PutMetricAlarm 3, DeleteAlarms 3,
    // ListTagsForResource 10, TagResource and UntagResource 20.
    rate("CloudWatch", Ops::These(&["DescribeAlarms"]), 9),
    rate("CloudWatch", Ops::These(&["PutMetricAlarm"]), 3),
    rate("CloudWatch", Ops::These(&["DeleteAlarms"]), 3),
    rate("CloudWatch", Ops::These(&["ListTagsForResource"]), 10),
    rate("CloudWatch", Ops::These(&["TagResource"]), 20),
    rate("CloudWatch", Ops::These(&["UntagResource"]), 20),
    // CloudWatch Logs: DescribeLogGroups 10 per second; ListTagsForResource, ListTagsLogGroup,
    // TagResource, UntagResource 5 each.
    rate("CloudWatch Logs", Ops::These(&["DescribeLogGroups"]), 10),
    rate("CloudWatch Logs", Ops::These(&["ListTagsForResource"]), 5),
    rate("CloudWatch Logs", Ops::These(&["ListTagsLogGroup"]), 5),
    rate("CloudWatch Logs", Ops::These(&["TagResource"]), 5),
    rate("CloudWatch Logs", Ops::These(&["UntagResource"]), 5),
];

/// The rate of an operation, by its index in [`RATES`].
pub fn rate_of(service: &str, operation: &str) -> Option<usize> {
    RATES.iter().position(|r| {
        r.service == service
            && match r.ops {
                Ops::These(ops) => ops.contains(&operation),
                Ops::AllBut(ops) => !ops.contains(&operation),
            }
    })
}

/// A rate's pacer: for "N per second", the send times of the last N requests (each new one at
/// least [`WINDOW`] after the N-th before it); for a documented bucket, GCRA (the theoretical
/// arrival time of the next request, and how far ahead of it a request may go). A reservation
/// is made at once, so waiters go in order.
#[derive(Debug)]
pub struct Bucket {
    shape: Shape,
}

#[derive(Debug)]
enum Shape {
    Window { n: usize, sent: Mutex<std::collections::VecDeque<tokio::time::Instant>> },
    Gcra { interval: Duration, tolerance: Duration, next: Mutex<Option<tokio::time::Instant>> },
}

impl Bucket {
    pub fn new(r: &Rate) -> Self {
        let shape = match r.burst {
            None => Shape::Window { n: r.per_second.max(1) as usize, sent: Mutex::new(Default::default()) },
            Some(burst) => {
                let interval = Duration::from_secs(1) / r.per_second.max(1);
                Shape::Gcra { interval, tolerance: interval * burst.saturating_sub(1), next: Mutex::new(None) }
            }
        };
        Bucket { shape }
    }

    /// How long to wait before one more request keeps within the rate; counts it.
    pub fn reserve(&self, now: tokio::time::Instant) -> Duration {
        match &self.shape {
            Shape::Window { n, sent } => {
                let mut sent = sent.lock().unwrap_or_else(|e| e.into_inner());
                let mut at = sent.back().map_or(now, |last| (*last).max(now));
                if sent.len() >= *n {
                    at = at.max(sent[sent.len() - n] + WINDOW);
                }
                sent.push_back(at);
                while sent.len() > *n {
                    sent.pop_front();
                }
                at.saturating_duration_since(now)
            }
            Shape::Gcra { interval, tolerance, next } => {
                let mut next = next.lock().unwrap_or_else(|e| e.into_inner());
                let tat = next.map_or(now, |n| n.max(now));
                *next = Some(tat + *interval);
                tat.saturating_duration_since(now).saturating_sub(*tolerance)
            }
        }
    }

    pub async fn take(&self) {
        let wait = self.reserve(tokio::time::Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// A scope's buckets, one per rate of [`RATES`].
pub type Buckets = Arc<Vec<Arc<Bucket>>>;

/// One bucket per rate for a scope (a region and the credentials that decide the account),
/// shared by every client of the process in that scope.
pub fn buckets(scope: &str) -> Buckets {
    static ALL: OnceLock<Mutex<HashMap<String, Buckets>>> = OnceLock::new();
    let mut all = ALL.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    all.entry(scope.to_string()).or_insert_with(|| Arc::new(RATES.iter().map(|r| Arc::new(Bucket::new(r))).collect())).clone()
}

/// Marks a request with the bucket of its operation's rate, for [`PacedClient`].
#[derive(Debug, Clone)]
struct Paced(Arc<Bucket>);

/// Names each request's rate from its operation (a client's interceptor; every attempt, so
/// retries are paced too).
#[derive(Debug, Clone)]
pub struct PaceByOperation {
    buckets: Buckets,
}

impl PaceByOperation {
    pub fn new(scope: &str) -> Self {
        PaceByOperation { buckets: buckets(scope) }
    }
}

impl Intercept for PaceByOperation {
    fn name(&self) -> &'static str {
        "cruddur-infra: pace by AWS's documented rates"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(m) = cfg.load::<Metadata>() {
            if let Some(b) = rate_of(m.service(), m.name()).and_then(|i| self.buckets.get(i)) {
                context.request_mut().add_extension(Paced(b.clone()));
            }
        }
        Ok(())
    }
}

/// An HTTP client that waits for a marked request's bucket before sending it.
#[derive(Debug, Clone)]
pub struct PacedClient {
    inner: SharedHttpClient,
}

impl HttpClient for PacedClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(PacedConnector { inner: self.inner.http_connector(settings, components) })
    }
}

#[derive(Debug)]
struct PacedConnector {
    inner: SharedHttpConnector,
}

impl HttpConnector for PacedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let Some(Paced(bucket)) = request.extension::<Paced>().cloned() else { return self.inner.call(request) };
        let inner = self.inner.clone();
        HttpConnectorFuture::new(async move {
            bucket.take().await;
            inner.call(request).await
        })
    }
}

/// The process's one HTTP client (the SDK's default: hyper 1 with rustls on aws-lc, the proxy
/// from the environment), paced. Shared, so the system's CA certificates are read once.
pub fn http_client() -> SharedHttpClient {
    static CLIENT: OnceLock<SharedHttpClient> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            use aws_smithy_http_client::{proxy::ProxyConfig, tls, Builder, ConnectorBuilder};
            let inner = Builder::new().build_with_connector_fn(move |settings, components| {
                let mut b = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::AwsLc));
                b.set_connector_settings(settings.cloned());
                if let Some(c) = components {
                    b.set_sleep_impl(c.sleep_impl());
                }
                b.set_proxy_config(Some(ProxyConfig::from_env()));
                b.build()
            });
            SharedHttpClient::new(PacedClient { inner })
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records the SDK's name of a call's service and operation, then stops it before anything
    /// is sent.
    #[derive(Debug, Clone, Default)]
    struct Names(Arc<Mutex<Vec<(String, String)>>>);

    impl Intercept for Names {
        fn name(&self) -> &'static str {
            "test: names"
        }

        fn read_before_serialization(
            &self,
            _: &aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef<'_>,
            _: &RuntimeComponents,
            cfg: &mut ConfigBag,
        ) -> Result<(), BoxError> {
            let m = cfg.load::<Metadata>().expect("metadata");
            self.0.lock().unwrap().push((m.service().to_string(), m.name().to_string()));
            Err("stopped by the test".into())
        }
    }

    /// The table names services as the SDK does: one call of each service it paces, made through
    /// the real clients (stopped before sending), finds its rate.
    #[tokio::test]
    async fn the_rates_name_services_and_operations_as_the_sdk_does() {
        let names = Names::default();
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .build();
        macro_rules! conf {
            ($krate:ident) => {
                $krate::Client::from_conf($krate::config::Builder::from(&sdk).interceptor(names.clone()).build())
            };
        }
        let _ = conf!(aws_sdk_dynamodb).list_tags_of_resource().resource_arn("a").send().await;
        let _ = conf!(aws_sdk_lambda).list_event_source_mappings().send().await;
        let _ = conf!(aws_sdk_lambda).get_function().function_name("f").send().await;
        let _ = conf!(aws_sdk_sts).get_caller_identity().send().await;
        let _ = conf!(aws_sdk_resourcegroupstagging).get_resources().send().await;
        let _ = conf!(aws_sdk_ec2).describe_vpcs().send().await;
        let _ = conf!(aws_sdk_sqs).list_queue_tags().queue_url("u").send().await;
        let _ = conf!(aws_sdk_sns).list_subscriptions_by_topic().topic_arn("t").send().await;
        let _ = conf!(aws_sdk_cloudwatch).describe_alarms().send().await;
        let _ = conf!(aws_sdk_cloudwatchlogs).describe_log_groups().send().await;
        let seen = names.0.lock().unwrap().clone();
        assert_eq!(seen.len(), 10);
        for (service, op) in &seen {
            assert!(rate_of(service, op).is_some(), "{service} {op} finds no rate: the table names it otherwise");
        }
    }

    #[test]
    fn every_rate_names_an_operation_once_and_lambdas_remainder_is_last() {
        assert_eq!(rate_of("DynamoDB", "ListTagsOfResource").map(|i| RATES[i].per_second), Some(10));
        assert_eq!(rate_of("DynamoDB", "DescribeTable"), None, "no documented rate of its own");
        assert_eq!(rate_of("Lambda", "GetFunction").map(|i| RATES[i].per_second), Some(100));
        let remainder = rate_of("Lambda", "ListEventSourceMappings").unwrap();
        assert_eq!(rate_of("Lambda", "ListAliases"), Some(remainder), "one budget for the remainder");
        assert_eq!(rate_of("Lambda", "Invoke"), None);
        assert_eq!(rate_of("IAM", "GetRole"), None);
        assert_ne!(rate_of("EC2", "DescribeVpcs"), rate_of("EC2", "DescribeSubnets"), "a bucket per EC2 action");
    }

    #[test]
    fn a_bucket_spaces_requests_after_its_burst() {
        let now = tokio::time::Instant::now();
        let even = Bucket::new(&bucket("DynamoDB", Ops::These(&[]), 10, 1));
        let waits: Vec<u128> = (0..4).map(|_| even.reserve(now).as_millis()).collect();
        assert_eq!(waits, vec![0, 100, 200, 300]);
        // "10 per second": ten at once, the next ten once that second (and its margin) is over.
        let second = Bucket::new(&rate("DynamoDB", Ops::These(&[]), 10));
        let waits: Vec<u128> = (0..21).map(|_| second.reserve(now).as_millis()).collect();
        assert_eq!(waits, [vec![0; 10], vec![1100; 10], vec![2200]].concat());
        // Later requests count only against the window they fall in.
        assert_eq!(second.reserve(now + Duration::from_secs(10)).as_millis(), 0);
        let burst = Bucket::new(&bucket("EC2", Ops::These(&[]), 20, 3));
        let waits: Vec<u128> = (0..5).map(|_| burst.reserve(now).as_millis()).collect();
        assert_eq!(waits, vec![0, 0, 0, 50, 100], "3 at once, then one every 50 ms");
        // Time passing refills it.
        assert_eq!(burst.reserve(now + Duration::from_secs(1)).as_millis(), 0);
    }
}
