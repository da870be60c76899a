"""tools/emulator.py: the data plane of Lambda as AWS runs it (tools/emu/dataplane.py,
tools/emu/runtime.py) and DynamoDB Streams as AWS keeps them (tools/emu/streams.py), through boto3
on the wire: Invoke runs the handler; a stream trigger runs the shipped handler
(lambda/cruddur-messaging-stream) with the shipped filter and error handling (infra.yaml;
docs/aws-behaviour.md rules 39, 43, 44); the filter matcher's cases. Each test uses its own
tables and functions."""

import base64
import io
import json
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from conftest import Emulator
from emu import filters

REPO = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
REGION = "us-east-1"
TRUST = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
})
# The shipped trigger (infra.yaml): new messages only, one a batch, 3 retries, bisect, a queue.
SHIPPED_FILTER = json.dumps({"eventName": ["INSERT"], "dynamodb": {"Keys": {"pk": {"S": [{"prefix": "MSG#"}]}}}})
INDEX = "message-group-sk-index"


@pytest.fixture(scope="module")
def emu():
    e = Emulator()
    yield e
    e.stop()


# -- helpers --------------------------------------------------------------------------------------
def control(emu, path, method="GET"):
    req = urllib.request.Request(emu.url + path, method=method)
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"null")


def invocations(emu, mapping=None, function=None):
    out = control(emu, "/_proxy/invocations")
    return [i for i in out if (mapping is None or i["mapping"] == mapping) and (function is None or i["function"] == function)]


def wait_for(check, timeout=15.0, what="the condition"):
    start = time.monotonic()
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() - start < timeout, f"timed out waiting for {what}"
        time.sleep(0.05)


def zipped(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buf.getvalue()


def shipped_zip():
    src = REPO / "lambda" / "cruddur-messaging-stream"
    return zipped({p.name: p.read_text() for p in src.glob("*.py")})


def role(emu, name):
    try:
        return emu("iam").create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    except ClientError:
        return emu("iam").get_role(RoleName=name)["Role"]["Arn"]


def function(emu, name, code, handler="index.handler", **extra):
    return emu("lambda").create_function(
        FunctionName=name, Runtime="python3.12", Role=role(emu, f"{name}-role"), Handler=handler,
        Code={"ZipFile": code}, **extra,
    )


def inline(body):
    """A handler module `index.py` whose handler runs `body` (event, context in scope)."""
    lines = "\n".join("    " + line for line in body.strip("\n").split("\n"))
    return zipped({"index.py": f"import json, os, time\n\ndef handler(event, context):\n{lines}\n"})


def table(emu, name, view="NEW_IMAGE", index=False):
    spec = dict(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": view},
    )
    if index:
        spec["AttributeDefinitions"].append({"AttributeName": "message_group_uuid", "AttributeType": "S"})
        spec["GlobalSecondaryIndexes"] = [{
            "IndexName": INDEX,
            "KeySchema": [{"AttributeName": "message_group_uuid", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        }]
    return emu("dynamodb").create_table(**spec)["TableDescription"]["LatestStreamArn"]


def put(emu, table_name, pk, sk, **attrs):
    item = {"pk": {"S": pk}, "sk": {"S": sk}, **{k: {"S": v} for k, v in attrs.items()}}
    emu("dynamodb").put_item(TableName=table_name, Item=item)


def read_all(st, it, quiet=2):
    """Every record from iterator `it` on, following NextShardIterator until `quiet` empty pages
    in a row, as a reader must: a page can be empty before the records (under --aws-rules the
    first one is; DynamoDB Streams API Reference, GetRecords)."""
    out, empty = [], 0
    while it and empty < quiet:
        page = st.get_records(ShardIterator=it)
        out += page["Records"]
        empty = 0 if page["Records"] else empty + 1
        it = page.get("NextShardIterator")
    return out


def trim_horizon(emu, stream_arn):
    """Every record of the stream (DynamoDB Streams API, TRIM_HORIZON)."""
    st = emu("dynamodbstreams")
    shard = st.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    return read_all(st, st.get_shard_iterator(StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"])


def last_seq(emu, stream_arn):
    """The sequence number of the newest record of the stream (DynamoDB Streams API)."""
    return trim_horizon(emu, stream_arn)[-1]["dynamodb"]["SequenceNumber"]


def seq_by_key(emu, stream_arn, pk, event="INSERT"):
    """The sequence number of the stream's first `event` record of the item with that pk."""
    return next(r["dynamodb"]["SequenceNumber"] for r in trim_horizon(emu, stream_arn)
                if r["dynamodb"]["Keys"]["pk"]["S"] == pk and r["eventName"] == event)


def queue(emu, name):
    sqs = emu("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def messages(emu, url):
    return emu("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])


def shipped_stack(emu, suffix):
    """The shipped trigger on its own table: (table, stream ARN, mapping UUID, queue URL)."""
    name = f"messages-{suffix}"
    stream = table(emu, name, index=True)
    url, qarn = queue(emu, f"dlq-{suffix}")
    function(emu, f"stream-{suffix}", shipped_zip(), handler="lambda_function.lambda_handler", Timeout=10,
             Environment={"Variables": {"TABLE_NAME": name, "INDEX_NAME": INDEX}})
    m = emu("lambda").create_event_source_mapping(
        FunctionName=f"stream-{suffix}", EventSourceArn=stream, StartingPosition="LATEST", BatchSize=1,
        FunctionResponseTypes=["ReportBatchItemFailures"], FilterCriteria={"Filters": [{"Pattern": SHIPPED_FILTER}]},
        MaximumRetryAttempts=3, BisectBatchOnFunctionError=True,
        DestinationConfig={"OnFailure": {"Destination": qarn}},
    )
    return name, stream, m["UUID"], url


# -- the shipped trigger --------------------------------------------------------------------------
def test_a_message_moves_both_group_rows_in_one_invocation(emu):
    name, stream, uuid, _ = shipped_stack(emu, "move")
    put(emu, name, "GRP#u1", "2024-01-01T00:00:00Z", message_group_uuid="g", message="old")
    put(emu, name, "GRP#u2", "2024-01-01T00:00:00Z", message_group_uuid="g", message="old")
    put(emu, name, "MSG#g", "2024-02-01T00:00:00Z", message="hello", message_group_uuid="g")
    seq = seq_by_key(emu, stream, "MSG#g")  # (the handler's own writes may follow it at once)
    ddb = emu("dynamodb")

    def moved():
        rows = [ddb.query(TableName=name, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": p}})["Items"]
                for p in ("GRP#u1", "GRP#u2")]
        return all(len(r) == 1 and r[0]["sk"]["S"] == "2024-02-01T00:00:00Z" and r[0]["message"]["S"] == "hello" for r in rows)

    wait_for(moved, what="both group rows to move")
    time.sleep(0.6)  # the handler's own writes (GRP# rows) must not invoke it again
    done = invocations(emu, mapping=uuid)
    assert [(i["sequenceNumbers"], i["outcome"]) for i in done] == [([seq], "ok")]
    assert done[0]["source"] == uuid and done[0]["executedVersion"] == "$LATEST"
    conf = emu("lambda").get_event_source_mapping(UUID=uuid)
    assert conf["LastProcessingResult"] == "OK"
    # The handler's calls reached the emulator with its role's credentials, and say whose they are.
    calls = control(emu, "/_proxy/calls")
    assert any(c.get("function") == "stream-move" and c["action"] == "TransactWriteItems" for c in calls)
    # Its log lines are in its log group, between START and REPORT.
    logs = emu("logs")
    streams_ = logs.describe_log_streams(logGroupName="/aws/lambda/stream-move")["logStreams"]
    events = logs.get_log_events(logGroupName="/aws/lambda/stream-move", logStreamName=streams_[0]["logStreamName"])["events"]
    assert events[0]["message"].startswith("START RequestId: ") and any(e["message"].startswith("REPORT RequestId: ") for e in events)


def test_a_poison_record_is_retried_then_sent_to_the_queue_and_the_shard_moves_on(emu):
    name, stream, uuid, url = shipped_stack(emu, "poison")
    put(emu, name, "MSG#x", "2024-02-01T00:00:00Z")  # no `message`: the handler reports it failed
    poison = last_seq(emu, stream)
    got = wait_for(lambda: messages(emu, url), what="the on-failure record")
    assert len(got) == 1
    record = json.loads(got[0]["Body"])
    info = record["DDBStreamBatchInfo"]
    assert info["startSequenceNumber"] == poison and info["endSequenceNumber"] == poison
    assert info["batchSize"] == 1 and info["streamArn"] == stream and info["shardId"]
    assert info["approximateArrivalOfFirstRecord"].endswith("Z") and info["approximateArrivalOfLastRecord"].endswith("Z")
    ctx = record["requestContext"]
    assert ctx["condition"] == "RetryAttemptsExhausted" and ctx["approximateInvokeCount"] == 4
    assert ctx["functionArn"] == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:stream-poison"
    # A partial batch response is not a function error.
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": None}
    assert record["version"] == "1.0" and record["timestamp"].endswith("Z")
    tries = invocations(emu, mapping=uuid)
    assert [(i["sequenceNumbers"], i["outcome"], i["failedItems"]) for i in tries] == [([poison], "partial", [poison])] * 4
    assert emu("lambda").get_event_source_mapping(UUID=uuid)["LastProcessingResult"] == "PROBLEM: Function call failed"
    # The record itself is still in the stream (rule 44): AT_SEQUENCE_NUMBER, then GetRecords.
    st = emu("dynamodbstreams")
    it = st.get_shard_iterator(StreamArn=stream, ShardId=info["shardId"], ShardIteratorType="AT_SEQUENCE_NUMBER",
                               SequenceNumber=poison)["ShardIterator"]
    recs = st.get_records(ShardIterator=it)["Records"]
    assert recs[0]["dynamodb"]["SequenceNumber"] == poison and recs[0]["dynamodb"]["Keys"]["pk"] == {"S": "MSG#x"}
    # The shard moved on: a good message is processed.
    put(emu, name, "GRP#u1", "2024-01-01T00:00:00Z", message_group_uuid="h", message="old")
    put(emu, name, "MSG#h", "2024-03-01T00:00:00Z", message="next", message_group_uuid="h")
    good = seq_by_key(emu, stream, "MSG#h")
    wait_for(lambda: any(i["sequenceNumbers"] == [good] and i["outcome"] == "ok" for i in invocations(emu, mapping=uuid)),
             what="the next message")
    assert len(messages(emu, url)) == 1


# -- Invoke ---------------------------------------------------------------------------------------
def test_invoke_answers_as_lambda_does(emu):
    lam = emu("lambda")
    function(emu, "inv", inline("""
print("hello from", context.function_name, context.function_version, context.memory_limit_in_mb)
if event.get("boom"):
    raise ValueError("boom")
return {"got": event, "left": context.get_remaining_time_in_millis() > 0, "region": os.environ["AWS_REGION"],
        "arn": context.invoked_function_arn, "x": os.environ.get("X")}
"""), Environment={"Variables": {"X": "y"}}, MemorySize=256)
    r = lam.invoke(FunctionName="inv", Payload=json.dumps({"a": 1}), LogType="Tail")
    assert r["StatusCode"] == 200 and "FunctionError" not in r and r["ExecutedVersion"] == "$LATEST"
    assert json.loads(r["Payload"].read()) == {"got": {"a": 1}, "left": True, "region": REGION,
                                               "arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:inv", "x": "y"}
    log = base64.b64decode(r["LogResult"]).decode()
    assert log.startswith("START RequestId: ") and "hello from inv $LATEST 256" in log and "\nREPORT RequestId: " in log
    r = lam.invoke(FunctionName="inv", Payload=json.dumps({"boom": True}))
    assert r["StatusCode"] == 200 and r["FunctionError"] == "Unhandled"
    err = json.loads(r["Payload"].read())
    assert err["errorType"] == "ValueError" and err["errorMessage"] == "boom" and err["requestId"]
    assert any("raise ValueError" in frame for frame in err["stackTrace"])
    assert lam.invoke(FunctionName="inv", InvocationType="DryRun")["StatusCode"] == 204
    before = len(invocations(emu, function="inv"))
    assert lam.invoke(FunctionName="inv", InvocationType="Event", Payload=b'{"e": 1}')["StatusCode"] == 202
    wait_for(lambda: len(invocations(emu, function="inv")) == before + 1, what="the Event invocation")
    with pytest.raises(ClientError) as info:
        lam.invoke(FunctionName="no-such-function")
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert info.value.response["Error"]["Message"] == f"Function not found: arn:aws:lambda:{REGION}:{ACCOUNT}:function:no-such-function"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    # The metrics of the invocations (AWS/Lambda, FunctionName).
    metrics = emu("cloudwatch").list_metrics(Namespace="AWS/Lambda", MetricName="Errors")["Metrics"]
    assert {"Name": "FunctionName", "Value": "inv"} in [d for m in metrics for d in m["Dimensions"]]


def test_a_timeout_kills_the_handler(emu):
    function(emu, "slow", inline("time.sleep(event.get('sleep', 0))\nreturn 'done'"), Timeout=1)
    began = time.monotonic()
    r = emu("lambda").invoke(FunctionName="slow", Payload=b'{"sleep": 5}')
    assert time.monotonic() - began < 4
    assert r["FunctionError"] == "Unhandled"
    err = json.loads(r["Payload"].read())
    assert err["errorType"] == "Sandbox.Timedout"
    assert err["errorMessage"].endswith("Error: Task timed out after 1.00 seconds")
    # The next invocation gets a new environment.
    r = emu("lambda").invoke(FunctionName="slow", Payload=b"{}")
    assert "FunctionError" not in r and json.loads(r["Payload"].read()) == "done"


def test_a_qualifier_runs_the_code_that_version_was_published_with(emu):
    lam = emu("lambda")
    function(emu, "ver", inline("return 'one'"))
    lam.publish_version(FunctionName="ver")
    lam.update_function_code(FunctionName="ver", ZipFile=inline("return 'two'"))
    lam.publish_version(FunctionName="ver")
    lam.update_function_code(FunctionName="ver", ZipFile=inline("return 'three'"))
    lam.create_alias(FunctionName="ver", Name="live", FunctionVersion="1")

    def call(**kw):
        r = lam.invoke(**kw)
        return json.loads(r["Payload"].read()), r["ExecutedVersion"]

    assert call(FunctionName="ver") == ("three", "$LATEST")
    assert call(FunctionName="ver", Qualifier="1") == ("one", "1")
    assert call(FunctionName="ver:2") == ("two", "2")
    assert call(FunctionName="ver", Qualifier="live") == ("one", "1")
    assert call(FunctionName=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:ver:live") == ("one", "1")
    lam.update_alias(FunctionName="ver", Name="live", FunctionVersion="2")
    assert call(FunctionName=f"{ACCOUNT}:function:ver:live") == ("two", "2")
    with pytest.raises(ClientError) as info:
        lam.invoke(FunctionName="ver:1", Qualifier="2")
    assert info.value.response["Error"]["Code"] == "InvalidParameterValueException"
    with pytest.raises(ClientError) as info:
        lam.invoke(FunctionName="ver", Qualifier="nope")
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_mapping_on_an_alias_invokes_the_alias_version(emu):
    lam = emu("lambda")
    stream = table(emu, "alias-t")
    function(emu, "al", inline("return {'v': os.environ['AWS_LAMBDA_FUNCTION_VERSION']}"))
    lam.publish_version(FunctionName="al")
    lam.update_function_code(FunctionName="al", ZipFile=inline("return {'v': 'changed'}"))
    lam.publish_version(FunctionName="al")
    lam.create_alias(FunctionName="al", Name="live", FunctionVersion="1")
    m = lam.create_event_source_mapping(FunctionName="al:live", EventSourceArn=stream, StartingPosition="LATEST")
    assert m["FunctionArn"].endswith(":function:al:live")
    time.sleep(0.1)
    put(emu, "alias-t", "a", "1")
    first = wait_for(lambda: invocations(emu, mapping=m["UUID"]), what="the first batch")
    assert first[0]["executedVersion"] == "1" and first[0]["qualifier"] == "live"
    lam.update_alias(FunctionName="al", Name="live", FunctionVersion="2")
    put(emu, "alias-t", "b", "1")
    second = wait_for(lambda: invocations(emu, mapping=m["UUID"])[1:], what="the second batch")
    assert second[0]["executedVersion"] == "2"


def test_bisection_isolates_a_bad_record(emu):
    lam = emu("lambda")
    stream = table(emu, "bisect-t")
    url, qarn = queue(emu, "bisect-dlq")
    function(emu, "bis", inline("""
if any(r["dynamodb"]["Keys"]["pk"]["S"] == "bad" for r in event["Records"]):
    raise RuntimeError("bad record")
return None
"""))
    emu("dynamodb").batch_write_item(RequestItems={"bisect-t": [
        {"PutRequest": {"Item": {"pk": {"S": pk}, "sk": {"S": "1"}}}} for pk in ("a", "b", "c", "bad")
    ]})
    bad = last_seq(emu, stream)
    m = lam.create_event_source_mapping(
        FunctionName="bis", EventSourceArn=stream, StartingPosition="TRIM_HORIZON", BatchSize=4,
        BisectBatchOnFunctionError=True, MaximumRetryAttempts=1, DestinationConfig={"OnFailure": {"Destination": qarn}},
    )
    got = wait_for(lambda: messages(emu, url), what="the on-failure record")
    info = json.loads(got[0]["Body"])["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (bad, bad, 1)
    body = json.loads(got[0]["Body"])
    assert body["responseContext"]["functionError"] == "Unhandled"
    done = invocations(emu, mapping=m["UUID"])
    # 4 fails: halves [a b] ok and [c bad] fails, then [c] ok and [bad] fails, retried once.
    assert [(len(i["sequenceNumbers"]), i["outcome"]) for i in done] == [
        (4, "error"), (2, "ok"), (2, "error"), (1, "ok"), (1, "error"), (1, "error")]
    assert all(i["errorType"] == "RuntimeError" for i in done if i["outcome"] == "error")


def test_the_batching_window_waits_for_a_full_batch(emu):
    lam = emu("lambda")
    stream = table(emu, "window-t")
    function(emu, "win", inline("return None"))
    m = lam.create_event_source_mapping(FunctionName="win", EventSourceArn=stream, StartingPosition="LATEST",
                                        BatchSize=3, MaximumBatchingWindowInSeconds=1)
    time.sleep(0.1)
    began = time.monotonic()
    put(emu, "window-t", "a", "1")
    put(emu, "window-t", "b", "1")
    done = wait_for(lambda: invocations(emu, mapping=m["UUID"]), what="the window to close")
    assert time.monotonic() - began >= 0.9 and [len(i["sequenceNumbers"]) for i in done] == [2]
    began = time.monotonic()
    emu("dynamodb").batch_write_item(RequestItems={"window-t": [
        {"PutRequest": {"Item": {"pk": {"S": pk}, "sk": {"S": "2"}}}} for pk in ("c", "d", "e")]})
    done = wait_for(lambda: invocations(emu, mapping=m["UUID"])[1:], what="a full batch")
    assert time.monotonic() - began < 0.9 and [len(i["sequenceNumbers"]) for i in done] == [3]


def test_records_older_than_the_maximum_age_are_discarded(emu):
    lam = emu("lambda")
    stream = table(emu, "age-t")
    url, qarn = queue(emu, "age-dlq")
    function(emu, "age", inline("raise RuntimeError('always')"))
    m = lam.create_event_source_mapping(FunctionName="age", EventSourceArn=stream, StartingPosition="LATEST",
                                        MaximumRecordAgeInSeconds=1, DestinationConfig={"OnFailure": {"Destination": qarn}})
    time.sleep(0.1)
    put(emu, "age-t", "a", "1")
    got = wait_for(lambda: messages(emu, url), what="the on-failure record")
    ctx = json.loads(got[0]["Body"])["requestContext"]
    assert ctx["condition"] == "MaximumRecordAgeExceeded"
    assert ctx["approximateInvokeCount"] == len(invocations(emu, mapping=m["UUID"])) >= 2


def test_an_item_identifier_not_in_the_batch_fails_the_whole_batch(emu):
    lam = emu("lambda")
    stream = table(emu, "ids-t")
    url, qarn = queue(emu, "ids-dlq")
    function(emu, "ids", inline("return {'batchItemFailures': [{'itemIdentifier': 'not-a-sequence-number'}]}"))
    m = lam.create_event_source_mapping(FunctionName="ids", EventSourceArn=stream, StartingPosition="LATEST",
                                        FunctionResponseTypes=["ReportBatchItemFailures"], MaximumRetryAttempts=1,
                                        DestinationConfig={"OnFailure": {"Destination": qarn}})
    time.sleep(0.1)
    put(emu, "ids-t", "a", "1")
    got = wait_for(lambda: messages(emu, url), what="the on-failure record")
    assert json.loads(got[0]["Body"])["requestContext"]["approximateInvokeCount"] == 2
    assert [(i["outcome"], i["errorType"]) for i in invocations(emu, mapping=m["UUID"])] == [("error", "InvalidBatchItemFailures")] * 2


@pytest.mark.parametrize("result,verdict", [
    (None, ("ok", None)),
    ({}, ("ok", None)),
    ({"batchItemFailures": None}, ("ok", None)),
    ({"batchItemFailures": []}, ("ok", None)),
    ({"batchItemFailures": [{"itemIdentifier": "12"}, {"itemIdentifier": "11"}]}, ("partial", 11)),
    ({"batchItemFailures": [{"itemIdentifier": None}]}, ("invalid", None)),
    ({"batchItemFailures": [{"itemIdentifier": ""}]}, ("invalid", None)),
    ({"batchItemFailures": [{"itemIdentifer": "11"}]}, ("invalid", None)),  # a wrong key name
    ({"batchItemFailures": [{"itemIdentifier": "99"}]}, ("invalid", None)),
])
def test_partial_batch_responses(result, verdict):
    from emu.dataplane import Plane

    assert Plane.partial(result, ["10", "11", "12"]) == verdict


def test_a_function_of_another_account_runs_in_its_account(emu):
    import boto3

    creds = emu("sts").assume_role(RoleArn="arn:aws:iam::111111111111:role/admin", RoleSessionName="other")["Credentials"]
    other = boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                          aws_session_token=creds["SessionToken"], region_name=REGION)
    arn = other.client("iam", endpoint_url=emu.url).create_role(RoleName="other-fn", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    other.client("lambda", endpoint_url=emu.url).create_function(
        FunctionName="other", Runtime="python3.12", Role=arn, Handler="index.handler",
        Code={"ZipFile": inline("import boto3\nreturn boto3.client('sts').get_caller_identity()['Arn']")})
    r = emu("lambda").invoke(FunctionName="arn:aws:lambda:us-east-1:111111111111:function:other")
    assert json.loads(r["Payload"].read()) == "arn:aws:sts::111111111111:assumed-role/other-fn/other"


def test_trim_horizon_and_latest(emu):
    lam = emu("lambda")
    stream = table(emu, "pos-t", view="KEYS_ONLY")
    put(emu, "pos-t", "old", "1")
    function(emu, "pos-h", inline("return None"))
    function(emu, "pos-l", inline("return None"))
    h = lam.create_event_source_mapping(FunctionName="pos-h", EventSourceArn=stream, StartingPosition="TRIM_HORIZON")
    l_ = lam.create_event_source_mapping(FunctionName="pos-l", EventSourceArn=stream, StartingPosition="LATEST")
    time.sleep(0.2)
    put(emu, "pos-t", "new", "1")
    new = last_seq(emu, stream)
    wait_for(lambda: sum(len(i["sequenceNumbers"]) for i in invocations(emu, mapping=h["UUID"])) == 2, what="TRIM_HORIZON")
    wait_for(lambda: invocations(emu, mapping=l_["UUID"]), what="LATEST")
    time.sleep(0.3)
    assert [i["sequenceNumbers"] for i in invocations(emu, mapping=l_["UUID"])] == [[new]]


def test_a_keys_only_record_has_no_image(emu):
    lam = emu("lambda")
    stream = table(emu, "keys-t", view="KEYS_ONLY")
    function(emu, "keys", inline("print('EVENT ' + json.dumps(event))\nreturn None"))
    m = lam.create_event_source_mapping(FunctionName="keys", EventSourceArn=stream, StartingPosition="LATEST",
                                        FilterCriteria={"Filters": [{"Pattern": SHIPPED_FILTER}]})
    time.sleep(0.1)
    put(emu, "keys-t", "GRP#u", "1", message="filtered out")
    put(emu, "keys-t", "MSG#g", "1", message="text")
    seq = last_seq(emu, stream)
    done = wait_for(lambda: invocations(emu, mapping=m["UUID"]), what="the message")
    assert [i["sequenceNumbers"] for i in done] == [[seq]]
    logs = emu("logs")
    name = logs.describe_log_streams(logGroupName="/aws/lambda/keys")["logStreams"][0]["logStreamName"]
    line = next(e["message"] for e in logs.get_log_events(logGroupName="/aws/lambda/keys", logStreamName=name)["events"]
                if e["message"].startswith("EVENT "))
    record = json.loads(line[len("EVENT "):])["Records"][0]
    assert set(record) == {"eventID", "eventName", "eventVersion", "eventSource", "awsRegion", "dynamodb", "eventSourceARN"}
    assert (record["eventName"], record["eventVersion"], record["eventSource"], record["awsRegion"]) == ("INSERT", "1.1", "aws:dynamodb", REGION)
    assert record["eventSourceARN"] == stream
    d = record["dynamodb"]
    assert set(d) == {"ApproximateCreationDateTime", "Keys", "SequenceNumber", "SizeBytes", "StreamViewType"}
    assert d["Keys"] == {"pk": {"S": "MSG#g"}, "sk": {"S": "1"}} and d["StreamViewType"] == "KEYS_ONLY"
    assert isinstance(d["ApproximateCreationDateTime"], int) and d["SequenceNumber"] == seq


def test_a_disabled_mapping_does_not_poll(emu):
    lam = emu("lambda")
    stream = table(emu, "off-t")
    function(emu, "off", inline("return None"))
    m = lam.create_event_source_mapping(FunctionName="off", EventSourceArn=stream, StartingPosition="LATEST", Enabled=False)
    put(emu, "off-t", "a", "1")
    time.sleep(0.6)
    assert invocations(emu, mapping=m["UUID"]) == []
    lam.update_event_source_mapping(UUID=m["UUID"], Enabled=True)
    time.sleep(0.2)
    put(emu, "off-t", "b", "1")
    seq = last_seq(emu, stream)
    done = wait_for(lambda: invocations(emu, mapping=m["UUID"]), what="the record after enabling")
    assert done[-1]["sequenceNumbers"] == [seq]
    lam.delete_event_source_mapping(UUID=m["UUID"])
    put(emu, "off-t", "c", "1")
    time.sleep(0.5)
    assert len(invocations(emu, mapping=m["UUID"])) == len(done)


def test_expired_records_are_trimmed_data(emu):
    stream = table(emu, "expire-t")
    put(emu, "expire-t", "a", "1")
    seq = last_seq(emu, stream)
    st = emu("dynamodbstreams")
    shard = st.describe_stream(StreamArn=stream)["StreamDescription"]["Shards"][0]["ShardId"]
    old = st.get_shard_iterator(StreamArn=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert control(emu, "/_proxy/streams/expire?table=expire-t", "POST")["trimmed"] == 1
    for kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
        with pytest.raises(ClientError) as info:
            st.get_shard_iterator(StreamArn=stream, ShardId=shard, ShardIteratorType=kind, SequenceNumber=seq)
        assert info.value.response["Error"]["Code"] == "TrimmedDataAccessException"
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as info:
        st.get_records(ShardIterator=old)  # its position was trimmed since
    assert info.value.response["Error"]["Code"] == "TrimmedDataAccessException"
    it = st.get_shard_iterator(StreamArn=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert st.get_records(ShardIterator=it)["Records"] == []
    put(emu, "expire-t", "b", "1")  # numbering goes on after the trim
    assert int(last_seq(emu, stream)) == int(seq) + 1
    with pytest.raises(ClientError) as info:
        st.get_shard_iterator(StreamArn=stream, ShardId="shardId-nope", ShardIteratorType="LATEST")
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_stream_retention_trims_old_records():
    e = Emulator("--stream-retention", "0.5")
    try:
        stream = table(e, "ret-t")
        put(e, "ret-t", "a", "1")
        seq = last_seq(e, stream)
        time.sleep(0.7)
        st = e("dynamodbstreams")
        shard = st.describe_stream(StreamArn=stream)["StreamDescription"]["Shards"][0]["ShardId"]
        with pytest.raises(ClientError) as info:
            st.get_shard_iterator(StreamArn=stream, ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=seq)
        assert info.value.response["Error"]["Code"] == "TrimmedDataAccessException"
    finally:
        e.stop()


def test_latest_starts_when_the_mapping_is_enabled_under_aws_rules():
    e = Emulator("--aws-rules", "--busy-seconds", "0.6", "--iam-delay", "0")
    try:
        lam = e("lambda")
        stream = table(e, "rules-t")
        function(e, "rules", inline("return None"))
        time.sleep(0.6)  # the table and the function settle
        m = lam.create_event_source_mapping(FunctionName="rules", EventSourceArn=stream, StartingPosition="LATEST")
        assert lam.get_event_source_mapping(UUID=m["UUID"])["State"] == "Creating"
        put(e, "rules-t", "during", "1")
        wait_for(lambda: lam.get_event_source_mapping(UUID=m["UUID"])["State"] == "Enabled", what="Enabled")
        put(e, "rules-t", "after", "1")
        seq = last_seq(e, stream)
        done = wait_for(lambda: invocations(e, mapping=m["UUID"]), what="the record written once Enabled")
        time.sleep(0.3)
        assert [i["sequenceNumbers"] for i in invocations(e, mapping=m["UUID"])] == [[seq]]
    finally:
        e.stop()


def test_no_data_plane_runs_nothing():
    e = Emulator("--no-data-plane")
    try:
        stream = table(e, "quiet-t")
        function(e, "quiet", inline("return 1"))
        e("lambda").create_event_source_mapping(FunctionName="quiet", EventSourceArn=stream, StartingPosition="TRIM_HORIZON")
        put(e, "quiet-t", "a", "1")
        time.sleep(0.4)
        assert control(e, "/_proxy/invocations") == []
        assert last_seq(e, stream)  # the record stays in the stream all the same
    finally:
        e.stop()


# -- the filter matcher (tools/emu/filters.py) ----------------------------------------------------
RECORD = {
    "eventName": "INSERT",
    "awsRegion": "us-east-1",
    "dynamodb": {
        "Keys": {"pk": {"S": "MSG#g"}, "sk": {"S": "2024"}},
        "NewImage": {"pk": {"S": "MSG#g"}, "n": {"N": "5"}, "tags": {"L": [{"S": "a"}, {"S": "b"}]}},
        "SizeBytes": 42,
        "flag": True,
        "none": None,
        "ip": "10.0.0.7",
        "list": ["x", "y"],
    },
}


@pytest.mark.parametrize("pattern,expected", [
    ({"eventName": ["INSERT"]}, True),
    ({"eventName": ["MODIFY", "INSERT"]}, True),
    ({"eventName": ["REMOVE"]}, False),
    ({"dynamodb": {"Keys": {"pk": {"S": [{"prefix": "MSG#"}]}}}}, True),
    ({"dynamodb": {"Keys": {"pk": {"S": [{"prefix": "GRP#"}]}}}}, False),
    ({"dynamodb": {"Keys": {"pk": {"S": [{"prefix": {"equals-ignore-case": "msg#"}}]}}}}, True),
    ({"dynamodb": {"Keys": {"sk": {"S": [{"suffix": "24"}]}}}}, True),
    ({"dynamodb": {"Keys": {"sk": {"S": [{"suffix": {"equals-ignore-case": "X24"}}]}}}}, False),
    ({"eventName": [{"equals-ignore-case": "insert"}]}, True),
    ({"eventName": [{"wildcard": "IN*T"}]}, True),
    ({"eventName": [{"wildcard": "M*"}]}, False),
    ({"eventName": [{"anything-but": "REMOVE"}]}, True),
    ({"eventName": [{"anything-but": ["INSERT", "REMOVE"]}]}, False),
    ({"eventName": [{"anything-but": {"prefix": "IN"}}]}, False),
    ({"eventName": [{"anything-but": {"suffix": "VE"}}]}, True),
    ({"eventName": [{"anything-but": {"equals-ignore-case": ["insert"]}}]}, False),
    ({"dynamodb": {"SizeBytes": [{"numeric": [">", 40, "<=", 42]}]}}, True),
    ({"dynamodb": {"SizeBytes": [{"numeric": ["<", 42]}]}}, False),
    ({"dynamodb": {"SizeBytes": [{"numeric": ["=", 42]}]}}, True),
    ({"dynamodb": {"SizeBytes": [42]}}, True),
    ({"dynamodb": {"SizeBytes": ["42"]}}, False),  # a number is not its string
    ({"dynamodb": {"NewImage": {"n": {"N": [{"numeric": [">", 1]}]}}}}, False),  # DynamoDB numbers are strings
    ({"dynamodb": {"NewImage": {"n": {"N": ["5"]}}}}, True),
    ({"dynamodb": {"flag": [True]}}, True),
    ({"dynamodb": {"flag": ["true"]}}, False),
    ({"dynamodb": {"none": [None]}}, True),
    ({"dynamodb": {"none": [{"exists": True}]}}, True),
    ({"dynamodb": {"NewImage": {"message": [{"exists": False}]}}}, True),
    ({"dynamodb": {"NewImage": {"pk": [{"exists": False}]}}}, False),
    ({"dynamodb": {"OldImage": {"pk": {"S": [{"exists": True}]}}}}, False),
    ({"dynamodb": {"OldImage": {"pk": {"S": [{"exists": False}]}}}}, True),
    ({"dynamodb": {"NewImage": {"pk": [{"exists": True}]}}}, False),  # exists matches leaves only
    ({"dynamodb": {"ip": [{"cidr": "10.0.0.0/24"}]}}, True),
    ({"dynamodb": {"ip": [{"cidr": "10.0.1.0/24"}]}}, False),
    ({"dynamodb": {"list": ["y"]}}, True),  # an array matches if any element does
    ({"dynamodb": {"NewImage": {"tags": {"L": {"S": ["b"]}}}}}, True),
    ({"body": ["x"]}, False),
    ({"eventName": ["INSERT"], "awsRegion": ["eu-west-1"]}, False),
    ({"$or": [{"eventName": ["REMOVE"]}, {"awsRegion": ["us-east-1"]}]}, True),
    ({"$or": [{"eventName": ["REMOVE"]}, {"awsRegion": ["eu-west-1"]}]}, False),
    ({"dynamodb": {"$or": [{"SizeBytes": [1]}, {"flag": [True]}]}}, True),
])
def test_filter_matching(pattern, expected):
    assert filters.matches(pattern, RECORD) is expected


def test_filters_are_ored_and_none_lets_everything_through():
    no = {"Pattern": json.dumps({"eventName": ["REMOVE"]})}
    yes = {"Pattern": json.dumps({"eventName": ["INSERT"]})}
    assert filters.matches_any([no, yes], RECORD)
    assert not filters.matches_any([no], RECORD)
    assert filters.matches_any(None, RECORD) and filters.matches_any([], RECORD)
