"""AWS's documented per-account request rates (docs/aws-behaviour.md rule 46) as budgets (a
one-second window for "N per second", token buckets where AWS documents them), and each
service's throttling answer in its own wire format. Shared by tools/emulator.py
(`--rate-limits`, and the throttles of `--throttle-rate`) and bench/replay.py (`--rate-limits`).

    service, operation = operation_of(environ, body)    # a WSGI-style environ (HTTP_* headers)
    limiter = Limiter()
    wait = limiter.take(account, region, service, operation)   # None: within; else seconds to a token
    status, headers, data = throttle(service, environ, wait)
    limiter.stats() -> {"throttled": N, "by_operation": {"dynamodb:ListTagsOfResource": n, ...}}
    limiter.reset()                                      # counts forgotten, every bucket full

The rates are src/pace.rs `RATES`, grouped the same way (operations named together share one
bucket), with EC2's documented buckets per action. A rate of "N per second" is taken as AWS
words it: at most N requests in any one second (a sliding window; AWS publishes no burst for
these); EC2's are token buckets as its guide documents them (capacity, refill). Budgets are per
(account, region, rate), and per action for EC2; each starts unused. Operations without a
documented rate are never throttled.

The throttling answers, as each service words them (rule 46 and the API references' error
lists). Every code is one the Rust SDK retries as a throttle: aws-runtime 1.10.2
src/retries/classifiers.rs `THROTTLING_ERRORS` = Throttling, ThrottlingException,
ThrottledException, RequestThrottledException, TooManyRequestsException,
ProvisionedThroughputExceededException, TransactionInProgressException, RequestLimitExceeded,
BandwidthLimitExceeded, LimitExceededException, RequestThrottled, SlowDown,
PriorRequestNotComplete, EC2ThrottledException (its `AwsErrorCodeClassifier`); Lambda's 429 is
also a throttle by status.

- DynamoDB: 400, JSON 1.0 `{"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException",
  "message": "Rate of requests exceeds the allowed throughput."}` (the Developer Guide's error table).
- Lambda: 429, `x-amzn-errortype: TooManyRequestsException`, `Retry-After: S` (the model's
  retryAfterSeconds is that header), `{"Type": "User", "message": "Rate exceeded", "Reason":
  "CallerRateLimitExceeded", "retryAfterSeconds": "S"}`.
- IAM, STS, SNS, CloudWatch's query form (and any other query service): 400, XML `<ErrorResponse>
  <Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>...`.
- EC2: 503, `<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit
  exceeded.</Message></Error></Errors><RequestID>...</RequestID></Response>`.
- SQS: 400; JSON protocol `{"__type": "com.amazonaws.sqs#RequestThrottled", "message": ...}` with
  `x-amzn-query-error: RequestThrottled;Sender` (the code the Rust SDK reports: SQS is
  awsQueryCompatible); the query protocol: XML, Code RequestThrottled.
- CloudWatch: 400, Smithy RPC v2 CBOR (or its JSON form) `{"__type":
  "com.amazonaws.cloudwatch#Throttling", "message": "Rate exceeded"}` with `x-amzn-query-error:
  Throttling;Sender` (tools/emu/cbor.py).
- CloudWatch Logs: 400, JSON 1.1 `{"__type": "ThrottlingException", "message": "Rate exceeded"}`.
- Resource Groups Tagging API: 400, JSON 1.1 `{"__type": "ThrottledException", "Message": "The
  request was denied to limit the frequency of submitted requests."}`.
- Application Auto Scaling (only --throttle-rate: it has no documented rate): 400, JSON 1.1
  ThrottlingException.
"""

import collections
import functools
import json
import math
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

LIMITED = "Rate exceeded"


@dataclass(frozen=True)
class Rate:
    """`ops` share one budget: with `burst` None ("N per second"), at most `per_second` requests
    in any one second; else a bucket of `burst` tokens refilled at `per_second` (EC2's documented
    buckets). With `but`, every operation of the service except those (Lambda's "remainder of
    the control plane")."""

    service: str  # the SigV4 signing name
    ops: frozenset
    per_second: float
    burst: float | None
    but: bool = False

    def names(self, op):
        return (op not in self.ops) if self.but else (op in self.ops)


def rate(service, ops, per_second, burst=None, but=False):
    return Rate(service, frozenset(ops), float(per_second), None if burst is None else float(burst), but)


# docs/aws-behaviour.md rule 46 (its sources there); src/pace.rs RATES. The first that names an
# operation applies. EC2 is by kind of action, below.
RATES = [
    # DynamoDB API Reference: ListTagsOfResource "up to 10 times per second, per account";
    # TagResource / UntagResource "up to five times per second, per account" (one budget, as pace.rs).
    rate("dynamodb", ["ListTagsOfResource"], 10),
    rate("dynamodb", ["TagResource", "UntagResource"], 5),
    # Lambda quotas: GetFunction 100 per second; GetPolicy 15; "Remainder of the control plane API
    # requests (excludes invocation, GetFunction, and GetPolicy requests): 15 requests per second
    # across all APIs".
    rate("lambda", ["GetFunction"], 100),
    rate("lambda", ["GetPolicy"], 15),
    rate("lambda", ["Invoke", "InvokeAsync", "InvokeWithResponseStream", "GetFunction", "GetPolicy"], 15, but=True),
    # IAM and STS quotas: "600 requests per second, per account, per Region", shared by these.
    rate("sts", ["AssumeRole", "DecodeAuthorizationMessage", "GetAccessKeyInfo", "GetCallerIdentity",
                 "GetFederationToken", "GetSessionToken"], 600),
    # Tag Editor quotas: GetResources "Maximum of 15 calls per second".
    rate("tagging", ["GetResources"], 15),
    # SQS quotas: "Tagging actions are limited to 30 TPS per AWS account".
    rate("sqs", ["ListQueueTags", "TagQueue", "UntagQueue"], 30),
    # SNS API throttling: ListSubscriptionsByTopic 30; ListTagsForResource, TagResource,
    # UntagResource 10 each; GetTopicAttributes 30 in the smallest regions (3,000 in us-east-1).
    rate("sns", ["ListSubscriptionsByTopic"], 30),
    rate("sns", ["ListTagsForResource"], 10),
    rate("sns", ["TagResource"], 10),
    rate("sns", ["UntagResource"], 10),
    rate("sns", ["GetTopicAttributes"], 30),
    # CloudWatch quotas: DescribeAlarms 9 per second, PutMetricAlarm 3, DeleteAlarms 3,
    # ListTagsForResource 10, TagResource and UntagResource 20.
    rate("monitoring", ["DescribeAlarms"], 9),
    rate("monitoring", ["PutMetricAlarm"], 3),
    rate("monitoring", ["DeleteAlarms"], 3),
    rate("monitoring", ["ListTagsForResource"], 10),
    rate("monitoring", ["TagResource"], 20),
    rate("monitoring", ["UntagResource"], 20),
    # CloudWatch Logs quotas: DescribeLogGroups 10 per second; ListTagsForResource,
    # ListTagsLogGroup, TagResource, UntagResource 5 each.
    rate("logs", ["DescribeLogGroups"], 10),
    rate("logs", ["ListTagsForResource"], 5),
    rate("logs", ["ListTagsLogGroup"], 5),
    rate("logs", ["TagResource"], 5),
    rate("logs", ["UntagResource"], 5),
]

# EC2 request throttling: a bucket per action. Non-mutating (Describe*, List*, Search*, Get*)
# 100 tokens refilled at 20 a second; CreateTags and DeleteTags 100 at 10; every other (mutating)
# action 50 at 5. (Not modelled: the smaller bucket of unfiltered, unpaginated describes of
# instances, volumes and the like, the resource-intensive actions' own buckets.)
EC2_READ = Rate("ec2", frozenset(), 20.0, 100.0)
EC2_TAGS = Rate("ec2", frozenset(), 10.0, 100.0)
EC2_WRITE = Rate("ec2", frozenset(), 5.0, 50.0)


def rate_of(service, op):
    """(the Rate of an operation, its bucket's name within the account and region), or None."""
    if service == "ec2":
        if op in ("CreateTags", "DeleteTags"):
            return EC2_TAGS, op
        if op.startswith(("Describe", "List", "Search", "Get")):
            return EC2_READ, op
        return EC2_WRITE, op
    for i, r in enumerate(RATES):
        if r.service == service and r.names(op):
            return r, i
    return None


class Bucket:
    """A token bucket: `burst` tokens, refilled at `per_second`, full to start with."""

    def __init__(self, r, now):
        self.rate = r.per_second
        self.burst = r.burst
        self.tokens = r.burst
        self.at = now

    def take(self, now):
        """None when a token was there (it is spent); else seconds until the next one."""
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return None
        return (1.0 - self.tokens) / self.rate


class Window:
    """"N per second": the arrival times of the last N requests accepted; one more is accepted
    when the N-th before it came a second ago or more."""

    def __init__(self, r, now):
        self.n = int(r.per_second)
        self.times = collections.deque()

    def take(self, now):
        """None when within (it is counted); else seconds until one more would be."""
        while self.times and self.times[0] <= now - 1.0:
            self.times.popleft()
        if len(self.times) < self.n:
            self.times.append(now)
            return None
        return self.times[0] + 1.0 - now


class Limiter:
    """The buckets of every (account, region, rate) seen, and what they throttled."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.buckets = {}
        self.throttled = {}
        self.lock = threading.Lock()

    def take(self, account, region, service, op):
        found = rate_of(service, op) if op else None
        if found is None:
            return None
        r, name = found
        key = (account, region, service, name)
        with self.lock:
            now = self.clock()
            b = self.buckets.get(key)
            if b is None:
                b = self.buckets[key] = (Window if r.burst is None else Bucket)(r, now)
            wait = b.take(now)
            if wait is not None:
                k = f"{service}:{op}"
                self.throttled[k] = self.throttled.get(k, 0) + 1
            return wait

    def stats(self):
        with self.lock:
            return {"throttled": sum(self.throttled.values()), "by_operation": dict(sorted(self.throttled.items()))}

    def reset(self):
        with self.lock:
            self.buckets.clear()
            self.throttled.clear()


# -- which service and operation a request is --------------------------------------------------
# X-Amz-Target prefixes -> signing name (for a request whose signature does not say).
TARGETS = {
    "DynamoDB_20120810": "dynamodb", "DynamoDBStreams_20120810": "dynamodb", "AWSLambda": "lambda",
    "AmazonSQS": "sqs", "Logs_20140328": "logs", "ResourceGroupsTaggingAPI_20170126": "tagging",
    "GraniteServiceVersion20100801": "monitoring", "AnyScaleFrontendService": "application-autoscaling",
}


def service_of(environ):
    """The SigV4 signing name of the credential scope (as tools/emulator.py routes), else from the
    target, the Smithy RPC path, the host (`sts.us-east-1.amazonaws.com`) or Lambda's paths."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    if "Credential=" in auth:
        scope = auth.split("Credential=")[1].split(",")[0].split("/")
        if len(scope) >= 4:
            return scope[3]
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return TARGETS.get(target.split(".")[0], "unknown")
    rpc = _rpc(environ)
    if rpc:
        return TARGETS.get(rpc[0], "unknown")
    host = environ.get("HTTP_HOST", "").split(":")[0]
    if host.endswith(".amazonaws.com"):
        return host.split(".")[0]
    if environ.get("PATH_INFO", "").startswith(("/2015-03-31/", "/2017-03-31/", "/2014-11-13/", "/2021-11-15/")):
        return "lambda"
    return "unknown"


def _rpc(environ):
    parts = environ.get("PATH_INFO", "").strip("/").split("/")
    if len(parts) == 4 and parts[0] == "service" and parts[2] == "operation":
        return parts[1], parts[3]
    return None


def operation_of(environ, body):
    """(signing name, operation name) of a request: the target's operation, the Smithy RPC path's,
    a query request's Action, or a Lambda REST request's operation by its method and path (from
    botocore's model); the operation is None when it cannot be told."""
    service = service_of(environ)
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return service, target.split(".")[-1]
    rpc = _rpc(environ)
    if rpc:
        return service, rpc[1]
    if service == "lambda":
        return service, lambda_operation(environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", ""))
    form = body.decode("utf-8", "replace") if body and b"Action=" in body else environ.get("QUERY_STRING", "")
    action = parse_qs(form).get("Action", [None])[0]
    return service, action


@functools.lru_cache(maxsize=1)
def _lambda_routes():
    """Lambda's REST routes from botocore's model (as tools/emu/models.py reads them)."""
    try:
        import botocore.session

        from .models import _route

        sm = botocore.session.get_session().get_service_model("lambda")
    except Exception:  # noqa: BLE001  (no botocore: every call is the remainder's)
        return {}
    routes = {}
    for key, rx, name, _ in sorted((_route(sm.operation_model(n)) for n in sm.operation_names), key=lambda r: r[3]):
        routes.setdefault(key, []).append((rx, name))
    return routes


def lambda_operation(method, path):
    """The Lambda operation of a REST request (`GET /2015-03-31/functions/F` is GetFunction)."""
    path = path.rstrip("/") or "/"
    routes = _lambda_routes()
    for rx, name in routes.get((method, path.count("/")), []) + routes.get((method, None), []):
        if rx.fullmatch(path):
            return name
    return f"{method} {path}"


# -- the throttling answers ---------------------------------------------------------------------
def _xml(status, code, message, ec2=False):
    message = escape(message)
    if ec2:
        body = f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>throttled</RequestID></Response>"
    else:
        body = f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>throttled</RequestId></ErrorResponse>"
    return status, [("Content-Type", "text/xml")], body.encode()


def _json(code, message, version="1.1", key="message", extra=None):
    doc = {"__type": code, key: message, **(extra or {})}
    return "400 Bad Request", [("Content-Type", f"application/x-amz-json-{version}")], json.dumps(doc).encode()


def is_cbor(environ):
    return _rpc(environ) is not None or environ.get("HTTP_SMITHY_PROTOCOL") == "rpc-v2-cbor"


def throttle(service, environ, wait=1.0):
    """(status, headers, data) of a throttled request, as `service` answers one (see above).
    `wait` is how long until the caller's bucket has a token (Lambda's Retry-After)."""
    if is_cbor(environ) or (service == "monitoring" and environ.get("HTTP_X_AMZ_TARGET")):
        from . import cbor

        encoding = "cbor" if is_cbor(environ) else "json"
        return cbor.error(service, "Throttling", LIMITED, "400 Bad Request", encoding=encoding)
    if service == "dynamodb":
        return _json("com.amazonaws.dynamodb.v20120810#ThrottlingException",
                     "Rate of requests exceeds the allowed throughput.", version="1.0")
    if service == "lambda":
        after = str(max(1, math.ceil(wait or 0)))
        body = json.dumps({"Type": "User", "message": LIMITED, "Reason": "CallerRateLimitExceeded",
                           "retryAfterSeconds": after}).encode()
        headers = [("Content-Type", "application/json"), ("x-amzn-errortype", "TooManyRequestsException"),
                   ("Retry-After", after)]
        return "429 Too Many Requests", headers, body
    if service == "sqs":
        if environ.get("HTTP_X_AMZ_TARGET"):
            status, headers, data = _json("com.amazonaws.sqs#RequestThrottled", LIMITED, version="1.0")
            return status, headers + [("x-amzn-query-error", "RequestThrottled;Sender")], data
        return _xml("400 Bad Request", "RequestThrottled", LIMITED)
    if service == "logs":
        return _json("ThrottlingException", LIMITED)
    if service == "tagging":
        return _json("ThrottledException", "The request was denied to limit the frequency of submitted requests.",
                     key="Message")
    if service == "application-autoscaling":
        return _json("ThrottlingException", LIMITED, key="Message")
    if service == "ec2":
        return _xml("503 Service Unavailable", "RequestLimitExceeded", "Request limit exceeded.", ec2=True)
    return _xml("400 Bad Request", "Throttling", LIMITED)
