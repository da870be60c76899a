"""tools/emulator.py --rate-limits and bench/replay.py --rate-limits: AWS's documented per-account
request rates as token buckets, and each service's throttling answer in its own wire format
(docs/aws-behaviour.md rule 46; tools/emu/rates.py), through boto3 clients that never retry (a
throttle is seen as it comes). Each test starts with full buckets (POST /_proxy/throttled/reset)."""

import io
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

TOOLS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TOOLS))

from conftest import Emulator, models_speaking  # noqa: E402
from emu import rates  # noqa: E402

REPO = TOOLS.parent
REGION = "us-east-1"
OTHER = "111111111111"
# aws-runtime 1.10.2 src/retries/classifiers.rs THROTTLING_ERRORS: what the Rust SDK retries as a
# throttle.
RUST_SDK_THROTTLES = {
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException", "TooManyRequestsException",
    "ProvisionedThroughputExceededException", "TransactionInProgressException", "RequestLimitExceeded",
    "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
    "EC2ThrottledException",
}
TRUST = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
})


@pytest.fixture(scope="module")
def emu():
    e = Emulator("--rate-limits")
    e("ec2").describe_vpcs()  # EC2's first call loads moto's EC2 (slow): not inside a burst
    yield e
    e.stop()


@pytest.fixture(autouse=True)
def full_buckets(request):
    if "emu" in request.fixturenames:
        control(request.getfixturevalue("emu").url, "/_proxy/throttled/reset", "POST")


# -- helpers --------------------------------------------------------------------------------------
def control(url, path, method="GET"):
    with urllib.request.urlopen(urllib.request.Request(url + path, method=method)) as r:
        return json.loads(r.read() or b"null")


def client(url, service, protocol=None, **creds):
    """A boto3 client that never retries (a throttle comes back as it is)."""
    core = botocore.session.get_session()
    if protocol is not None:
        core.get_component("data_loader").search_paths.insert(0, models_speaking(service, protocol))
    session = boto3.Session(**(creds or {"aws_access_key_id": "test", "aws_secret_access_key": "test"}),
                            region_name=REGION, botocore_session=core)
    return session.client(service, endpoint_url=url, config=Config(parameter_validation=False,
                                                                    retries={"total_max_attempts": 1}))


def outcomes(call, n):
    """n calls in a row: None for each answered, the error response of each refused."""
    out = []
    for _ in range(n):
        try:
            call()
            out.append(None)
        except ClientError as e:
            out.append(e.response)
    return out


def throttles(out):
    return [r for r in out if r is not None]


def spend(call, most=400):
    """Calls in a row until one is throttled: (how many were not, that one's response, seconds)."""
    start, ok = time.monotonic(), 0
    for _ in range(most):
        r = outcomes(call, 1)[0]
        if r is not None and r["Error"]["Code"] in RUST_SDK_THROTTLES:
            return ok, r, time.monotonic() - start
        ok += 1
    raise AssertionError(f"{most} calls, none throttled")


def burst_then_throttle(call, allowed, code, status, per_second=None):
    """`allowed` calls answered (a full bucket, plus what refilled while they ran), then one
    throttled with `code` and `status`; its response."""
    ok, last, elapsed = spend(call)
    assert allowed <= ok <= allowed + (per_second or allowed) * elapsed + 1, (ok, elapsed)
    assert (last["Error"]["Code"], last["ResponseMetadata"]["HTTPStatusCode"]) == (code, status), last
    return last


def table(emu_url, name, **creds):
    ddb = client(emu_url, "dynamodb", **creds)
    return ddb.create_table(
        TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
    )["TableDescription"]["TableArn"]


def other_account(emu):
    c = client(emu.url, "sts").assume_role(RoleArn=f"arn:aws:iam::{OTHER}:role/admin", RoleSessionName="other")["Credentials"]
    return {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"],
            "aws_session_token": c["SessionToken"]}


# -- the buckets ----------------------------------------------------------------------------------
def test_a_burst_above_the_rate_is_throttled_as_dynamodb_answers(emu):
    arn = table(emu.url, "rates-burst")
    ddb = client(emu.url, "dynamodb")
    last = burst_then_throttle(lambda: ddb.list_tags_of_resource(ResourceArn=arn), 10, "ThrottlingException", 400)
    assert last["Error"]["Message"] == "Rate of requests exceeds the allowed throughput."
    assert control(emu.url, "/_proxy/throttled") == {"throttled": 1, "by_operation": {"dynamodb:ListTagsOfResource": 1}}
    calls = [c for c in control(emu.url, "/_proxy/calls") if c["action"] == "ListTagsOfResource"]
    assert [c.get("throttled", False) for c in calls[-2:]] == [False, True], "the throttled call is listed as such"
    # Calls without a documented rate are never throttled.
    assert throttles(outcomes(lambda: ddb.describe_table(TableName="rates-burst"), 30)) == []
    control(emu.url, "/_proxy/throttled/reset", "POST")
    assert control(emu.url, "/_proxy/throttled") == {"throttled": 0, "by_operation": {}}


def test_under_the_rate_nothing_is_throttled(emu):
    arn = table(emu.url, "rates-under")
    ddb = client(emu.url, "dynamodb")
    out = []
    for _ in range(20):  # 8 a second for 2.5 s: twice the bucket, never faster than it refills
        out += outcomes(lambda: ddb.list_tags_of_resource(ResourceArn=arn), 1)
        time.sleep(0.125)
    assert throttles(out) == []


def test_n_per_second_is_n_in_any_second(emu):
    arn = table(emu.url, "rates-refill")
    ddb = client(emu.url, "dynamodb")
    turn = iter(range(10**6))
    # TagResource and UntagResource share 5 a second (as src/pace.rs counts them).
    either = lambda: (ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}]) if next(turn) % 2  # noqa: E731
                      else ddb.untag_resource(ResourceArn=arn, TagKeys=["k"]))
    start = time.monotonic()
    burst_then_throttle(either, 5, "ThrottlingException", 400)
    time.sleep(max(0.0, 0.5 - (time.monotonic() - start)))
    ok, _, _ = spend(either)
    assert ok == 0, "more than 5 within one second"  # a token bucket would have let 2 more by now
    time.sleep(max(0.0, 1.05 - (time.monotonic() - start)))  # that second is over: 5 again, never more
    burst_then_throttle(either, 5, "ThrottlingException", 400)


def test_two_accounts_have_their_own_buckets(emu):
    arn = table(emu.url, "rates-mine")
    creds = other_account(emu)
    theirs = table(emu.url, "rates-theirs", **creds)
    assert f":{OTHER}:" in theirs
    mine, other = client(emu.url, "dynamodb"), client(emu.url, "dynamodb", **creds)
    burst_then_throttle(lambda: mine.list_tags_of_resource(ResourceArn=arn), 10, "ThrottlingException", 400)
    # The other account's bucket is still full, and is spent on its own.
    burst_then_throttle(lambda: other.list_tags_of_resource(ResourceArn=theirs), 10, "ThrottlingException", 400)
    assert control(emu.url, "/_proxy/throttled")["by_operation"] == {"dynamodb:ListTagsOfResource": 2}


def test_lambdas_control_plane_shares_one_bucket_but_get_function_get_policy_and_invoke(emu):
    lam = client(emu.url, "lambda")
    calls = [lam.list_functions, lam.list_event_source_mappings, lambda: lam.list_aliases(FunctionName="nope"),
             lambda: lam.get_function_configuration(FunctionName="nope"), lambda: lam.list_versions_by_function(FunctionName="nope")]
    turn = iter(range(10**6))
    last = burst_then_throttle(lambda: calls[next(turn) % len(calls)](), 15, "TooManyRequestsException", 429)
    assert last["Reason"] == "CallerRateLimitExceeded" and last["Type"] == "User"
    assert last["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "1"
    # GetFunction (100 a second), GetPolicy (15) and Invoke (not counted) have their own.
    for call in (lambda: lam.get_function(FunctionName="nope"), lambda: lam.get_policy(FunctionName="nope"),
                 lambda: lam.invoke(FunctionName="nope")):
        assert outcomes(call, 1)[0]["Error"]["Code"] == "ResourceNotFoundException"
    assert control(emu.url, "/_proxy/throttled")["throttled"] == 1


def test_ec2_has_a_bucket_per_action(emu):
    ec2 = client(emu.url, "ec2")
    last = burst_then_throttle(ec2.describe_vpcs, 100, "RequestLimitExceeded", 503, per_second=20)
    assert last["Error"]["Message"] == "Request limit exceeded."
    assert throttles(outcomes(ec2.describe_subnets, 1)) == [], "another action: another bucket"
    # A mutating action: 50 at once, refilled at 5 a second; CreateTags 100 at 10.
    delete = lambda: ec2.delete_vpc_endpoints(VpcEndpointIds=["vpce-0000000000000000"])  # noqa: E731
    burst_then_throttle(delete, 50, "RequestLimitExceeded", 503, per_second=5)
    tags = lambda: ec2.create_tags(Resources=["vpc-00000000"], Tags=[{"Key": "k", "Value": "v"}])  # noqa: E731
    burst_then_throttle(tags, 100, "RequestLimitExceeded", 503, per_second=10)


def test_each_service_throttles_in_its_own_format(emu):
    sqs = client(emu.url, "sqs")
    url = sqs.create_queue(QueueName="rates-q")["QueueUrl"]
    time.sleep(0.6)  # plain mode has no lag, but be safe for a just-made queue
    last = burst_then_throttle(lambda: sqs.list_queue_tags(QueueUrl=url), 30, "RequestThrottled", 400)
    assert last["ResponseMetadata"]["HTTPHeaders"]["x-amzn-query-error"] == "RequestThrottled;Sender"
    sns = client(emu.url, "sns")
    topic = sns.create_topic(Name="rates-t")["TopicArn"]
    burst_then_throttle(lambda: sns.list_tags_for_resource(ResourceArn=topic), 10, "Throttling", 400)
    for protocol in ("smithy-rpc-v2-cbor", "json", "query"):
        cw = client(emu.url, "cloudwatch", protocol=protocol)
        burst_then_throttle(cw.describe_alarms, 9, "Throttling", 400)
        control(emu.url, "/_proxy/throttled/reset", "POST")
    cw = client(emu.url, "cloudwatch", protocol="smithy-rpc-v2-cbor")
    alarm = dict(AlarmName="rates-a", Namespace="AWS/SQS", MetricName="NumberOfMessagesSent", Statistic="Sum",
                 Period=60, EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold")
    burst_then_throttle(lambda: cw.put_metric_alarm(**alarm), 3, "Throttling", 400)
    logs = client(emu.url, "logs")
    burst_then_throttle(logs.describe_log_groups, 10, "ThrottlingException", 400)
    tagging = client(emu.url, "resourcegroupstaggingapi")
    last = burst_then_throttle(tagging.get_resources, 15, "ThrottledException", 400)
    assert last["Error"]["Message"] == "The request was denied to limit the frequency of submitted requests."


def test_the_throttle_answers_parse_as_each_protocol_reads_them():
    """Every service's answer read by botocore's parser for its protocol (STS's 600 a second and
    IAM, which has no documented rate, are checked here rather than by a burst)."""
    from botocore.parsers import create_parser

    cbor = {"PATH_INFO": "/service/GraniteServiceVersion20100801/operation/DescribeAlarms", "REQUEST_METHOD": "POST"}
    cases = [  # (signing name, botocore name, protocol, request, code, status)
        ("dynamodb", "dynamodb", "json", {"HTTP_X_AMZ_TARGET": "DynamoDB_20120810.ListTagsOfResource"}, "ThrottlingException", 400),
        ("lambda", "lambda", "rest-json", {}, "TooManyRequestsException", 429),
        ("sts", "sts", "query", {}, "Throttling", 400),
        ("iam", "iam", "query", {}, "Throttling", 400),
        ("ec2", "ec2", "ec2", {}, "RequestLimitExceeded", 503),
        ("sqs", "sqs", "json", {"HTTP_X_AMZ_TARGET": "AmazonSQS.ListQueueTags"}, "RequestThrottled", 400),
        ("sqs", "sqs", "query", {}, "RequestThrottled", 400),
        ("sns", "sns", "query", {}, "Throttling", 400),
        ("monitoring", "cloudwatch", "query", {}, "Throttling", 400),
        ("monitoring", "cloudwatch", "json", {"HTTP_X_AMZ_TARGET": "GraniteServiceVersion20100801.DescribeAlarms"}, "Throttling", 400),
        ("monitoring", "cloudwatch", "smithy-rpc-v2-cbor", cbor, "Throttling", 400),
        ("logs", "logs", "json", {"HTTP_X_AMZ_TARGET": "Logs_20140328.DescribeLogGroups"}, "ThrottlingException", 400),
        ("tagging", "resourcegroupstaggingapi", "json",
         {"HTTP_X_AMZ_TARGET": "ResourceGroupsTaggingAPI_20170126.GetResources"}, "ThrottledException", 400),
    ]
    session = botocore.session.get_session()
    for service, name, protocol, environ, code, status in cases:
        line, headers, body = rates.throttle(service, environ, 0.2)
        assert int(line.split()[0]) == status, service
        sm = session.get_service_model(name)
        parsed = create_parser(protocol).parse(
            {"status_code": status, "headers": dict(headers), "body": body}, sm.operation_model(sm.operation_names[0]).output_shape)
        assert parsed["Error"]["Code"] == code, (service, protocol, parsed)
        assert code in RUST_SDK_THROTTLES


def test_a_handlers_calls_count_in_its_account(emu):
    """A function's calls (its execution role's keys, in its account) spend the account's buckets."""
    arn = table(emu.url, "rates-handler")
    role = client(emu.url, "iam").create_role(RoleName="rates-fn", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    code = (
        "import boto3\nfrom botocore.config import Config\n\n"
        "def handler(event, context):\n"
        "    ddb = boto3.client('dynamodb', config=Config(retries={'total_max_attempts': 1}))\n"
        "    out = []\n"
        "    for _ in range(event['n']):\n"
        "        try:\n"
        "            ddb.list_tags_of_resource(ResourceArn=event['arn'])\n"
        "            out.append('ok')\n"
        "        except Exception as e:\n"
        "            out.append(e.response['Error']['Code'])\n"
        "    return out\n"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.py", code)
    lam = client(emu.url, "lambda")
    lam.create_function(FunctionName="rates-fn", Runtime="python3.12", Role=role, Handler="index.handler",
                        Code={"ZipFile": buf.getvalue()})
    lam.invoke(FunctionName="rates-fn", Payload=json.dumps({"arn": arn, "n": 0}))  # warm
    control(emu.url, "/_proxy/throttled/reset", "POST")
    out = json.loads(lam.invoke(FunctionName="rates-fn", Payload=json.dumps({"arn": arn, "n": 12}))["Payload"].read())
    assert out[:10] == ["ok"] * 10 and "ThrottlingException" in out, out
    # The handler spent the account's bucket: the account's other callers find it (nearly) empty.
    ddb = client(emu.url, "dynamodb")
    ok, _, _ = spend(lambda: ddb.list_tags_of_resource(ResourceArn=arn))
    assert ok <= 4, "what refilled since the handler's last call, not a bucket of its own"
    assert control(emu.url, "/_proxy/throttled")["by_operation"]["dynamodb:ListTagsOfResource"] >= 2
    by_function = [c for c in control(emu.url, "/_proxy/calls") if c.get("function") == "rates-fn"]
    assert len(by_function) == 12 and any(c.get("throttled") for c in by_function)


# -- the replay backend ---------------------------------------------------------------------------
def replay(recorded, *args):
    f = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump(recorded, f)
    f.close()
    p = subprocess.Popen([sys.executable, str(REPO / "bench" / "replay.py"), f.name, "--latency-ms", "0", *args],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = p.stdout.readline()
    assert line.startswith("READY port="), line
    return p, f"http://127.0.0.1:{int(line.strip().split('=')[1])}"


def test_the_replay_backend_throttles_and_counts(emu):
    arn = table(emu.url, "rates-replay")
    ddb = client(emu.url, "dynamodb")
    control(emu.url, "/_proxy/record?on=1", "POST")
    ddb.list_tags_of_resource(ResourceArn=arn)
    client(emu.url, "ec2").describe_vpcs()
    control(emu.url, "/_proxy/record?on=0", "POST")
    recorded = control(emu.url, "/_proxy/recorded")
    for limited in (False, True):
        p, url = replay(recorded, *(["--rate-limits"] if limited else []))
        try:
            ddb, ec2 = client(url, "dynamodb"), client(url, "ec2")
            call = lambda: ddb.list_tags_of_resource(ResourceArn=arn)  # noqa: E731
            if limited:
                ok, last, elapsed = spend(call)
                assert 10 <= ok <= 10 + 10 * elapsed + 1, (ok, elapsed)
                assert (last["Error"]["Code"], last["ResponseMetadata"]["HTTPStatusCode"]) == ("ThrottlingException", 400)
            else:
                ok = 30
                assert throttles(outcomes(call, ok)) == []
            assert throttles(outcomes(ec2.describe_vpcs, 3)) == [], "another service, another bucket"
            stats = control(url, "/_replay/stats")
            assert stats == {"served": ok + 3, "missed": [], "throttled": 1 if limited else 0,
                             "throttled_by_operation": {"dynamodb:ListTagsOfResource": 1} if limited else {}}
        finally:
            p.kill()
            p.wait()


def test_rates_name_the_operations_as_src_pace_rs_groups_them():
    r = lambda s, op: rates.rate_of(s, op)  # noqa: E731
    assert r("dynamodb", "ListTagsOfResource")[0].per_second == 10
    assert r("dynamodb", "TagResource") == r("dynamodb", "UntagResource")
    assert r("dynamodb", "DescribeTable") is None
    assert r("lambda", "ListAliases") == r("lambda", "ListEventSourceMappings") == r("lambda", "UpdateFunctionCode")
    assert r("lambda", "Invoke") is None and r("lambda", "GetFunction")[0].per_second == 100
    assert r("sts", "GetCallerIdentity") == r("sts", "AssumeRole")
    assert r("iam", "GetRole") is None and r("sqs", "GetQueueAttributes") is None
    assert r("ec2", "DescribeVpcs") != r("ec2", "DescribeSubnets")
    assert (r("ec2", "DescribeVpcs")[0].burst, r("ec2", "CreateTags")[0].per_second, r("ec2", "CreateVpcEndpoint")[0].burst) == (100, 10, 50)
    assert rates.lambda_operation("GET", "/2015-03-31/functions/f") == "GetFunction"
    assert rates.lambda_operation("GET", "/2015-03-31/functions/f/policy") == "GetPolicy"
    assert rates.lambda_operation("POST", "/2015-03-31/functions/f/invocations") == "Invoke"
    assert rates.lambda_operation("GET", "/2015-03-31/event-source-mappings/") == "ListEventSourceMappings"
