"""The data plane of Lambda as AWS runs it, where moto 5.2.5 runs nothing without Docker: Invoke,
and the pollers of event source mappings on DynamoDB streams (docs/aws-behaviour.md rules 39,
43, 44; the stream itself: tools/emu/streams.py; running a handler: tools/emu/runtime.py). On in
every mode of tools/emulator.py (`--no-data-plane` turns it off), as AWS always runs triggers.

    plane = Plane(busy=lambda uuid: creating_until or None, idle=60.0)
    plane.url = "http://127.0.0.1:PORT"        # what functions call (AWS_ENDPOINT_URL)
    plane.invoke(environ, path, body, account, region) -> Refusal | (status, headers, data)
    plane.mapping_event(method, path, req, doc, busy_seconds)   # after a mapping call succeeded
    plane.entries() / plane.reset()             # GET /_proxy/invocations, POST .../reset

Invoke (`POST /2015-03-31/functions/NAME/invocations`, NAME a name, partial ARN, ARN or
qualified ARN, `?Qualifier=`): the version invoked ($LATEST, a version, or what an alias points
at, weighted by its RoutingConfig) runs with the code and configuration it was published with.
The answer is Lambda's: 200 with the handler's JSON result and X-Amz-Executed-Version; an error
(uncaught exception, timeout, runtime exit) is still 200, with X-Amz-Function-Error: Unhandled and
the error as payload; `X-Amz-Log-Type: Tail` adds X-Amz-Log-Result (base64, last 4 KB of the log);
`X-Amz-Invocation-Type: DryRun` answers 204 without running, `Event` 202 and runs it in the
background (once: the asynchronous retries and destinations are not modelled). A function that is
not there is ResourceNotFoundException (404, "Function not found: ARN"); a body that is not JSON
InvalidRequestContentException; a qualifier in the name that differs from `Qualifier`
InvalidParameterValueException.

A poller per mapping on a DynamoDB stream (a thread, started when the mapping is first seen and
ended when it is gone; asleep unless a record is written, a mapping changes, a retry or a batching
window is due). It reads the shard from its position as Lambda does:
- Starting position: LATEST is the first record written after the mapping became Enabled (after
  its Creating window under --aws-rules), TRIM_HORIZON the oldest retained. A disabled or deleted
  mapping does not poll; an update (of FunctionName too) keeps the position (rule 43). A position
  that was trimmed meanwhile moves to the oldest record retained (those records are lost).
- FilterCriteria (tools/emu/filters.py): a record no pattern matches is dropped and the position
  moves past it (rule 39).
- BatchSize, and MaximumBatchingWindowInSeconds (wait, up to the window from the first record's
  arrival, for a full batch; without a window, what is there goes at once).
- The event is {"Records": [...]} as Lambda delivers stream records: eventID, eventName,
  eventVersion "1.1", eventSource "aws:dynamodb", awsRegion, dynamodb {ApproximateCreationDateTime
  (epoch seconds), Keys, NewImage / OldImage as the stream's view type carries them,
  SequenceNumber, SizeBytes, StreamViewType}, eventSourceARN (the stream's ARN).
- The function invoked is the mapping's FunctionArn as AWS keeps it (tools/emu/versions.py): an
  alias ARN runs whatever version the alias points at when the batch goes.
- An error (Unhandled, timeout) fails the whole batch. With FunctionResponseTypes
  ReportBatchItemFailures, {"batchItemFailures": [{"itemIdentifier": SEQ}]} checkpoints: the
  records before the lowest failed sequence number are done and the rest is retried; an empty or
  null list, a null or empty response, or no such key is success; an itemIdentifier that is null,
  empty or not in the batch fails the whole batch (Lambda Developer Guide, "Configuring partial
  batch response with DynamoDB and Lambda").
- Retries: up to MaximumRetryAttempts (-1 or unset: until the record is trimmed), after
  RETRY_DELAY (doubling from the fourth retry, at most MAX_DELAY; AWS backs off for longer);
  MaximumRecordAgeInSeconds (-1 or unset: no limit) discards a batch whose oldest record is older,
  with condition MaximumRecordAgeExceeded. With BisectBatchOnFunctionError a batch of more than
  one record that fails is split in two, each half retried in turn, and splitting consumes no
  retry ("Splitting batches doesn't consume the retry quota": Lambda Developer Guide, "Retain
  discarded records for a DynamoDB event source in Lambda").
- Retries spent (or the age passed): with DestinationConfig.OnFailure an SQS queue or SNS topic,
  the invocation record of rule 44 is sent there (requestContext {requestId, functionArn,
  condition, approximateInvokeCount}, responseContext {statusCode, executedVersion,
  functionError}, version "1.0", timestamp, DDBStreamBatchInfo {shardId, startSequenceNumber,
  endSequenceNumber, approximateArrivalOfFirstRecord, approximateArrivalOfLastRecord, batchSize,
  streamArn}); with or without one, the position then moves past the batch.
- The mapping's LastProcessingResult: "No records processed", then "OK" or "PROBLEM: Function
  call failed" (moto: always null).

Every invocation, direct or by a mapping, is listed by GET /_proxy/invocations (see `entry`).

Not modelled: Kinesis and SQS sources, ParallelizationFactor, TumblingWindowInSeconds, AWS's
retry backoff, the asynchronous retries and destinations of Event invocations, S3 on-failure
destinations, the destination's permissions at delivery time (rule 21 is checked when the mapping
is made), throttling and concurrency limits, the IteratorAge metric.
"""

import json
import random
import threading
import time
import traceback
import uuid as uuidlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import parse_qs, unquote

from . import Refusal, filters, streams
from .runtime import Runtime, snapshot
from .versions import parse_ref

RETRY_DELAY = 0.2  # seconds before a failed batch is retried (the first three times)
MAX_DELAY = 5.0
IDLE_WAIT = 2.0  # a poller with nothing to do looks again after this (it is woken earlier by writes)
SCAN = 10000  # records a poller reads from its position at a time
MAX_ENTRIES = 10000  # invocations kept for /_proxy/invocations
REPORT = "ReportBatchItemFailures"


def _iso(epoch, ms=False):
    t = datetime.fromtimestamp(epoch, timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z" if ms else t.strftime("%Y-%m-%dT%H:%M:%SZ")


def stream_event(rec, stream_arn, region):
    """One stream record as Lambda puts it into the event (Lambda Developer Guide, "Using AWS
    Lambda with Amazon DynamoDB": the example event)."""
    r = rec.record
    d = r["dynamodb"]
    when = rec.__dict__.get("_emu_wall")
    if when is None:
        created = d.get("ApproximateCreationDateTime")
        when = created.replace(tzinfo=timezone.utc).timestamp() if isinstance(created, datetime) else time.time()
    dynamodb = {"ApproximateCreationDateTime": int(when), "Keys": d["Keys"]}
    for image in ("NewImage", "OldImage"):
        if image in d:
            dynamodb[image] = d[image]
    dynamodb.update({"SequenceNumber": d["SequenceNumber"], "SizeBytes": d["SizeBytes"], "StreamViewType": d["StreamViewType"]})
    return {
        "eventID": r["eventID"],
        "eventName": r["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }


def seq_of(rec):
    return int(rec.record["dynamodb"]["SequenceNumber"])


class NotFound(Exception):
    pass


class Refused(Exception):
    """A Refusal (tools/emu) raised."""

    def __init__(self, code, message):
        super().__init__(message)
        self.refusal = Refusal(code, message)


def resolve(name, qualifier, account, region):
    """(moto's LambdaFunction of the version to run, the invoked ARN, the qualifier) of a
    FunctionName in any of its forms; raises NotFound(ARN) or Refused."""
    from moto.awslambda.models import lambda_backends

    ref = parse_ref(name, account, region)
    if ref is None:
        raise NotFound(name)
    if qualifier and ref.qualifier and qualifier != ref.qualifier:
        raise Refused("InvalidParameterValueException",
                      "The derived qualifier from the function name does not match the specified qualifier.")
    q = qualifier or ref.qualifier
    invoked = ref.arn + (f":{q}" if q else "")
    try:
        backend = lambda_backends[ref.account][ref.region]
        if q and q != "$LATEST" and not q.isdigit():
            alias = backend.get_alias(q, ref.name)
            version = alias.function_version
            weights = (alias.routing_config or {}).get("AdditionalVersionWeights") or {}
            draw, edge = random.random(), 0.0
            for v, w in weights.items():
                edge += float(w)
                if draw < edge:
                    version = v
                    break
            fn = backend.get_function(ref.name, version)
        else:
            fn = backend.get_function(ref.name, q)
    except Exception:
        raise NotFound(invoked)
    if fn is None:
        raise NotFound(invoked)
    return fn, invoked, q


@dataclass
class Batch:
    """Records a poller is delivering, until they succeed or are given up."""

    records: list
    end: int  # the position after them (past the filtered-out records read with them)
    invokes: int = 0  # invocations that carried these records (approximateInvokeCount)
    retries: int = 0
    not_before: float = 0.0
    last: object = None  # the last invocation's Outcome
    request_id: str = None


@dataclass
class Poller:
    """One mapping's reading of its stream (a thread: Plane.poll)."""

    account: str
    region: str
    uuid: str
    first_seen: float = field(default_factory=time.monotonic)
    position: int = None
    batch: Batch = None
    queue: list = field(default_factory=list)  # bisected halves still to deliver


class Plane:
    def __init__(self, busy=None, idle=60.0):
        self.busy = busy or (lambda uuid: None)  # uuid -> monotonic time its Creating ends, or None
        self.url = None
        self.runtime = Runtime(lambda: self.url, idle)
        self.lock = threading.Lock()
        self.wakeup = threading.Condition(self.lock)
        self.pollers = {}  # uuid -> Poller
        self.enabled_at = {}  # uuid -> monotonic time the mapping is Enabled from
        self.log = []
        self.closed = False
        self.generation = 0  # counts wake-ups: a poller does not sleep through one it missed
        streams.on_write(lambda shard: self.wake())

    # -- moto's mappings, mended ------------------------------------------------------------
    @staticmethod
    def install():
        """GetEventSourceMapping / ListEventSourceMappings show LastProcessingResult (moto: null).
        Once, before the first Lambda or DynamoDB request reaches moto (as streams.install)."""
        from moto.awslambda.models import EventSourceMapping

        with streams.LOCK:
            if getattr(EventSourceMapping, "_emu_mended", False):
                return
            original = EventSourceMapping.get_configuration

            def get_configuration(self):
                conf = original(self)
                if ":dynamodb:" in (self.event_source_arn or ""):
                    conf["LastProcessingResult"] = self.__dict__.get("_emu_result", "No records processed")
                return conf

            EventSourceMapping.get_configuration = get_configuration
            EventSourceMapping._emu_mended = True

    def wake(self):
        with self.wakeup:
            self.generation += 1
            self.wakeup.notify_all()

    def close(self):
        with self.wakeup:
            self.closed = True
            self.wakeup.notify_all()
        self.runtime.close()

    # -- the proxy tells of mapping changes -------------------------------------------------
    def mapping_event(self, method, path, req, doc, busy_seconds=0.0):
        """After a successful CreateEventSourceMapping / UpdateEventSourceMapping /
        DeleteEventSourceMapping: when the mapping is Enabled from, and a poller for it."""
        parts = path.strip("/").split("/")
        now = time.monotonic()
        with self.lock:
            if method == "POST" and len(parts) == 2:
                uid = (doc or {}).get("UUID")
                if uid:
                    self.enabled_at[uid] = now + busy_seconds
            elif method == "PUT" and len(parts) == 3 and req.get("Enabled") is True:
                p = self.pollers.get(parts[2])
                if p is None or p.position is None:
                    self.enabled_at[parts[2]] = now
        self.refresh()
        self.wake()

    def refresh(self):
        """Starts a poller for every mapping on a DynamoDB stream that has none."""
        from moto.awslambda.models import lambda_backends

        found = []
        for account, regions in list(lambda_backends.items()):
            for region, backend in list(regions.items()):
                for uid, esm in list(backend._event_source_mappings.items()):
                    if ":dynamodb:" in (esm.event_source_arn or ""):
                        found.append((account, region, uid))
        for account, region, uid in found:
            with self.lock:
                if uid in self.pollers or self.closed:
                    continue
                p = self.pollers[uid] = Poller(account, region, uid)
            threading.Thread(target=self.poll, args=(p,), name=f"poller-{uid[:8]}", daemon=True).start()

    # -- a poller ---------------------------------------------------------------------------
    def mapping(self, p):
        from moto.awslambda.models import lambda_backends

        try:
            return lambda_backends[p.account][p.region]._event_source_mappings.get(p.uuid)
        except Exception:
            return None

    def poll(self, p):
        """A poller's thread: steps while there is work, sleeps until woken or due."""
        while True:
            esm = self.mapping(p)
            with self.lock:
                if self.closed or esm is None:
                    self.pollers.pop(p.uuid, None)
                    self.enabled_at.pop(p.uuid, None)
                    return
                seen = self.generation
            try:
                delay = self.step(p, esm)
            except Exception:  # a poller never dies of one bad batch (the emulator's log says why)
                traceback.print_exc()
                delay = IDLE_WAIT
            if delay is not None and delay <= 0:
                continue
            with self.wakeup:
                if not self.closed and self.generation == seen:
                    self.wakeup.wait(IDLE_WAIT if delay is None else min(delay, IDLE_WAIT))

    @staticmethod
    def shard_of(esm):
        """(table, shard) of the mapping's stream, None when that stream is not there (any more)."""
        from moto.dynamodb.models import dynamodb_backends

        arn = esm.event_source_arn
        try:
            _, _, _, region, account, rest = arn.split(":", 5)
            table_name, label = rest.split("/")[1], rest.split("/stream/")[1]
            table = dynamodb_backends[account][region].tables.get(table_name)
        except Exception:
            return None
        if table is None or table.stream_shard is None or table.latest_stream_label != label:
            return None
        return table, table.stream_shard

    def step(self, p, esm):
        """One move of a poller: the seconds until it should look again (0: at once; None: when
        woken)."""
        if not esm.enabled:
            return None
        with self.lock:
            since = self.enabled_at.get(p.uuid, p.first_seen)
        until = max(since, self.busy(p.uuid) or 0)
        now = time.monotonic()
        if until > now:
            return until - now  # still Creating
        found = self.shard_of(esm)
        if found is None:
            return None
        table, shard = found
        with streams.LOCK:
            streams.trim(shard)
            first = streams.first_seq(shard)
            if p.position is None:
                if (esm.starting_position or "LATEST") == "TRIM_HORIZON":
                    p.position = first
                else:
                    p.position = next((seq_of(r) for r in shard.items if r.__dict__.get("_emu_at", 0) >= since),
                                      streams.next_seq(shard))
            if p.position < first:  # trimmed before it was read: lost
                p.position, p.batch, p.queue = first, None, []
            if p.batch is not None and p.batch.records and seq_of(p.batch.records[0]) < first:
                p.batch, p.queue = None, []
        if p.batch is None:
            p.batch = p.queue.pop(0) if p.queue else None
        if p.batch is None:
            batch, wait = self.read(p, esm, table, shard)
            if batch is None:
                return wait
            p.batch = batch
        b = p.batch
        now = time.monotonic()
        if b.not_before > now:
            return b.not_before - now
        age = esm.max_record_age
        if age not in (None, -1) and now - b.records[0].__dict__.get("_emu_at", now) > age:
            self.give_up(p, esm, table, "MaximumRecordAgeExceeded")
            return 0
        self.deliver(p, esm, table)
        return 0

    def read(self, p, esm, table, shard):
        """The next batch from the position: (Batch, None), or (None, seconds to wait)."""
        try:
            recs = streams.records(shard, p.position, SCAN)
        except streams.TrimmedDataAccess:  # trimmed since the step looked: read again
            return None, 0
        size = int(esm.batch_size or 100)
        criteria = (esm.filter_criteria or {}).get("Filters")
        matched, end = [], p.position
        for r in recs:
            if filters.matches_any(criteria, stream_event(r, esm.event_source_arn, table.region_name)):
                matched.append(r)
            end = seq_of(r) + 1
            if len(matched) >= size:
                break
        if not matched:
            p.position = end  # nothing to deliver: the position moves past what was filtered out
            return None, None
        window = float(esm.max_batch_window or 0)
        waited = time.monotonic() - matched[0].__dict__.get("_emu_at", 0)
        if len(matched) < size and waited < window:
            return None, window - waited
        return Batch(matched, end), None

    def deliver(self, p, esm, table):
        """Invokes the function with the current batch and moves on as its answer says."""
        b = p.batch
        seqs = [r.record["dynamodb"]["SequenceNumber"] for r in b.records]
        event = {"Records": [stream_event(r, esm.event_source_arn, table.region_name) for r in b.records]}
        try:
            fn, invoked, qualifier = resolve(esm.function_arn, None, p.account, p.region)
        except (NotFound, Refused):
            # Before invocation: retried until the records expire or exceed the maximum age.
            esm._emu_result = "PROBLEM: Function call failed"
            b.not_before = time.monotonic() + MAX_DELAY
            return
        out = self.run(fn, event, invoked, qualifier, source=p.uuid, seqs=seqs, mapping=esm)
        b.invokes += 1
        b.last = out
        b.request_id = out.request_id
        verdict, failed_at = "ok", None
        if out.error is not None or out.status != 200:
            verdict = "error"
        elif REPORT in (esm.function_response_types or []):
            verdict, failed_at = self.partial(out.result, seqs)
        if verdict == "ok":
            esm._emu_result = "OK"
            p.position, p.batch = b.end, None
            return
        esm._emu_result = "PROBLEM: Function call failed"
        if verdict == "error" and esm.bisect_on_error and len(b.records) > 1:
            half = len(b.records) // 2
            first = Batch(b.records[:half], seq_of(b.records[half]), invokes=b.invokes, last=out, request_id=out.request_id)
            second = Batch(b.records[half:], b.end, invokes=b.invokes, last=out, request_id=out.request_id)
            p.batch = first
            p.queue.insert(0, second)
            return
        if verdict == "partial":
            keep = [r for r in b.records if seq_of(r) >= failed_at]
            p.position = failed_at
            b.records = keep
        limit = esm.max_retry_attempts
        if limit not in (None, -1) and b.retries >= int(limit):
            self.give_up(p, esm, table, "RetryAttemptsExhausted")
            return
        b.retries += 1
        delay = RETRY_DELAY if b.retries <= 3 else min(RETRY_DELAY * 2 ** (b.retries - 3), MAX_DELAY)
        b.not_before = time.monotonic() + delay

    @staticmethod
    def partial(result, seqs):
        """("ok" | "partial" | "invalid", the lowest failed sequence number) of a response with
        ReportBatchItemFailures."""
        if not isinstance(result, dict):
            return "ok", None
        failures = result.get("batchItemFailures")
        if not failures:
            return "ok", None
        if not isinstance(failures, list):
            return "invalid", None
        ids = []
        for f in failures:
            item = f.get("itemIdentifier") if isinstance(f, dict) else None
            if not isinstance(item, str) or not item or item not in seqs:
                return "invalid", None
            ids.append(int(item))
        return "partial", min(ids)

    def give_up(self, p, esm, table, condition):
        """Retries spent or the records too old: the on-failure record, then past the batch."""
        b = p.batch
        dest = ((esm.destination_config or {}).get("OnFailure") or {}).get("Destination")
        if dest:
            out = b.last
            first, last = b.records[0], b.records[-1]
            record = {
                "requestContext": {
                    "requestId": b.request_id or str(uuidlib.uuid4()),
                    "functionArn": esm.function_arn,
                    "condition": condition,
                    "approximateInvokeCount": b.invokes,
                },
                "responseContext": {
                    "statusCode": out.status if out else 200,
                    "executedVersion": out.executed_version if out else None,
                    "functionError": out.function_error if out else None,
                },
                "version": "1.0",
                "timestamp": _iso(time.time(), ms=True),
                "DDBStreamBatchInfo": {
                    "shardId": table.stream_shard.id,
                    "startSequenceNumber": first.record["dynamodb"]["SequenceNumber"],
                    "endSequenceNumber": last.record["dynamodb"]["SequenceNumber"],
                    "approximateArrivalOfFirstRecord": _iso(first.__dict__.get("_emu_wall", time.time())),
                    "approximateArrivalOfLastRecord": _iso(last.__dict__.get("_emu_wall", time.time())),
                    "batchSize": len(b.records),
                    "streamArn": esm.event_source_arn,
                },
            }
            send(dest, json.dumps(record))
        p.position, p.batch = b.end, None

    # -- invoking ---------------------------------------------------------------------------
    def run(self, fn, event, invoked, qualifier, source="invoke", seqs=(), mapping=None, kind="RequestResponse"):
        """Runs the function (moto's object of the version) and lists the invocation."""
        f = snapshot(fn)
        started = time.time()
        out = self.runtime.invoke(f, event, invoked, qualifier)
        outcome, failed, error_type, message = "ok", [], None, None
        if out.status != 200:
            outcome, (error_type, message) = "error", out.service_error
        elif out.error is not None:
            outcome, error_type, message = "error", out.error.get("errorType"), out.error.get("errorMessage")
        elif mapping is not None and REPORT in (mapping.function_response_types or []):
            verdict, _ = self.partial(out.result, list(seqs))
            if verdict == "invalid":
                outcome, error_type = "error", "InvalidBatchItemFailures"
                message = "batchItemFailures names an item that is not in the batch (or none): the whole batch failed"
            elif verdict == "partial":
                outcome = "partial"
                failed = [x.get("itemIdentifier") for x in out.result["batchItemFailures"]]
        self.record({
            "function": f.name,
            "functionArn": invoked,
            "qualifier": qualifier,
            "executedVersion": f.version,
            "source": source,
            "mapping": source if source != "invoke" else None,
            "invocationType": kind,
            "requestId": out.request_id,
            "sequenceNumbers": list(seqs),
            "outcome": outcome,
            "failedItems": failed,
            "errorType": error_type,
            "errorMessage": message,
            "durationMs": round(out.duration_ms, 2),
            "timestamp": started,
        })
        return out

    def record(self, entry):
        with self.lock:
            self.log.append(entry)
            del self.log[:-MAX_ENTRIES]

    def entries(self):
        with self.lock:
            return list(self.log)

    def reset(self):
        with self.lock:
            self.log.clear()

    def invoke(self, environ, path, body, account, region):
        """Lambda's Invoke on the wire: a Refusal, or (status, headers, data)."""
        parts = [unquote(x) for x in path.strip("/").split("/")]
        qualifier = parse_qs(environ.get("QUERY_STRING", "")).get("Qualifier", [None])[0]
        kind = environ.get("HTTP_X_AMZ_INVOCATION_TYPE") or "RequestResponse"
        tail = (environ.get("HTTP_X_AMZ_LOG_TYPE") or "None") == "Tail"
        try:
            fn, invoked, q = resolve(parts[2], qualifier, account, region)
        except NotFound as e:
            return Refusal("ResourceNotFoundException", f"Function not found: {e.args[0]}", "404 Not Found")
        except Refused as r:
            return r.refusal
        try:
            event = json.loads(body) if body.strip() else {}
        except ValueError as e:
            return Refusal("InvalidRequestContentException",
                           f"Could not parse request body into json: Could not parse payload into json: {e}")
        rid_headers = lambda rid: [("Content-Type", "application/json"), ("x-amzn-RequestId", rid)]
        if kind == "DryRun":
            return "204 No Content", rid_headers(str(uuidlib.uuid4())), b""
        if kind == "Event":
            threading.Thread(target=self.run, args=(fn, event, invoked, q), kwargs={"kind": "Event"}, daemon=True).start()
            return "202 Accepted", rid_headers(str(uuidlib.uuid4())), b""
        out = self.run(fn, event, invoked, q)
        if out.status != 200:
            code, message = out.service_error
            return Refusal(code, message, "502 Bad Gateway")
        headers = rid_headers(out.request_id) + [("X-Amz-Executed-Version", out.executed_version)]
        if out.function_error:
            headers.append(("X-Amz-Function-Error", out.function_error))
        if tail:
            headers.append(("X-Amz-Log-Result", out.log_tail()))
        return "200 OK", headers, out.payload


# Around each SQS message the data plane sends ((account, region, name) -> a context manager):
# with --aws-rules, tools/emu/consistency.py's SqsLag.changing, so that a queue's counts lag behind
# an on-failure record too (docs/aws-behaviour.md rule 45).
SQS_WRITE = None


def send(dest, body):
    """An on-failure record into the destination: an SQS queue or an SNS topic, in moto."""
    try:
        _, _, service, region, account, name = dest.split(":", 5)
        if service == "sqs":
            from contextlib import nullcontext

            from moto.sqs.models import sqs_backends

            with SQS_WRITE((account, region, name)) if SQS_WRITE else nullcontext():
                sqs_backends[account][region].send_message(name, body)
        elif service == "sns":
            from moto.sns.models import sns_backends

            sns_backends[account][region].publish(body, arn=dest)
    except Exception:
        pass  # as on AWS, a failed delivery does not stop the shard
