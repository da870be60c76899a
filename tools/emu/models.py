"""Request validation against the services' API models (docs/aws-behaviour.md rule 40), as AWS's
front end does before a call reaches the service and moto does not.

    Validator().check(service, environ, body, req) -> a Refusal, or None

`service` is the SigV4 signing name; the models are botocore's (the ones shipped in .venv), each
parsed once and compiled into small Nodes that keep only what is checked: required members,
string and blob length, string patterns, enums, number ranges and list and map sizes, through
structures, lists and maps. Subtrees without any constraint are never walked (a DynamoDB item's
attribute values, a zip file). Members not sent are not checked, except that required ones must
be there.

Each protocol's request is read back into the input shape: JSON 1.0 / 1.1 (the body), REST-JSON
(Lambda: members by `location` from the URI, query string and headers, the rest from the body),
query (IAM, STS, SNS: `Name.member.N` lists, `Name.entry.N.key` maps), EC2 (`Name.N` lists,
capitalised locationName or queryName) and Smithy RPC v2 CBOR (CloudWatch: the operation from the
path `/service/S/operation/OP`, the body a CBOR map of the input, decoded by tools/emu/cbor.py).

Patterns are Java regexes, anchored (the whole value must match): Java's ASCII-only `\\w \\d \\s`
and POSIX classes (`\\p{Print}` ...) are translated, and supplementary-plane ranges written as
surrogate pairs become code point ranges; a pattern that still does not compile is skipped.

The answer is AWS's: `N validation error(s) detected: Value 'v' at 'member.path' failed to
satisfy constraint: Member must ...`, joined with "; ", under each service's own code.
"""

import functools
import json
import threading
from urllib.parse import parse_qs, parse_qsl

import regex

from . import Refusal

# SigV4 signing name -> botocore service name.
BOTOCORE_NAMES = {
    "dynamodb": "dynamodb",
    "lambda": "lambda",
    "iam": "iam",
    "sts": "sts",
    "ec2": "ec2",
    "sqs": "sqs",
    "application-autoscaling": "application-autoscaling",
    "logs": "logs",
    "tagging": "resourcegroupstaggingapi",
    "monitoring": "cloudwatch",
    "sns": "sns",
}

# The code each service gives a request that breaks its model (ValidationException unless named).
ERROR_CODES = {
    "iam": "ValidationError",
    "sts": "ValidationError",
    "sns": "ValidationError",
    "monitoring": "ValidationError",
    "ec2": "InvalidParameterValue",
    "logs": "InvalidParameterException",
    "tagging": "InvalidParameterException",
}

# Constraints AWS documents and enforces that the botocore models lack, by
# (botocore service, structure shape, member): metadata merged into the member's own.
EXTRA = {
    # CloudWatch Logs API Reference, PutRetentionPolicy: "Possible values are: 1, 3, 5, 7, 14, 30,
    # 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, and 3653"
    # (docs/aws-behaviour.md rule 22); the model's Days has no enum.
    ("logs", "PutRetentionPolicyRequest", "retentionInDays"): {
        "enum": [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]
    },
}

SCALARS = {"string", "blob", "integer", "long", "float", "double"}
NUMBERS = {"integer": int, "long": int, "float": float, "double": float}
REGEX_TIMEOUT = 0.05  # seconds; a pattern that takes longer is not held against the value

# Java's character classes are ASCII unless asked otherwise: (inside a class, negated) bodies.
JAVA_CLASSES = {
    "w": "a-zA-Z0-9_",
    "d": "0-9",
    "s": " \\t\\n\\x0B\\f\\r",
    "p{Lower}": "a-z",
    "p{Upper}": "A-Z",
    "p{ASCII}": "\\x00-\\x7F",
    "p{Alpha}": "a-zA-Z",
    "p{Digit}": "0-9",
    "p{Alnum}": "a-zA-Z0-9",
    "p{Punct}": "!-/:-@\\[-`{-~",
    "p{Graph}": "!-~",
    "p{Print}": " -~",
    "p{Blank}": " \\t",
    "p{Cntrl}": "\\x00-\\x1F\\x7F",
    "p{XDigit}": "0-9a-fA-F",
    "p{Space}": " \\t\\n\\x0B\\f\\r",
}
SURROGATE_RANGE = ("\\uD800\\uDC00-\\uDBFF\\uDFFF", "\\U00010000-\\U0010FFFF")


def java_regex(pattern):
    """A Java pattern as the regex package reads it (None if it does not compile)."""
    src = pattern.replace(*SURROGATE_RANGE)
    out, depth, i = [], 0, 0
    while i < len(src):
        c = src[i]
        if c == "\\" and i + 1 < len(src):
            name, negated = _java_class_at(src, i + 1)
            if name is None:
                out.append(src[i:i + 2])
                i += 2
                continue
            body = JAVA_CLASSES[name]
            if depth and not negated:
                out.append(body)
            elif depth:
                out.append(src[i:i + 1 + len(name)])  # a negated class inside a class: left as is
            else:
                out.append(f"[{'^' if negated else ''}{body}]")
            i += 1 + len(name)
            continue
        depth += c == "["
        depth -= c == "]" and depth > 0
        out.append(c)
        i += 1
    try:
        return regex.compile("".join(out))
    except regex.error:
        return None


def _java_class_at(src, j):
    """The JAVA_CLASSES name escaped at src[j] (and whether it is negated), or (None, False)."""
    c = src[j]
    if c in "wdsWDS":
        return c.lower(), c.isupper()
    if c in "pP" and src.startswith("{", j + 1):
        name = "p" + src[j + 1:src.find("}", j) + 1]
        if name in JAVA_CLASSES:
            return name, c == "P"
    return None, False


class Node:
    """One shape, compiled: what to check and where its members are on the wire."""

    __slots__ = (
        "type", "min", "max", "pattern", "source", "enum", "enum_list", "sensitive", "deep",
        "members", "checked", "required", "member", "key", "value", "names", "flat", "py",
    )

    def __init__(self, shape, meta):
        self.type = shape.type_name
        self.min = meta.get("min")
        self.max = meta.get("max")
        self.source = meta.get("pattern") if self.type == "string" else None
        self.pattern = java_regex(self.source) if self.source else None
        self.enum = {str(v) for v in meta["enum"]} if meta.get("enum") else None
        self.enum_list = meta.get("enum")
        self.sensitive = bool(meta.get("sensitive"))
        self.members = []  # structure: (name, key, location, locname, node)
        self.checked = []  # the members worth walking into
        self.required = []  # (name, key)
        self.member = self.key = self.value = None
        self.names = ("member", "key", "value")  # query wire names of list items, map keys, values
        self.flat = False
        self.py = NUMBERS.get(self.type)
        self.deep = self.own()

    def own(self):
        """Whether this shape constrains its value by itself."""
        return bool(self.min is not None or self.max is not None or self.pattern or self.enum or self.required)


class Model:
    """One service's model for one protocol, compiled as requests need it."""

    def __init__(self, service, sm, protocol):
        self.service = service
        self.sm = sm
        self.protocol = protocol  # json, rest-json, query, ec2 or cbor: how requests come (wire_protocol)
        self.nodes = {}
        self.ops = {}
        # REST-JSON: (method, segments) -> [(path regex, operation name)], literal paths first;
        # routes with a greedy label ({Name+}) under (method, None).
        self.routes = None
        self.lock = threading.Lock()

    # -- compiling ------------------------------------------------------------------------
    def op(self, name):
        """(operation model, input Node) for an operation name, or None if not in the model."""
        with self.lock:
            if name not in self.ops:
                self.ops[name] = self._compile_op(name)
            return self.ops[name]

    def _compile_op(self, name):
        if name not in self.sm.operation_names:
            return None
        om = self.sm.operation_model(name)
        if om.input_shape is None:
            return None
        root = self.node(om.input_shape)
        _settle(root)
        return om, root

    def node(self, shape, extra=None):
        if extra is None and shape.name in self.nodes:
            return self.nodes[shape.name]
        meta = dict(shape.metadata, **(extra or {}))
        n = Node(shape, meta)
        if extra is None:
            self.nodes[shape.name] = n
        if n.type == "structure":
            self._structure(n, shape)
        elif n.type == "list":
            n.member = self.node(shape.member)
            n.flat = bool(shape.serialization.get("flattened"))
            n.names = (shape.member.serialization.get("name", "member"), "key", "value")
        elif n.type == "map":
            n.key, n.value = self.node(shape.key), self.node(shape.value)
            n.flat = bool(shape.serialization.get("flattened"))
            n.names = ("member", shape.key.serialization.get("name", "key"), shape.value.serialization.get("name", "value"))
        return n

    def _structure(self, n, shape):
        botocore_name = BOTOCORE_NAMES.get(self.service, self.service)
        required = set(shape.required_members)
        for name, member in shape.members.items():
            extra = EXTRA.get((botocore_name, shape.name, name))
            child = self.node(member, extra)
            ser = member.serialization
            location = ser.get("location")
            key = name if location or self.protocol in ("query", "ec2", "cbor") else ser.get("name", name)
            n.members.append((name, key, location, self._wire_name(name, ser), child))
            if name in required:
                n.required.append((name, key))
        n.deep = n.own()

    def _wire_name(self, name, ser):
        if self.protocol == "ec2":
            if "queryName" in ser:
                return ser["queryName"]
            return ser["name"][0].upper() + ser["name"][1:] if "name" in ser else name
        return ser.get("name", name)

    # -- reading a request back into its input shape ------------------------------------
    def decode(self, environ, body, req):
        """(operation name, input value) of a request, or (None, None)."""
        if self.protocol == "json":
            target = environ.get("HTTP_X_AMZ_TARGET") or ""
            if "." not in target:
                return None, None
            return target.rsplit(".", 1)[1], req if isinstance(req, dict) and req else _json(body)
        if self.protocol == "rest-json":
            return self._decode_rest(environ, body, req)
        if self.protocol == "cbor":
            from . import cbor

            found = cbor.route(environ)
            if found is None:
                return None, None
            return found[1], req if isinstance(req, dict) and req else cbor.request(body)
        if self.protocol in ("query", "ec2"):
            params = dict(parse_qsl(body.decode("utf-8", "replace") if body else environ.get("QUERY_STRING", ""), keep_blank_values=True))
            name = params.get("Action")
            found = self.op(name) if name else None
            if not found:
                return None, None
            return name, _Query(params, self.protocol == "ec2").structure(found[1], "")
        return None, None

    def _decode_rest(self, environ, body, req):
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "").encode("latin-1", "replace").decode("utf-8", "replace")
        path = path.rstrip("/") or "/"
        routes = self._routes()
        for rx, name in routes.get((method, path.count("/")), []) + routes.get((method, None), []):
            hit = rx.fullmatch(path)
            if hit is None:
                continue
            found = self.op(name)
            if not found:
                return None, None
            return name, self._rest_value(found, hit.groupdict(), environ, body, req)
        return None, None

    def _rest_value(self, found, labels, environ, body, req):
        om, root = found
        payload = om.input_shape.serialization.get("payload")
        value = {}
        if payload is None:
            value = dict(req) if isinstance(req, dict) and req else _json(body)
        elif om.input_shape.members[payload].type_name == "structure":
            value = {payload: _json(body)}
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        for name, key, location, wire, child in root.members:
            if location == "uri":
                v = labels.get(_group(wire))
                v = None if v is None else [v]
            elif location == "querystring":
                v = query.get(wire)
            elif location == "header":
                h = environ.get("HTTP_" + wire.upper().replace("-", "_"))
                v = None if h is None else [h]
            else:
                continue
            if v is not None:
                value[key] = v if child.type == "list" else _scalar(child, v[0])
        return value

    def _routes(self):
        with self.lock:
            if self.routes is None:
                self.routes = {}
                for key, rx, name, order in sorted(
                    (_route(self.sm.operation_model(name)) for name in self.sm.operation_names), key=lambda r: r[3]
                ):
                    self.routes.setdefault(key, []).append((rx, name))
            return self.routes


def _route(om):
    """((method, segments or None if greedy), path regex, operation name, sort key)."""
    uri = om.http.get("requestUri", "/").split("?")[0].rstrip("/") or "/"
    parts, labels, greedy = [], 0, False
    for seg in regex.split(r"(\{[^}]+\})", uri):
        if seg.startswith("{") and seg.endswith("}"):
            label = seg[1:-1]
            plus = label.endswith("+")
            labels += 1
            greedy = greedy or plus
            parts.append(f"(?P<{_group(label.rstrip('+'))}>{'.+' if plus else '[^/]+'})")
        else:
            parts.append(regex.escape(seg))
    key = (om.http.get("method", "POST"), None if greedy else uri.count("/"))
    return key, regex.compile("".join(parts)), om.name, (labels, -len(uri))


@functools.lru_cache(maxsize=None)
def _group(label):
    """The regex group name of a URI label."""
    return "g_" + regex.sub(r"\W", "_", label)


def _json(body):
    if not body:
        return {}
    try:
        doc = json.loads(body)
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _scalar(node, text):
    """A query-string or header value as the shape's type (unchanged when it does not parse)."""
    if node.py is None:
        return text
    try:
        return node.py(text)
    except ValueError:
        return text


class _Query:
    """The query and EC2 protocols' flat parameters read back into nested values."""

    def __init__(self, params, ec2):
        self.params = params
        self.ec2 = ec2
        self.prefixes = set()
        for k in params:
            parts = k.split(".")
            for i in range(1, len(parts)):
                self.prefixes.add(".".join(parts[:i]))

    def present(self, key):
        return key in self.params or key in self.prefixes

    def value(self, node, key):
        if node.type == "structure":
            return self.structure(node, key + ".")
        if node.type == "list":
            return self.list(node, key)
        if node.type == "map":
            return self.map(node, key)
        return _scalar(node, self.params[key]) if key in self.params else None

    def structure(self, node, prefix):
        out = {}
        for name, key, location, wire, child in node.members:
            full = prefix + wire
            if self.present(full):
                out[key] = self.value(child, full)
        return out

    def list(self, node, key):
        base = key if self.ec2 or node.flat else f"{key}.{node.names[0]}"
        items, i = [], 1
        while self.present(f"{base}.{i}"):
            items.append(self.value(node.member, f"{base}.{i}"))
            i += 1
        return items

    def map(self, node, key):
        base = key if node.flat else f"{key}.entry"
        out, i = {}, 1
        while self.present(f"{base}.{i}"):
            k = self.params.get(f"{base}.{i}.{node.names[1]}")
            if k is not None:
                out[k] = self.value(node.value, f"{base}.{i}.{node.names[2]}")
            i += 1
        return out


def _settle(root):
    """Marks every node that has a constraint somewhere below it (`deep`), then lists each
    structure's members worth walking into. Recursive shapes converge: deep only turns on."""
    seen, stack = [], [root]
    ids = set()
    while stack:
        n = stack.pop()
        if id(n) in ids:
            continue
        ids.add(id(n))
        seen.append(n)
        stack.extend(_children(n))
    changed = True
    while changed:
        changed = False
        for n in seen:
            if not n.deep and any(c.deep for c in _children(n)):
                n.deep = changed = True
    for n in seen:
        if n.type == "structure":
            n.checked = [(name, key, child) for name, key, _, _, child in n.members if child.deep]


def _children(n):
    if n.type == "structure":
        return [m[4] for m in n.members]
    return [c for c in (n.member, n.key, n.value) if c is not None]


# -- checking -------------------------------------------------------------------------------
def _lower(name):
    return name[:1].lower() + name[1:]


def _utf16_len(s):
    return len(s) if s.isascii() else len(s.encode("utf-16-le")) // 2


def _blob_len(v):
    if isinstance(v, str):
        return len(v) * 3 // 4 - v[-2:].count("=")
    return len(v)


def _show(v):
    """A value as AWS's (Java's) messages print it."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return "[" + ", ".join(_show(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}={_show(x)}" for k, x in v.items()) + "}"
    return str(v)


def _bounds(node, n, what):
    """The shape's min / max broken by n (a length, or a number's value)."""
    faults = []
    if node.min is not None and n < node.min:
        faults.append(f"Member must have {what} greater than or equal to {node.min}")
    if node.max is not None and n > node.max:
        faults.append(f"Member must have {what} less than or equal to {node.max}")
    return faults


def _scalar_faults(node, v):
    """What a scalar value breaks, as AWS words each constraint (nothing for a value of another
    type: that is the service's own error)."""
    t = node.type
    if t == "string" and isinstance(v, str):
        faults = _bounds(node, _utf16_len(v), "length")
    elif t == "blob" and isinstance(v, (str, bytes)):
        faults = _bounds(node, _blob_len(v), "length")
    elif node.py is not None and isinstance(v, (int, float)) and not isinstance(v, bool):
        faults = _bounds(node, v, "value")
    else:
        return []
    if node.pattern is not None and isinstance(v, str) and not _matches(node.pattern, v):
        faults.append(f"Member must satisfy regular expression pattern: {node.source}")
    if node.enum is not None and _show(v) not in node.enum:
        faults.append(f"Member must satisfy enum value set: [{', '.join(str(e) for e in node.enum_list)}]")
    return faults


def _matches(rx, v):
    try:
        return rx.fullmatch(v, timeout=REGEX_TIMEOUT) is not None
    except TimeoutError:
        return True


def walk(node, v, path, out):
    """Appends (path, value or None, fault, sensitive) for each constraint v breaks."""
    t = node.type
    if t == "structure":
        if isinstance(v, dict):
            _walk_structure(node, v, path, out)
    elif t == "list":
        if isinstance(v, list):
            _walk_list(node, v, path, out)
    elif t == "map":
        if isinstance(v, dict):
            _walk_map(node, v, path, out)
    elif t in SCALARS:
        for fault in _scalar_faults(node, v):
            out.append((path, v, fault, node.sensitive))


def _walk_structure(node, v, path, out):
    prefix = path + "." if path else ""
    for name, key in node.required:
        if v.get(key) is None:
            out.append((prefix + _lower(name), None, "Member must not be null", False))
    for name, key, child in node.checked:
        x = v.get(key)
        if x is not None:
            walk(child, x, prefix + _lower(name), out)


def _walk_list(node, v, path, out):
    for fault in _bounds(node, len(v), "length"):
        out.append((path, v, fault, node.member.sensitive))
    m = node.member
    if not m.deep:
        return
    if m.type in SCALARS:
        inner = _dedup(f for x in v if x is not None for f in _scalar_faults(m, x))
        if inner:
            out.append((path, v, f"Member must satisfy constraint: [{', '.join(inner)}]", m.sensitive))
        return
    for i, x in enumerate(v, 1):
        if x is not None:
            walk(m, x, f"{path}.{i}.member", out)


def _walk_map(node, v, path, out):
    hidden = node.sensitive or node.key.sensitive or node.value.sensitive
    for fault in _bounds(node, len(v), "length"):
        out.append((path, v, fault, hidden))
    if node.key.deep:
        inner = _dedup(f for k in v for f in _scalar_faults(node.key, k))
        if inner:
            out.append((path, v, f"Map keys must satisfy constraint: [{', '.join(inner)}]", hidden))
    val = node.value
    if not val.deep:
        return
    if val.type in SCALARS:
        inner = _dedup(f for x in v.values() if x is not None for f in _scalar_faults(val, x))
        if inner:
            out.append((path, v, f"Map value must satisfy constraint: [{', '.join(inner)}]", hidden))
        return
    for k, x in v.items():
        if x is not None:
            walk(val, x, f"{path}.{k}", out)


def _dedup(faults):
    return list(dict.fromkeys(faults))


def message(faults):
    """AWS's text for a list of faults."""
    parts = []
    for path, v, fault, sensitive in faults:
        shown = "null" if v is None else ("" if sensitive else f"'{_show(v)}'")
        value = f"Value {shown} at" if shown else "Value at"
        parts.append(f"{value} '{path}' failed to satisfy constraint: {fault}")
    n = len(parts)
    return f"{n} validation error{'s' if n > 1 else ''} detected: " + "; ".join(parts)


def wire_protocol(environ, sm):
    """The protocol a request speaks: JSON with an X-Amz-Target, Smithy RPC v2 CBOR by its path
    (or smithy-protocol header), else the model's own (REST-JSON, query, EC2), or a form for a
    service that also speaks query (CloudWatch). None for anything else: not checked."""
    if environ.get("HTTP_X_AMZ_TARGET"):
        return "json"
    from . import cbor

    if cbor.is_cbor(environ):
        return "cbor" if "smithy-rpc-v2-cbor" in (sm.metadata.get("protocols") or [sm.protocol]) else None
    if sm.protocol in ("rest-json", "query", "ec2"):
        return sm.protocol
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        return "query"
    return None


class Validator:
    """Every service's model, loaded the first time a request of that service comes, and
    compiled for each protocol its requests come in."""

    def __init__(self):
        self.service_models = {}
        self.models = {}
        self.lock = threading.Lock()
        self.session = None

    def model(self, service, environ):
        with self.lock:
            if service not in self.service_models:
                self.service_models[service] = self._load(service)
            sm = self.service_models[service]
            protocol = wire_protocol(environ, sm) if sm is not None else None
            if (service, protocol) not in self.models:
                self.models[service, protocol] = Model(service, sm, protocol) if protocol else None
            return self.models[service, protocol]

    def _load(self, service):
        name = BOTOCORE_NAMES.get(service)
        if name is None:
            return None
        if self.session is None:
            import botocore.session

            self.session = botocore.session.get_session()
        return self.session.get_service_model(name)

    def faults(self, service, environ, body, req=None):
        """(operation, [faults]) of a request; (None, []) for a call the model does not know."""
        m = self.model(service, environ)
        if m is None:
            return None, []
        name, value = m.decode(environ, body, req)
        found = m.op(name) if name else None
        if not found:
            return None, []
        out = []
        walk(found[1], value or {}, "", out)
        return name, out

    def check(self, service, environ, body, req=None):
        _, out = self.faults(service, environ, body, req)
        if not out:
            return None
        return Refusal(ERROR_CODES.get(service, "ValidationException"), message(out))
