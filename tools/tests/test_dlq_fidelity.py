"""tools/emulator.py --aws-rules where `cruddur-infra dlq` is fragile (docs/aws-behaviour.md rules
44 and 45): SQS short polls sample (tools/emu/sqs.py), a queue's message counts lag behind its
messages (tools/emu/consistency.py), a fresh stream iterator's first page is empty
(tools/emu/streams.py), and Invoke refuses a payload over its quota; and plain mode, which does
none of it. Through boto3 on the wire; each test uses its own queues, tables and functions."""

import json
import sys
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

TOOLS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TOOLS))

from conftest import Emulator  # noqa: E402
from emu.consistency import SqsLag  # noqa: E402

COUNT_LAG = 1.0
RULES = ["--aws-rules", "--busy-seconds", "0", "--iam-delay", "0", "--sqs-lag", "0",
         "--sqs-count-lag", str(COUNT_LAG), "--seed", "7"]
SYNC_MAX, EVENT_MAX = 6291456, 1048576


@pytest.fixture(scope="module")
def aws():
    e = Emulator(*RULES)
    e("sqs").list_queues()  # the models load now, not inside a lag window
    yield e
    e.stop()


@pytest.fixture(scope="module")
def plain():
    e = Emulator()
    yield e
    e.stop()


def queue(emu, name, messages=0, **attributes):
    sqs = emu("sqs")
    url = sqs.create_queue(QueueName=name, Attributes={k: str(v) for k, v in attributes.items()})["QueueUrl"]
    for i in range(messages):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
    return url


def ids(emu, url, **kw):
    out = emu("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10, **kw).get("Messages", [])
    return {m["MessageId"] for m in out}


def counts(emu, url):
    a = emu("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"])


# -- B.1: short polls sample ----------------------------------------------------------------------
def test_a_short_poll_returns_a_random_subset_and_a_long_poll_all(aws):
    url = queue(aws, "fid-sample", 8)
    time.sleep(COUNT_LAG)
    every = ids(aws, url, VisibilityTimeout=0, WaitTimeSeconds=1)
    assert len(every) == 8, "a long poll asks every server"
    polls = [ids(aws, url, VisibilityTimeout=0, WaitTimeSeconds=0) for _ in range(40)]
    assert all(p <= every for p in polls)
    assert any(len(p) < 8 for p in polls), "a short poll samples"
    assert set().union(*polls) == every, "repeated, the short polls see every message"
    # WaitTimeSeconds not given: the queue's ReceiveMessageWaitTimeSeconds decides.
    assert any(len(ids(aws, url, VisibilityTimeout=0)) < 8 for _ in range(20))
    long_url = queue(aws, "fid-sample-long", 8, ReceiveMessageWaitTimeSeconds=1)
    assert all(len(ids(aws, long_url, VisibilityTimeout=0)) == 8 for _ in range(3))


def test_a_short_poll_of_a_nearly_empty_queue_may_return_nothing(aws):
    url = queue(aws, "fid-one", 1)
    sizes = [len(ids(aws, url, VisibilityTimeout=0, WaitTimeSeconds=0)) for _ in range(20)]
    assert 0 in sizes and 1 in sizes


def test_messages_a_short_poll_did_not_sample_are_untouched(aws):
    url = queue(aws, "fid-untouched", 8)
    while True:
        got = ids(aws, url, VisibilityTimeout=60, WaitTimeSeconds=0)
        if 0 < len(got) < 8:
            break
        if got:  # all 8 sampled (hidden now): start again with a fresh queue
            url = queue(aws, f"fid-untouched-{time.monotonic_ns()}", 8)
    rest = ids(aws, url, VisibilityTimeout=0, WaitTimeSeconds=1)
    assert len(rest) == 8 - len(got) and not rest & got, "the others are still visible, never received"
    attrs = aws("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, WaitTimeSeconds=1,
                                       MessageSystemAttributeNames=["ApproximateReceiveCount"])["Messages"]
    assert all(m["Attributes"]["ApproximateReceiveCount"] == "2" for m in attrs), "one peek before this one"


def test_the_samples_follow_the_seed():
    def run():
        e = Emulator(*RULES)
        try:
            url = queue(e, "fid-seeded", 6)
            return [len(ids(e, url, VisibilityTimeout=0, WaitTimeSeconds=0)) for _ in range(12)]
        finally:
            e.stop()

    assert run() == run()


def test_plain_mode_returns_every_visible_message(plain):
    url = queue(plain, "fid-plain", 8)
    assert all(len(ids(plain, url, VisibilityTimeout=0)) == 8 for _ in range(5))


# -- B.2: the counts lag ----------------------------------------------------------------------------
def test_the_counts_lag_behind_sends_receives_and_deletes(aws):
    url = queue(aws, "fid-counts")
    sqs = aws("sqs")
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
    assert counts(aws, url) == (0, 0), "just sent: not counted yet"
    everything = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert everything["ApproximateNumberOfMessages"] == "0"
    time.sleep(COUNT_LAG + 0.1)
    assert counts(aws, url) == (3, 0)
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=60, WaitTimeSeconds=1)["Messages"]
    assert counts(aws, url) == (3, 0), "just received: still counted as visible"
    time.sleep(COUNT_LAG + 0.1)
    assert counts(aws, url) == (2, 1)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=received[0]["ReceiptHandle"])
    assert counts(aws, url) == (2, 1), "just deleted: still in flight"
    time.sleep(COUNT_LAG + 0.1)
    assert counts(aws, url) == (2, 0)


def test_a_peek_changes_no_count_and_opens_no_window(aws):
    url = queue(aws, "fid-peek", 2)
    time.sleep(COUNT_LAG + 0.1)
    assert len(ids(aws, url, VisibilityTimeout=0, WaitTimeSeconds=1)) == 2
    assert counts(aws, url) == (2, 0)
    aws("sqs").send_message(QueueUrl=url, MessageBody="late")
    time.sleep(COUNT_LAG / 2)
    ids(aws, url, VisibilityTimeout=0, WaitTimeSeconds=1)  # a peek inside the window does not extend it
    time.sleep(COUNT_LAG / 2 + 0.1)
    assert counts(aws, url) == (3, 0)


def test_changes_in_a_row_keep_the_earlier_counts_until_they_stop():
    """SqsLag on its own (as the data plane's sends reach it, through `changing`): the counts from
    before the first change of a window, until `count_lag` passes without another."""
    live = {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0",
            "ApproximateNumberOfMessagesDelayed": "0"}
    rule = SqsLag(0, 0, count_lag=1.0, counts=lambda q: dict(live))
    q = ("123456789012", "us-east-1", "q")
    ctx = {"scope": q[:2]}
    req = {"QueueUrl": "http://x/123456789012/q", "AttributeNames": ["ApproximateNumberOfMessages"]}

    def answered():
        reply = rule.after("GetQueueAttributes", req, "200 OK", json.dumps({"Attributes": dict(live)}).encode(), ctx)
        return (reply.doc if reply else {"Attributes": live})["Attributes"]["ApproximateNumberOfMessages"]

    for n in range(1, 5):
        with rule.changing(q):
            live["ApproximateNumberOfMessages"] = str(n)
        assert answered() == "0", "still changing: the counts from before the first change"
        time.sleep(0.4)  # 1.6 s in all: longer than the lag, never that long without a change
    with rule.changing(q):
        pass  # no change: the window is not extended
    time.sleep(0.7)
    assert answered() == "4"


def test_plain_mode_counts_at_once(plain):
    url = queue(plain, "fid-plain-counts", 2)
    assert counts(plain, url) == (2, 0)


# -- B.3: a fresh iterator's first page ------------------------------------------------------------
def stream(emu, name, items=2):
    ddb, st = emu("dynamodb"), emu("dynamodbstreams")
    arn = ddb.create_table(
        TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]["LatestStreamArn"]
    for i in range(items):
        ddb.put_item(TableName=name, Item={"pk": {"S": f"k{i}"}})
    shard = st.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    return arn, shard


def test_a_fresh_iterator_answers_an_empty_page_before_the_records(aws):
    st = aws("dynamodbstreams")
    arn, shard = stream(aws, "fid-stream")
    it = st.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    first = st.get_records(ShardIterator=it)
    assert first["Records"] == [] and first["NextShardIterator"] and first["NextShardIterator"] != it
    second = st.get_records(ShardIterator=first["NextShardIterator"])
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in second["Records"]] == ["k0", "k1"]
    assert st.get_records(ShardIterator=second["NextShardIterator"])["Records"] == [], "the tip: empty"
    seq = second["Records"][1]["dynamodb"]["SequenceNumber"]
    at = st.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=seq)
    page = st.get_records(ShardIterator=at["ShardIterator"])
    assert page["Records"] == []
    assert [r["dynamodb"]["SequenceNumber"] for r in st.get_records(ShardIterator=page["NextShardIterator"])["Records"]] == [seq]


def test_a_fresh_iterator_of_a_trimmed_position_is_trimmed_data(aws):
    import urllib.request

    st = aws("dynamodbstreams")
    arn, shard = stream(aws, "fid-trimmed")
    it = st.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    urllib.request.urlopen(urllib.request.Request(aws.url + "/_proxy/streams/expire?table=fid-trimmed", method="POST")).read()
    with pytest.raises(ClientError) as e:
        st.get_records(ShardIterator=it)
    assert e.value.response["Error"]["Code"] == "TrimmedDataAccessException"


def test_plain_mode_reads_the_records_at_once(plain):
    st = plain("dynamodbstreams")
    arn, shard = stream(plain, "fid-plain-stream")
    it = st.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert len(st.get_records(ShardIterator=it)["Records"]) == 2


# -- B.4: Invoke's payload quota --------------------------------------------------------------------
def payload(n):
    """A JSON document of exactly n bytes."""
    return b'"' + b"x" * (n - 2) + b'"'


def refused(call):
    with pytest.raises(ClientError) as e:
        call()
    return e.value.response


def test_an_invoke_payload_over_its_quota_is_refused(aws):
    lam = aws("lambda")
    r = refused(lambda: lam.invoke(FunctionName="fid-none", Payload=payload(SYNC_MAX + 1)))
    assert (r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]) == ("RequestEntityTooLargeException", 413)
    assert r["Error"]["Message"] == "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
    # At the quota, the payload is taken (the function is not there: the next check speaks).
    r = refused(lambda: lam.invoke(FunctionName="fid-none", Payload=payload(SYNC_MAX)))
    assert r["Error"]["Code"] == "ResourceNotFoundException"
    r = refused(lambda: lam.invoke(FunctionName="fid-none", InvocationType="Event", Payload=payload(EVENT_MAX + 1)))
    assert (r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]) == ("RequestEntityTooLargeException", 413)
    assert r["Error"]["Message"] == (
        f"{EVENT_MAX + 1} byte payload is too large for the Event invocation type (limit {EVENT_MAX} bytes)")
    r = refused(lambda: lam.invoke(FunctionName="fid-none", InvocationType="Event", Payload=payload(EVENT_MAX)))
    assert r["Error"]["Code"] == "ResourceNotFoundException"


def test_plain_mode_takes_any_payload(plain):
    r = refused(lambda: plain("lambda").invoke(FunctionName="fid-none", Payload=payload(SYNC_MAX + 1)))
    assert r["Error"]["Code"] == "ResourceNotFoundException"
