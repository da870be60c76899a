"""The stream handler against moto in-process: the table as infra.yaml declares it, real
stream records read from moto's DynamoDB Streams API, passed to the handler as a Lambda event."""

import json
import os
import re

import boto3
import pytest
import yaml
from moto import mock_aws

import lambda_function

REPO = os.path.join(os.path.dirname(__file__), "..", "..")
TABLE = "cruddur-messages"
INDEX = "message-group-sk-index"
GROUP = "5ae290ed-55d1-47a0-bc6d-fe2bc2700399"
ANDREW = "a1"
BAYKO = "b2"
T0 = "2026-11-01T10:00:00.000000+00:00"


def spec_table():
    with open(os.path.join(REPO, "infra.yaml")) as f:
        return yaml.safe_load(f)["tables"][TABLE]


def create_table(ddb):
    """CreateTable from the spec's declaration of cruddur-messages."""
    t = spec_table()
    attrs, keys = {}, []
    for role, k in (("HASH", t["partition_key"]), ("RANGE", t.get("sort_key"))):
        if k:
            attrs[k["name"]] = k["type"]
            keys.append({"AttributeName": k["name"], "KeyType": role})
    gsis = []
    for name, g in t["global_secondary_indexes"].items():
        gkeys = []
        for role, k in (("HASH", g["partition_key"]), ("RANGE", g.get("sort_key"))):
            if k:
                attrs[k["name"]] = k["type"]
                gkeys.append({"AttributeName": k["name"], "KeyType": role})
        gsis.append(
            {
                "IndexName": name,
                "KeySchema": gkeys,
                "Projection": {"ProjectionType": g["projection"].upper()},
                "ProvisionedThroughput": {
                    "ReadCapacityUnits": g["capacity"]["read"],
                    "WriteCapacityUnits": g["capacity"]["write"],
                },
            }
        )
    out = ddb.create_table(
        TableName=TABLE,
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": ty} for n, ty in attrs.items()],
        KeySchema=keys,
        GlobalSecondaryIndexes=gsis,
        ProvisionedThroughput={"ReadCapacityUnits": t["capacity"]["read"], "WriteCapacityUnits": t["capacity"]["write"]},
        StreamSpecification={"StreamEnabled": True, "StreamViewType": t["stream"].upper()},
    )
    return out["TableDescription"]["LatestStreamArn"]


class Stream:
    """Reads the table's stream from where the last read stopped."""

    def __init__(self, arn):
        # moto 5.2.5 does not route botocore's account-based streams endpoint
        # (ACCOUNT.streams-ddb.REGION.amazonaws.com): name the regional one.
        self.streams = boto3.client("dynamodbstreams", endpoint_url="https://streams.dynamodb.us-east-1.amazonaws.com")
        shard = self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        self.iterator = self.streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
            "ShardIterator"
        ]

    def read(self):
        out = self.streams.get_records(ShardIterator=self.iterator)
        self.iterator = out["NextShardIterator"]
        records = out["Records"]
        for r in records:
            r["eventSource"] = "aws:dynamodb"
        return records


@pytest.fixture
def env(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("TABLE_NAME", TABLE)
    monkeypatch.setenv("INDEX_NAME", INDEX)
    with mock_aws():
        lambda_function._client = None
        ddb = boto3.client("dynamodb")
        stream = Stream(create_table(ddb))
        calls = []
        lambda_function.client().meta.events.register(
            "before-call.dynamodb", lambda model, **kw: calls.append(model.name)
        )
        yield ddb, stream, calls
        lambda_function._client = None


def put_group(ddb, owner, other, sk=T0, message="hello"):
    ddb.put_item(
        TableName=TABLE,
        Item={
            "pk": {"S": f"GRP#{owner}"},
            "sk": {"S": sk},
            "message_group_uuid": {"S": GROUP},
            "message": {"S": message},
            "user_uuid": {"S": other},
            "user_display_name": {"S": f"name of {other}"},
            "user_handle": {"S": f"@{other}"},
        },
    )


def put_message(ddb, created_at, text, group=GROUP, sender=ANDREW, with_text=True):
    item = {
        "pk": {"S": f"MSG#{group}"},
        "sk": {"S": created_at},
        "message_uuid": {"S": f"m-{created_at}"},
        "user_uuid": {"S": sender},
        "user_display_name": {"S": "Andrew"},
        "user_handle": {"S": "@andrew"},
    }
    if with_text:
        item["message"] = {"S": text}
    ddb.put_item(TableName=TABLE, Item=item)


def groups(ddb):
    """owner -> (sk, message, other attributes) of every group row."""
    rows = ddb.scan(TableName=TABLE)["Items"]
    out = {}
    for r in rows:
        if r["pk"]["S"].startswith("GRP#"):
            owner = r["pk"]["S"][4:]
            assert owner not in out, f"two group rows for {owner}: a conversation was duplicated"
            out[owner] = (r["sk"]["S"], r["message"]["S"], r["user_uuid"]["S"], r["user_handle"]["S"])
    return out


def seeded(ddb, stream):
    put_group(ddb, ANDREW, BAYKO)
    put_group(ddb, BAYKO, ANDREW)
    return stream.read()  # the group rows' own INSERT events


def handle(records):
    return lambda_function.lambda_handler({"Records": records}, None)


def test_one_message_moves_both_group_rows(env):
    ddb, stream, _ = env
    group_events = seeded(ddb, stream)
    put_message(ddb, "2026-11-02T09:00:00.000000+00:00", "hi Bayko")
    result = handle(group_events + stream.read())
    assert result == {"batchItemFailures": []}
    assert groups(ddb) == {
        ANDREW: ("2026-11-02T09:00:00.000000+00:00", "hi Bayko", BAYKO, f"@{BAYKO}"),
        BAYKO: ("2026-11-02T09:00:00.000000+00:00", "hi Bayko", ANDREW, f"@{ANDREW}"),
    }


def test_every_record_of_a_batch_counts_and_the_newest_message_wins_out_of_order(env):
    ddb, stream, _ = env
    seeded(ddb, stream)
    put_message(ddb, "2026-11-02T09:00:03.000000+00:00", "third")
    put_message(ddb, "2026-11-02T09:00:01.000000+00:00", "first")
    put_message(ddb, "2026-11-02T09:00:02.000000+00:00", "second")
    other = "7f0c9e4e-0000-4000-8000-000000000001"
    put_group(ddb, "c3", ANDREW, message="old")
    # the other group's row for c3 only: found by its own message
    ddb.update_item(
        TableName=TABLE,
        Key={"pk": {"S": "GRP#c3"}, "sk": {"S": T0}},
        UpdateExpression="SET message_group_uuid = :g",
        ExpressionAttributeValues={":g": {"S": other}},
    )
    put_message(ddb, "2026-11-02T09:00:05.000000+00:00", "to c3", group=other)
    result = handle(stream.read())
    assert result == {"batchItemFailures": []}
    g = groups(ddb)
    assert g[ANDREW][:2] == ("2026-11-02T09:00:03.000000+00:00", "third")
    assert g[BAYKO][:2] == ("2026-11-02T09:00:03.000000+00:00", "third")
    assert g["c3"][:2] == ("2026-11-02T09:00:05.000000+00:00", "to c3")


def test_a_replayed_older_record_never_moves_a_group_backwards(env):
    ddb, stream, _ = env
    seeded(ddb, stream)
    put_message(ddb, "2026-11-02T09:00:01.000000+00:00", "older")
    older = stream.read()
    put_message(ddb, "2026-11-02T09:00:02.000000+00:00", "newer")
    newer = stream.read()
    handle(older)
    handle(newer)
    # Redelivery of both, in any order, changes nothing.
    assert handle(older) == {"batchItemFailures": []}
    assert handle(older + newer) == {"batchItemFailures": []}
    g = groups(ddb)
    assert g[ANDREW][:2] == ("2026-11-02T09:00:02.000000+00:00", "newer")
    assert g[BAYKO][:2] == ("2026-11-02T09:00:02.000000+00:00", "newer")


def test_remove_events_and_group_row_events_are_ignored(env):
    ddb, stream, calls = env
    group_events = seeded(ddb, stream)
    put_message(ddb, "2026-11-02T09:00:01.000000+00:00", "to be deleted")
    ddb.delete_item(TableName=TABLE, Key={"pk": {"S": f"MSG#{GROUP}"}, "sk": {"S": "2026-11-02T09:00:01.000000+00:00"}})
    records = stream.read()
    removes = [r for r in records if r["eventName"] == "REMOVE"]
    assert len(removes) == 1
    calls.clear()
    assert handle(group_events + removes) == {"batchItemFailures": []}
    assert calls == [], "ignored events must not reach DynamoDB"
    assert groups(ddb)[ANDREW][:2] == (T0, "hello")
    # The group rows' own events from a real move are ignored too: no loop.
    handle(records)
    moved = stream.read()
    assert moved and all(r["dynamodb"]["Keys"]["pk"]["S"].startswith("GRP#") for r in moved)
    calls.clear()
    assert handle(moved) == {"batchItemFailures": []}
    assert calls == []


def test_a_failing_record_is_reported_and_the_rest_of_the_batch_is_processed(env):
    ddb, stream, _ = env
    seeded(ddb, stream)
    other = "7f0c9e4e-0000-4000-8000-000000000002"
    put_message(ddb, "2026-11-02T09:00:01.000000+00:00", None, group=other, with_text=False)
    put_message(ddb, "2026-11-02T09:00:02.000000+00:00", "still delivered")
    records = stream.read()
    bad = records[0]["dynamodb"]["SequenceNumber"]
    result = handle(records)
    assert result == {"batchItemFailures": [{"itemIdentifier": bad}]}
    assert groups(ddb)[ANDREW][:2] == ("2026-11-02T09:00:02.000000+00:00", "still delivered")


def test_a_group_whose_update_fails_is_reported_not_the_whole_batch(env, monkeypatch):
    ddb, stream, _ = env
    seeded(ddb, stream)
    other = "7f0c9e4e-0000-4000-8000-000000000003"
    put_group(ddb, "c3", ANDREW)
    ddb.update_item(
        TableName=TABLE,
        Key={"pk": {"S": "GRP#c3"}, "sk": {"S": T0}},
        UpdateExpression="SET message_group_uuid = :g",
        ExpressionAttributeValues={":g": {"S": other}},
    )
    put_message(ddb, "2026-11-02T09:00:01.000000+00:00", "to c3", group=other)
    put_message(ddb, "2026-11-02T09:00:02.000000+00:00", "fine")
    records = [r for r in stream.read() if r["dynamodb"]["Keys"]["pk"]["S"].startswith("MSG#")]
    real = lambda_function._move_group

    def flaky(table, index, group, created_at, text):
        if group == other:
            raise RuntimeError("injected failure")
        return real(table, index, group, created_at, text)

    monkeypatch.setattr(lambda_function, "_move_group", flaky)
    result = handle(records)
    assert result == {"batchItemFailures": [{"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}]}
    assert groups(ddb)[ANDREW][:2] == ("2026-11-02T09:00:02.000000+00:00", "fine")


def test_the_move_is_one_transaction_of_deletes_and_puts(env):
    ddb, stream, calls = env
    seeded(ddb, stream)
    put_message(ddb, "2026-11-02T09:00:01.000000+00:00", "x")
    calls.clear()
    handle(stream.read())
    assert calls == ["Query", "TransactWriteItems"]


def test_the_inline_policy_allows_exactly_what_the_handler_calls(env):
    """Query on the index; PutItem and DeleteItem (inside TransactWriteItems) on the table; and,
    for Lambda itself, SendMessage on exactly the trigger's on-failure queue (Lambda sends a
    failed batch there with the function's role)."""
    ddb, stream, calls = env
    seeded(ddb, stream)
    put_message(ddb, "2026-11-02T09:00:01.000000+00:00", "x")
    calls.clear()
    handle(stream.read())
    needs = {"Query": {("dynamodb:Query", "index")}, "TransactWriteItems": {("dynamodb:PutItem", "table"), ("dynamodb:DeleteItem", "table")}}
    used = set().union(*(needs[c] for c in calls))
    with open(os.path.join(REPO, "policies", "cruddur-message-stream-policy.json")) as f:
        doc = json.load(f)
    granted = set()
    for st in doc["Statement"]:
        assert st["Effect"] == "Allow"
        actions = [st["Action"]] if isinstance(st["Action"], str) else st["Action"]
        resources = [st["Resource"]] if isinstance(st["Resource"], str) else st["Resource"]
        for a in actions:
            for r in resources:
                if a.startswith("sqs:"):
                    granted.add((a, r))
                    continue
                kind = "index" if re.search(r"/index/", r) else "table"
                granted.add((a, kind))
    used.add(("sqs:SendMessage", "${queues.%s.arn}" % spec_trigger()["on_failure"]))
    assert granted == used


def spec_trigger():
    with open(os.path.join(REPO, "infra.yaml")) as f:
        return yaml.safe_load(f)["functions"]["cruddur-messaging-stream"]["triggers"][0]


def matches(pattern, event):
    """AWS's event filter matching, for the operators infra.yaml uses: a nested mapping descends,
    a list holds alternatives (a value equal to the field, or `{prefix: ...}`)."""
    for key, want in pattern.items():
        if not isinstance(event, dict) or key not in event:
            return False
        have = event[key]
        if isinstance(want, dict):
            if not matches(want, have):
                return False
        elif not any(alternative(a, have) for a in want):
            return False
    return True


def alternative(a, value):
    if isinstance(a, dict):
        assert set(a) == {"prefix"}, f"operator not implemented in this test: {a}"
        return isinstance(value, str) and value.startswith(a["prefix"])
    return a == value


def test_the_trigger_filter_lets_exactly_one_record_of_a_message_through(env):
    ddb, stream, _ = env
    seeded(ddb, stream)
    put_message(ddb, "2026-11-02T09:00:00.000000+00:00", "hi Bayko")
    message = stream.read()
    assert handle(message) == {"batchItemFailures": []}
    own = stream.read()  # the handler's own writes: each group row deleted and put again
    records = message + own
    assert sorted(r["eventName"] for r in records) == ["INSERT", "INSERT", "INSERT", "REMOVE", "REMOVE"]
    patterns = spec_trigger()["filter"]
    invoked = [r for r in records if any(matches(p, r) for p in patterns)]
    # 5 invocations per message without the filter, 1 with it.
    assert len(records) == 5 and len(invoked) == 1
    assert invoked[0]["eventName"] == "INSERT" and invoked[0]["dynamodb"]["Keys"]["pk"]["S"].startswith("MSG#")
