"""tools/emulator.py --aws-rules: AWS's eventual consistency and API-model constraints
(docs/aws-behaviour.md rules 33-40), asserted through boto3 on the wire, and plain mode without
any of them. Each test uses its own resource names on one shared emulator."""

import io
import json
import sys
import time
import zipfile
from pathlib import Path
from urllib.parse import urlencode

import pytest
from botocore.exceptions import ClientError

TOOLS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TOOLS))

from conftest import Emulator  # noqa: E402  (one emulator process, shared by the tests)
from emu import filters  # noqa: E402
from emu.models import Validator, java_regex  # noqa: E402

BUSY, TAG_LAG, TAGGING_LAG, SQS_LAG, DELETED_RECENTLY, AAS_LAG, GAP = 1.5, 1.5, 3.0, 3.0, 2.0, 1.5, 0.3
RULES = [
    "--aws-rules", "--busy-seconds", str(BUSY), "--iam-delay", "0", "--tag-lag", str(TAG_LAG), "--tagging-lag", str(TAGGING_LAG),
    "--sqs-lag", str(SQS_LAG), "--sqs-deleted-recently", str(DELETED_RECENTLY),
    "--aas-lag", str(AAS_LAG), "--aas-write-gap", str(GAP),
]
ACCOUNT = "123456789012"
ROLE_TRUST = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
})


@pytest.fixture(scope="module")
def aws():
    emu = Emulator(*RULES)
    # Each service's model loads on its first request: load them now, not inside a lag window.
    emu("dynamodb").list_tables()
    emu("sqs").list_queues()
    emu("application-autoscaling").describe_scalable_targets(ServiceNamespace="dynamodb")
    emu("lambda").list_functions()
    emu("iam").list_roles()
    yield emu
    emu.stop()


# -- helpers --------------------------------------------------------------------------------
def refused(call, code, message=None):
    """The error of a call that must fail with `code` (and exactly `message`, when given)."""
    with pytest.raises(ClientError) as info:
        call()
    err = info.value.response["Error"]
    assert err["Code"] == code, err
    if message is not None:
        assert err["Message"] == message
    return info.value.response


def wait_for(check, timeout):
    """Polls until check() is truthy; returns its value."""
    start = time.monotonic()
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() - start < timeout, "did not settle in time"
        time.sleep(0.1)


def settles_after(since, lag, check):
    """Waits for check(); it must not hold before `lag` seconds from `since` (a time taken
    before the write: a slow machine only makes the wait look longer)."""
    wait_for(check, lag + 5)
    assert time.monotonic() - since >= lag - 0.05


def succeeds(call):
    try:
        call()
        return True
    except ClientError:
        return False


def create_table(aws, name, **extra):
    return aws("dynamodb").create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        **({"BillingMode": "PAY_PER_REQUEST"} | extra),
    )["TableDescription"]


def wait_active(aws, name):
    wait_for(lambda: aws("dynamodb").describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE", BUSY + 5)


def tags_of(aws, arn):
    return {t["Key"]: t["Value"] for t in aws("dynamodb").list_tags_of_resource(ResourceArn=arn)["Tags"]}


def zipped():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.py", "def handler(event, context):\n    return event\n")
    return buf.getvalue()


def role(aws, name):
    return aws("iam").create_role(RoleName=name, AssumeRolePolicyDocument=ROLE_TRUST)["Role"]["Arn"]


def function(aws, name, **extra):
    params = {"FunctionName": name, "Runtime": "python3.12", "Role": role(aws, f"{name}-role"),
              "Handler": "index.handler", "Code": {"ZipFile": zipped()}} | extra
    return aws("lambda").create_function(**params)


def stream_source(aws, name):
    """A function and a table stream to map it to."""
    function(aws, name)
    table = create_table(aws, name, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    return name, table["LatestStreamArn"]


def mapping_state(aws, uuid):
    return aws("lambda").get_event_source_mapping(UUID=uuid)["State"]


def queue(aws, name, **attributes):
    url = aws("sqs").create_queue(QueueName=name, Attributes={k: str(v) for k, v in attributes.items()})["QueueUrl"]
    wait_for(lambda: succeeds(lambda: aws("sqs").get_queue_url(QueueName=name)), SQS_LAG + 5)
    return url


def scalable(table, dim="ReadCapacityUnits"):
    return {"ServiceNamespace": "dynamodb", "ResourceId": f"table/{table}", "ScalableDimension": f"dynamodb:table:{dim}"}


def provisioned_table(aws, name):
    create_table(aws, name, BillingMode="PROVISIONED", ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})
    wait_active(aws, name)


def tracking_policy(aws, target, name="p"):
    return aws("application-autoscaling").put_scaling_policy(
        PolicyName=name, PolicyType="TargetTrackingScaling", **target,
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 70.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "DynamoDBReadCapacityUtilization"},
        },
    )


def described(aws, target):
    aas = aws("application-autoscaling")
    found = aas.describe_scalable_targets(ServiceNamespace="dynamodb", ResourceIds=[target["ResourceId"]])
    return [t for t in found["ScalableTargets"] if t["ScalableDimension"] == target["ScalableDimension"]]


# -- rule 33: DynamoDB tags ------------------------------------------------------------------
def test_table_tags_answer_the_previous_set_until_the_lag_has_passed(aws):
    since = time.monotonic()
    arn = create_table(aws, "tags-lag", Tags=[{"Key": "a", "Value": "1"}])["TableArn"]
    assert tags_of(aws, arn) == {}  # CreateTable's tags: the empty set at first
    settles_after(since, TAG_LAG, lambda: tags_of(aws, arn) == {"a": "1"})

    aws("dynamodb").tag_resource(ResourceArn=arn, Tags=[{"Key": "b", "Value": "2"}])
    assert tags_of(aws, arn) == {"a": "1"}
    since = time.monotonic()
    aws("dynamodb").untag_resource(ResourceArn=arn, TagKeys=["a"])
    # Two writes in one window: the set before the first one, until the lag after the last.
    assert tags_of(aws, arn) == {"a": "1"}
    settles_after(since, TAG_LAG, lambda: tags_of(aws, arn) == {"b": "2"})


# -- rule 47: the Tagging API's copy of the tags ---------------------------------------------
def listed(aws, **filters):
    """GetResources' answer, every page: {arn: tags}."""
    out, token = {}, ""
    while True:
        page = aws("resourcegroupstaggingapi").get_resources(PaginationToken=token, **filters)
        out |= {m["ResourceARN"]: {t["Key"]: t["Value"] for t in m["Tags"]} for m in page["ResourceTagMappingList"]}
        token = page.get("PaginationToken")
        if not token:
            return out


def test_the_tagging_api_judges_a_table_by_its_tags_from_before_a_change_for_its_lag(aws):
    marked = {"TagFilters": [{"Key": "team", "Values": ["chat"]}], "ResourceTypeFilters": ["dynamodb:table"]}
    since = time.monotonic()
    arn = create_table(aws, "tagging-lag", Tags=[{"Key": "team", "Value": "chat"}])["TableArn"]
    # A new table: not found by a tag filter until the lag has passed, then with its tags.
    assert arn not in listed(aws, **marked)
    settles_after(since, TAGGING_LAG, lambda: listed(aws, **marked).get(arn) == {"team": "chat"})

    # A tag changed: the old value for the lag, even once ListTagsOfResource shows the new one.
    since = time.monotonic()
    aws("dynamodb").tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "ops"}, {"Key": "b", "Value": "2"}])
    wait_for(lambda: tags_of(aws, arn) == {"team": "ops", "b": "2"}, TAG_LAG + 5)
    assert listed(aws, **marked).get(arn) == {"team": "chat"}
    assert arn not in listed(aws, TagFilters=[{"Key": "team", "Values": ["ops"]}])
    settles_after(since, TAGGING_LAG, lambda: arn not in listed(aws, **marked))
    assert listed(aws, TagFilters=[{"Key": "team", "Values": ["ops"]}]).get(arn) == {"team": "ops", "b": "2"}

    # Deleted, then made again under its name by someone else: the copy still holds the first
    # table's tags under the (same) ARN for the lag.
    ops = {"TagFilters": [{"Key": "team", "Values": ["ops"]}]}
    aws("dynamodb").delete_table(TableName="tagging-lag")
    wait_for(lambda: "tagging-lag" not in aws("dynamodb").list_tables()["TableNames"], 30)
    assert listed(aws, **ops).get(arn) == {"team": "ops", "b": "2"}
    since = time.monotonic()
    assert create_table(aws, "tagging-lag", Tags=[{"Key": "team", "Value": "other"}])["TableArn"] == arn
    assert listed(aws, **ops).get(arn) == {"team": "ops", "b": "2"}
    settles_after(since, TAGGING_LAG - 1, lambda: listed(aws, TagFilters=[{"Key": "team", "Values": ["other"]}]).get(arn))


def test_a_tagging_api_page_holds_the_resources_asked_for_whatever_their_tags(aws):
    tags = [{"Key": f"k{i}", "Value": "v"} for i in range(5)] + [{"Key": "page", "Value": "full"}]
    arns = [create_table(aws, f"page-{i}", Tags=tags)["TableArn"] for i in range(30)]
    query = {"TagFilters": [{"Key": "page", "Values": ["full"]}], "ResourcesPerPage": 100}
    # 30 tables of 6 tags: one page (moto alone cut it at 100 tags: 16 a page).
    page = wait_for(lambda: (lambda p: p if len(p["ResourceTagMappingList"]) == 30 else None)(
        aws("resourcegroupstaggingapi").get_resources(**query)), TAGGING_LAG + 5)
    assert not page.get("PaginationToken")
    assert {m["ResourceARN"] for m in page["ResourceTagMappingList"]} == set(arns)


# -- rule 34: SQS ----------------------------------------------------------------------------
def test_queue_attribute_change_shows_the_previous_value_for_the_lag(aws):
    sqs = aws("sqs")
    url = queue(aws, "attrs-lag", VisibilityTimeout=30)

    def visibility():
        return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]["VisibilityTimeout"]

    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "60"})
    assert visibility() == "30"
    since = time.monotonic()
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "90", "DelaySeconds": "2"})
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout", "DelaySeconds"])["Attributes"]
    assert attrs == {"VisibilityTimeout": "30", "DelaySeconds": "0"}
    settles_after(since, SQS_LAG, lambda: visibility() == "90")


def test_a_new_queue_is_not_found_for_a_moment(aws):
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName="new-queue")["QueueUrl"]
    resp = refused(lambda: sqs.get_queue_url(QueueName="new-queue"), "AWS.SimpleQueueService.NonExistentQueue",
                   "The specified queue does not exist.")
    assert resp["Error"]["QueryErrorCode"] == "QueueDoesNotExist"  # __type com.amazonaws.sqs#QueueDoesNotExist
    refused(lambda: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]), "AWS.SimpleQueueService.NonExistentQueue")
    wait_for(lambda: succeeds(lambda: sqs.get_queue_url(QueueName="new-queue")), SQS_LAG)
    assert sqs.get_queue_url(QueueName="new-queue")["QueueUrl"] == url


def test_a_deleted_queue_still_answers_then_its_name_is_deleted_recently(aws):
    sqs = aws("sqs")
    url = queue(aws, "deleted-queue", DelaySeconds=5)
    sqs.tag_queue(QueueUrl=url, Tags={"team": "x"})
    since = time.monotonic()
    sqs.delete_queue(QueueUrl=url)

    assert sqs.get_queue_url(QueueName="deleted-queue")["QueueUrl"] == url
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["DelaySeconds"])["Attributes"] == {"DelaySeconds": "5"}
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "x"}
    refused(lambda: sqs.create_queue(QueueName="deleted-queue"), "AWS.SimpleQueueService.QueueDeletedRecently",
            "You must wait 60 seconds after deleting a queue before you can create another with the same name.")

    settles_after(since, SQS_LAG, lambda: not succeeds(lambda: sqs.get_queue_url(QueueName="deleted-queue")))
    refused(lambda: sqs.get_queue_url(QueueName="deleted-queue"), "AWS.SimpleQueueService.NonExistentQueue")
    sqs.create_queue(QueueName="deleted-queue")  # the name is free again (DELETED_RECENTLY < SQS_LAG)


# -- rule 35: Application Auto Scaling -------------------------------------------------------
def test_a_new_scalable_target_is_invisible_for_the_lag(aws):
    provisioned_table(aws, "aas-lag")
    target = scalable("aas-lag")
    since = time.monotonic()
    aws("application-autoscaling").register_scalable_target(**target, MinCapacity=5, MaxCapacity=50)
    assert described(aws, target) == []
    time.sleep(GAP + 0.1)  # past the concurrent-update gap, within the lag
    refused(lambda: tracking_policy(aws, target), "ObjectNotFoundException",
            "No scalable target registered for service namespace: dynamodb, resource ID: table/aas-lag, "
            "scalable dimension: dynamodb:table:ReadCapacityUnits")
    settles_after(since, AAS_LAG, lambda: described(aws, target))
    tracking_policy(aws, target)


def test_scaling_policy_on_a_target_never_registered_is_not_found(aws):
    refused(lambda: tracking_policy(aws, scalable("never-registered")), "ObjectNotFoundException")


def test_a_second_write_to_a_scalable_target_within_the_gap_is_a_concurrent_update(aws):
    provisioned_table(aws, "aas-gap")
    aas = aws("application-autoscaling")
    target = scalable("aas-gap", "WriteCapacityUnits")
    aas.register_scalable_target(**target, MinCapacity=5, MaxCapacity=50)
    refused(lambda: aas.register_scalable_target(**target, MinCapacity=5, MaxCapacity=60), "ConcurrentUpdateException")
    time.sleep(GAP + 0.1)
    aas.register_scalable_target(**target, MinCapacity=5, MaxCapacity=60)
    refused(lambda: aas.deregister_scalable_target(**target), "ConcurrentUpdateException")


# -- rule 36: event source mappings ----------------------------------------------------------
def test_a_mapping_creating_or_updating_refuses_updates_and_deletes(aws):
    fn, stream = stream_source(aws, "esm-busy")
    lam = aws("lambda")
    uuid = lam.create_event_source_mapping(FunctionName=fn, EventSourceArn=stream, StartingPosition="LATEST")["UUID"]
    assert mapping_state(aws, uuid) == "Creating"
    in_use = "Cannot update the event source mapping because it is in use."
    refused(lambda: lam.update_event_source_mapping(UUID=uuid, BatchSize=10), "ResourceInUseException", in_use)
    refused(lambda: lam.delete_event_source_mapping(UUID=uuid), "ResourceInUseException",
            "Cannot delete the event source mapping because it is in use.")
    wait_for(lambda: mapping_state(aws, uuid) == "Enabled", BUSY + 5)

    lam.update_event_source_mapping(UUID=uuid, BatchSize=10)
    assert mapping_state(aws, uuid) == "Updating"
    assert [m["State"] for m in lam.list_event_source_mappings(FunctionName=fn)["EventSourceMappings"]] == ["Updating"]
    refused(lambda: lam.update_event_source_mapping(UUID=uuid, BatchSize=20), "ResourceInUseException", in_use)
    wait_for(lambda: mapping_state(aws, uuid) == "Enabled", BUSY + 5)
    lam.delete_event_source_mapping(UUID=uuid)


# -- rule 37: item calls on a table being created --------------------------------------------
def test_item_calls_on_a_creating_table_are_resource_not_found(aws):
    ddb = aws("dynamodb")
    create_table(aws, "creating-items")
    key = {"pk": {"S": "1"}}
    calls = [
        lambda: ddb.put_item(TableName="creating-items", Item=key),
        lambda: ddb.get_item(TableName="creating-items", Key=key),
        lambda: ddb.update_item(TableName="creating-items", Key=key, UpdateExpression="SET a = :a",
                                ExpressionAttributeValues={":a": {"S": "x"}}),
        lambda: ddb.delete_item(TableName="creating-items", Key=key),
        lambda: ddb.query(TableName="creating-items", KeyConditionExpression="pk = :v", ExpressionAttributeValues={":v": {"S": "1"}}),
        lambda: ddb.scan(TableName="creating-items"),
        lambda: ddb.batch_write_item(RequestItems={"creating-items": [{"PutRequest": {"Item": key}}]}),
        lambda: ddb.batch_get_item(RequestItems={"creating-items": {"Keys": [key]}}),
        lambda: ddb.transact_write_items(TransactItems=[{"Put": {"TableName": "creating-items", "Item": key}}]),
    ]
    for call in calls:
        refused(call, "ResourceNotFoundException", "Requested resource not found")
    wait_active(aws, "creating-items")
    for call in calls:
        call()


# -- rule 39: event filter patterns ----------------------------------------------------------
VALID_PATTERNS = [
    {"dynamodb": {"NewImage": {"n": {"N": [{"numeric": [">", 0, "<=", 5]}]}}}},
    {"eventName": ["INSERT", "MODIFY"], "dynamodb": {"Keys": {"pk": {"S": [{"prefix": "user#"}]}}}},
    {"dynamodb": {"NewImage": {"flag": {"BOOL": [True]}, "gone": [{"exists": False}]}}},
    {"eventName": [{"anything-but": ["REMOVE"]}], "x": [None, 1, {"equals-ignore-case": "a"}, {"wildcard": "a*"}]},
    {"$or": [{"a": [{"suffix": ".png"}]}, {"b": [{"numeric": ["=", 3]}]}], "ip": [{"cidr": "10.0.0.0/24"}]},
]
INVALID_PATTERNS = [
    '{"n": [{"numeric": ["<=", ">", 0, 5]}]}',  # a sorted numeric array
    '{"n": [{"numeric": [">", 5, "<", 1]}]}',  # an empty range
    '{"n": [{"numeric": ["<", 5, ">", 1]}]}',  # the upper bound first
    '{"n": [{"numeric": [">", "0"]}]}',
    '{"eventName": []}',
    '{"eventName": "INSERT"}',
    '{"n": [{"prefix": "a", "suffix": "b"}]}',
    '{"n": [{"startswith": "a"}]}',
    '{"n": [{"exists": "yes"}]}',
    '["INSERT"]',
    '{"eventName": ["INSERT"]',
    "{}",
]


def test_valid_filter_patterns_are_accepted(aws):
    fn, stream = stream_source(aws, "filters-ok")
    filters_ = [{"Pattern": json.dumps(p)} for p in VALID_PATTERNS]
    aws("lambda").create_event_source_mapping(
        FunctionName=fn, EventSourceArn=stream, StartingPosition="LATEST", FilterCriteria={"Filters": filters_}
    )
    assert all(filters.valid(json.dumps(p)) for p in VALID_PATTERNS)


def test_invalid_filter_patterns_are_refused(aws):
    fn, stream = stream_source(aws, "filters-bad")
    lam = aws("lambda")
    for pattern in INVALID_PATTERNS:
        refused(
            lambda: lam.create_event_source_mapping(
                FunctionName=fn, EventSourceArn=stream, StartingPosition="LATEST", FilterCriteria={"Filters": [{"Pattern": pattern}]}
            ),
            "InvalidParameterValueException", "Invalid filter pattern definition.",
        )
    assert lam.list_event_source_mappings(FunctionName=fn)["EventSourceMappings"] == []


def test_filters_are_limited_in_number_and_checked_on_update(aws):
    fn, stream = stream_source(aws, "filters-limit")
    lam = aws("lambda")
    six = {"Filters": [{"Pattern": json.dumps({"k": [str(i)]})} for i in range(6)]}
    err = refused(
        lambda: lam.create_event_source_mapping(FunctionName=fn, EventSourceArn=stream, StartingPosition="LATEST", FilterCriteria=six),
        "InvalidParameterValueException",
    )
    assert "5" in err["Error"]["Message"]
    uuid = lam.create_event_source_mapping(FunctionName=fn, EventSourceArn=stream, StartingPosition="LATEST")["UUID"]
    wait_for(lambda: mapping_state(aws, uuid) == "Enabled", BUSY + 5)
    refused(lambda: lam.update_event_source_mapping(UUID=uuid, FilterCriteria={"Filters": [{"Pattern": INVALID_PATTERNS[0]}]}),
            "InvalidParameterValueException", "Invalid filter pattern definition.")
    # Longer than 4096: the model's own limit on Pattern answers first.
    long = json.dumps({"k": ["x" * 4100]})
    too_long = {"Filters": [{"Pattern": long}]}
    err = refused(lambda: lam.update_event_source_mapping(UUID=uuid, FilterCriteria=too_long), "ValidationException")
    assert err["Error"]["Message"].endswith(
        "at 'filterCriteria.filters.1.member.pattern' failed to satisfy constraint: Member must have length less than or equal to 4096"
    )


def test_filter_grammar_without_the_wire():
    assert filters.valid('{"n": [{"numeric": [">=", 1.5, "<", 2]}]}')
    assert not filters.valid('{"n": [{"numeric": [">=", 2, "<", 2]}]}')
    assert not filters.valid('{"n": [{"numeric": [">", true]}]}')
    assert not filters.valid(json.dumps({"k": ["x" * 4100]}))
    assert filters.check({"FilterCriteria": {"Filters": []}}, 5) is None
    assert filters.check({}, 5) is None


# -- rule 40: API models ----------------------------------------------------------------------
def fn_params(name, **extra):
    return {"FunctionName": name, "Runtime": "python3.12", "Role": f"arn:aws:iam::{ACCOUNT}:role/r",
            "Handler": "index.handler", "Code": {"ZipFile": zipped()}} | extra


def one(value, path, constraint):
    return f"1 validation error detected: Value '{value}' at '{path}' failed to satisfy constraint: {constraint}"


TAG_PATTERN = "Map value must satisfy constraint: [Member must satisfy regular expression pattern: ([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)]"
MODEL_CASES = {
    "lambda description > 256": (
        "lambda", "create_function", fn_params("m1", Description="d" * 257), "ValidationException",
        one("d" * 257, "description", "Member must have length less than or equal to 256"),
    ),
    "lambda handler > 128": (
        "lambda", "create_function", fn_params("m2", Handler="h" * 129), "ValidationException",
        one("h" * 129, "handler", "Member must have length less than or equal to 128"),
    ),
    "lambda handler with whitespace": (
        "lambda", "create_function", fn_params("m3", Handler="index handler"), "ValidationException",
        one("index handler", "handler", "Member must satisfy regular expression pattern: [^\\s]+"),
    ),
    "lambda one-character variable name": (
        "lambda", "create_function", fn_params("m4", Environment={"Variables": {"A": "1"}}), "ValidationException",
        "1 validation error detected: Value at 'environment.variables' failed to satisfy constraint: Map keys must satisfy "
        "constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]",
    ),
    "lambda CreateFunction tag value": (
        "lambda", "create_function", fn_params("m5", Tags={"k": "a,b (x)"}), "ValidationException",
        one("{k=a,b (x)}", "tags", TAG_PATTERN),
    ),
    "lambda TagResource tag value": (
        "lambda", "tag_resource", {"Resource": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:m6", "Tags": {"k": "a,b (x)"}},
        "ValidationException", one("{k=a,b (x)}", "tags", TAG_PATTERN),
    ),
    "iam role description with an em dash": (
        "iam", "create_role", {"RoleName": "m7", "AssumeRolePolicyDocument": ROLE_TRUST, "Description": "a — b"}, "ValidationError",
        one("a — b", "description",
            "Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*"),
    ),
    "iam policy document with an arrow": (
        "iam", "put_role_policy", {"RoleName": "m8", "PolicyName": "p", "PolicyDocument": '{"Sid": "a→b"}'}, "ValidationError",
        one('{"Sid": "a→b"}', "policyDocument",
            "Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"),
    ),
    "iam tag value": (
        "iam", "tag_role", {"RoleName": "m9", "Tags": [{"Key": "k", "Value": "a,b"}]}, "ValidationError",
        one("a,b", "tags.1.member.value", "Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*"),
    ),
    "application auto scaling policy name > 256": (
        "application-autoscaling", "put_scaling_policy",
        {"PolicyName": "p" * 257, **scalable("m10"), "PolicyType": "TargetTrackingScaling"}, "ValidationException",
        one("p" * 257, "policyName", "Member must have length less than or equal to 256"),
    ),
    "sts session name > 64": (
        "sts", "assume_role", {"RoleArn": f"arn:aws:iam::{ACCOUNT}:role/r", "RoleSessionName": "s" * 65}, "ValidationError",
        one("s" * 65, "roleSessionName", "Member must have length less than or equal to 64"),
    ),
    "logs retention not an allowed value": (
        "logs", "put_retention_policy", {"logGroupName": "g", "retentionInDays": 4}, "InvalidParameterException",
        one(4, "retentionInDays", "Member must satisfy enum value set: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, "
            "545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]"),
    ),
    "dynamodb enum in a list": (
        "dynamodb", "create_table",
        {"TableName": "m12", "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "X"}],
         "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQUEST"},
        "ValidationException", one("X", "attributeDefinitions.1.member.attributeType", "Member must satisfy enum value set: [S, N, B]"),
    ),
    "ec2 number below its minimum": (
        "ec2", "describe_vpcs", {"MaxResults": 1}, "InvalidParameterValue",
        one(1, "maxResults", "Member must have value greater than or equal to 5"),
    ),
    "iam required member missing": (
        "iam", "create_role", {"RoleName": "m13"}, "ValidationError",
        "1 validation error detected: Value null at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must not be null",
    ),
    "several violations": (
        "sts", "assume_role", {"RoleArn": f"arn:aws:iam::{ACCOUNT}:role/r", "RoleSessionName": "a b", "DurationSeconds": 60},
        "ValidationError",
        "2 validation errors detected: Value 'a b' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular "
        "expression pattern: [\\w+=,.@-]*; Value '60' at 'durationSeconds' failed to satisfy constraint: Member must have value "
        "greater than or equal to 900",
    ),
}


@pytest.mark.parametrize("case", MODEL_CASES, ids=list(MODEL_CASES))
def test_requests_breaking_the_api_model_are_refused(aws, case):
    service, operation, params, code, message = MODEL_CASES[case]
    resp = refused(lambda: getattr(aws(service), operation)(**params), code, message)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_requests_within_the_model_pass(aws):
    function(aws, "model-ok", Description="d" * 256, Environment={"Variables": {"AB": "1", "LOG_LEVEL": "x y"}},
             Tags={"team": "a b_c.d:e/f=g+h-i@j"})
    aws("iam").create_role(RoleName="model-ok-2", AssumeRolePolicyDocument=ROLE_TRUST, Description="café, naïve (Latin-1)")
    aws("ec2").describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])
    aws("sts").get_caller_identity()
    aws("sts").assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/model-ok-2", RoleSessionName="cruddur-infra@host.1")


def test_java_patterns_read_as_java_does():
    assert java_regex(r"\p{Print}+").fullmatch("plain ASCII ~")
    assert not java_regex(r"\p{Print}+").fullmatch("é")  # Java's \p{Print} is ASCII
    assert not java_regex(r"[\w+=,.@-]+").fullmatch("rôle")  # and so is \w
    assert java_regex(r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*").fullmatch("été 1")
    supplementary = java_regex(r"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\r\n\t]*")
    assert supplementary.fullmatch("table/t 😀") and not supplementary.fullmatch("\x00")


def test_models_read_query_and_json_requests_of_cloudwatch_and_sns():
    """CloudWatch speaks query and JSON (the SDKs choose), SNS query: both are read back."""
    v = Validator()
    form = {"REQUEST_METHOD": "POST", "PATH_INFO": "/", "CONTENT_TYPE": "application/x-www-form-urlencoded; charset=utf-8"}
    alarm = b"Action=PutMetricAlarm&Version=2010-08-01&AlarmName=a&EvaluationPeriods=0&ComparisonOperator=GreaterThanThreshold"
    assert v.check("monitoring", form, alarm).message == one(0, "evaluationPeriods", "Member must have value greater than or equal to 1")
    target = dict(form, CONTENT_TYPE="application/x-amz-json-1.0", HTTP_X_AMZ_TARGET="GraniteServiceVersion20100801.PutMetricAlarm")
    doc = json.dumps({"AlarmName": "a", "EvaluationPeriods": 1, "ComparisonOperator": "Above"}).encode()
    refusal = v.check("monitoring", target, doc)
    assert "at 'comparisonOperator' failed to satisfy constraint: Member must satisfy enum value set" in refusal.message
    topic = b"Action=CreateTopic&Version=2010-03-31&Name=t&Tags.member.1.Key=" + b"k" * 129 + b"&Tags.member.1.Value=v"
    assert v.check("sns", form, topic).message == one("k" * 129, "tags.1.member.key", "Member must have length less than or equal to 128")


def test_model_validation_costs_well_under_a_millisecond_a_request():
    """The added time per request, in process: typical calls of the tool."""
    v = Validator()
    target = lambda op: {"HTTP_X_AMZ_TARGET": f"DynamoDB_20120810.{op}", "REQUEST_METHOD": "POST", "PATH_INFO": "/"}  # noqa: E731
    describe = json.dumps({"TableName": "t"}).encode()
    put = json.dumps({"TableName": "t", "Item": {"pk": {"S": "x"}, "m": {"M": {"a": {"L": [{"S": "b"}] * 20}}}}}).encode()
    lam = {"REQUEST_METHOD": "GET", "PATH_INFO": "/2015-03-31/functions/f", "QUERY_STRING": ""}
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
         "Resource": [f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/cruddur-messages{s}" for s in ("", "/index/*")]},
        {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"},
    ]})
    iam = urlencode({"Action": "PutRolePolicy", "Version": "2010-05-08", "RoleName": "r", "PolicyName": "p",
                     "PolicyDocument": policy}).encode()
    calls = [("dynamodb", target("DescribeTable"), describe), ("dynamodb", target("PutItem"), put),
             ("lambda", lam, b""), ("iam", {"REQUEST_METHOD": "POST", "PATH_INFO": "/"}, iam)]
    for service, env, body in calls:
        assert v.faults(service, env, body)[0] is not None  # read back (and compiled, once)
    n = 300
    start = time.perf_counter()
    for _ in range(n):
        for service, env, body in calls:
            assert v.check(service, env, body) is None
    per_call = (time.perf_counter() - start) / (n * len(calls))
    print(f"model validation: {per_call * 1e6:.0f} us per request")
    assert per_call < 0.0005


# -- the switches -----------------------------------------------------------------------------
def test_no_model_checks_turns_the_model_off():
    emu = Emulator(*RULES, "--no-model-checks")
    try:
        role(emu, "nomodel-role")
        emu("lambda").create_function(**fn_params("nomodel", Description="d" * 300, Role=f"arn:aws:iam::{ACCOUNT}:role/nomodel-role"))
        fn, stream = stream_source(emu, "nomodel-filters")
        long = json.dumps({"k": ["x" * 4100]})
        refused(lambda: emu("lambda").create_event_source_mapping(
            FunctionName=fn, EventSourceArn=stream, StartingPosition="LATEST", FilterCriteria={"Filters": [{"Pattern": long}]}),
            "InvalidParameterValueException", "Invalid filter pattern definition.")
    finally:
        emu.stop()


def test_plain_mode_has_none_of_the_lags():
    emu = Emulator()
    try:
        arn = create_table(emu, "plain", Tags=[{"Key": "a", "Value": "1"}])["TableArn"]
        assert tags_of(emu, arn) == {"a": "1"}
        emu("dynamodb").tag_resource(ResourceArn=arn, Tags=[{"Key": "b", "Value": "2"}])
        assert tags_of(emu, arn) == {"a": "1", "b": "2"}
        emu("dynamodb").put_item(TableName="plain", Item={"pk": {"S": "1"}})

        sqs = emu("sqs")
        url = sqs.create_queue(QueueName="plain", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
        assert sqs.get_queue_url(QueueName="plain")["QueueUrl"] == url
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "60"})
        assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]["VisibilityTimeout"] == "60"
        sqs.delete_queue(QueueUrl=url)
        refused(lambda: sqs.get_queue_url(QueueName="plain"), "AWS.SimpleQueueService.NonExistentQueue")
        sqs.create_queue(QueueName="plain")

        provisioned_table(emu, "plain-scaled")
        target = scalable("plain-scaled")
        emu("application-autoscaling").register_scalable_target(**target, MinCapacity=5, MaxCapacity=50)
        assert len(described(emu, target)) == 1
        tracking_policy(emu, target)

        fn, stream = stream_source(emu, "plain-esm")
        lam = emu("lambda")
        uuid = lam.create_event_source_mapping(FunctionName=fn, EventSourceArn=stream, StartingPosition="LATEST")["UUID"]
        lam.update_event_source_mapping(UUID=uuid, BatchSize=10)
        emu("lambda").create_function(**fn_params("plain-long", Description="d" * 300, Role=role(emu, "plain-long-role")))
    finally:
        emu.stop()
