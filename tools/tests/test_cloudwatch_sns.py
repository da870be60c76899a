"""tools/emulator.py: CloudWatch in Smithy RPC v2 CBOR, translated to moto's query form, with its
alarms as AWS keeps them (docs/aws-behaviour.md rule 41, any mode), and SNS topics and email
subscriptions as AWS keeps them (rule 42, --aws-rules; plain mode keeps moto's behaviour).

boto3 itself prefers CloudWatch's JSON protocol: `emu("cloudwatch", protocol=CBOR)` is a client
whose model lists only CBOR, as aws-sdk-cloudwatch speaks it; one test also sends raw CBOR."""

import datetime
import time

import cbor2
import pytest
import requests
from botocore.exceptions import ClientError

from conftest import Emulator

CBOR = "smithy-rpc-v2-cbor"
ACCOUNT = "123456789012"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts"
RPC = "/service/GraniteServiceVersion20100801/operation/"
AUTH = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/monitoring/aws4_request, SignedHeaders=host, Signature=0"


@pytest.fixture(scope="module")
def plain():
    emu = Emulator()
    yield emu
    emu.stop()


@pytest.fixture(scope="module")
def rules():
    emu = Emulator("--aws-rules")
    yield emu
    emu.stop()


@pytest.fixture(params=["plain", "rules"])
def emu(request, plain, rules):
    """Each CloudWatch test in both modes: the translation and the alarm fixes are in any mode."""
    return plain if request.param == "plain" else rules


@pytest.fixture
def cw(emu):
    return emu("cloudwatch", protocol=CBOR)


def refused(call, code, message=None):
    with pytest.raises(ClientError) as info:
        call()
    err = info.value.response["Error"]
    assert err["Code"] == code, err
    if message is not None:
        assert err["Message"] == message
    return info.value.response


def alarm_arn(name):
    return f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:{name}"


def full_alarm(name, **extra):
    return {
        "AlarmName": name,
        "AlarmDescription": "errors of the stream consumer",
        "Namespace": "AWS/Lambda",
        "MetricName": "Errors",
        "Dimensions": [{"Name": "FunctionName", "Value": "cruddur-messaging-stream"}],
        "Statistic": "Sum",
        "Period": 60,
        "EvaluationPeriods": 5,
        "Threshold": 1.5,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
        "AlarmActions": [TOPIC],
        "OKActions": [TOPIC],
        "Tags": [{"Key": "app", "Value": "cruddur"}, {"Key": "env", "Value": "dev"}],
    } | extra


def small_alarm(name, **extra):
    return {"AlarmName": name, "Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
            "Statistic": "Maximum", "Period": 300, "EvaluationPeriods": 1, "Threshold": 1.0,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold"} | extra


def described(cw, name):
    alarms = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    assert len(alarms) == 1, alarms
    return alarms[0]


def tags(cw, name):
    return {t["Key"]: t["Value"] for t in cw.list_tags_for_resource(ResourceARN=alarm_arn(name))["Tags"]}


def recent(ts):
    assert isinstance(ts, datetime.datetime) and ts.tzinfo is not None
    return abs((datetime.datetime.now(datetime.timezone.utc) - ts).total_seconds()) < 60


# -- rule 41: CloudWatch alarms through CBOR ----------------------------------------------------
def test_an_alarm_comes_back_as_it_was_put(cw):
    cw.put_metric_alarm(**full_alarm("full"))
    a = described(cw, "full")
    want = full_alarm("full")
    for key in ("AlarmDescription", "Namespace", "MetricName", "Dimensions", "Statistic", "Period", "EvaluationPeriods",
                "Threshold", "ComparisonOperator", "TreatMissingData", "AlarmActions", "OKActions"):
        assert a[key] == want[key], key
    assert a["AlarmArn"] == alarm_arn("full")
    assert a["ActionsEnabled"] is True
    assert isinstance(a["Threshold"], float) and isinstance(a["Period"], int)
    # A new alarm is INSUFFICIENT_DATA until evaluated, as on AWS (moto says OK).
    assert (a["StateValue"], a["StateReason"]) == ("INSUFFICIENT_DATA", "Unchecked: Initial alarm creation")
    assert recent(a["AlarmConfigurationUpdatedTimestamp"]) and recent(a["StateUpdatedTimestamp"])
    assert tags(cw, "full") == {"app": "cruddur", "env": "dev"}
    cw.delete_alarms(AlarmNames=["full"])
    assert cw.describe_alarms(AlarmNames=["full"])["MetricAlarms"] == []


def test_put_metric_alarm_replaces_the_whole_alarm_but_not_its_state_or_tags(cw):
    cw.put_metric_alarm(**full_alarm("replaced"))
    cw.set_alarm_state(AlarmName="replaced", StateValue="ALARM", StateReason="by hand")
    before = described(cw, "replaced")
    assert (before["StateValue"], before["StateReason"]) == ("ALARM", "by hand")

    time.sleep(0.01)
    cw.put_metric_alarm(**small_alarm("replaced", Tags=[{"Key": "app", "Value": "other"}]))
    a = described(cw, "replaced")
    # Every field the second put omitted is reset ...
    for gone in ("AlarmDescription", "TreatMissingData"):
        assert gone not in a, gone
    assert a["Dimensions"] == [] and a["AlarmActions"] == [] and a["OKActions"] == []
    assert (a["Namespace"], a["Statistic"], a["Period"], a["EvaluationPeriods"]) == ("AWS/SQS", "Maximum", 300, 1)
    assert a["AlarmConfigurationUpdatedTimestamp"] > before["AlarmConfigurationUpdatedTimestamp"]
    # ... the state is kept, and Tags of an update are ignored (TagResource changes them).
    assert (a["StateValue"], a["StateReason"], a["StateUpdatedTimestamp"]) == ("ALARM", "by hand", before["StateUpdatedTimestamp"])
    assert tags(cw, "replaced") == {"app": "cruddur", "env": "dev"}

    cw.tag_resource(ResourceARN=alarm_arn("replaced"), Tags=[{"Key": "app", "Value": "other"}, {"Key": "team", "Value": "x"}])
    assert tags(cw, "replaced") == {"app": "other", "env": "dev", "team": "x"}
    cw.untag_resource(ResourceARN=alarm_arn("replaced"), TagKeys=["env", "team"])
    assert tags(cw, "replaced") == {"app": "other"}
    cw.delete_alarms(AlarmNames=["replaced"])


def test_set_state_and_disable_enable_actions(cw):
    cw.put_metric_alarm(**small_alarm("actions", AlarmActions=[TOPIC]))
    cw.set_alarm_state(AlarmName="actions", StateValue="ALARM", StateReason="test", StateReasonData='{"a": 1}')
    a = described(cw, "actions")
    assert (a["StateValue"], a["StateReason"], a["StateReasonData"]) == ("ALARM", "test", '{"a": 1}')
    assert cw.describe_alarms(StateValue="ALARM", AlarmNamePrefix="actions")["MetricAlarms"][0]["AlarmName"] == "actions"
    assert cw.describe_alarms(StateValue="OK", AlarmNamePrefix="actions")["MetricAlarms"] == []  # the filters combine

    cw.disable_alarm_actions(AlarmNames=["actions"])
    a = described(cw, "actions")
    assert a["ActionsEnabled"] is False and a["AlarmActions"] == [TOPIC]
    cw.enable_alarm_actions(AlarmNames=["actions"])
    assert described(cw, "actions")["ActionsEnabled"] is True
    cw.delete_alarms(AlarmNames=["actions"])


def test_errors_arrive_as_the_service_codes(cw):
    resp = refused(lambda: cw.set_alarm_state(AlarmName="missing", StateValue="ALARM", StateReason="x"), "ResourceNotFound")
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert resp["ResponseMetadata"]["HTTPHeaders"]["smithy-protocol"] == "rpc-v2-cbor"
    refused(lambda: cw.tag_resource(ResourceARN=alarm_arn("missing"), Tags=[{"Key": "a", "Value": "b"}]), "ResourceNotFoundException")
    # AWS: a missing alarm has no tags to list (moto answers none); untagging an untagged one is fine.
    refused(lambda: cw.list_tags_for_resource(ResourceARN=alarm_arn("missing")), "ResourceNotFoundException")
    cw.put_metric_alarm(**small_alarm("untagged"))
    cw.untag_resource(ResourceARN=alarm_arn("untagged"), TagKeys=["nothing"])
    refused(lambda: cw.describe_alarms(NextToken="not-a-token"), "InvalidNextToken")
    cw.delete_alarms(AlarmNames=["untagged"])


def test_describe_alarms_pages_by_at_most_100(cw):
    names = [f"page-{i:03}" for i in range(150)]
    for n in names:
        cw.put_metric_alarm(**small_alarm(n))
    first = cw.describe_alarms(AlarmNamePrefix="page-")
    assert [a["AlarmName"] for a in first["MetricAlarms"]] == names[:50]  # 50 when MaxRecords is not given
    big = cw.describe_alarms(AlarmNamePrefix="page-", MaxRecords=100)
    assert len(big["MetricAlarms"]) == 100 and big["NextToken"]
    rest = cw.describe_alarms(AlarmNamePrefix="page-", MaxRecords=100, NextToken=big["NextToken"])
    assert [a["AlarmName"] for a in rest["MetricAlarms"]] == names[100:] and "NextToken" not in rest
    seen = [a["AlarmName"] for page in cw.get_paginator("describe_alarms").paginate(AlarmNamePrefix="page-")
            for a in page["MetricAlarms"]]
    assert seen == names
    for i in range(0, 150, 100):
        cw.delete_alarms(AlarmNames=names[i:i + 100])
    assert cw.describe_alarms(AlarmNamePrefix="page-")["MetricAlarms"] == []


def test_deleted_alarms_forget_their_tags(cw):
    cw.put_metric_alarm(**small_alarm("reborn", Tags=[{"Key": "old", "Value": "1"}]))
    cw.delete_alarms(AlarmNames=["reborn"])
    cw.put_metric_alarm(**small_alarm("reborn"))
    assert tags(cw, "reborn") == {}  # moto would still list "old"
    cw.delete_alarms(AlarmNames=["reborn"])


def test_metric_data_and_alarms_for_a_metric(cw):
    dims = [{"Name": "QueueName", "Value": "cruddur-dlq"}]
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    cw.put_metric_data(Namespace="Cruddur/Test", MetricData=[
        {"MetricName": "Depth", "Dimensions": dims, "Value": 3.0, "Timestamp": now},
        {"MetricName": "Depth", "Dimensions": dims, "Value": 4.0, "Timestamp": now},
    ])
    out = cw.get_metric_data(
        MetricDataQueries=[{"Id": "q", "MetricStat": {"Metric": {"Namespace": "Cruddur/Test", "MetricName": "Depth", "Dimensions": dims},
                                                      "Period": 60, "Stat": "Sum"}}],
        StartTime=now - datetime.timedelta(minutes=5), EndTime=now + datetime.timedelta(minutes=5),
    )["MetricDataResults"][0]
    assert out["Id"] == "q" and out["Values"] == [7.0] and recent(out["Timestamps"][0])

    cw.put_metric_alarm(**small_alarm("depth-a", Namespace="Cruddur/Test", MetricName="Depth", Dimensions=dims))
    cw.put_metric_alarm(**small_alarm("depth-b", Namespace="Cruddur/Test", MetricName="Depth",
                                      Dimensions=[{"Name": "QueueName", "Value": "other"}]))
    both = cw.describe_alarms_for_metric(Namespace="Cruddur/Test", MetricName="Depth")["MetricAlarms"]
    assert sorted(a["AlarmName"] for a in both) == ["depth-a", "depth-b"]
    one = cw.describe_alarms_for_metric(Namespace="Cruddur/Test", MetricName="Depth", Dimensions=dims)["MetricAlarms"]
    assert [a["AlarmName"] for a in one] == ["depth-a"]
    cw.delete_alarms(AlarmNames=["depth-a", "depth-b"])


def test_compressed_metric_data_is_read(cw):
    """Past 10 KiB the SDKs gzip PutMetricData (Content-Encoding: gzip)."""
    sent = []
    cw.meta.events.register("before-send.cloudwatch.PutMetricData", lambda request, **_: sent.append(request.headers))
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    dims = [{"Name": "FunctionName", "Value": "cruddur-" + "x" * 200}]
    cw.put_metric_data(Namespace="Cruddur/Big", MetricData=[
        {"MetricName": "Calls", "Dimensions": dims, "Value": 1.0, "Timestamp": now} for _ in range(100)
    ])
    assert sent[-1].get("Content-Encoding") in (b"gzip", "gzip")
    out = cw.get_metric_data(
        MetricDataQueries=[{"Id": "q", "MetricStat": {"Metric": {"Namespace": "Cruddur/Big", "MetricName": "Calls", "Dimensions": dims},
                                                      "Period": 60, "Stat": "SampleCount"}}],
        StartTime=now - datetime.timedelta(minutes=5), EndTime=now + datetime.timedelta(minutes=5),
    )["MetricDataResults"][0]
    assert sum(out["Values"]) >= 100.0


def test_the_tagging_api_lists_alarm_tags(emu, cw):
    cw.put_metric_alarm(**small_alarm("tagged", Tags=[{"Key": "app", "Value": "cruddur"}]))
    found = emu("resourcegroupstaggingapi").get_resources(ResourceTypeFilters=["cloudwatch:alarm"])["ResourceTagMappingList"]
    assert {"ResourceARN": alarm_arn("tagged"), "Tags": [{"Key": "app", "Value": "cruddur"}]} in found
    cw.delete_alarms(AlarmNames=["tagged"])


def test_the_json_protocol_gets_the_same_alarms(emu):
    """botocore's own choice (JSON 1.0, X-Amz-Target): moto speaks it, the fixes apply too."""
    cw = emu("cloudwatch")
    assert cw.meta.service_model.resolved_protocol == "json"
    for i in range(60):
        cw.put_metric_alarm(**small_alarm(f"json-{i:02}", Tags=[{"Key": "n", "Value": str(i)}]))
    first = cw.describe_alarms(AlarmNamePrefix="json-")
    assert len(first["MetricAlarms"]) == 50 and first["NextToken"]
    assert len(cw.describe_alarms(AlarmNamePrefix="json-", NextToken=first["NextToken"])["MetricAlarms"]) == 10
    cw.set_alarm_state(AlarmName="json-00", StateValue="ALARM", StateReason="x")
    cw.put_metric_alarm(**small_alarm("json-00", Tags=[{"Key": "n", "Value": "changed"}]))
    assert described(cw, "json-00")["StateValue"] == "ALARM" and tags(cw, "json-00") == {"n": "0"}
    refused(lambda: cw.describe_alarms(NextToken="bad"), "InvalidNextToken")
    cw.delete_alarms(AlarmNames=[f"json-{i:02}" for i in range(60)])


def test_calls_are_recorded_with_their_operation_names(emu, cw):
    requests.post(emu.url + "/_proxy/calls/reset")
    cw.put_metric_alarm(**small_alarm("recorded"))
    cw.describe_alarms(AlarmNames=["recorded"])
    cw.get_metric_data(MetricDataQueries=[{"Id": "q", "Expression": "SUM(METRICS())"}],
                       StartTime=datetime.datetime(2026, 1, 1), EndTime=datetime.datetime(2026, 1, 2))
    cw.list_tags_for_resource(ResourceARN=alarm_arn("recorded"))
    cw.delete_alarms(AlarmNames=["recorded"])
    calls = [(c["action"], c["write"]) for c in requests.get(emu.url + "/_proxy/calls").json() if c["service"] == "monitoring"]
    assert calls == [("PutMetricAlarm", True), ("DescribeAlarms", False), ("GetMetricData", False),
                     ("ListTagsForResource", False), ("DeleteAlarms", True)]


def rpc(emu, operation, doc=None, raw=None):
    """One CBOR call as aws-sdk-cloudwatch sends it: (status, headers, decoded answer, raw answer)."""
    body = raw if raw is not None else (b"" if doc is None else cbor2.dumps(doc))
    r = requests.post(emu.url + RPC + operation, data=body, headers={
        "smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor", "Accept": "application/cbor",
        "x-amzn-query-mode": "true", "Authorization": AUTH, "X-Amz-Date": "20260101T000000Z",
    })
    return r.status_code, r.headers, (cbor2.loads(r.content) if r.content else None), r.content


def test_the_wire_is_smithy_rpc_v2_cbor(emu):
    # Timestamps as tag 1 over a float, doubles as floats, integers as integers.
    status, headers, doc, _ = rpc(emu, "PutMetricAlarm", {
        "AlarmName": "wire", "Namespace": "AWS/DynamoDB", "MetricName": "ReadThrottleEvents", "Statistic": "Sum",
        "Dimensions": [{"Name": "TableName", "Value": "cruddur-messages"}], "Period": 60, "EvaluationPeriods": 1,
        "Threshold": 1.0, "ComparisonOperator": "GreaterThanOrEqualToThreshold", "ActionsEnabled": True,
        "Tags": [{"Key": "app", "Value": "cruddur"}],
    })
    assert status == 200 and doc is None and headers["smithy-protocol"] == "rpc-v2-cbor"  # no output: an empty body
    status, headers, doc, raw = rpc(emu, "DescribeAlarms", {"AlarmNames": ["wire"], "MaxRecords": 10})
    assert status == 200
    assert headers["smithy-protocol"] == "rpc-v2-cbor" and headers["Content-Type"] == "application/cbor"
    (alarm,) = doc["MetricAlarms"]
    assert alarm["AlarmName"] == "wire" and alarm["Threshold"] == 1.0 and isinstance(alarm["Threshold"], float)
    assert alarm["Period"] == 60 and isinstance(alarm["Period"], int) and alarm["ActionsEnabled"] is True
    assert alarm["Dimensions"] == [{"Name": "TableName", "Value": "cruddur-messages"}]
    assert recent(alarm["StateUpdatedTimestamp"])  # cbor2 reads tag 1 as a datetime
    assert b"\xc1\xfb" in raw  # tag 1, then a double
    assert "NextToken" not in doc and "AlarmDescription" not in alarm  # null members are left out
    # An empty body is an empty input; an empty map too.
    assert "wire" in [a["AlarmName"] for a in rpc(emu, "DescribeAlarms")[2]["MetricAlarms"]]
    assert rpc(emu, "DescribeAlarms", raw=b"\xa0")[0] == 200
    # Unknown members are ignored, as servers must.
    assert rpc(emu, "DescribeAlarms", {"AlarmNames": ["wire"], "SomethingNew": 1})[2]["MetricAlarms"][0]["AlarmName"] == "wire"
    # Indefinite-length maps and arrays (smithy-rs writes a structure with optional members so).
    indefinite = b"\xbf" + cbor2.dumps("AlarmNames") + b"\x9f" + cbor2.dumps("wire") + b"\xff\xff"
    assert rpc(emu, "DescribeAlarms", raw=indefinite)[2]["MetricAlarms"][0]["AlarmName"] == "wire"
    # A timestamp sent as an integer under tag 1 (RFC 8949 allows both).
    status, _, doc, _ = rpc(emu, "GetMetricData", raw=cbor2.dumps({
        "MetricDataQueries": [{"Id": "q", "MetricStat": {"Metric": {"Namespace": "N", "MetricName": "M"}, "Period": 60, "Stat": "Sum"}}],
        "StartTime": cbor2.CBORTag(1, 1767225600), "EndTime": cbor2.CBORTag(1, 1767229200.5),
    }))
    assert status == 200 and doc["MetricDataResults"][0]["Id"] == "q"
    assert rpc(emu, "DeleteAlarms", {"AlarmNames": ["wire"]})[:3:2] == (200, None)


def test_the_wire_of_an_error(emu):
    status, headers, doc, _ = rpc(emu, "SetAlarmState", {"AlarmName": "missing", "StateValue": "OK", "StateReason": "x"})
    assert status == 404
    assert headers["smithy-protocol"] == "rpc-v2-cbor" and headers["Content-Type"] == "application/cbor"
    # awsQueryCompatible: the query code in x-amzn-query-error, the shape id in __type.
    assert headers["x-amzn-query-error"] == "ResourceNotFound;Sender"
    assert doc["__type"] == "com.amazonaws.cloudwatch#ResourceNotFound" and set(doc) == {"__type", "message"}
    status, headers, doc, _ = rpc(emu, "ListTagsForResource", {"ResourceARN": alarm_arn("missing")})
    assert (status, doc["__type"], headers["x-amzn-query-error"]) == (
        404, "com.amazonaws.cloudwatch#ResourceNotFoundException", "ResourceNotFoundException;Sender")
    status, headers, doc, _ = rpc(emu, "NoSuchOperation", {})
    assert status == 404 and doc["__type"].endswith("#UnknownOperationException")


def test_the_api_model_checks_cbor_requests(rules):
    cw = rules("cloudwatch", protocol=CBOR)
    resp = refused(lambda: cw.describe_alarms(MaxRecords=101), "ValidationError",
                   "1 validation error detected: Value '101' at 'maxRecords' failed to satisfy constraint: "
                   "Member must have value less than or equal to 100")
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert resp["Error"]["QueryErrorCode"] == "ValidationException"
    six = [f"{TOPIC}-{i}" for i in range(6)]  # an alarm state takes at most 5 actions
    err = refused(lambda: cw.put_metric_alarm(**small_alarm("too-many", AlarmActions=six)), "ValidationError")
    assert "at 'alarmActions' failed to satisfy constraint: Member must have length less than or equal to 5" in err["Error"]["Message"]
    status, headers, doc, _ = rpc(rules, "PutMetricAlarm", {"AlarmName": "x", "EvaluationPeriods": 0, "ComparisonOperator": "Above"})
    assert status == 400 and headers["x-amzn-query-error"] == "ValidationError;Sender"
    assert doc["message"].startswith("2 validation errors detected: ")


def test_faults_answer_a_cbor_request_in_cbor():
    emu = Emulator("--throttle-rate", "1")
    try:
        resp = refused(lambda: emu("cloudwatch", protocol=CBOR).describe_alarms(), "Throttling", "Rate exceeded")
        assert resp["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/cbor"
    finally:
        emu.stop()


def test_plain_mode_does_not_check_the_model(plain):
    cw = plain("cloudwatch", protocol=CBOR)
    assert len(cw.describe_alarms(MaxRecords=101)["MetricAlarms"]) <= 100


# -- rule 42: SNS --------------------------------------------------------------------------------
def test_create_topic_is_idempotent_but_refuses_other_tags(rules):
    sns = rules("sns")
    arn = sns.create_topic(Name="rules-topic", Tags=[{"Key": "app", "Value": "cruddur"}, {"Key": "env", "Value": "dev"}])["TopicArn"]
    assert sns.create_topic(Name="rules-topic", Tags=[{"Key": "env", "Value": "dev"}, {"Key": "app", "Value": "cruddur"}])["TopicArn"] == arn
    assert sns.create_topic(Name="rules-topic")["TopicArn"] == arn
    assert sns.create_topic(Name="rules-topic", Tags=[{"Key": "app", "Value": "cruddur"}])["TopicArn"] == arn
    message = "Invalid parameter: Tags Reason: Topic already exists with different tags"
    resp = refused(lambda: sns.create_topic(Name="rules-topic", Tags=[{"Key": "app", "Value": "other"}]), "InvalidParameter", message)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 400
    refused(lambda: sns.create_topic(Name="rules-topic", Tags=[{"Key": "team", "Value": "x"}]), "InvalidParameter", message)
    listed = {t["Key"]: t["Value"] for t in sns.list_tags_for_resource(ResourceArn=arn)["Tags"]}
    assert listed == {"app": "cruddur", "env": "dev"}
    # Tags changed through TagResource are the ones compared.
    sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "app", "Value": "other"}])
    assert sns.create_topic(Name="rules-topic", Tags=[{"Key": "app", "Value": "other"}])["TopicArn"] == arn


def test_email_subscriptions_stay_pending(rules):
    sns, sqs = rules("sns"), rules("sqs")
    topic = sns.create_topic(Name="rules-alerts")["TopicArn"]
    sqs.create_queue(QueueName="rules-alerts")
    queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:rules-alerts"  # (a new queue is not found for a moment: rule 34)
    assert sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@example.com")["SubscriptionArn"] == "pending confirmation"
    pending = sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@example.com", ReturnSubscriptionArn=True)["SubscriptionArn"]
    assert pending.startswith(topic + ":")
    assert sns.subscribe(TopicArn=topic, Protocol="email-json", Endpoint="bot@example.com")["SubscriptionArn"] == "pending confirmation"
    confirmed = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue)["SubscriptionArn"]
    assert confirmed.startswith(topic + ":")

    listed = {s["Endpoint"]: s["SubscriptionArn"] for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]}
    assert listed == {"ops@example.com": "PendingConfirmation", "bot@example.com": "PendingConfirmation", queue: confirmed}
    everywhere = {s["Endpoint"]: s["SubscriptionArn"] for s in sns.list_subscriptions()["Subscriptions"] if s["TopicArn"] == topic}
    assert everywhere == listed
    attrs = sns.get_subscription_attributes(SubscriptionArn=pending)["Attributes"]
    assert attrs["PendingConfirmation"] == "true"

    refused(lambda: sns.unsubscribe(SubscriptionArn="PendingConfirmation"), "InvalidParameter",
            "Invalid parameter: SubscriptionArn Reason: An ARN must have at least 6 elements, not 1")
    refused(lambda: sns.unsubscribe(SubscriptionArn=pending), "InvalidParameter")
    sns.unsubscribe(SubscriptionArn=confirmed)

    # The recipient confirms (the emulator's stand-in for the link in the mail).
    assert requests.post(rules.url + "/_proxy/sns/confirm", params={"endpoint": "ops@example.com"}).json() == {"confirmed": 1}
    listed = {s["Endpoint"]: s["SubscriptionArn"] for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]}
    assert listed == {"ops@example.com": pending, "bot@example.com": "PendingConfirmation"}
    assert sns.get_subscription_attributes(SubscriptionArn=pending)["Attributes"]["PendingConfirmation"] == "false"
    sns.unsubscribe(SubscriptionArn=pending)


def test_plain_mode_keeps_motos_sns(plain):
    """moto: CreateTopic answers the existing ARN whatever the tags (keeping the first ones), and
    every subscription is confirmed at once."""
    sns = plain("sns")
    arn = sns.create_topic(Name="plain-topic", Tags=[{"Key": "app", "Value": "cruddur"}])["TopicArn"]
    assert sns.create_topic(Name="plain-topic", Tags=[{"Key": "app", "Value": "other"}])["TopicArn"] == arn
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "app", "Value": "cruddur"}]
    sub = sns.subscribe(TopicArn=arn, Protocol="email", Endpoint="ops@example.com")["SubscriptionArn"]
    assert sub.startswith(arn + ":")
    assert [s["SubscriptionArn"] for s in sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]] == [sub]
    sns.unsubscribe(SubscriptionArn=sub)
    assert sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"] == []
