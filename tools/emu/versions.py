"""Lambda versions, aliases and triggers on aliases as AWS keeps them, where moto 5.2.5 does not
(docs/aws-behaviour.md rule 43). Applied by tools/emulator.py to every Lambda REST call.

    versions = Versions(aws_rules)
    versions.before(method, path, req, ctx) -> Refusal | None   (may set ctx["body"] and
                                                      ctx["path"]: what to send moto instead)
    versions.after(method, path, req, status, data, ctx) -> (status, data)

`ctx["backend"]()` is moto's Lambda backend of the caller, `ctx["account"]` and `ctx["region"]`
the caller's, `ctx["query"]` the query string; `ctx["deleting"]` the configurations of mappings
still being deleted (--aws-rules, rule 28), listed as moto no longer lists them. State lives on
moto's own objects (a function's revision on its LambdaFunction, the highest version number
ever published on moto's function store), so a moto reset forgets it too.

In every mode (moto defects that correct code would trip over):
- An event source mapping created or updated with a qualified FunctionName (an alias or a version:
  `NAME:live`, `ACCOUNT:function:NAME:live`, `arn:...:function:NAME:live`) has that qualified ARN
  as its FunctionArn, as on AWS, which then invokes whatever the alias points at; one given a
  name or an unqualified ARN has the function's unqualified ARN. (moto stores the version the
  alias pointed at then, `...:NAME:1`, and answers a partial ARN with a 500.) The request reaches
  moto with the full ARN.
- ListEventSourceMappings filters by FunctionName as AWS does: the name, partial ARN, ARN or
  qualified ARN is resolved to an ARN, and the mappings whose FunctionArn is exactly that ARN are
  listed (the unqualified function's by a name or unqualified ARN, an alias's only by the alias's
  ARN or `NAME:ALIAS`), combined with EventSourceArn, paged by MaxItems (at most and by default
  100) and Marker. (moto compares the literal string the mapping was created with, ignores an
  update of FunctionName, and does not page.)
- A version number is never reused: a new version is numbered one more than the highest ever
  published for that function name, even across a delete and re-create of the function, as the
  Lambda guide says (moto numbers len(versions) + 1, so after a delete it reuses a number, and
  may give two versions the same one).
- Every function has a RevisionId, in CreateFunction, GetFunction (Configuration.RevisionId),
  GetFunctionConfiguration, UpdateFunctionConfiguration, UpdateFunctionCode, PublishVersion,
  ListVersionsByFunction and ListFunctions answers. $LATEST's changes on every
  UpdateFunctionConfiguration and UpdateFunctionCode (not a DryRun) and whenever a version is
  published; a published version's is fixed when it is published. (moto gives functions none.)
  UpdateFunctionConfiguration and UpdateFunctionCode answer with the function as it now is,
  the proxy's own mends (TracingConfig, Architectures) included.
- An alias's RevisionId changes on every UpdateAlias (moto keeps the first one for ever);
  GetAlias and UpdateAlias answer 200 and DeleteAlias 204 with no body, as on AWS (moto: 201).
- ListAliases filters by FunctionVersion and pages (MaxItems, 50 by default; Marker);
  ListVersionsByFunction pages (MaxItems, at most and by default 50; Marker), $LATEST first and
  then by number. (moto ignores all of these.) Both take the function's ARN or partial ARN, as
  AWS does (moto answers ResourceNotFoundException: it reads the name still percent-encoded).

With --aws-rules (refusals AWS makes and moto does not):
- UpdateFunctionConfiguration, UpdateFunctionCode, PublishVersion and UpdateAlias with a
  RevisionId that is not the current one are PreconditionFailedException (HTTP 412): "The
  Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API
  to retrieve the latest Revision Id".
- PublishVersion with a CodeSha256 other than $LATEST's is InvalidParameterValueException:
  "CodeSHA256 (X) is different from current CodeSHA256 in $LATEST (Y). Please try again with the
  CodeSHA256 in $LATEST." (the RevisionId is checked first).
- DeleteFunction with a Qualifier (or a qualified name or ARN) naming a version that an alias
  points at (its FunctionVersion, or a version of its RoutingConfig) is ResourceConflictException
  (HTTP 409) "Unable to delete version because the following aliases reference it: [live]";
  naming $LATEST is InvalidParameterValueException "$LATEST version cannot be deleted without
  deleting the function."; naming an alias is InvalidParameterValueException "Deletion of
  aliases is not currently supported." (moto deletes the version, leaving the alias dangling;
  deleting $LATEST leaves moto's function broken.)
- (PublishVersion while an update is in progress is ResourceConflictException: tools/emulator.py
  refuses it in the function's busy window, as it refuses the updates, rule 10.)

Not modelled: AWS's RevisionId may change once more when an update completes; AddPermission and
RemovePermission change a function's revision on AWS. What a mapping on an alias invokes is
the alias's current version: tools/emu/dataplane.py runs it (moto runs no function here).
"""

import base64
import json
import re
import threading
import uuid
from collections import namedtuple
from urllib.parse import parse_qs, unquote

from . import Refusal

ESM_PAGE = 100  # ListEventSourceMappings: at most 100 a page, whatever MaxItems says
VERSIONS_PAGE = 50  # ListVersionsByFunction: at most 50 a page
ALIASES_PAGE = 50  # ListAliases: the proxy's default page (AWS documents none)
MAX_ITEMS = 10000  # the API model's upper bound of MaxItems

ARN = re.compile(r"^arn:(?P<partition>[^:]+):lambda:(?P<region>[^:]+):(?P<account>\d{12}):function:(?P<name>[^:]+)(?::(?P<qualifier>[^:]+))?$")
PARTIAL = re.compile(r"^(?P<account>\d{12}):function:(?P<name>[^:]+)(?::(?P<qualifier>[^:]+))?$")
NAME = re.compile(r"^(?P<name>[^:]+)(?::(?P<qualifier>[^:]+))?$")


class Ref(namedtuple("Ref", "partition region account name qualifier")):
    """A function reference, resolved: its parts and ARNs."""

    @property
    def arn(self):
        return f"arn:{self.partition}:lambda:{self.region}:{self.account}:function:{self.name}"

    @property
    def qualified_arn(self):
        return f"{self.arn}:{self.qualifier}" if self.qualifier else self.arn


def parse_ref(value, account, region):
    """A FunctionName in any of AWS's forms (name, NAME:QUALIFIER, partial ARN, ARN, qualified
    ARN) as a Ref in the caller's account and region unless it says otherwise; None if it is none
    of them."""
    if not isinstance(value, str):
        return None
    m = ARN.match(value)
    if m:
        return Ref(m["partition"], m["region"], m["account"], m["name"], m["qualifier"])
    partition = "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"
    m = PARTIAL.match(value) or NAME.match(value)
    if m:
        acct = m.groupdict().get("account") or account
        return Ref(partition, region, acct, m["name"], m["qualifier"])
    return None


def precondition_failed():
    return Refusal(
        "PreconditionFailedException",
        "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve "
        "the latest Revision Id",
        "412 Precondition Failed",
    )


def invalid(message):
    return Refusal("InvalidParameterValueException", message)


def route(method, path):
    """(operation, the function or mapping it names, the alias it names) of a Lambda REST call;
    operation None for one this module leaves alone."""
    parts = [unquote(p) for p in path.strip("/").split("/")]
    ops = {}
    target = alias = None
    if len(parts) >= 2 and parts[1] == "event-source-mappings":
        if len(parts) == 2:
            ops = {"POST": "CreateEventSourceMapping", "GET": "ListEventSourceMappings"}
        elif len(parts) == 3:
            ops, target = {"PUT": "UpdateEventSourceMapping"}, parts[2]
    elif len(parts) >= 2 and parts[1] == "functions":
        if len(parts) == 2:
            ops = {"POST": "CreateFunction", "GET": "ListFunctions"}
        else:
            target = parts[2]
            sub = parts[3] if len(parts) > 3 else None
            if len(parts) == 3:
                ops = {"GET": "GetFunction", "DELETE": "DeleteFunction"}
            elif len(parts) == 4 and sub == "configuration":
                ops = {"GET": "GetFunctionConfiguration", "PUT": "UpdateFunctionConfiguration"}
            elif len(parts) == 4 and sub == "code":
                ops = {"PUT": "UpdateFunctionCode"}
            elif len(parts) == 4 and sub == "versions":
                ops = {"POST": "PublishVersion", "GET": "ListVersionsByFunction"}
            elif len(parts) == 4 and sub == "aliases":
                ops = {"POST": "CreateAlias", "GET": "ListAliases"}
            elif len(parts) == 5 and sub == "aliases":
                ops, alias = {"GET": "GetAlias", "PUT": "UpdateAlias", "DELETE": "DeleteAlias"}, parts[4]
    return ops.get(method), target, alias


# -- paging ---------------------------------------------------------------------------------------
def marker_of(key, index):
    return base64.urlsafe_b64encode(json.dumps({"after": key, "index": index}).encode()).decode()


def read_marker(marker):
    """(key, index) a Marker continues after; None if it is not one of ours."""
    try:
        doc = json.loads(base64.urlsafe_b64decode(marker.encode()))
    except (ValueError, TypeError):
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("index"), int):
        return None
    return doc.get("after"), doc["index"]


def page_of(items, key, ctx, default, cap):
    """One page of `items` by the request's MaxItems and Marker: (page, NextMarker or None)."""
    q = parse_qs(ctx.get("query") or "")
    try:
        size = int(q.get("MaxItems", [default])[0])
    except ValueError:
        size = default
    size = max(1, min(size, cap))
    start = 0
    if ctx.get("after") is not None:
        after, index = ctx["after"]
        keys = [key(x) for x in items]
        start = keys.index(after) + 1 if after in keys else min(max(index, 0), len(items))
    chunk = items[start:start + size]
    more = start + size < len(items)
    return chunk, (marker_of(key(chunk[-1]), start + len(chunk)) if more and chunk else None)


# -- moto's objects -------------------------------------------------------------------------------
def group(backend, name):
    """moto's entry for a function: {"latest": LambdaFunction, "versions": [...]} (None if gone)."""
    return backend._lambdas._functions.get(name) if name else None


def revision(obj):
    rev = obj.__dict__.get("_emu_revision")
    if rev is None:
        rev = obj._emu_revision = str(uuid.uuid4())
    return rev


def bump(obj):
    if obj is not None:
        obj._emu_revision = str(uuid.uuid4())


def object_for(backend, conf):
    """The LambdaFunction a configuration in an answer describes ($LATEST or a version)."""
    g = group(backend, conf.get("FunctionName"))
    if g is None:
        return None
    version = str(conf.get("Version") or "$LATEST")
    if version == "$LATEST":
        return g["latest"]
    return next((v for v in g["versions"] if str(v.version) == version), None)


def stamp(backend, conf):
    """Puts the RevisionId of the function or version a configuration describes into it."""
    if isinstance(conf, dict):
        obj = object_for(backend, conf)
        if obj is not None:
            conf["RevisionId"] = revision(obj)
    return conf


def settle(backend, name):
    """Numbers the versions moto published since the last call as AWS would (one more than the
    highest ever published, never a number used before) and gives each a RevisionId of its own;
    $LATEST's RevisionId changes when one was published. Returns the new versions."""
    g = group(backend, name)
    if g is None:
        return []
    storage = backend._lambdas
    arns = storage._arns
    ever = storage.__dict__.setdefault("_emu_highest", {})  # name -> highest number ever published
    highest = ever.get(name, 0)
    settled = [v for v in g["versions"] if v.__dict__.get("_emu_settled")]
    new = [v for v in g["versions"] if not v.__dict__.get("_emu_settled")]
    for v in new:
        top = max([highest] + [int(s.version) for s in settled])
        if int(v.version) <= top:
            old = v.function_arn
            v.set_version(top + 1)
            if arns.get(old) is v:
                del arns[old]
        highest = max(top, int(v.version))
        v._emu_settled = True
        v._emu_revision = str(uuid.uuid4())
        settled.append(v)
    for v in g["versions"]:  # moto's ARN index, as a reused number left it
        arns[v.function_arn] = v
    ever[name] = highest
    if new:
        bump(g["latest"])
    return new


def aliases_of(backend, name):
    """The function's aliases (moto's LambdaAlias objects), None when the function is unknown."""
    try:
        return list(backend.list_aliases(name))
    except Exception:
        return None


class Versions:
    def __init__(self, aws_rules=False):
        self.aws_rules = aws_rules
        self.lock = threading.RLock()

    def ref(self, value, ctx):
        return parse_ref(value, ctx["account"], ctx["region"])

    # -- before moto ------------------------------------------------------------------------------
    def before(self, method, path, req, ctx):
        op, target, alias = route(method, path)
        if op is None:
            return None
        if op in ("ListEventSourceMappings", "ListVersionsByFunction", "ListAliases"):
            marker = parse_qs(ctx.get("query") or "").get("Marker", [None])[0]
            if marker:
                ctx["after"] = read_marker(marker)
                if ctx["after"] is None:
                    return invalid(f"Invalid Marker: {marker}")
        if op in ("ListAliases", "ListVersionsByFunction") and ":" in (target or ""):
            # moto reads these two by the path as sent, still percent-encoded: by name only.
            ref = self.ref(target, ctx)
            if ref is not None:
                parts = path.split("/")
                parts[3 if path.startswith("/") else 2] = ref.name
                ctx["path"] = "/".join(parts)
        if op in ("CreateEventSourceMapping", "UpdateEventSourceMapping") and isinstance(req.get("FunctionName"), str):
            ref = self.ref(req["FunctionName"], ctx)
            if ref is not None:
                ctx["function_arn"] = ref.qualified_arn
                if ref.qualified_arn != req["FunctionName"]:
                    ctx["body"] = json.dumps(dict(req, FunctionName=ref.qualified_arn)).encode()
        if not self.aws_rules:
            return None
        with self.lock:
            check = getattr(self, f"check_{op}", None)
            return check(target, alias, req, ctx) if check else None

    def latest_of(self, target, ctx):
        ref = self.ref(target, ctx)
        g = group(ctx["backend"](), ref.name if ref else None)
        return g["latest"] if g else None

    def check_revision(self, target, alias, req, ctx):
        latest = self.latest_of(target, ctx)
        if req.get("RevisionId") and latest is not None and req["RevisionId"] != revision(latest):
            return precondition_failed()
        return None

    check_UpdateFunctionConfiguration = check_revision
    check_UpdateFunctionCode = check_revision

    def check_PublishVersion(self, target, alias, req, ctx):
        refused = self.check_revision(target, alias, req, ctx)
        if refused is not None:
            return refused
        latest = self.latest_of(target, ctx)
        sha = req.get("CodeSha256")
        if sha and latest is not None and sha != latest.code_sha_256:
            return invalid(
                f"CodeSHA256 ({sha}) is different from current CodeSHA256 in $LATEST ({latest.code_sha_256}). "
                "Please try again with the CodeSHA256 in $LATEST."
            )
        return None

    def check_UpdateAlias(self, target, alias, req, ctx):
        if not req.get("RevisionId"):
            return None
        ref = self.ref(target, ctx)
        try:
            current = ctx["backend"]().get_alias(alias, ref.name if ref else target)
        except Exception:
            return None  # moto answers ResourceNotFoundException
        return precondition_failed() if req["RevisionId"] != current.revision_id else None

    def check_DeleteFunction(self, target, alias, req, ctx):
        ref = self.ref(target, ctx)
        qualifier = parse_qs(ctx.get("query") or "").get("Qualifier", [None])[0] or (ref.qualifier if ref else None)
        if not qualifier or ref is None:
            return None
        if qualifier == "$LATEST":
            return invalid("$LATEST version cannot be deleted without deleting the function.")
        if not qualifier.isdigit():
            return invalid("Deletion of aliases is not currently supported.")
        aliases = aliases_of(ctx["backend"](), ref.name) or []
        using = sorted(
            a.name for a in aliases
            if str(a.function_version) == qualifier
            or qualifier in ((a.routing_config or {}).get("AdditionalVersionWeights") or {})
        )
        if using:
            return Refusal(
                "ResourceConflictException",
                f"Unable to delete version because the following aliases reference it: [{', '.join(using)}]",
                "409 Conflict",
            )
        return None

    # -- after moto -------------------------------------------------------------------------------
    def after(self, method, path, req, status, data, ctx):
        op, target, alias = route(method, path)
        if op is None or not status.startswith("2"):
            return status, data
        mend = getattr(self, f"after_{op}", None)
        if mend is None:
            return status, data
        try:
            doc = json.loads(data or b"{}")
        except ValueError:
            return status, data
        with self.lock:
            out = mend(target, alias, req, doc, ctx)
        if out is None:
            return status, data
        status, doc = out
        return status, (b"" if doc is None else json.dumps(doc, default=str).encode())

    def name_of(self, target, ctx):
        ref = self.ref(target, ctx)
        return ref.name if ref else target

    def after_CreateFunction(self, target, alias, req, doc, ctx):
        backend = ctx["backend"]()
        settle(backend, self.name_of(req.get("FunctionName"), ctx))
        return "201 Created", stamp(backend, doc)

    def after_ListFunctions(self, target, alias, req, doc, ctx):
        backend = ctx["backend"]()
        for conf in doc.get("Functions") or []:
            stamp(backend, conf)
        return "200 OK", doc

    def after_GetFunction(self, target, alias, req, doc, ctx):
        stamp(ctx["backend"](), doc.get("Configuration"))
        return "200 OK", doc

    def after_GetFunctionConfiguration(self, target, alias, req, doc, ctx):
        return "200 OK", stamp(ctx["backend"](), doc)

    def after_update(self, target, alias, req, doc, ctx):
        """UpdateFunctionConfiguration / UpdateFunctionCode: a new revision of $LATEST (and, with
        Publish, the version published), answered as the function now is."""
        backend = ctx["backend"]()
        g = group(backend, self.name_of(target, ctx))
        if g is None or g["latest"] is None:
            return None
        if not req.get("DryRun"):
            bump(g["latest"])
        new = settle(backend, self.name_of(target, ctx))
        shown = new[-1] if new else g["latest"]
        return "200 OK", stamp(backend, shown.get_configuration())

    after_UpdateFunctionConfiguration = after_update
    after_UpdateFunctionCode = after_update

    def after_PublishVersion(self, target, alias, req, doc, ctx):
        backend = ctx["backend"]()
        new = settle(backend, self.name_of(target, ctx))
        if new:
            doc = new[-1].get_configuration()
        return "201 Created", stamp(backend, doc)

    def after_ListVersionsByFunction(self, target, alias, req, doc, ctx):
        backend = ctx["backend"]()
        versions = [stamp(backend, c) for c in doc.get("Versions") or []]
        versions.sort(key=lambda c: -1 if c.get("Version") == "$LATEST" else int(c.get("Version") or 0))
        chunk, marker = page_of(versions, lambda c: c.get("Version"), ctx, VERSIONS_PAGE, VERSIONS_PAGE)
        out = {"Versions": chunk}
        if marker:
            out["NextMarker"] = marker
        return "200 OK", out

    def after_ListAliases(self, target, alias, req, doc, ctx):
        want = parse_qs(ctx.get("query") or "").get("FunctionVersion", [None])[0]
        aliases = [a for a in doc.get("Aliases") or [] if want is None or a.get("FunctionVersion") == want]
        aliases.sort(key=lambda a: a.get("Name") or "")
        chunk, marker = page_of(aliases, lambda a: a.get("Name"), ctx, ALIASES_PAGE, MAX_ITEMS)
        out = {"Aliases": chunk}
        if marker:
            out["NextMarker"] = marker
        return "200 OK", out

    def after_GetAlias(self, target, alias, req, doc, ctx):
        return "200 OK", doc

    def after_UpdateAlias(self, target, alias, req, doc, ctx):
        try:
            current = ctx["backend"]().get_alias(alias, self.name_of(target, ctx))
        except Exception:
            return "200 OK", doc
        current.revision_id = str(uuid.uuid4())  # AWS: a new one on every UpdateAlias
        return "200 OK", current.to_json()

    def after_DeleteAlias(self, target, alias, req, doc, ctx):
        return "204 No Content", None

    def after_mapping(self, uuid_, doc, ctx):
        arn = ctx.get("function_arn")
        esm = ctx["backend"]()._event_source_mappings.get(uuid_) if uuid_ else None
        if arn and esm is not None:
            esm.function_arn = arn
            esm.function_name = arn
            doc["FunctionArn"] = arn
        return doc

    def after_CreateEventSourceMapping(self, target, alias, req, doc, ctx):
        return "202 Accepted", self.after_mapping(doc.get("UUID"), doc, ctx)

    def after_UpdateEventSourceMapping(self, target, alias, req, doc, ctx):
        return "202 Accepted", self.after_mapping(target, doc, ctx)

    def after_ListEventSourceMappings(self, target, alias, req, doc, ctx):
        q = parse_qs(ctx.get("query") or "")
        source = q.get("EventSourceArn", [None])[0]
        function = q.get("FunctionName", [None])[0]
        backend = ctx["backend"]()
        scope = f":{ctx['region']}:{ctx['account']}:"
        mappings = [m.get_configuration() for m in backend._event_source_mappings.values()]
        mappings += [m for m in ctx.get("deleting") or [] if scope in (m.get("EventSourceMappingArn") or scope)]
        if source:
            mappings = [m for m in mappings if m.get("EventSourceArn") == source]
        if function:
            ref = self.ref(function, ctx)
            want = ref.qualified_arn if ref else function
            mappings = [m for m in mappings if m.get("FunctionArn") == want]
        chunk, marker = page_of(mappings, lambda m: m.get("UUID"), ctx, ESM_PAGE, ESM_PAGE)
        out = {"EventSourceMappings": chunk}
        if marker:
            out["NextMarker"] = marker
        return "200 OK", out
