"""Smithy RPC v2 CBOR, which CloudWatch's SDKs speak and moto 5.2.5 does not (docs/aws-behaviour.md
rule 41): aws-sdk-cloudwatch and botocore (whose cloudwatch model lists 'smithy-rpc-v2-cbor'
first) send

    POST /service/GraniteServiceVersion20100801/operation/<Operation>
    smithy-protocol: rpc-v2-cbor, Content-Type: application/cbor, body: a CBOR map of the input

and moto answers CloudWatch only in its query form (`Action=...&Version=2010-08-01`, XML). Each
request is translated, operation by operation from botocore's service model:

    route(environ) -> (service target, operation) or None when the request is not CBOR
    inflated(environ, body) -> (environ, body) with a gzip-compressed body (PutMetricData) inflated
    request(body) -> the CBOR body decoded ({} when empty)
    Translator(call).handle(service, environ, body, fixes, ctx) -> (status, headers, data)
    error(service, code, message, status, kind, operation) -> (status, headers, data)

The input is decoded (cbor2: tag 1 timestamps become datetimes, byte strings blobs), cleaned to
the input shape (unknown members and nulls dropped, as servers must ignore them), written as a
query request with botocore's own query serializer (the model is the same in every protocol), and
sent to moto; moto's XML is read with botocore's query parser against the output shape and
written back as CBOR by the shape: timestamps as tag 1 over float epoch seconds (what the Rust
SDK's decoder reads), doubles as floats, integers as integers, null members left out. An
operation without output answers an empty body.

An error is the rpcv2 error map `{"__type": "com.amazonaws.cloudwatch#<Shape>", "message": M}`
with moto's HTTP status, plus `x-amzn-query-error: <Code>;Sender` (Receiver for a 5xx): CloudWatch
is awsQueryCompatible, so both SDKs report the query code from that header (botocore as Code, the
shape in QueryErrorCode; the Rust SDK matches its error variants on it) and fall back to the
shape name after `#` without it. <Shape> is the modelled error shape of that code (the
operation's first, so ResourceNotFound, InvalidParameterValueException, ValidationException).

`fixes` (tools/emu/cloudwatch.py) sees each decoded request before moto and its decoded answer
after: `fixes.before(op, params, ctx)` -> Refusal | Reply | None (may change params),
`fixes.after(op, params, output, ctx)` -> output.
"""

import datetime
import threading
from urllib.parse import quote

import cbor2

from . import Refusal, Reply

CBOR = "application/cbor"
PROTOCOL = "rpc-v2-cbor"
FORM = "application/x-www-form-urlencoded; charset=utf-8"

# SigV4 signing name -> botocore service name, for the services that speak CBOR.
SERVICES = {"monitoring": "cloudwatch"}

_models = {}
_lock = threading.Lock()
_session = None


def route(environ):
    """(service target, operation) of an RPC v2 request (`/service/S/operation/O`), else None."""
    parts = environ.get("PATH_INFO", "").strip("/").split("/")
    if len(parts) == 4 and parts[0] == "service" and parts[2] == "operation" and environ.get("REQUEST_METHOD") == "POST":
        return parts[1], parts[3]
    return None


def is_cbor(environ):
    return route(environ) is not None or environ.get("HTTP_SMITHY_PROTOCOL") == PROTOCOL


def inflated(environ, body):
    """A gzip-compressed request (the SDKs compress PutMetricData past 10 KiB, Content-Encoding:
    gzip) as plain CBOR: (environ without the encoding, body)."""
    import gzip

    if "gzip" not in environ.get("HTTP_CONTENT_ENCODING", "").lower():
        return environ, body
    try:
        body = gzip.decompress(body)
    except (OSError, EOFError):
        return environ, body
    return {k: v for k, v in environ.items() if k != "HTTP_CONTENT_ENCODING"}, body


def request(body):
    """A CBOR body decoded: a dict ({} for an empty body or anything but a map)."""
    if not body:
        return {}
    try:
        doc = cbor2.loads(body)
    except Exception:
        return {}
    return doc if isinstance(doc, dict) else {}


def model(service):
    """botocore's service model of a signing name (None for a service that is not CBOR)."""
    global _session
    name = SERVICES.get(service)
    if name is None:
        return None
    with _lock:
        if name not in _models:
            if _session is None:
                import botocore.session

                _session = botocore.session.get_session()
            _models[name] = _session.get_service_model(name)
        return _models[name]


# -- values by shape ---------------------------------------------------------------------------
def clean(shape, value):
    """An input value reduced to its shape: unknown members and nulls dropped, timestamps sent as
    bare numbers made datetimes. Values of another type are left for the service to refuse."""
    t = shape.type_name
    if t == "structure" and isinstance(value, dict):
        out = {}
        for name, v in value.items():
            member = shape.members.get(name)
            if member is not None and v is not None:
                out[name] = clean(member, v)
        return out
    if t == "list" and isinstance(value, list):
        return [clean(shape.member, v) for v in value if v is not None]
    if t == "map" and isinstance(value, dict):
        return {k: clean(shape.value, v) for k, v in value.items() if v is not None}
    if t == "timestamp" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
    if t == "timestamp" and isinstance(value, cbor2.CBORTag) and value.tag == 1:
        return datetime.datetime.fromtimestamp(value.value, datetime.timezone.utc)
    return value


def encode_value(shape, value):
    """An output value (as botocore parsed it) ready for cbor2, by its shape."""
    t = shape.type_name
    if t == "structure":
        return {
            name: encode_value(member, value[name])
            for name, member in shape.members.items()
            if value.get(name) is not None
        }
    if t == "list":
        return [encode_value(shape.member, v) for v in value]
    if t == "map":
        return {k: encode_value(shape.value, v) for k, v in value.items()}
    if t == "timestamp":
        if isinstance(value, datetime.datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=datetime.timezone.utc)
            return cbor2.CBORTag(1, float(value.timestamp()))
        return cbor2.CBORTag(1, float(value))
    if t in ("integer", "long"):
        return int(value)
    if t in ("float", "double"):
        return float(value)
    if t == "boolean":
        return bool(value)
    if t == "blob":
        return value if isinstance(value, bytes) else str(value).encode()
    return value


def answer(doc, status="200 OK"):
    """(status, headers, data) of a CBOR answer; None for an operation without output."""
    headers = [("smithy-protocol", PROTOCOL)]
    if doc is None:
        return status, headers, b""
    return status, headers + [("Content-Type", CBOR)], cbor2.dumps(doc)


def error_shape(sm, code, operation=None):
    """The modelled error shape name of a query error code (the code itself when unmodelled)."""
    shapes = list(sm.operation_model(operation).error_shapes) if operation in sm.operation_names else []
    shapes += list(sm.error_shapes)
    for s in shapes:
        if s.name == code or (s.metadata.get("error") or {}).get("code") == code:
            return s.name
    return code


def error(service, code, message, status="400 Bad Request", kind=None, operation=None, encoding="cbor"):
    """(status, headers, data) of an RPC v2 CBOR error, as an awsQueryCompatible service sends it
    (or the same map in JSON 1.0, for a JSON request: encoding="json")."""
    sm = model(service)
    shape = error_shape(sm, code, operation) if sm is not None else code
    namespace = f"com.amazonaws.{sm.service_name}" if sm is not None else "com.amazonaws"
    kind = kind or ("Receiver" if status[:1] == "5" else "Sender")
    doc = {"__type": f"{namespace}#{shape}", "message": message or ""}
    if encoding == "json":
        import json

        headers = [("Content-Type", "application/x-amz-json-1.0")]
        body = json.dumps(doc).encode()
    else:
        headers = [("smithy-protocol", PROTOCOL), ("Content-Type", CBOR)]
        body = cbor2.dumps(doc)
    return status, headers + [("x-amzn-query-error", f"{code};{kind}")], body


def status_line(code):
    from http import HTTPStatus

    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return f"{code} Error"


class Translator:
    """CBOR in, query to moto, CBOR out. `call(environ, body)` is one call to moto:
    (status, headers, data)."""

    def __init__(self, call):
        self.call = call
        from botocore.parsers import create_parser
        from botocore.serialize import create_serializer

        self.serializer = create_serializer("query", include_validation=False)
        self.parser = create_parser("query")

    def handle(self, service, environ, body, fixes=None, ctx=None):
        found = route(environ)
        sm = model(service)
        if found is None or sm is None:
            return error(service, "UnknownOperationException", "The requested operation is not recognized", "404 Not Found")
        target, op = found
        if target != sm.metadata.get("targetPrefix") or op not in sm.operation_names:
            return error(service, "UnknownOperationException", f"Unknown operation {target}.{op}", "404 Not Found")
        om = sm.operation_model(op)
        params = clean(om.input_shape, request(body)) if om.input_shape is not None else {}
        ctx = ctx if ctx is not None else {}
        if fixes is not None:
            early = fixes.before(op, params, ctx)
            if isinstance(early, Refusal):
                return error(service, early.code, early.message, early.status, operation=op)
            if isinstance(early, Reply):
                return self.encode(om, early.doc, early.status)
        status, headers, data = self.call(self.query_environ(environ), self.query_body(om, params))
        code = int(status.split()[0])
        parsed = self.parser.parse({"status_code": code, "headers": dict(headers), "body": data}, om.output_shape)
        request_id = [(k, v) for k, v in headers if k.lower() == "x-amzn-requestid"]
        if code >= 300:
            err = parsed.get("Error") or {}
            status, headers, data = error(service, err.get("Code") or str(code), err.get("Message") or "", status, err.get("Type"), op)
            return status, headers + request_id, data
        parsed.pop("ResponseMetadata", None)
        if fixes is not None:
            parsed = fixes.after(op, params, parsed, ctx)
        status, headers, data = self.encode(om, parsed, status)
        return status, headers + request_id, data

    @staticmethod
    def encode(om, doc, status="200 OK"):
        if om.output_shape is None:
            return answer(None, status)
        return answer(encode_value(om.output_shape, doc or {}), status)

    def query_body(self, om, params):
        """The query request of an operation's input (botocore's serializer, percent-encoded)."""
        form = self.serializer.serialize_to_request(params, om)["body"]
        return "&".join(f"{quote(str(k), safe='-_.~')}={quote(str(v), safe='-_.~')}" for k, v in form.items()).encode()

    @staticmethod
    def query_environ(environ):
        env = {k: v for k, v in environ.items() if k not in ("HTTP_SMITHY_PROTOCOL", "HTTP_X_AMZN_QUERY_MODE", "HTTP_ACCEPT")}
        env["PATH_INFO"] = "/"
        env["QUERY_STRING"] = ""
        env["REQUEST_METHOD"] = "POST"
        env["CONTENT_TYPE"] = FORM
        return env
