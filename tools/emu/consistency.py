"""AWS's eventual consistency: a write is not visible to reads at once (docs/aws-behaviour.md
rules 33-35; 34 and 45 for a queue's message counts). Each rule is told of its service's calls
before they reach moto and after:

    rule.before(action, req, moto, ctx) -> Refusal | Reply | None
    rule.after(action, req, status, data, ctx) -> Refusal | Reply | None

`moto(action, payload)` is one JSON call to moto on the caller's credentials ((status, document));
`ctx` carries what `before` learnt to `after`, and the caller's account and region (ctx["scope"]).
A lag of 0 turns a rule off.
"""

import json
import threading
import time
from contextlib import contextmanager

from . import Refusal, Reply


class Window:
    """Per key: until when reads answer an earlier state, and that state (never None). A write
    while a window is open extends it and keeps the state from before the window's first write
    (or merges, when told how)."""

    def __init__(self):
        self.items = {}
        self.lock = threading.Lock()

    def note(self, key, lag, state, merge=None):
        if lag <= 0:
            return
        now = time.monotonic()
        with self.lock:
            cur = self._open(key, now)
            if cur is not None:
                state = merge(cur, state) if merge else cur
            self.items[key] = (now + lag, state)

    def get(self, key):
        with self.lock:
            return self._open(key, time.monotonic())

    def all_open(self):
        """Every key whose window is open, with its earlier state."""
        with self.lock:
            now = time.monotonic()
            return {k: state for k, (until, state) in self.items.items() if until > now}

    def drop(self, key):
        with self.lock:
            self.items.pop(key, None)

    def _open(self, key, now):
        entry = self.items.get(key)
        if entry is None:
            return None
        if entry[0] <= now:
            del self.items[key]
            return None
        return entry[1]


def ok(status):
    return status.startswith("200")


def parsed(data):
    try:
        doc = json.loads(data or b"{}")
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


class DynamoTags:
    """Rule 33: after TagResource / UntagResource (or CreateTable with Tags), ListTagsOfResource
    answers the previous tag set (empty after CreateTable) for `lag` seconds. The Tagging API
    shows the same change later still (rule 47): `tagging` is told of each change with its own
    lag."""

    actions = {"TagResource", "UntagResource", "CreateTable", "DeleteTable", "ListTagsOfResource"}

    def __init__(self, lag, tagging=None):
        self.lag = lag
        self.window = Window()
        self.tagging = tagging

    def before(self, action, req, moto, ctx):
        lagging = self.lag > 0 or (self.tagging is not None and self.tagging.lag > 0)
        if action in ("TagResource", "UntagResource") and lagging:
            status, doc = moto("ListTagsOfResource", {"ResourceArn": req.get("ResourceArn")})
            if ok(status):
                ctx["tags"] = doc.get("Tags", [])
        elif action == "DeleteTable" and self.tagging is not None and self.tagging.lag > 0:
            # The Tagging API lists a deleted table with its last tags a while longer.
            status, doc = moto("DescribeTable", {"TableName": req.get("TableName")})
            arn = doc.get("Table", {}).get("TableArn") if ok(status) else None
            if arn:
                status, doc = moto("ListTagsOfResource", {"ResourceArn": arn})
                ctx["deleted"] = (arn, doc.get("Tags", []) if ok(status) else [])
        return None

    def after(self, action, req, status, data, ctx):
        if not ok(status):
            return None
        if action in ("TagResource", "UntagResource") and "tags" in ctx:
            self.window.note(req.get("ResourceArn"), self.lag, ctx["tags"])
            if self.tagging is not None:
                self.tagging.changed(req.get("ResourceArn"), ctx["tags"])
        elif action == "CreateTable" and req.get("Tags"):
            arn = parsed(data).get("TableDescription", {}).get("TableArn")
            self.window.note(arn, self.lag, [])
            if self.tagging is not None:
                self.tagging.changed(arn, UNLISTED)
        elif action == "DeleteTable" and "deleted" in ctx:
            self.tagging.changed(*ctx["deleted"])
        elif action == "ListTagsOfResource":
            previous = self.window.get(req.get("ResourceArn"))
            if previous is not None:
                return Reply({"Tags": previous})
        return None


# What the Tagging API's copy holds of a resource it has not seen yet: nothing (not listed).
UNLISTED = ("unlisted",)


class TaggingLag:
    """Rule 47: the Resource Groups Tagging API answers GetResources from its own copy of each
    resource's tags, which follows the service's tag changes only after a while: for `lag`
    seconds after a table's tag change, GetResources judges and lists the table by its tags
    from before the first change of the window; a new table is not listed yet, a deleted one is
    still listed with its last tags (and a table made again under its name inherits them until
    the window closes). Told of the changes by DynamoTags."""

    actions = {"GetResources"}

    def __init__(self, lag):
        self.lag = lag
        self.window = Window()

    def changed(self, arn, previous):
        if arn:
            self.window.note(arn, self.lag, previous)

    def before(self, action, req, moto, ctx):
        stale = self.window.all_open()
        if not stale:
            return None
        # Whether moto lists a lagging resource now (its current tags pass the filters): the
        # others, when their stale tags pass, are added to the last page.
        listed = set()
        arns = list(stale)
        for i in range(0, len(arns), 100):
            status, doc = moto("GetResources", {"ResourceARNList": arns[i:i + 100]})
            if ok(status):
                current = doc.get("ResourceTagMappingList", [])
                listed |= {m.get("ResourceARN") for m in current if passes(req, m.get("ResourceARN", ""), m.get("Tags", []))}
        ctx["stale"], ctx["listed"] = stale, listed
        return None

    def after(self, action, req, status, data, ctx):
        stale = ctx.get("stale")
        if not ok(status) or not stale:
            return None
        doc = parsed(data)
        out = []
        for m in doc.get("ResourceTagMappingList", []):
            arn = m.get("ResourceARN")
            if arn in stale:
                if not passes(req, arn, stale[arn]):
                    continue
                m = {**m, "Tags": stale[arn]}
            out.append(m)
        if not doc.get("PaginationToken"):
            for arn, tags in stale.items():
                if arn not in ctx["listed"] and passes(req, arn, tags):
                    out.append({"ResourceARN": arn, "Tags": tags})
        doc["ResourceTagMappingList"] = out
        return Reply(doc)


def passes(req, arn, tags):
    """Whether a resource with `tags` passes GetResources' filters: every TagFilter (a key, and
    one of its values when it lists any), a ResourceTypeFilter ("service" or "service:type"),
    the ResourceARNList. Without a TagFilter a resource that no longer has a tag is listed too
    (with none); one the copy does not hold yet never is."""
    if tags is UNLISTED:
        return False
    have = {t.get("Key"): t.get("Value") for t in tags}
    for f in req.get("TagFilters") or []:
        if f.get("Key") not in have or (f.get("Values") and have[f["Key"]] not in f["Values"]):
            return False
    if req.get("ResourceARNList") and arn not in req["ResourceARNList"]:
        return False
    types = req.get("ResourceTypeFilters") or []
    if types:
        parts = arn.split(":", 5)
        service = parts[2] if len(parts) > 2 else ""
        kind = parts[5].split("/")[0].split(":")[0] if len(parts) > 5 else ""
        if not any(t in (service, f"{service}:{kind}") for t in types):
            return False
    return True


def queue_gone():
    """SQS's answer about a queue it does not know: __type QueueDoesNotExist, and the query
    protocol's code, which the SDKs report as the error's code."""
    return Refusal("QueueDoesNotExist", "The specified queue does not exist.", query_code="AWS.SimpleQueueService.NonExistentQueue")


# A queue's message counts (GetQueueAttributes), and the calls that change them.
COUNTS = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed")
MESSAGE_ACTIONS = ("SendMessage", "SendMessageBatch", "ReceiveMessage", "DeleteMessage", "DeleteMessageBatch",
                   "ChangeMessageVisibility", "ChangeMessageVisibilityBatch", "PurgeQueue")


def moto_counts(q):
    """The message counts moto has now of queue (account, region, name), as SQS writes them
    (strings); None when there is no such queue."""
    from moto.sqs.models import sqs_backends

    try:
        queue = sqs_backends[q[0]][q[1]].get_queue(q[2])
    except Exception:  # noqa: BLE001  (no such account, region or queue)
        return None
    return {
        "ApproximateNumberOfMessages": str(queue.approximate_number_of_messages),
        "ApproximateNumberOfMessagesNotVisible": str(queue.approximate_number_of_messages_not_visible),
        "ApproximateNumberOfMessagesDelayed": str(queue.approximate_number_of_messages_delayed),
    }


class SqsLag:
    """Rule 34: SetQueueAttributes takes `lag` seconds to show (GetQueueAttributes answers the
    attributes' previous values); a new queue is not found for lag/3; a deleted queue still
    answers GetQueueUrl, GetQueueAttributes and ListQueueTags with its last values for `lag`;
    a name deleted less than `deleted_recently` seconds ago cannot be created again
    (QueueDeletedRecently).

    Rules 34 and 45: a queue's message counts (ApproximateNumberOfMessages, ...NotVisible, ...Delayed)
    lag `count_lag` seconds behind the calls that change them (SendMessage, ReceiveMessage,
    DeleteMessage, their batches, ChangeMessageVisibility, PurgeQueue; and the data plane's
    on-failure records, through `changing`): GetQueueAttributes answers the counts from before
    the first such change until `count_lag` seconds pass without another ("may not achieve
    consistency until at least 1 minute after the producers stop sending messages", SQS API
    Reference, GetQueueAttributes). A call that changes no count (a peek with VisibilityTimeout
    0, an empty receive) opens no window. `counts(queue)` reads the counts (moto's, by default)."""

    actions = {"CreateQueue", "GetQueueUrl", "GetQueueAttributes", "ListQueueTags", "SetQueueAttributes", "DeleteQueue",
               *MESSAGE_ACTIONS}
    reads = ("GetQueueUrl", "GetQueueAttributes", "ListQueueTags")

    def __init__(self, lag, deleted_recently, count_lag=0.0, counts=moto_counts):
        self.lag = lag
        self.deleted_recently = deleted_recently
        self.count_lag = count_lag
        self.counts = counts
        self.attributes = Window()  # queue -> {attribute: value before the window, None if unset}
        self.created = Window()  # queue -> True while it is not found yet
        self.deleted = Window()  # queue -> {"url", "attributes", "tags"} while it still answers
        self.gone = Window()  # queue -> True while its name cannot be reused
        self.counted = Window()  # queue -> its counts before the window's first change

    def note_counts(self, q, before):
        """After a call that may have changed queue q's counts (`before`: they were)."""
        if before is not None and self.counts(q) != before:
            self.counted.note(q, self.count_lag, before)

    @contextmanager
    def changing(self, q):
        """Around a change of queue q's messages made without a request (the data plane's)."""
        before = self.counts(q) if self.count_lag > 0 else None
        try:
            yield
        finally:
            self.note_counts(q, before)

    @staticmethod
    def queue(req, ctx):
        """(account, region, name) of the queue a call is about."""
        account, region = ctx["scope"]
        url = req.get("QueueUrl")
        if url:
            parts = url.rstrip("/").split("/")
            return (parts[-2] if len(parts) >= 2 else account), region, parts[-1]
        return req.get("QueueOwnerAWSAccountId") or account, region, req.get("QueueName")

    def before(self, action, req, moto, ctx):
        q = self.queue(req, ctx)
        if action == "CreateQueue":
            if self.gone.get(q) is not None:
                return Refusal(
                    "QueueDeletedRecently",
                    "You must wait 60 seconds after deleting a queue before you can create another with the same name.",
                    query_code="AWS.SimpleQueueService.QueueDeletedRecently",
                )
            ctx["existed"] = ok(moto("GetQueueUrl", {"QueueName": q[2]})[0])
        elif action in self.reads and self.created.get(q) is not None:
            return queue_gone()
        elif action == "SetQueueAttributes" and self.lag > 0:
            status, doc = moto("GetQueueAttributes", {"QueueUrl": req.get("QueueUrl"), "AttributeNames": ["All"]})
            if ok(status):
                current = doc.get("Attributes", {})
                ctx["previous"] = {a: current.get(a) for a in req.get("Attributes") or {}}
        elif action == "DeleteQueue" and self.lag > 0:
            ctx["snapshot"] = self.snapshot(req.get("QueueUrl"), moto)
        elif action in MESSAGE_ACTIONS and self.count_lag > 0:
            ctx["counts"] = self.counts(q)
        return None

    @staticmethod
    def snapshot(url, moto):
        status, attrs = moto("GetQueueAttributes", {"QueueUrl": url, "AttributeNames": ["All"]})
        if not ok(status):
            return None
        status, tags = moto("ListQueueTags", {"QueueUrl": url})
        return {"url": url, "attributes": attrs.get("Attributes", {}), "tags": tags.get("Tags", {}) if ok(status) else {}}

    def after(self, action, req, status, data, ctx):
        q = self.queue(req, ctx)
        if ok(status):
            return self.after_ok(action, req, q, data, ctx)
        missing = b"QueueDoesNotExist" in data or b"NonExistentQueue" in data
        dead = self.deleted.get(q) if action in self.reads and missing else None
        if dead is not None:
            return Reply(self.answer(action, req, dead))
        return None

    def after_ok(self, action, req, q, data, ctx):
        if action == "CreateQueue":
            self.deleted.drop(q)
            if not ctx.get("existed"):
                self.created.note(q, self.lag / 3, True)
        elif action == "SetQueueAttributes" and ctx.get("previous"):
            self.attributes.note(q, self.lag, ctx["previous"], merge=lambda old, new: {**new, **old})
        elif action in MESSAGE_ACTIONS and "counts" in ctx:
            self.note_counts(q, ctx["counts"])
        elif action == "DeleteQueue":
            self.attributes.drop(q)
            self.created.drop(q)
            self.counted.drop(q)
            self.gone.note(q, self.deleted_recently, True)
            if ctx.get("snapshot"):
                self.deleted.note(q, self.lag, ctx["snapshot"])
        elif action == "GetQueueAttributes":
            previous, counts = self.attributes.get(q), self.counted.get(q)
            if previous is not None or counts is not None:
                doc = parsed(data)
                names = req.get("AttributeNames") or []
                attributes = self.roll_back(doc.get("Attributes", {}), previous or {}, names)
                if counts is not None:
                    attributes.update({k: counts[k] for k in COUNTS if "All" in names or k in names})
                doc["Attributes"] = attributes
                return Reply(doc)
        return None

    @staticmethod
    def roll_back(attributes, previous, names):
        """The attributes asked for (`names`), with the changed ones as they were before."""
        out = dict(attributes)
        for name, value in previous.items():
            if "All" not in names and name not in names:
                continue
            if value is None:
                out.pop(name, None)
            else:
                out[name] = value
        return out

    @staticmethod
    def answer(action, req, dead):
        """What a queue being deleted still answers."""
        if action == "GetQueueUrl":
            return {"QueueUrl": dead["url"]}
        if action == "ListQueueTags":
            return {"Tags": dead["tags"]} if dead["tags"] else {}
        names = req.get("AttributeNames") or []
        attrs = dead["attributes"]
        return {"Attributes": attrs if "All" in names else {n: attrs[n] for n in names if n in attrs}}


class ScalingLag:
    """Rule 35: a newly registered scalable target is not described, and PutScalingPolicy on it
    is ObjectNotFoundException (as on a target never registered), for `lag` seconds; a write to
    a target less than `gap` seconds after the previous one is ConcurrentUpdateException."""

    actions = {"RegisterScalableTarget", "PutScalingPolicy", "DeregisterScalableTarget", "DescribeScalableTargets"}
    writes = ("RegisterScalableTarget", "PutScalingPolicy", "DeregisterScalableTarget")

    def __init__(self, lag, gap):
        self.lag = lag
        self.gap = gap
        self.hidden = Window()  # target -> True while it is not visible yet
        self.pending = Window()  # target -> True while its last write is still pending

    @staticmethod
    def target(doc, ctx):
        """(account, region, namespace, resource, dimension) of a request or a described target."""
        return ctx["scope"] + (doc.get("ServiceNamespace"), doc.get("ResourceId"), doc.get("ScalableDimension"))

    @staticmethod
    def words(t):
        return f"service namespace: {t[2]}, resource ID: {t[3]}, scalable dimension: {t[4]}"

    def before(self, action, req, moto, ctx):
        if action not in self.writes:
            return None
        t = self.target(req, ctx)
        if self.pending.get(t) is not None:
            return Refusal(
                "ConcurrentUpdateException",
                f"Concurrent updates caused an exception: there is a pending update of the scalable target ({self.words(t)})",
            )
        if action == "DeregisterScalableTarget":
            return None
        registered = self.registered(req, moto)
        ctx["new"] = not registered
        if action == "PutScalingPolicy" and (not registered or self.hidden.get(t) is not None):
            return Refusal("ObjectNotFoundException", f"No scalable target registered for {self.words(t)}")
        return None

    @staticmethod
    def registered(req, moto):
        query = {k: req.get(k) for k in ("ServiceNamespace", "ScalableDimension")}
        status, doc = moto("DescribeScalableTargets", dict(query, ResourceIds=[req.get("ResourceId")]))
        return ok(status) and bool(doc.get("ScalableTargets"))

    def after(self, action, req, status, data, ctx):
        if not ok(status):
            return None
        if action == "DescribeScalableTargets":
            return self.describe(data, ctx)
        t = self.target(req, ctx)
        self.pending.note(t, self.gap, True)
        if action == "RegisterScalableTarget" and ctx.get("new"):
            self.hidden.note(t, self.lag, True)
        elif action == "DeregisterScalableTarget":
            self.hidden.drop(t)
        return None

    def describe(self, data, ctx):
        doc = parsed(data)
        targets = doc.get("ScalableTargets", [])
        shown = [s for s in targets if self.hidden.get(self.target(s, ctx)) is None]
        if len(shown) == len(targets):
            return None
        doc["ScalableTargets"] = shown
        return Reply(doc)
