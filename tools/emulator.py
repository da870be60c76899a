#!/usr/bin/env python3
"""The local AWS emulator: moto in server mode, optionally behind a proxy that enforces the
rules of ../shared/aws-rules.md that moto does not (see README, "The local emulator").

    emulator.py [--host 127.0.0.1] [--port 4566] [--aws-rules] [--busy-seconds 1.5]
                [--tag-lag 1.0] [--sqs-lag 1.5] [--sqs-deleted-recently 3.0] [--sqs-count-lag 1.0]
                [--aas-lag 1.0] [--aas-write-gap 0.3] [--max-filters 5] [--no-model-checks]
                [--no-data-plane] [--stream-retention 86400] [--lambda-idle 60] [--rate-limits]

Prints `READY port=N` on stdout once it accepts connections (port 0 picks a free port).

With --aws-rules, in front of moto:
- DynamoDB: a table is CREATING / UPDATING for --busy-seconds after CreateTable or
  UpdateTable (DescribeTable says so, and indexes being built say CREATING); UpdateTable and
  DeleteTable meanwhile fail with ResourceInUseException; more than one index create/delete
  in one UpdateTable fails with LimitExceededException; throughput equal to the current value
  fails with ValidationException.
- IAM: a role is not assumable by Lambda for --iam-delay seconds after CreateRole
  (CreateFunction and CreateEventSourceMapping fail with InvalidParameterValueException).
- Lambda: after CreateFunction / UpdateFunctionConfiguration / UpdateFunctionCode the function
  is Pending / InProgress for --busy-seconds and further updates fail with
  ResourceConflictException; a new event source mapping is Creating for --busy-seconds; a
  second mapping of the same function and stream fails with ResourceConflictException. A deleted
  mapping stays listed (and answers GetEventSourceMapping) as `Deleting` for --busy-seconds:
  updating it fails with ResourceInUseException, and a new mapping of the same function on the
  same source fails with ResourceConflictException until it is gone (aws-rules.md rule 28).
- Lambda: CreateEventSourceMapping / UpdateEventSourceMapping with an on-failure destination
  fail with InvalidParameterValueException unless the function's execution role allows
  sqs:SendMessage (sns:Publish) on it (Allow statements of its inline and managed policies,
  `*` wildcards), as AWS checks (aws-rules.md rule 21); for --iam-delay seconds after a
  PutRolePolicy / AttachRolePolicy on that role, as if the change had not propagated yet.
- DynamoDB: a second UpdateTimeToLive of a table within an hour fails with AWS's
  ValidationException ("Time to live has been modified multiple times within a fixed
  interval"); a first one on a table that is not there still reaches moto.
- EC2: a repeated ClientToken returns the first answer instead of a second resource.
- Application Auto Scaling: RegisterScalableTarget on DynamoDB fails with ValidationException
  unless the table (and the index) exists, is ACTIVE and is provisioned.
- Every request is checked against its service's API model (botocore's, in .venv): required
  members, lengths, patterns, enums, ranges, list and map sizes, as AWS's front end does; a
  violation is AWS's "N validation error(s) detected: Value '...' at 'member' failed to satisfy
  constraint: ..." under the service's own code (ValidationException; ValidationError for IAM,
  STS, SNS and CloudWatch, whose CBOR requests are decoded and checked too; InvalidParameterException
  for CloudWatch Logs and the tagging API;
  InvalidParameterValue for EC2), plus the few documented limits the models lack (a log
  group's retention values) (docs/aws-behaviour.md rule 40; tools/emu/models.py). Off with
  --no-model-checks.
- DynamoDB tags lag: for --tag-lag seconds after TagResource / UntagResource (or CreateTable
  with Tags), ListTagsOfResource answers the tag set from before the first of those writes
  (the empty set after CreateTable) (docs/aws-behaviour.md rule 33).
- The Tagging API lags further: for --tagging-lag seconds after such a change, GetResources
  filters and lists the table by its tags from before the change (a new table: by none, so a
  tag filter does not find it) (docs/aws-behaviour.md rule 47; tools/emu/consistency.py).
- SQS lags (--sqs-lag): after SetQueueAttributes, GetQueueAttributes answers the changed
  attributes' previous values; a new queue is NonExistentQueue (QueueDoesNotExist) to
  GetQueueUrl, GetQueueAttributes and ListQueueTags for a third of the lag; a deleted queue
  still answers them with its last values; CreateQueue of a name deleted less than
  --sqs-deleted-recently seconds ago is QueueDeletedRecently (docs/aws-behaviour.md rule 34).
- Application Auto Scaling lags: for --aas-lag seconds a newly registered target is left out of
  DescribeScalableTargets and PutScalingPolicy on it is ObjectNotFoundException ("No scalable
  target registered for ..."), as on a target never registered; a RegisterScalableTarget,
  PutScalingPolicy or DeregisterScalableTarget on a target less than --aas-write-gap seconds
  after the previous write to it is ConcurrentUpdateException (docs/aws-behaviour.md rule 35).
- SQS as `dlq` meets it (docs/aws-behaviour.md rule 45): a ReceiveMessage whose wait is 0 (a short
  poll: WaitTimeSeconds 0, or none on a queue whose ReceiveMessageWaitTimeSeconds is 0) returns
  a random subset of the visible messages, possibly none (each message on one of 4 machines, each
  machine sampled with probability 1/2, seeded by --seed; the others untouched; FIFO queues
  excepted), as "a weighted random set of machines is sampled"; a long poll returns what moto
  does (tools/emu/sqs.py). GetQueueAttributes' ApproximateNumberOfMessages, ...NotVisible and
  ...Delayed lag --sqs-count-lag seconds behind SendMessage, ReceiveMessage, DeleteMessage (and
  their batches), ChangeMessageVisibility and PurgeQueue, and behind the data plane's on-failure
  records: the counts from before the first change are answered until that long passes without
  another; a call that changes no count (a peek) opens no window (tools/emu/consistency.py).
- DynamoDB Streams (rule 44): the first GetRecords on an iterator that GetShardIterator gave
  answers an empty page (Records [], a NextShardIterator at the same position), as AWS may
  ("it might take multiple calls to get to a portion of the shard that contains stream
  records"); a position trimmed since is still TrimmedDataAccessException (tools/emu/streams.py).
- Lambda Invoke with a request payload over 6291456 bytes (RequestResponse, DryRun), or over
  1048576 bytes for InvocationType Event (the Invoke API reference's quota now; 256 KB before), is
  refused as Lambda refuses it: RequestEntityTooLargeException, HTTP 413, "Request must be
  smaller than 6291456 bytes for the InvokeFunction operation" / "N byte payload is too large for
  the Event invocation type (limit 1048576 bytes)" (rule 44: what `dlq redrive` invokes with).
- Lambda: after UpdateEventSourceMapping the mapping is `Updating` for --busy-seconds; while it
  is Creating or Updating, UpdateEventSourceMapping and DeleteEventSourceMapping on it fail with
  ResourceInUseException (docs/aws-behaviour.md rule 36).
- DynamoDB: while a table is CREATING, item calls on it (PutItem, GetItem, UpdateItem,
  DeleteItem, Query, Scan, BatchWriteItem, BatchGetItem, TransactWriteItems,
  TransactGetItems) fail with ResourceNotFoundException (docs/aws-behaviour.md rule 37).
- Lambda (docs/aws-behaviour.md rule 43; tools/emu/versions.py): UpdateFunctionConfiguration,
  UpdateFunctionCode, PublishVersion and UpdateAlias with a RevisionId that is not the current one
  fail with PreconditionFailedException (412, "The Revision Id provided does not match the latest
  Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id");
  PublishVersion with a CodeSha256 other than $LATEST's fails with InvalidParameterValueException
  ("CodeSHA256 (X) is different from current CodeSHA256 in $LATEST (Y). Please try again with the
  CodeSHA256 in $LATEST."), and while an update is in progress with ResourceConflictException;
  DeleteFunction of a version an alias points at (FunctionVersion or RoutingConfig) fails with
  ResourceConflictException (409, "Unable to delete version because the following aliases
  reference it: [live]"), of $LATEST or of an alias with InvalidParameterValueException.
- Lambda: CreateEventSourceMapping / UpdateEventSourceMapping with more than --max-filters
  filters, or a pattern that is not EventBridge pattern syntax (an ordered `numeric` list
  among others) or longer than 4096 characters, fail with InvalidParameterValueException
  ("Invalid filter pattern definition.") (docs/aws-behaviour.md rule 39; tools/emu/filters.py).
- In any mode, UpdateFunctionConfiguration's TracingConfig and UpdateFunctionCode's
  Architectures take effect, as on AWS (moto keeps only what CreateFunction said), and count as
  changes for PublishVersion (with Publish, the version published has them).
- In any mode, Lambda versions, aliases and triggers on aliases as AWS keeps them
  (docs/aws-behaviour.md rule 43; tools/emu/versions.py): a mapping made or updated with a
  qualified FunctionName (an alias or a version, in any form) has that qualified ARN as its
  FunctionArn (moto: the version the alias pointed at); ListEventSourceMappings resolves
  FunctionName to an ARN and lists the mappings on exactly that ARN, with EventSourceArn, in
  pages of at most 100; a version number is never reused, even after the function is deleted and
  made again; every function and version has a RevisionId ($LATEST's changes with each update
  and each version published); an alias's changes with each UpdateAlias; GetAlias and UpdateAlias
  answer 200, DeleteAlias 204; ListAliases filters by FunctionVersion and pages, and
  ListVersionsByFunction pages by 50, both by name or ARN.
- In any mode, a table's encryption (SSESpecification) and class (TableClass), which moto's
  UpdateTable ignores and whose class moto never keeps, take effect as on AWS: DescribeTable
  says SSEDescription (KMS with the key given, or the account's AWS managed key; none for an
  AWS owned key) and TableClassSummary.
- In any mode, GetFunction's Code.Location is a URL of this proxy (/_proxy/code/NAME) serving
  the zip last uploaded, as AWS serves it from S3 (moto gives none for a zip upload).
- In any mode, a GetResources page holds ResourcesPerPage resources whatever their tags, as AWS
  cuts it (moto also stops at 100 tags a page unless asked for TagsPerPage; tools/emu/tagging.py).
- In any mode, DeregisterScalableTarget also deletes the target's scaling policies, as AWS does
  (moto keeps them), and a target that does not exist is ObjectNotFoundException, as on AWS
  (moto says ValidationException).
- SNS (docs/aws-behaviour.md rule 42; tools/emu/sns.py): CreateTopic of a name the caller owns
  with a tag the topic does not have is InvalidParameter ("Invalid parameter: Tags Reason: Topic
  already exists with different tags"); the same name with the same tags (or none) answers the
  same ARN. An email / email-json subscription stays pending: Subscribe answers "pending
  confirmation" (the ARN with ReturnSubscriptionArn), ListSubscriptions(ByTopic) show
  SubscriptionArn "PendingConfirmation", GetSubscriptionAttributes PendingConfirmation "true", and
  Unsubscribe of "PendingConfirmation" or of a pending ARN is InvalidParameter, until
  POST /_proxy/sns/confirm?arn=ARN (or ?endpoint=ADDRESS) confirms it as its recipient would.
  Other protocols are confirmed at once. (Plain mode keeps moto's: the existing ARN whatever the
  tags, every subscription confirmed at once.)
- In any mode, CloudWatch's Smithy RPC v2 CBOR (what aws-sdk-cloudwatch sends: POST
  /service/GraniteServiceVersion20100801/operation/OP, smithy-protocol: rpc-v2-cbor), which moto
  answers 404, is translated operation by operation from botocore's model into moto's query form
  and moto's XML back into CBOR; errors are the rpcv2 map {"__type":
  "com.amazonaws.cloudwatch#Shape", "message"} with moto's status and x-amzn-query-error
  "Code;Sender"; a gzip-compressed body (PutMetricData) is inflated (docs/aws-behaviour.md rule 41;
  tools/emu/cbor.py). /_proxy/calls names these calls by their operation.
- In any mode, CloudWatch alarms, in CBOR or JSON, as AWS keeps them (docs/aws-behaviour.md rule
  41; tools/emu/cloudwatch.py): PutMetricAlarm replaces the whole alarm but keeps its state (a new
  one is INSUFFICIENT_DATA) and ignores Tags on an existing alarm; DescribeAlarms pages
  (MaxRecords up to 100, 50 by default, NextToken), combines its filters and answers only metric
  alarms without AlarmTypes; DescribeAlarmsForMetric filters by dimensions, statistic, period and
  unit; ListTagsForResource of a missing alarm is ResourceNotFoundException; UntagResource of an
  untagged alarm succeeds; a deleted alarm's tags are forgotten.
- With --only dynamodb, every other service is answered UnknownOperationException, as DynamoDB
  Local does.
- With --decrease-quota N, a table's throughput decreases beyond N fail with AWS's daily-quota
  LimitExceededException; with --limit-exceeded N, the first N UpdateTable calls fail with the
  too-many-operations LimitExceededException.

- In any mode, DynamoDB Streams as AWS keeps them (docs/aws-behaviour.md rule 44;
  tools/emu/streams.py): a record stays in its shard (moto hands it to Lambda, which needs Docker,
  and clears the shard) until it is older than --stream-retention seconds (24 h) or
  POST /_proxy/streams/expire[?table=NAME] trims every record written so far, as if 24 h had
  passed; sequence numbers never change. GetShardIterator AT_SEQUENCE_NUMBER /
  AFTER_SEQUENCE_NUMBER of a trimmed record, and GetRecords at a position trimmed since, are
  TrimmedDataAccessException (400; moto: a 500); TRIM_HORIZON is the oldest record kept; an
  unknown shard id is ResourceNotFoundException; a record's awsRegion is the table's region and
  its eventVersion "1.1". (The Streams API is JSON 1.0, X-Amz-Target DynamoDBStreams_20120810.*,
  signed for `dynamodb`, as aws-sdk-dynamodbstreams and boto3 send it; /_proxy/calls names it
  service "dynamodb".)
- In any mode unless --no-data-plane, Lambda's data plane (rules 39, 43, 44;
  tools/emu/dataplane.py, tools/emu/runtime.py), which moto runs only in Docker:
  Invoke (`POST /2015-03-31/functions/NAME/invocations`, name / ARN / qualified ARN, ?Qualifier=)
  runs the Python handler of the version invoked (an alias's version, by its weights), with the
  code and configuration that version was published with, in a process of its own (the
  function's environment variables, Lambda's AWS_* variables, its execution role's credentials
  from an STS AssumeRole in its account, AWS_ENDPOINT_URL = this emulator), killed after the
  function's Timeout; environments stay warm for --lambda-idle seconds. It answers as Lambda
  does: 200 with the result and X-Amz-Executed-Version; an error 200 with X-Amz-Function-Error:
  Unhandled and {errorMessage, errorType, requestId, stackTrace} (a timeout "Sandbox.Timedout",
  "RequestId: ID Error: Task timed out after N.NN seconds"); X-Amz-Log-Result with LogType Tail;
  204 for DryRun; 202 for Event (run in the background, once); ResourceNotFoundException (404)
  for a function that is not there. Logs go to /aws/lambda/NAME and the metrics Invocations,
  Errors and Duration (AWS/Lambda) to CloudWatch, in moto.
  A poller per event source mapping on a DynamoDB stream reads it as Lambda does: LATEST from
  when the mapping is Enabled (after Creating), TRIM_HORIZON; not while disabled; the position
  kept across updates; FilterCriteria (a record no pattern matches is dropped); BatchSize and
  MaximumBatchingWindowInSeconds; the event as Lambda shapes it; ReportBatchItemFailures
  checkpoints at the lowest failed sequence number (an item identifier that is null, empty or not
  in the batch fails it all); MaximumRetryAttempts, MaximumRecordAgeInSeconds and
  BisectBatchOnFunctionError (splitting consumes no retry), quick retries (0.2 s); then the
  on-failure record of rule 44 into the SQS queue or SNS topic, and the shard moves on;
  LastProcessingResult ("No records processed", "OK", "PROBLEM: Function call failed"). A call
  a handler makes is listed in /_proxy/calls with "function": NAME.

With --rate-limits (any mode, alone or with --aws-rules; docs/aws-behaviour.md rule 46;
tools/emu/rates.py): AWS's documented per-account request rates as token buckets per (account,
region, rate), grouped as src/pace.rs RATES groups them: DynamoDB ListTagsOfResource 10/s,
TagResource + UntagResource 5/s; Lambda GetFunction 100/s, GetPolicy 15/s, every other control
call but the invocations 15/s shared; STS GetCallerIdentity, AssumeRole (and the four others of
its quota) 600/s; the Tagging API's GetResources 15/s; EC2 a bucket per action (Describe*, List*,
Search*, Get*: 100 tokens refilled at 20/s; CreateTags, DeleteTags: 100 at 10/s; every other: 50
at 5/s); SQS ListQueueTags + TagQueue + UntagQueue 30/s; SNS ListSubscriptionsByTopic 30/s,
ListTagsForResource, TagResource, UntagResource 10/s each, GetTopicAttributes 30/s; CloudWatch
DescribeAlarms 9/s, PutMetricAlarm 3/s, DeleteAlarms 3/s, ListTagsForResource 10/s, TagResource,
UntagResource 20/s each; CloudWatch Logs DescribeLogGroups 10/s, ListTagsForResource,
ListTagsLogGroup, TagResource, UntagResource 5/s each. An "N per second" bucket holds N tokens and
starts full. The account is the caller's (by its access key, as moto tells it: a handler's calls,
with its role's keys, count in its account). A call beyond its bucket is answered, before
anything else is checked, with its service's throttle: DynamoDB ThrottlingException (400, JSON);
Lambda TooManyRequestsException (429, Reason CallerRateLimitExceeded, Retry-After and
retryAfterSeconds); IAM / STS / SNS / CloudWatch query Throttling (400, XML); EC2
RequestLimitExceeded (503, XML); SQS RequestThrottled (400, JSON with x-amzn-query-error, or XML);
CloudWatch CBOR or JSON Throttling (400); Logs ThrottlingException (400, JSON 1.1); the Tagging
API ThrottledException (400, JSON 1.1): each a code the Rust SDK retries as a throttle. It is
listed in /_proxy/calls with "throttled": true and counted in GET /_proxy/throttled.

Faults, each by rate with --seed (any mode): --throttle-rate (throttling in each service's own
format, the answers of --rate-limits), --error-rate (5xx), --drop-rate (connection closed before
the call reaches moto), --lose-rate (the call happens, then the connection is closed before the
answer), --latency-ms.
Control endpoints: GET /_proxy/calls (every call seen: service, action, write; "function" for a
handler's; "throttled" for one --rate-limits throttled), POST /_proxy/calls/reset,
GET /_proxy/throttled ({"throttled": N, "by_operation": {"dynamodb:ListTagsOfResource": n, ...}}),
POST /_proxy/throttled/reset (the counts forgotten, every bucket full again),
POST /_proxy/sns/confirm?arn=ARN|endpoint=ADDRESS (confirms
pending email subscriptions), GET /_proxy/invocations (every invocation the data plane ran:
function, functionArn, qualifier, executedVersion, source (the mapping's UUID or "invoke"),
mapping, invocationType, requestId, sequenceNumbers, outcome ("ok" | "partial" | "error"),
failedItems, errorType, errorMessage, durationMs, timestamp), POST /_proxy/invocations/reset,
POST /_proxy/streams/expire[?table=NAME] (trims the streams' records: {"trimmed": N}). Faults and
the expired token answer a CBOR request in CBOR.
"""

import argparse
import io
import json
import os
import random
import socket
import sys
import threading
import time

os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")

from moto.moto_server.werkzeug_app import (  # noqa: E402
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server  # noqa: E402

from emu import Refusal, Reply, cbor, dataplane, filters, rates, sqs, streams, tagging  # noqa: E402  (tools/emu, beside this script)
from emu.cloudwatch import Alarms  # noqa: E402
from emu.consistency import DynamoTags, ScalingLag, SqsLag, TaggingLag  # noqa: E402
from emu.dataplane import Plane  # noqa: E402
from emu.models import Validator  # noqa: E402
from emu.sns import SnsRules  # noqa: E402
from emu.versions import Versions, parse_ref  # noqa: E402

READ_PREFIXES = ("Describe", "List", "Get", "BatchGet", "Query", "Scan")
DDB_JSON = "application/x-amz-json-1.0"
# The calls on a table's items (refused while the table is CREATING, docs/aws-behaviour.md rule 37).
ITEM_ACTIONS = {
    "PutItem", "GetItem", "UpdateItem", "DeleteItem", "Query", "Scan",
    "BatchWriteItem", "BatchGetItem", "TransactWriteItems", "TransactGetItems",
}


def service_of(environ):
    auth = environ.get("HTTP_AUTHORIZATION", "")
    if "Credential=" in auth:
        scope = auth.split("Credential=")[1].split(",")[0].split("/")
        if len(scope) >= 4:
            return scope[3]
    return "unknown"


def action_of(environ, service, body):
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.split(".")[-1]
    rpc = cbor.route(environ)  # Smithy RPC v2: /service/SERVICE/operation/OPERATION
    if rpc:
        return rpc[1]
    if body and environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        from urllib.parse import parse_qs

        return parse_qs(body.decode("utf-8", "replace")).get("Action", ["?"])[0]
    return f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}"


def is_invoke(method, path):
    """Lambda's Invoke: POST /2015-03-31/functions/NAME/invocations."""
    parts = path.strip("/").split("/")
    return method == "POST" and len(parts) == 4 and parts[1] == "functions" and parts[3] == "invocations"


# Invoke's request payload quotas (Lambda API Reference, Invoke: "For synchronous invocations, the
# maximum payload size is 6 MB. For asynchronous invocations, the maximum payload size is 1 MB.").
INVOKE_MAX = 6 * 1024 * 1024
INVOKE_EVENT_MAX = 1024 * 1024


def invoke_too_large(environ, body):
    """Lambda's refusal of an Invoke payload over its quota (HTTP 413, worded as Lambda answers:
    "Request must be smaller than 6291456 bytes for the InvokeFunction operation"; for Event,
    "N byte payload is too large for the Event invocation type (limit L bytes)"), else None."""
    if (environ.get("HTTP_X_AMZ_INVOCATION_TYPE") or "RequestResponse") == "Event":
        if len(body) > INVOKE_EVENT_MAX:
            return Refusal("RequestEntityTooLargeException",
                           f"{len(body)} byte payload is too large for the Event invocation type (limit {INVOKE_EVENT_MAX} bytes)",
                           "413 Request Entity Too Large")
        return None
    if len(body) > INVOKE_MAX:
        return Refusal("RequestEntityTooLargeException",
                       f"Request must be smaller than {INVOKE_MAX} bytes for the InvokeFunction operation",
                       "413 Request Entity Too Large")
    return None


def access_key_of(environ):
    auth = environ.get("HTTP_AUTHORIZATION", "")
    return auth.split("Credential=")[1].split("/")[0] if "Credential=" in auth else ""


def is_write(service, action, method):
    if service == "lambda" or " " in action:
        return method not in ("GET", "HEAD")
    return not action.startswith(READ_PREFIXES)


def lambda_error(start_response, kind, message, status="400 Bad Request"):
    body = json.dumps({"Type": "User", "message": message}).encode()
    start_response(
        status,
        [("Content-Type", "application/json"), ("x-amzn-errortype", kind), ("Content-Length", str(len(body)))],
    )
    return [body]


def xml_error(start_response, status, code, message, ec2=False):
    from xml.sax.saxutils import escape

    message = escape(message)
    if ec2:
        body = f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>fault</RequestID></Response>"
    else:
        body = f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>fault</RequestId></ErrorResponse>"
    data = body.encode()
    start_response(status, [("Content-Type", "text/xml"), ("Content-Length", str(len(data)))])
    return [data]


def cbor_error(start_response, service, code, message, status="400 Bad Request"):
    """An error in Smithy RPC v2 CBOR (CloudWatch's SDKs; tools/emu/cbor.py)."""
    status, headers, data = cbor.error(service, code, message, status)
    start_response(status, headers + [("Content-Length", str(len(data)))])
    return [data]


def fault_error(start_response, service, kind, rpc=False, environ=None):
    """A throttling (tools/emu/rates.py: each service's own throttle) or a server error as each
    service words it (in CBOR for a CBOR request)."""
    if kind == "throttle":
        status, headers, data = rates.throttle(service, environ or {}, 1.0)
        start_response(status, headers + [("Content-Length", str(len(data)))])
        return [data]
    if rpc:
        return cbor_error(start_response, service, "InternalServiceError", "Internal service error", "500 Internal Server Error")
    if service == "dynamodb":
        return ddb_error(start_response, "InternalServerError", "Internal server error", "500 Internal Server Error")
    if service == "lambda":
        return lambda_error(start_response, "ServiceException", "Service error", "500 Internal Server Error")
    if service == "sqs":
        return sqs_error(start_response, "InternalError", "Internal error", "500 Internal Server Error")
    if service in ("tagging", "application-autoscaling", "logs"):
        # The Resource Groups Tagging API, Application Auto Scaling and CloudWatch Logs speak JSON 1.1.
        return json11_error(start_response, "InternalServiceException", "Internal error", "500 Internal Server Error")
    if service == "ec2":
        return xml_error(start_response, "500 Internal Server Error", "InternalError", "An internal error has occurred", ec2=True)
    return xml_error(start_response, "500 Internal Server Error", "ServiceFailure", "Service failure")


def json11_error(start_response, code, message, status="400 Bad Request"):
    body = json.dumps({"__type": code, "Message": message}).encode()
    start_response(status, [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(body)))])
    return [body]


def sqs_error(start_response, code, message, status="400 Bad Request", query_code=None):
    """SQS's JSON protocol: the code in __type, and the query protocol's code (which the SDKs
    report) in x-amzn-query-error, as SQS (and moto) send it."""
    body = json.dumps({"__type": f"com.amazonaws.sqs#{code}", "message": message}).encode()
    headers = [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(body)))]
    if query_code:
        headers.append(("x-amzn-query-error", f"{query_code};Sender"))
    start_response(status, headers)
    return [body]


def refuse(start_response, service, r, json_request=False, rpc=False):
    """A Refusal (tools/emu) in the service's own error format (JSON 1.x for a JSON request to
    a service that also speaks query, such as CloudWatch; CBOR for a Smithy RPC v2 request)."""
    if rpc:
        return cbor_error(start_response, service, r.code, r.message, r.status)
    if service == "dynamodb":
        return ddb_error(start_response, r.code, r.message, r.status)
    if service == "lambda":
        return lambda_error(start_response, r.code, r.message, r.status)
    if service == "sqs":
        return sqs_error(start_response, r.code, r.message, r.status, r.query_code)
    if service in ("tagging", "application-autoscaling", "logs") or json_request:
        return json11_error(start_response, r.code, r.message, r.status)
    return xml_error(start_response, r.status, r.code, r.message, ec2=service == "ec2")


def encoded(environ, service, answer):
    """(status, headers, data) of a rule's answer: a Refusal, or a Reply in the request's JSON."""
    if isinstance(answer, Reply):
        data = json.dumps(answer.doc, default=str).encode()
        return answer.status, [("Content-Type", environ.get("CONTENT_TYPE") or DDB_JSON)], data
    captured = {}
    data = b"".join(refuse(lambda status, headers: captured.update(status=status, headers=headers), service, answer))
    return captured["status"], captured["headers"], data


def request_json(environ, service, body):
    """The request's JSON body ({} when it has none or is not an object)."""
    if not body or (service != "lambda" and "json" not in environ.get("CONTENT_TYPE", "")):
        return {}
    try:
        doc = json.loads(body)
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def item_tables(action, req):
    """The tables an item call reads or writes (by name)."""
    if action in ("BatchWriteItem", "BatchGetItem"):
        names = list(req.get("RequestItems") or {})
    elif action in ("TransactWriteItems", "TransactGetItems"):
        names = [op.get("TableName") for item in req.get("TransactItems") or [] for op in item.values() if isinstance(op, dict)]
    elif action in ITEM_ACTIONS:
        names = [req.get("TableName")]
    else:
        return []
    return [n.split("/")[-1] if n.startswith("arn:") else n for n in names if isinstance(n, str)]


def drop(environ):
    """Closes the client's connection without an answer."""
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def ddb_error(start_response, kind, message, status="400 Bad Request"):
    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{kind}", "message": message}).encode()
    start_response(status, [("Content-Type", DDB_JSON), ("Content-Length", str(len(body)))])
    return [body]


class Proxy:
    def __init__(self, app, aws_rules, busy_seconds, iam_delay, latency_ms=0.0, faults=None, seed=0):
        self.app = app
        self.faults = faults or {}
        self.rng = random.Random(seed)
        self.client_tokens = {}
        self.injected = {"throttle": 0, "error": 0, "drop": 0, "lose": 0}
        self.latency = latency_ms / 1000.0
        self.aws_rules = aws_rules
        self.busy_seconds = busy_seconds
        self.iam_delay = iam_delay
        # role name -> when it was created; function name -> (until, kind);
        # mapping uuid -> (until, "Creating" | "Updating")
        self.roles_created = {}
        self.functions_busy = {}
        self.mappings_busy = {}
        # With --aws-rules: the eventual-consistency rules by service (tools/emu/consistency.py),
        # the API-model checks (tools/emu/models.py, None when off), filters per mapping.
        self.rules = {}
        self.validator = None
        self.max_filters = 5
        self.only = None  # answer only this service, as DynamoDB Local does
        self.recording = False  # keep every answer for bench/replay.py
        self.recorded = []
        self.decrease_quota = None  # throughput decreases allowed per table (AWS: a daily quota)
        self.decreases = {}
        self.limit_exceeded = 0  # the next N UpdateTable calls: too many operations at once
        self.ttl_changed = {}  # table -> when its time to live last changed
        self.role_policy_changed = {}  # role -> when its policies last changed (IAM propagation)
        self.storage = {}  # table -> {"sse": SSEDescription or None, "class": TableClass or None}
        self.ttl_interval = 3600.0  # AWS allows one change per table per hour
        # mapping uuid -> (until, its configuration with State Deleting)
        self.mappings_deleting = {}
        self.lock = threading.Lock()
        self.calls = []
        # table name -> {"until": t, "status": "CREATING"|"UPDATING", "creating": set, "deleting": {name: desc}}
        self.busy = {}
        # function name -> its deployed zip (served at GetFunction's Code.Location)
        self.code = {}
        # CloudWatch in Smithy RPC v2 CBOR, translated to moto's query form, and its alarms as AWS
        # keeps them (any mode; tools/emu/cbor.py, tools/emu/cloudwatch.py); SNS topics and email
        # subscriptions as AWS keeps them (--aws-rules; tools/emu/sns.py).
        self.translator = cbor.Translator(self.call_app)
        self.alarms = Alarms()
        self.sns = SnsRules()
        # Lambda versions, aliases and triggers on aliases as AWS keeps them (any mode; its
        # refusals with --aws-rules; docs/aws-behaviour.md rule 43; tools/emu/versions.py).
        self.versions = Versions(aws_rules)
        # Lambda's data plane: Invoke and the stream triggers' pollers (any mode unless
        # --no-data-plane; tools/emu/dataplane.py), set by main().
        self.plane = None
        self.mended = False  # moto's streams and mappings patched (before the first such request)
        self.sqs_mended = False  # moto's short polls sampled (--aws-rules; tools/emu/sqs.py)
        # AWS's per-account request rates as token buckets (--rate-limits; tools/emu/rates.py).
        self.limiter = None

    # -- plumbing -------------------------------------------------------------------------
    def call_app(self, environ, body):
        environ = dict(environ)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        captured = {}

        def sr(status, headers, exc_info=None):
            captured["status"] = status
            captured["headers"] = headers
            return lambda data: None

        chunks = self.app(environ, sr)
        try:
            data = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        return captured["status"], captured["headers"], data

    def respond(self, start_response, status, headers, data):
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(data))))
        start_response(status, headers)
        return [data]

    def json_call(self, environ, target, payload):
        """One JSON-protocol call to moto on the caller's credentials: (status, document)."""
        env = dict(environ)
        env["HTTP_X_AMZ_TARGET"] = target
        status, _, data = self.call_app(env, json.dumps(payload).encode())
        try:
            return status, json.loads(data or b"{}")
        except ValueError:
            return status, {}

    def moto_json(self, environ):
        """moto(action, payload) in the service of this request (its X-Amz-Target prefix)."""
        prefix = environ.get("HTTP_X_AMZ_TARGET", "").split(".")[0]
        return lambda action, payload: self.json_call(environ, f"{prefix}.{action}", payload)

    def describe(self, environ, table):
        status, doc = self.json_call(environ, "DynamoDB_20120810.DescribeTable", {"TableName": table})
        return doc["Table"] if status.startswith("200") else None

    def control(self, environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/_proxy/calls":
            with self.lock:
                data = json.dumps(self.calls).encode()
        elif path.startswith("/_proxy/code/"):
            # A function's deployed zip, where GetFunction's Code.Location points (as AWS serves
            # it from S3 at a presigned URL).
            with self.lock:
                zipped = self.code.get(path[len("/_proxy/code/"):])
                self.calls.append({"service": "s3", "action": "GetObject (Code.Location)", "write": False})
            if zipped is None:
                start_response("404 Not Found", [("Content-Type", "application/xml"), ("Content-Length", "0")])
                return [b""]
            start_response("200 OK", [("Content-Type", "application/zip"), ("Content-Length", str(len(zipped)))])
            return [zipped]
        elif path == "/_proxy/sns/confirm":
            # The recipient of a pending email subscription confirms it (?arn=ARN or ?endpoint=ADDRESS).
            from urllib.parse import parse_qs

            from moto.sns.models import sns_backends

            from emu.sns import confirm

            q = parse_qs(environ.get("QUERY_STRING", ""))
            n = confirm(sns_backends, q.get("arn", [None])[0], q.get("endpoint", [None])[0])
            data = json.dumps({"confirmed": n}).encode()
        elif path == "/_proxy/calls/reset":
            with self.lock:
                self.calls.clear()
            data = b"{}"
        elif path == "/_proxy/invocations":
            # Every invocation the data plane ran (tools/emu/dataplane.py), direct or by a mapping.
            data = json.dumps(self.plane.entries() if self.plane else []).encode()
        elif path == "/_proxy/invocations/reset":
            if self.plane:
                self.plane.reset()
            data = b"{}"
        elif path == "/_proxy/streams/expire":
            # Every stream record written so far is trimmed, as if 24 hours had passed (rule 44).
            from urllib.parse import parse_qs

            table = parse_qs(environ.get("QUERY_STRING", "")).get("table", [None])[0]
            self.mend_streams()
            data = json.dumps({"trimmed": streams.expire(table)}).encode()
            if self.plane:
                self.plane.wake()
        elif path == "/_proxy/latency":
            from urllib.parse import parse_qs

            ms = float(parse_qs(environ.get("QUERY_STRING", "")).get("ms", ["0"])[0])
            with self.lock:
                self.latency = ms / 1000.0
            data = b"{}"
        elif path == "/_proxy/record":
            # Start recording every answer (bench/replay.py serves them again): `?on=0` stops.
            from urllib.parse import parse_qs

            with self.lock:
                self.recording = parse_qs(environ.get("QUERY_STRING", "")).get("on", ["1"])[0] == "1"
            data = b"{}"
        elif path == "/_proxy/recorded":
            with self.lock:
                data = json.dumps(self.recorded).encode()
        elif path == "/_proxy/throttled":
            # What --rate-limits throttled: {"throttled": N, "by_operation": {"service:Op": n}}.
            data = json.dumps(self.limiter.stats() if self.limiter else {"throttled": 0, "by_operation": {}}).encode()
        elif path == "/_proxy/throttled/reset":
            if self.limiter:
                self.limiter.reset()
            data = b"{}"
        elif path == "/_proxy/faults":
            with self.lock:
                data = json.dumps(self.injected).encode()
        elif path == "/_proxy/faults/off":
            with self.lock:
                self.faults = {}
            data = b"{}"
        else:
            start_response("404 Not Found", [("Content-Length", "0")])
            return [b""]
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    # -- the rules --------------------------------------------------------------------------
    def busy_state(self, table):
        st = self.busy.get(table)
        if st and st["until"] <= time.monotonic():
            del self.busy[table]
            return None
        return st

    def creating(self, tables):
        """Whether one of these tables is CREATING in the busy model."""
        with self.lock:
            return any((self.busy_state(t) or {}).get("status") == "CREATING" for t in tables)

    def check_dynamodb(self, environ, action, req, start_response):
        """Returns an error response, or None to let the call through."""
        table = req.get("TableName")
        if self.creating(item_tables(action, req)):
            # A table being created is not found by item calls yet (docs/aws-behaviour.md rule 37).
            return ddb_error(start_response, "ResourceNotFoundException", "Requested resource not found")
        if action == "UpdateTimeToLive" and table:
            # AWS: one time-to-live change per table per hour (aws-rules.md rule 18).
            now = time.monotonic()
            with self.lock:
                last = self.ttl_changed.get(table)
                if last is None or now - last >= self.ttl_interval:
                    self.ttl_changed[table] = now
                    last = None
            if last is not None:
                return ddb_error(
                    start_response,
                    "ValidationException",
                    "Time to live has been modified multiple times within a fixed interval",
                )
        if action in ("UpdateTable", "DeleteTable") and table:
            with self.lock:
                st = self.busy_state(table)
            if st:
                return ddb_error(
                    start_response,
                    "ResourceInUseException",
                    f"Attempt to change a resource which is still in use: Table is being {st['status'].lower()}: {table}",
                )
        if action != "UpdateTable":
            return None
        with self.lock:
            too_many = self.limit_exceeded > 0
            if too_many:
                self.limit_exceeded -= 1
        if too_many:
            return ddb_error(
                start_response,
                "LimitExceededException",
                "Subscriber limit exceeded: There is a limit of 500 tables in the CREATING, UPDATING or DELETING state at once",
            )
        updates = req.get("GlobalSecondaryIndexUpdates") or []
        creates_deletes = [u for u in updates if "Create" in u or "Delete" in u]
        if len(creates_deletes) > 1:
            return ddb_error(
                start_response,
                "LimitExceededException",
                "Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table",
            )
        live = self.describe(environ, table)
        if live is None:
            return None
        pt = req.get("ProvisionedThroughput")
        cur = live.get("ProvisionedThroughput", {})
        if pt and "BillingMode" not in req and pt.get("ReadCapacityUnits") == cur.get("ReadCapacityUnits") and pt.get(
            "WriteCapacityUnits"
        ) == cur.get("WriteCapacityUnits"):
            return ddb_error(
                start_response,
                "ValidationException",
                "The provisioned throughput for the table will not change. The requested value equals the current value. "
                f"Current ReadCapacityUnits provisioned for the table: {cur.get('ReadCapacityUnits')}. "
                f"Requested ReadCapacityUnits: {pt.get('ReadCapacityUnits')}. "
                f"Current WriteCapacityUnits provisioned for the table: {cur.get('WriteCapacityUnits')}. "
                f"Requested WriteCapacityUnits: {pt.get('WriteCapacityUnits')}. Refer to the Amazon DynamoDB Developer "
                "Guide for current limits and how to request higher limits.",
            )
        if pt and self.decrease_quota is not None and (
            pt.get("ReadCapacityUnits", 0) < cur.get("ReadCapacityUnits", 0) or pt.get("WriteCapacityUnits", 0) < cur.get("WriteCapacityUnits", 0)
        ):
            with self.lock:
                done = self.decreases.get(table, 0)
                if done < self.decrease_quota:
                    self.decreases[table] = done + 1
            if done >= self.decrease_quota:
                return ddb_error(
                    start_response,
                    "LimitExceededException",
                    "Subscriber limit exceeded: Provisioned throughput decreases are limited within a given UTC day. After the "
                    f"first 4 decreases, each subsequent decrease in the same UTC day can be performed at most once every 3600 "
                    f"seconds. Number of decreases today: {done}. Next decrease can be made at a later time.",
                )
        gsis = {g["IndexName"]: g for g in live.get("GlobalSecondaryIndexes", [])}
        for u in updates:
            upd = u.get("Update")
            if upd and "BillingMode" not in req:
                cur = gsis.get(upd["IndexName"], {}).get("ProvisionedThroughput", {})
                want = upd.get("ProvisionedThroughput", {})
                if want.get("ReadCapacityUnits") == cur.get("ReadCapacityUnits") and want.get(
                    "WriteCapacityUnits"
                ) == cur.get("WriteCapacityUnits"):
                    return ddb_error(
                        start_response,
                        "ValidationException",
                        f"The provisioned throughput for the index {upd['IndexName']} will not change. "
                        "The requested value equals the current value.",
                    )
        spec = req.get("StreamSpecification")
        if spec and spec.get("StreamEnabled") and live.get("StreamSpecification", {}).get("StreamEnabled"):
            return ddb_error(start_response, "ValidationException", f"Table already has an enabled stream: {live.get('TableArn')}")
        if spec and (pt or updates or "DeletionProtectionEnabled" in req):
            return ddb_error(
                start_response,
                "ValidationException",
                "One or more parameter values were invalid: a stream change cannot be combined with other updates",
            )
        return None

    def after_dynamodb(self, environ, action, req, before):
        table = req.get("TableName")
        if action not in ("CreateTable", "UpdateTable") or not table:
            return
        st = {
            "until": time.monotonic() + self.busy_seconds,
            "status": "CREATING" if action == "CreateTable" else "UPDATING",
            "creating": set(),
            "deleting": {},
        }
        for u in req.get("GlobalSecondaryIndexUpdates") or []:
            if "Create" in u:
                st["creating"].add(u["Create"]["IndexName"])
            if "Delete" in u and before:
                for g in before.get("GlobalSecondaryIndexes", []):
                    if g["IndexName"] == u["Delete"]["IndexName"]:
                        st["deleting"][g["IndexName"]] = dict(g, IndexStatus="DELETING")
        with self.lock:
            self.busy[table] = st

    def keep_storage(self, environ, action, body, status):
        """Encryption and class as CreateTable / UpdateTable set them (moto drops them)."""
        if action not in ("CreateTable", "UpdateTable", "DeleteTable") or not status.startswith("200"):
            return
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            return
        table = req.get("TableName")
        if not table:
            return
        with self.lock:
            if action == "DeleteTable":
                self.storage.pop(table, None)
                return
            st = self.storage.setdefault(table, {"sse": None, "class": None})
            sse = req.get("SSESpecification")
            if sse is not None:
                if sse.get("Enabled"):
                    region = self.region_of(environ)
                    key = sse.get("KMSMasterKeyId") or f"arn:aws:kms:{region}:123456789012:key/aws-dynamodb-0000-managed"
                    st["sse"] = {"Status": "ENABLED", "SSEType": "KMS", "KMSMasterKeyArn": key}
                else:
                    st["sse"] = None
            if req.get("TableClass"):
                st["class"] = req["TableClass"]

    def storage_describe(self, data):
        doc = json.loads(data)
        t = doc.get("Table", {})
        with self.lock:
            st = self.storage.get(t.get("TableName"))
        if st is None:
            return data
        t.pop("SSEDescription", None)
        if st["sse"]:
            t["SSEDescription"] = st["sse"]
        if st["class"]:
            t["TableClassSummary"] = {"TableClass": st["class"]}
        return json.dumps(doc).encode()

    def rewrite_describe(self, data):
        doc = json.loads(data)
        t = doc.get("Table", {})
        with self.lock:
            st = self.busy_state(t.get("TableName"))
        if not st:
            return data
        t["TableStatus"] = st["status"]
        for g in t.get("GlobalSecondaryIndexes", []):
            if g["IndexName"] in st["creating"] or st["status"] == "CREATING":
                g["IndexStatus"] = "CREATING"
        for g in st["deleting"].values():
            t.setdefault("GlobalSecondaryIndexes", []).append(g)
        return json.dumps(doc).encode()

    # -- Lambda and IAM ----------------------------------------------------------------------
    def autoscaling_call(self, environ, action, payload):
        """One Application Auto Scaling call to moto, on the caller's credentials."""
        env = dict(environ, CONTENT_TYPE="application/x-amz-json-1.1")
        return self.json_call(env, f"AnyScaleFrontendService.{action}", payload)

    def check_autoscaling(self, environ, action, req, start_response):
        """RegisterScalableTarget on DynamoDB: AWS checks that the table (and the index) exists and
        is ACTIVE, which moto does not."""
        if action != "RegisterScalableTarget" or req.get("ServiceNamespace") != "dynamodb":
            return None
        parts = req.get("ResourceId", "").split("/")
        if len(parts) not in (2, 4) or parts[0] != "table" or (len(parts) == 4 and parts[2] != "index"):
            return json11_error(start_response, "ValidationException", f"Unsupported resource ID: {req.get('ResourceId')}")
        table, index = parts[1], (parts[3] if len(parts) == 4 else None)
        env = dict(environ)
        env["HTTP_AUTHORIZATION"] = env.get("HTTP_AUTHORIZATION", "").replace("/application-autoscaling/", "/dynamodb/")
        env["CONTENT_TYPE"] = DDB_JSON
        live = self.describe(env, table)
        if live is None:
            return json11_error(start_response, "ValidationException", f"DynamoDB table {table} does not exist")
        if live.get("BillingModeSummary", {}).get("BillingMode") == "PAY_PER_REQUEST":
            return json11_error(start_response, "ValidationException", f"DynamoDB table {table} is in on-demand mode: it has no provisioned capacity to scale")
        with self.lock:
            st = self.busy_state(table)
        if index is None:
            if st and st["status"] == "CREATING":
                return json11_error(start_response, "ValidationException", f"DynamoDB table {table} is not ACTIVE")
            return None
        names = {g["IndexName"] for g in live.get("GlobalSecondaryIndexes", [])}
        if index not in names or (st and index in st["deleting"]):
            return json11_error(start_response, "ValidationException", f"DynamoDB index {index} of table {table} does not exist")
        if st and index in st["creating"]:
            return json11_error(start_response, "ValidationException", f"DynamoDB index {index} of table {table} is not ACTIVE")
        return None

    def after_deregister(self, environ, req):
        """AWS deletes a scalable target's scaling policies with it; moto keeps them."""
        keys = {k: req.get(k) for k in ("ServiceNamespace", "ResourceId", "ScalableDimension")}
        status, out = self.autoscaling_call(environ, "DescribeScalingPolicies", {k: keys[k] for k in ("ServiceNamespace", "ResourceId", "ScalableDimension")})
        if not status.startswith("200"):
            return
        for p in out.get("ScalingPolicies", []):
            self.autoscaling_call(environ, "DeleteScalingPolicy", dict(keys, PolicyName=p["PolicyName"]))

    def role_fresh(self, role_arn):
        name = (role_arn or "").split("/")[-1]
        with self.lock:
            t = self.roles_created.get(name)
        return t is not None and time.monotonic() - t < self.iam_delay

    def any_role_fresh(self):
        with self.lock:
            return any(time.monotonic() - t < self.iam_delay for t in self.roles_created.values())

    def function_busy(self, name):
        with self.lock:
            st = self.functions_busy.get(name)
            if st and st[0] <= time.monotonic():
                del self.functions_busy[name]
                return None
            return st

    def mapping_busy(self, uuid):
        """"Creating" or "Updating" while a mapping is, else None."""
        with self.lock:
            until, state = self.mappings_busy.get(uuid, (0, None))
            if until <= time.monotonic():
                self.mappings_busy.pop(uuid, None)
                return None
            return state

    def mend_streams(self):
        """DynamoDB Streams as AWS keeps them (tools/emu/streams.py), and the mappings'
        LastProcessingResult: moto's classes patched once, before moto sees DynamoDB or Lambda."""
        streams.install()
        if self.plane is not None:
            self.plane.install()
        self.mended = True

    def creating_until(self, uuid):
        """When a mapping's Creating window ends (--aws-rules), None when it is not Creating."""
        with self.lock:
            until, state = self.mappings_busy.get(uuid, (0, None))
        return until if state == "Creating" and until > time.monotonic() else None

    def mappings_of(self, environ, source_arn):
        env = dict(environ)
        env["REQUEST_METHOD"] = "GET"
        env["PATH_INFO"] = "/2015-03-31/event-source-mappings/"
        from urllib.parse import urlencode

        env["QUERY_STRING"] = urlencode({"EventSourceArn": source_arn})
        status, _, data = self.call_app(env, b"")
        return json.loads(data).get("EventSourceMappings", []) if status.startswith("200") else []

    def deleting(self):
        """The mappings still being deleted: uuid -> configuration."""
        now = time.monotonic()
        with self.lock:
            for u in [u for u, (t, _) in self.mappings_deleting.items() if t <= now]:
                del self.mappings_deleting[u]
            return {u: m for u, (_, m) in self.mappings_deleting.items()}

    @staticmethod
    def account_of(environ):
        """The caller's account, as moto tells it from the access key."""
        from moto.iam.models import get_account_id_from

        auth = environ.get("HTTP_AUTHORIZATION", "")
        key = auth.split("Credential=")[1].split("/")[0] if "Credential=" in auth else ""
        return get_account_id_from(key)

    @staticmethod
    def region_of(environ):
        auth = environ.get("HTTP_AUTHORIZATION", "")
        return auth.split("Credential=")[1].split("/")[2] if "Credential=" in auth else "us-east-1"

    def functions_named(self, environ, function):
        """moto's functions of that name (or ARN) in the caller's region, in every account."""
        from moto.awslambda.models import lambda_backends

        ref = parse_ref(function, self.account_of(environ), self.region_of(environ))
        name = ref.name if ref else function.split(":")[-1]
        for account in list(lambda_backends.keys()):
            backend = lambda_backends[account].get(self.region_of(environ))
            try:
                yield backend.get_function(name)
            except Exception:
                continue

    def function_role(self, environ, function):
        """The execution role's ARN of a function (by name or ARN), None if unknown."""
        return next((fn.role for fn in self.functions_named(environ, function)), None)

    @staticmethod
    def role_allows(role_arn, action, resource):
        """Whether an Allow statement of the role's inline or managed policies grants `action`
        on `resource` (wildcards as IAM reads them; Deny and conditions are not evaluated)."""
        import fnmatch

        from moto.iam.models import iam_backends

        name = (role_arn or "").split("/")[-1]
        account = (role_arn or "").split(":")[4] if (role_arn or "").count(":") >= 5 else None
        roles = []
        for acct in [account] if account in iam_backends else list(iam_backends.keys()):
            for backend in iam_backends[acct].values():
                try:
                    roles.append(backend.get_role(name))
                except Exception:
                    continue
        for role in roles:
            docs = list(role.policies.values())
            docs += [v.document for p in role.managed_policies.values() for v in p.versions if v.is_default]
            for doc in docs:
                doc = json.loads(doc) if isinstance(doc, str) else doc
                statements = doc.get("Statement", [])
                for st in [statements] if isinstance(statements, dict) else statements:
                    if st.get("Effect") != "Allow":
                        continue
                    acts = st.get("Action", [])
                    res = st.get("Resource", [])
                    acts = [acts] if isinstance(acts, str) else acts
                    res = [res] if isinstance(res, str) else res
                    if any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in acts) and any(
                        fnmatch.fnmatchcase(resource, r) for r in res
                    ):
                        return True
        return False

    def check_destination(self, environ, function, req, start_response):
        """AWS refuses an on-failure destination the function's role cannot send to."""
        dest = ((req.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination") or ""
        service = dest.split(":")[2] if dest.count(":") >= 5 else ""
        action = {"sqs": "sqs:SendMessage", "sns": "sns:Publish"}.get(service)
        if not action or not function:
            return None
        role = self.function_role(environ, function)
        name = role.split("/")[-1] if role else None
        with self.lock:
            changed = self.role_policy_changed.get(name)
        settled = changed is None or time.monotonic() - changed >= self.iam_delay
        if role is None or (settled and self.role_allows(role, action, dest)):
            return None
        verb = action.split(":")[1]
        return lambda_error(
            start_response,
            "InvalidParameterValueException",
            f"The function execution role does not have permissions to call {verb} on {dest}",
        )

    def check_lambda(self, environ, method, path, req, start_response):
        parts = path.strip("/").split("/")  # 2015-03-31, functions|event-source-mappings, ...
        if len(parts) < 2:
            return None
        if parts[1] == "event-source-mappings" and len(parts) == 3 and parts[2] in self.deleting():
            if method == "PUT":
                return lambda_error(
                    start_response,
                    "ResourceInUseException",
                    f"Cannot update the event source mapping {parts[2]}: it is being deleted.",
                )
            if method == "GET":
                body = json.dumps(self.deleting()[parts[2]], default=str).encode()
                start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
                return [body]
        if parts[1] == "event-source-mappings" and len(parts) == 3 and method in ("PUT", "DELETE") and self.mapping_busy(parts[2]):
            # Creating or Updating: not until it is Enabled (docs/aws-behaviour.md rule 36).
            verb = "update" if method == "PUT" else "delete"
            return lambda_error(
                start_response, "ResourceInUseException", f"Cannot {verb} the event source mapping because it is in use."
            )
        if parts[1] == "event-source-mappings" and method in ("POST", "PUT"):
            refused = filters.check(req, self.max_filters)  # docs/aws-behaviour.md rule 39
            if refused is not None:
                return refuse(start_response, "lambda", refused)
        if parts[1] == "functions" and method == "POST" and len(parts) == 2:
            if self.role_fresh(req.get("Role")):
                return lambda_error(
                    start_response, "InvalidParameterValueException", "The role defined for the function cannot be assumed by Lambda."
                )
        publishing = method == "POST" and len(parts) == 4 and parts[3] == "versions"
        updating = method == "PUT" and len(parts) == 4 and parts[3] in ("configuration", "code")
        if parts[1] == "functions" and (updating or publishing):
            # PublishVersion too waits for an update to finish (rule 10; rule 43).
            if self.function_busy(parts[2]):
                return lambda_error(
                    start_response,
                    "ResourceConflictException",
                    f"The operation cannot be performed at this time. An update is in progress for resource: {parts[2]}",
                    "409 Conflict",
                )
        if parts[1] == "event-source-mappings" and method == "PUT" and len(parts) == 3:
            env = dict(environ)
            env["REQUEST_METHOD"], env["PATH_INFO"], env["QUERY_STRING"] = "GET", path, ""
            status, _, data = self.call_app(env, b"")
            function = json.loads(data).get("FunctionArn") if status.startswith("200") else None
            refused = self.check_destination(environ, req.get("FunctionName") or function, req, start_response)
            if refused is not None:
                return refused
        if parts[1] == "event-source-mappings" and method == "POST":
            refused = self.check_destination(environ, req.get("FunctionName"), req, start_response)
            if refused is not None:
                return refused
            if self.any_role_fresh():
                return lambda_error(
                    start_response,
                    "InvalidParameterValueException",
                    "Cannot access stream. Please ensure the role can perform the GetRecords, GetShardIterator, "
                    "DescribeStream, and ListStreams Actions on your stream in IAM.",
                )
            fn = req.get("FunctionName", "")
            ref = parse_ref(fn, self.account_of(environ), self.region_of(environ))
            wanted = ref.qualified_arn if ref else fn
            dying = [m for m in self.deleting().values() if m.get("EventSourceArn") == req.get("EventSourceArn")]
            for m in self.mappings_of(environ, req.get("EventSourceArn", "")) + dying:
                if m.get("FunctionArn", "") == wanted:
                    return lambda_error(
                        start_response,
                        "ResourceConflictException",
                        f"The event source arn ({req.get('EventSourceArn')}) and function ({fn}) provided mapping already "
                        f"exists. Please update or delete the existing mapping with UUID {m['UUID']}",
                        "409 Conflict",
                    )
        return None

    def after_lambda(self, method, path, req, data):
        parts = path.strip("/").split("/")
        now = time.monotonic()
        with self.lock:
            if len(parts) == 2 and parts[1] == "functions" and method == "POST":
                self.functions_busy[req.get("FunctionName")] = (now + self.busy_seconds, "create")
            elif len(parts) == 4 and parts[1] == "functions" and method == "PUT" and parts[3] in ("configuration", "code"):
                self.functions_busy[parts[2]] = (now + self.busy_seconds, "update")
            elif parts[1] == "event-source-mappings" and method == "POST":
                uuid = json.loads(data).get("UUID")
                if uuid:
                    self.mappings_busy[uuid] = (now + self.busy_seconds, "Creating")
            elif parts[1] == "event-source-mappings" and method == "PUT" and len(parts) == 3:
                self.mappings_busy[parts[2]] = (now + self.busy_seconds, "Updating")
            elif parts[1] == "event-source-mappings" and method == "DELETE" and len(parts) == 3:
                self.mappings_busy.pop(parts[2], None)
                m = json.loads(data or b"{}")
                m["State"] = "Deleting"
                m.setdefault("UUID", parts[2])
                self.mappings_deleting[parts[2]] = (now + self.busy_seconds, m)

    def keep_code(self, method, path, req, status):
        """Keeps each uploaded zip (CreateFunction, UpdateFunctionCode), as AWS does."""
        import base64

        parts = path.strip("/").split("/")
        if not status.startswith("2") or len(parts) < 2 or parts[1] != "functions":
            return
        if method == "POST" and len(parts) == 2:
            name, zipped = req.get("FunctionName"), (req.get("Code") or {}).get("ZipFile")
        elif method == "PUT" and len(parts) == 4 and parts[3] == "code":
            name, zipped = parts[2], req.get("ZipFile")
        else:
            return
        if name and zipped:
            with self.lock:
                self.code[name.split(":")[-1]] = base64.b64decode(zipped)

    def keep_settings(self, environ, method, path, req, status):
        """UpdateFunctionConfiguration's TracingConfig and UpdateFunctionCode's Architectures,
        which AWS applies and moto ignores after CreateFunction."""
        parts = path.strip("/").split("/")
        if method != "PUT" or not status.startswith("2") or len(parts) != 4 or parts[1] != "functions":
            return
        changes = {}
        if parts[3] == "configuration" and "TracingConfig" in req:
            changes["tracing_config"] = req["TracingConfig"]
        if parts[3] == "code" and req.get("Architectures"):
            changes["architectures"] = req["Architectures"]
        if not changes:
            return
        from moto.awslambda.models import lambda_backends

        for fn in self.functions_named(environ, parts[2]):
            for k, v in changes.items():
                setattr(fn, k, v)
            # A change PublishVersion must see (moto publishes only what it saw change).
            fn.code_or_config_updated = True
            if req.get("Publish"):
                # moto published before this mend: the version it just made has it too.
                group = lambda_backends[fn.account_id][fn.region]._lambdas._functions.get(fn.function_name)
                if group and group["versions"]:
                    for k, v in changes.items():
                        setattr(group["versions"][-1], k, v)
                    fn.code_or_config_updated = False

    def code_location(self, environ, path, data):
        """GetFunction's Code.Location: a URL of the deployed zip (moto gives none for a zip
        upload), served by this proxy at /_proxy/code/NAME."""
        parts = path.strip("/").split("/")
        if len(parts) != 3 or parts[1] != "functions":
            return data
        name = parts[2].split(":")[-1]
        with self.lock:
            known = name in self.code
        if not known:
            return data
        doc = json.loads(data or b"{}")
        host = environ.get("HTTP_HOST") or f"127.0.0.1:{environ.get('SERVER_PORT')}"
        doc.setdefault("Code", {})["RepositoryType"] = "S3"
        doc["Code"]["Location"] = f"http://{host}/_proxy/code/{name}?X-Amz-Expires=600&X-Amz-Signature=emulated"
        return json.dumps(doc, default=str).encode()

    def rewrite_lambda(self, method, path, data, query=""):
        parts = path.strip("/").split("/")
        if method != "GET" or len(parts) < 2:
            return data
        doc = json.loads(data or b"{}")
        if parts[1] == "functions" and len(parts) >= 3:
            st = self.function_busy(parts[2])
            if st:
                conf = doc.get("Configuration", doc)
                if st[1] == "create":
                    conf["State"] = "Pending"
                    conf["LastUpdateStatus"] = "InProgress"
                else:
                    conf["State"] = "Active"
                    conf["LastUpdateStatus"] = "InProgress"
        elif parts[1] == "event-source-mappings":
            # (A mapping being deleted is listed by tools/emu/versions.py, from self.deleting().)
            for m in doc.get("EventSourceMappings", [doc]):
                state = self.mapping_busy(m.get("UUID"))
                if state:
                    m["State"] = state
        return json.dumps(doc, default=str).encode()

    def cloudwatch_backend(self, environ):
        """moto's CloudWatch backend of the caller (a function: looked up when a fix needs it)."""
        from moto.cloudwatch.models import cloudwatch_backends

        account, region = self.account_of(environ), self.region_of(environ)
        return lambda: cloudwatch_backends[account][region]

    def lambda_backend(self, environ):
        """moto's Lambda backend of the caller (a function: looked up when a fix needs it)."""
        from moto.awslambda.models import lambda_backends

        account, region = self.account_of(environ), self.region_of(environ)
        return lambda: lambda_backends[account][region]

    def sns_backend(self, environ):
        from moto.sns.models import sns_backends

        account, region = self.account_of(environ), self.region_of(environ)
        return lambda: sns_backends[account][region]

    def moto_call(self, environ, body, service, action, rpc):
        """moto's answer to a request: a CBOR one through tools/emu/cbor.py (moto speaks only the
        query form of CloudWatch); CloudWatch's alarms, in CBOR or JSON, as AWS keeps them
        (tools/emu/cloudwatch.py)."""
        if rpc:
            fixes = self.alarms if service == "monitoring" else None
            return self.translator.handle(service, environ, body, fixes, {"backend": self.cloudwatch_backend(environ)})
        if service != "monitoring" or not environ.get("HTTP_X_AMZ_TARGET"):
            return self.call_app(environ, body)
        params = request_json(environ, service, body)
        sent = json.dumps(params, sort_keys=True)
        ctx = {"backend": self.cloudwatch_backend(environ)}
        early = self.alarms.before(action, params, ctx)
        if isinstance(early, Reply):
            return early.status, [("Content-Type", "application/x-amz-json-1.0")], json.dumps(early.doc).encode()
        if early is not None:  # a Refusal, as CloudWatch's JSON protocol words it
            return cbor.error(service, early.code, early.message, early.status, operation=action, encoding="json")
        if json.dumps(params, sort_keys=True) != sent:
            body = json.dumps(params).encode()
        status, headers, data = self.call_app(environ, body)
        if status.startswith("200"):
            try:
                out = json.loads(data or b"{}")
            except ValueError:
                return status, headers, data
            out = self.alarms.after(action, params, out, ctx)
            data = json.dumps(out, default=str).encode()
        return status, headers, data

    # -- WSGI -------------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO", "").startswith("/_proxy/"):
            return self.control(environ, start_response)
        if environ.get("PATH_INFO", "").startswith("/moto-api"):
            return self.app(environ, start_response)
        if self.faults.get("expired"):
            # In each service's own format, as AWS answers it.
            expired = "The security token included in the request is expired"
            svc = service_of(environ)
            if cbor.is_cbor(environ):
                return cbor_error(start_response, svc, "ExpiredToken", expired)
            if svc == "dynamodb":
                return ddb_error(start_response, "ExpiredTokenException", expired)
            if svc == "lambda":
                return lambda_error(start_response, "ExpiredTokenException", expired, "403 Forbidden")
            return xml_error(start_response, "400 Bad Request", "ExpiredToken", expired, ec2=svc == "ec2")
        if self.latency:
            time.sleep(self.latency)  # one round trip to AWS, as seen from a client
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        service = service_of(environ)
        action = action_of(environ, service, body)
        method = environ.get("REQUEST_METHOD", "GET")
        if service in ("dynamodb", "lambda") and not self.mended:
            self.mend_streams()
        rpc = cbor.is_cbor(environ) and cbor.model(service) is not None  # Smithy RPC v2 CBOR
        if rpc:
            environ, body = cbor.inflated(environ, body)  # PutMetricData comes gzip-compressed past 10 KiB
        call = {"service": service, "action": action, "write": is_write(service, action, method), "t": time.monotonic()}
        if self.plane is not None:
            # A call a function's handler makes (with its execution role's keys) says which.
            function = self.plane.runtime.access_keys().get(access_key_of(environ))
            if function:
                call["function"] = function
        with self.lock:
            self.calls.append(call)
            draw = self.rng.random()
        # One draw decides this call's fault: throttle, 5xx, dropped, answer lost, or none.
        fault, edge = None, 0.0
        for kind in ("throttle", "error", "drop", "lose"):
            edge += self.faults.get(kind, 0.0)
            if draw < edge:
                fault = kind
                with self.lock:
                    self.injected[kind] += 1
                break
        if self.only and service != self.only:
            # What a single-service endpoint (DynamoDB Local) answers to every other service.
            body = json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#UnknownOperationException"}).encode()
            start_response("400 Bad Request", [("Content-Type", DDB_JSON), ("Content-Length", str(len(body)))])
            return [body]
        if fault in ("throttle", "error"):
            return fault_error(start_response, service, fault, rpc, environ)
        if fault == "drop":
            drop(environ)
            start_response("500 Internal Server Error", [("Content-Length", "0")])
            return [b""]
        if self.limiter is not None:
            # AWS's per-account rates (docs/aws-behaviour.md rule 46), before anything else AWS does.
            wait = self.limiter.take(self.account_of(environ), self.region_of(environ), service,
                                     rates.operation_of(environ, body)[1])
            if wait is not None:
                with self.lock:
                    call["throttled"] = True
                return self.respond(start_response, *rates.throttle(service, environ, wait))
        if self.aws_rules and service == "sqs" and not self.sqs_mended:
            sqs.install()
            self.sqs_mended = True
        req = cbor.request(body) if rpc else request_json(environ, service, body)
        if self.aws_rules and self.validator is not None:
            # The service's API model (docs/aws-behaviour.md rule 40), before anything else.
            refused = self.validator.check(service, environ, body, req)
            if refused is not None:
                return refuse(start_response, service, refused, "HTTP_X_AMZ_TARGET" in environ, rpc)
        sns, sns_ctx = None, {}
        if self.aws_rules and service == "sns" and action in self.sns.actions:
            # Topics and email subscriptions as AWS keeps them (docs/aws-behaviour.md rule 42).
            from urllib.parse import parse_qsl

            sns = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            refused = self.sns.before(action, sns, self.sns_backend(environ), sns_ctx)
            if refused is not None:
                return refuse(start_response, service, refused)
        token = None
        if self.aws_rules and service == "ec2" and b"ClientToken=" in body:
            from urllib.parse import parse_qs

            token = parse_qs(body.decode("utf-8", "replace")).get("ClientToken", [None])[0]
            with self.lock:
                seen = self.client_tokens.get(token)
            if seen:
                return self.respond(start_response, *seen)
        before = None
        if self.aws_rules and service == "dynamodb":
            refused = self.check_dynamodb(environ, action, req, start_response)
            if refused is not None:
                return refused
            if action == "UpdateTable":
                before = self.describe(environ, req.get("TableName", ""))
        if self.aws_rules and service == "application-autoscaling":
            refused = self.check_autoscaling(environ, action, req, start_response)
            if refused is not None:
                return refused
        path = environ.get("PATH_INFO", "")
        if self.aws_rules and service == "lambda" and is_invoke(method, path):
            refused = invoke_too_large(environ, body)
            if refused is not None:
                return refuse(start_response, service, refused)
        if self.aws_rules and service == "lambda":
            refused = self.check_lambda(environ, method, path, req, start_response)
            if refused is not None:
                return refused
        lam = None
        if service == "lambda":
            # Versions, aliases and triggers on aliases (docs/aws-behaviour.md rule 43).
            lam = {"backend": self.lambda_backend(environ), "account": self.account_of(environ),
                   "region": self.region_of(environ), "query": environ.get("QUERY_STRING", "")}
            refused = self.versions.before(method, path, req, lam)
            if refused is not None:
                return refuse(start_response, service, refused)
            if "body" in lam:  # a mapping's FunctionName, as the full ARN moto understands
                body = lam["body"]
            if "path" in lam:  # a function's name where moto cannot read its ARN
                qs = environ.get("QUERY_STRING")
                raw = lam["path"] + (f"?{qs}" if qs else "")
                environ = dict(environ, PATH_INFO=lam["path"], RAW_URI=raw, REQUEST_URI=raw)
        rule = self.rules.get(service) if self.aws_rules and environ.get("HTTP_X_AMZ_TARGET") else None
        rule = rule if rule is not None and action in rule.actions else None
        ctx = {"scope": (self.account_of(environ), self.region_of(environ))} if rule else {}
        if rule:
            answer = rule.before(action, req, self.moto_json(environ), ctx)
            if answer is not None:
                return self.respond(start_response, *encoded(environ, service, answer))
        if self.plane is not None and service == "lambda" and is_invoke(method, path):
            # Invoke runs the handler (tools/emu/dataplane.py); moto would need Docker.
            answer = self.plane.invoke(environ, path, body, self.account_of(environ), self.region_of(environ))
            status, headers, data = encoded(environ, service, answer) if isinstance(answer, Refusal) else answer
        else:
            status, headers, data = self.moto_call(environ, body, service, action, rpc)
        if sns is not None:
            data = self.sns.after(action, sns, status, data, self.sns_backend(environ), sns_ctx)
        if rule:
            answer = rule.after(action, req, status, data, ctx)
            if answer is not None:
                status, headers, data = encoded(environ, service, answer)
        if self.aws_rules and service == "iam" and action == "CreateRole" and status.startswith("200"):
            from urllib.parse import parse_qs

            name = parse_qs(body.decode("utf-8", "replace")).get("RoleName", [""])[0]
            with self.lock:
                self.roles_created[name] = time.monotonic()
        if self.aws_rules and service == "iam" and action in ("PutRolePolicy", "AttachRolePolicy") and status.startswith("200"):
            from urllib.parse import parse_qs

            name = parse_qs(body.decode("utf-8", "replace")).get("RoleName", [""])[0]
            with self.lock:
                self.role_policy_changed[name] = time.monotonic()
        if service == "lambda":
            if method in ("POST", "PUT"):
                self.keep_code(method, path, req, status)
                self.keep_settings(environ, method, path, req, status)
            elif method == "GET" and status.startswith("200"):
                data = self.code_location(environ, path, data)
            if self.aws_rules:
                lam["deleting"] = list(self.deleting().values())
            status, data = self.versions.after(method, path, req, status, data, lam)
        if self.aws_rules and service == "lambda" and status[:1] == "2":
            if method == "GET":
                data = self.rewrite_lambda(method, path, data, environ.get("QUERY_STRING", ""))
            else:
                self.after_lambda(method, path, req, data)
        if self.plane is not None and service == "lambda" and status[:1] == "2" and method in ("POST", "PUT", "DELETE") \
                and path.strip("/").split("/")[1:2] == ["event-source-mappings"]:
            # A mapping made, changed or deleted: its poller (LATEST from when it is Enabled).
            try:
                doc = json.loads(data or b"{}")
            except ValueError:
                doc = {}
            self.plane.mapping_event(method, path, req, doc, self.busy_seconds if self.aws_rules else 0.0)
        if service == "dynamodb":
            self.keep_storage(environ, action, body, status)
            if action == "DescribeTable" and status.startswith("200"):
                data = self.storage_describe(data)
        if self.aws_rules and service == "dynamodb" and status.startswith("200"):
            if action == "DescribeTable":
                data = self.rewrite_describe(data)
            else:
                self.after_dynamodb(environ, action, req, before)
        if service == "application-autoscaling" and action == "DeregisterScalableTarget":
            if status.startswith("200"):
                self.after_deregister(environ, req)
            elif b"No scalable target found" in data:
                # AWS says ObjectNotFoundException; moto says ValidationException.
                message = json.loads(data).get("message") or json.loads(data).get("Message") or "No scalable target found"
                return json11_error(start_response, "ObjectNotFoundException", message)
        if token and status.startswith("200"):
            with self.lock:
                self.client_tokens[token] = (status, headers, data)
        if fault == "lose":
            drop(environ)
            start_response("500 Internal Server Error", [("Content-Length", "0")])
            return [b""]
        if self.recording:
            import base64

            with self.lock:
                self.recorded.append({
                    "method": method,
                    "path": environ.get("PATH_INFO", ""),
                    "query": environ.get("QUERY_STRING", ""),
                    "target": environ.get("HTTP_X_AMZ_TARGET", ""),
                    "body": base64.b64encode(body).decode(),
                    "status": status,
                    "headers": [[k, v] for k, v in headers if k.lower() not in ("content-length", "date", "server")],
                    "data": base64.b64encode(data).decode(),
                })
        return self.respond(start_response, status, headers, data)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=4566)
    ap.add_argument("--aws-rules", action="store_true", help="enforce AWS rules moto does not")
    ap.add_argument("--busy-seconds", type=float, default=1.5)
    ap.add_argument("--iam-delay", type=float, default=3.0, help="seconds before Lambda can assume a new role")
    ap.add_argument("--latency-ms", type=float, default=0.0, help="added to every request (a network round trip)")
    ap.add_argument("--seed", type=int, default=1)
    for kind in ("throttle", "error", "drop", "lose"):
        ap.add_argument(f"--{kind}-rate", type=float, default=0.0)
    ap.add_argument("--expired-token", action="store_true", help="answer every call with ExpiredToken")
    ap.add_argument("--rate-limits", action="store_true",
                    help="throttle calls beyond AWS's documented per-account rates (token buckets)")
    ap.add_argument("--only", default=None, help="answer only this service (dynamodb): DynamoDB Local as a stand-in")
    ap.add_argument("--decrease-quota", type=int, default=None,
                    help="with --aws-rules: throughput decreases allowed per table; more are LimitExceededException")
    ap.add_argument("--limit-exceeded", type=int, default=0,
                    help="with --aws-rules: the first N UpdateTable calls fail with LimitExceededException (too many at once)")
    # Eventual consistency and API models (with --aws-rules; 0 turns a lag off).
    ap.add_argument("--tag-lag", type=float, default=1.0,
                    help="seconds ListTagsOfResource answers a table's previous tags after a tag change")
    ap.add_argument("--tagging-lag", type=float, default=3.0,
                    help="seconds the Tagging API's GetResources judges a table by its tags from before a change")
    ap.add_argument("--sqs-lag", type=float, default=1.5,
                    help="seconds a queue's attribute change or delete takes to show (a new queue: a third of it)")
    ap.add_argument("--sqs-deleted-recently", type=float, default=3.0,
                    help="seconds after DeleteQueue that CreateQueue of the name is QueueDeletedRecently (AWS: 60)")
    ap.add_argument("--aas-lag", type=float, default=1.0,
                    help="seconds a new scalable target is not described and refuses scaling policies")
    ap.add_argument("--aas-write-gap", type=float, default=0.3,
                    help="seconds after a write to a scalable target that another is ConcurrentUpdateException")
    ap.add_argument("--sqs-count-lag", type=float, default=1.0,
                    help="seconds a queue's message counts lag behind sends, receives and deletes")
    ap.add_argument("--max-filters", type=int, default=5, help="filter patterns allowed per event source mapping")
    ap.add_argument("--no-model-checks", action="store_true",
                    help="do not validate requests against the services' API models")
    # Lambda's data plane (tools/emu/dataplane.py) and the streams it reads (tools/emu/streams.py).
    ap.add_argument("--no-data-plane", action="store_true",
                    help="run no function: Invoke is moto's (which needs Docker) and stream triggers never fire")
    ap.add_argument("--stream-retention", type=float, default=86400.0,
                    help="seconds a DynamoDB stream record is kept before it is trimmed (AWS: 24 h)")
    ap.add_argument("--lambda-idle", type=float, default=60.0,
                    help="seconds an idle execution environment is kept warm for the next invocation")
    args = ap.parse_args()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("the emulator binds to loopback only")
    app = DomainDispatcherApplication(create_backend_app)
    faults = {k: getattr(args, f"{k}_rate") for k in ("throttle", "error", "drop", "lose")}
    faults["expired"] = args.expired_token
    proxy = Proxy(app, args.aws_rules, args.busy_seconds, args.iam_delay, args.latency_ms, faults, args.seed)
    proxy.decrease_quota = args.decrease_quota
    proxy.only = args.only
    proxy.limit_exceeded = args.limit_exceeded
    proxy.max_filters = args.max_filters
    tagging_lag = TaggingLag(args.tagging_lag)
    proxy.rules = {
        "dynamodb": DynamoTags(args.tag_lag, tagging_lag),
        "tagging": tagging_lag,
        "sqs": SqsLag(args.sqs_lag, args.sqs_deleted_recently, args.sqs_count_lag),
        "application-autoscaling": ScalingLag(args.aas_lag, args.aas_write_gap),
    }
    proxy.validator = None if args.no_model_checks else Validator()
    tagging.install()  # pages of ResourcesPerPage resources, as AWS cuts them
    proxy.limiter = rates.Limiter() if args.rate_limits else None
    streams.configure(args.stream_retention, empty_first=args.aws_rules)
    if args.aws_rules:
        # Short polls sample (tools/emu/sqs.py); the counts lag behind the data plane's sends too.
        sqs.configure(random.Random(f"sqs-{args.seed}"))
        dataplane.SQS_WRITE = proxy.rules["sqs"].changing
    if not args.no_data_plane:
        proxy.plane = Plane(busy=proxy.creating_until, idle=args.lambda_idle)
    server = make_server(args.host, args.port, proxy, threaded=True, request_handler=MotoRequestHandler)
    server.request_queue_size = 128  # many concurrent connections (benchmarks, 40-table plans)
    if proxy.plane is not None:
        host = f"[{args.host}]" if ":" in args.host else args.host
        proxy.plane.url = f"http://{host}:{server.server_port}"
    # SIGTERM ends the emulator cleanly: its functions' processes and unpacked code go with it.
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"READY port={server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        if proxy.plane is not None:
            proxy.plane.close()


if __name__ == "__main__":
    main()
