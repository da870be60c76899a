"""DynamoDB Streams as AWS keeps them, where moto 5.2.5 does not (docs/aws-behaviour.md rule 44).
Installed by tools/emulator.py in every mode (monkeypatches of moto's classes, in the emulator's
own process):

- A stream record stays in its shard until it is trimmed, whatever reads it. (moto hands every
  new record to Lambda when the table has a mapping, which fails without Docker, and then clears
  the shard, so GetRecords finds nothing.) tools/emu/dataplane.py reads the shard for the
  mappings instead, as Lambda's pollers read it.
- A record is trimmed once it is older than the retention (`--stream-retention`, 24 h as on
  AWS), or at once by `expire()` (`POST /_proxy/streams/expire`), as if 24 h had passed. The
  sequence numbers of the records left are unchanged (moto numbers a record len(items) +
  starting_sequence_number: the shard counts what it trimmed).
- GetShardIterator TRIM_HORIZON starts at the oldest record not trimmed, LATEST just after the
  newest; AT_SEQUENCE_NUMBER / AFTER_SEQUENCE_NUMBER of a trimmed record, and GetRecords with an
  iterator whose position was trimmed since, are TrimmedDataAccessException (HTTP 400, the
  DynamoDB JSON error "com.amazonaws.dynamodb.v20120810#TrimmedDataAccessException"; moto: a
  500). A shard id the stream does not have is ResourceNotFoundException (moto: a 500).
- A record's `awsRegion` is the table's region, its `eventVersion` "1.1" and its
  ApproximateCreationDateTime rounded down to the second, as AWS writes them (moto: always
  us-east-1, "1.0", and microseconds).
- With --aws-rules (`configure(..., empty_first=True)`), the first GetRecords on an iterator
  GetShardIterator gave answers an empty page, `Records: []` with a NextShardIterator at the same
  position, whatever the shard holds from there; the next call reads on. AWS may: "If there are
  no stream records available in the portion of the shard that the iterator points to, GetRecords
  returns an empty list. Note that it might take multiple calls to get to a portion of the shard
  that contains stream records." (DynamoDB Streams API Reference, GetRecords; the Kinesis
  GetRecords reference says the same.) A reader must follow NextShardIterator, not stop at the
  first empty page. A position trimmed meanwhile is still TrimmedDataAccessException.

The DynamoDB Streams API reaches moto as the Rust SDK (aws-sdk-dynamodbstreams) and boto3 send
it: JSON 1.0, `X-Amz-Target: DynamoDBStreams_20120810.<Operation>`, signed for `dynamodb`; moto
routes such a request to its dynamodbstreams backend by the target's prefix.
"""

import threading
import time
from datetime import datetime, timezone

from moto.core.exceptions import JsonRESTError

LOCK = threading.RLock()  # every read and write of a shard's records
RETENTION = 86400.0  # seconds a record stays (AWS: 24 hours)
EMPTY_FIRST = False  # --aws-rules: a fresh iterator's first GetRecords answers an empty page
_listeners = []  # called with the shard after each new record (the data plane's pollers)
_installed = False
PREFIX = "com.amazonaws.dynamodb.v20120810#"


class TrimmedDataAccess(JsonRESTError):
    code = 400

    def __init__(self):
        super().__init__(
            PREFIX + "TrimmedDataAccessException",
            "The operation attempted to read past the oldest stream record in a shard.",
        )


class ShardNotFound(JsonRESTError):
    code = 400

    def __init__(self):
        super().__init__(PREFIX + "ResourceNotFoundException", "Requested resource not found: Shard does not exist")


# -- a shard's records ----------------------------------------------------------------------------
def base(shard):
    """How many records the shard has trimmed (they keep their numbers)."""
    return shard.__dict__.get("_emu_base", 0)


def first_seq(shard):
    """The sequence number of the oldest record still in the shard (or of the next one)."""
    return shard.starting_sequence_number + base(shard)


def next_seq(shard):
    """The sequence number the next record written will have."""
    return first_seq(shard) + len(shard.items)


def trim(shard, everything=False, now=None):
    """Drops the records older than the retention (every record with `everything`)."""
    with LOCK:
        items = shard.items
        if everything:
            n = len(items)
        else:
            now = time.monotonic() if now is None else now
            n = 0
            while n < len(items) and now - items[n].__dict__.get("_emu_at", now) >= RETENTION:
                n += 1
        if n:
            del items[:n]
            shard._emu_base = base(shard) + n
        return n


def records(shard, start, limit):
    """moto's StreamRecords from sequence number `start` on, at most `limit` of them; raises
    TrimmedDataAccess when `start` was trimmed."""
    with LOCK:
        trim(shard)
        index = int(start) - first_seq(shard)
        if index < 0:
            raise TrimmedDataAccess()
        return list(shard.items[index:index + limit])


def record_at(shard, seq):
    """The record with that sequence number, None if trimmed or not written yet."""
    with LOCK:
        index = int(seq) - first_seq(shard)
        return shard.items[index] if 0 <= index < len(shard.items) else None


def shards(table_name=None):
    """Every table's shard in moto, in every account and region (optionally one table's)."""
    from moto.dynamodb.models import dynamodb_backends

    out = []
    for account in list(dynamodb_backends.values()):
        for backend in list(account.values()):
            for table in list(backend.tables.values()):
                if table.stream_shard is not None and table_name in (None, table.name):
                    out.append(table.stream_shard)
    return out


def expire(table_name=None):
    """Trims every record written so far (of one table, or all), as if 24 h had passed. Returns
    how many were trimmed."""
    return sum(trim(s, everything=True) for s in shards(table_name))


def on_write(listener):
    """Calls listener(shard) after each record written (not under the shard lock)."""
    _listeners.append(listener)


# -- moto's classes, mended -----------------------------------------------------------------------
def configure(retention, empty_first=False):
    """How long records stay (seconds), and whether a fresh iterator's first page is empty (before
    or after install)."""
    global RETENTION, EMPTY_FIRST
    RETENTION = float(retention)
    EMPTY_FIRST = bool(empty_first)


def install():
    """Patches moto's StreamShard, ShardIterator and DynamoDBStreamsBackend, once (the proxy
    does it before the first DynamoDB or Lambda request reaches moto: importing moto's models
    costs a tenth of a second, which an emulator that never sees either service does not pay)."""
    global _installed
    with LOCK:
        if _installed:
            return
        _install()
        _installed = True


def _install():
    from moto.dynamodb.models.table import StreamRecord, StreamShard
    from moto.dynamodbstreams import models as streams_models

    def add(self, old, new):
        view = self.table.stream_specification["StreamViewType"]
        event = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
        with LOCK:
            trim(self)
            rec = StreamRecord(self.table, view, event, old, new, next_seq(self))
            rec.record["awsRegion"] = self.table.region_name
            rec.record["eventVersion"] = "1.1"
            rec._emu_at = time.monotonic()
            rec._emu_wall = int(time.time())
            # "rounded down to the closest second", as AWS keeps it (moto: microseconds)
            rec.record["dynamodb"]["ApproximateCreationDateTime"] = datetime.fromtimestamp(
                rec._emu_wall, timezone.utc).replace(tzinfo=None)
            self.items.append(rec)
        for listener in list(_listeners):
            try:
                listener(self)
            except Exception:  # a listener's failure must not fail the write
                pass

    def get(self, start, quantity):
        return [r.to_json() for r in records(self, start, quantity)]

    StreamShard.add = add
    StreamShard.get = get

    iterator_init = streams_models.ShardIterator.__init__

    def shard_iterator(self, backend, stream_shard, kind, sequence_number=None):
        iterator_init(self, backend, stream_shard, kind, sequence_number)
        with LOCK:
            trim(stream_shard)
            if kind == "TRIM_HORIZON":
                self.sequence_number = first_seq(stream_shard)
            elif kind == "LATEST":
                self.sequence_number = next_seq(stream_shard)

    streams_models.ShardIterator.__init__ = shard_iterator

    get_iterator = streams_models.DynamoDBStreamsBackend.get_shard_iterator

    def get_shard_iterator(self, arn, shard_id, kind, sequence_number=None):
        table = self._get_table_from_arn(arn)
        shard = table.stream_shard
        if shard is None or shard.id != shard_id:
            raise ShardNotFound()
        if kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER") and sequence_number is not None:
            with LOCK:
                trim(shard)
                if int(sequence_number) < first_seq(shard):
                    raise TrimmedDataAccess()
        it = get_iterator(self, arn, shard_id, kind, sequence_number)
        it._emu_fresh = True  # its first GetRecords may answer an empty page
        return it

    streams_models.DynamoDBStreamsBackend.get_shard_iterator = get_shard_iterator

    get_page = streams_models.DynamoDBStreamsBackend.get_records

    def get_records(self, iterator_arn, limit):
        it = self.shard_iterators.get(iterator_arn)
        with LOCK:
            fresh = it is not None and EMPTY_FIRST and it.__dict__.pop("_emu_fresh", False)
        if not fresh:
            return get_page(self, iterator_arn, limit)
        records(it.stream_shard, it.sequence_number, 0)  # TrimmedDataAccess when trimmed since
        following = streams_models.ShardIterator(self, it.stream_shard, "AT_SEQUENCE_NUMBER", it.sequence_number)
        self.shard_iterators[following.arn] = following
        return {"NextShardIterator": following.arn, "Records": []}

    streams_models.DynamoDBStreamsBackend.get_records = get_records

    # moto's own hand-off to Lambda (which needs Docker) is never made: records stay in the shard.
    from moto.awslambda.models import LambdaBackend

    LambdaBackend.send_dynamodb_items = lambda self, function_arn, items, source: None
