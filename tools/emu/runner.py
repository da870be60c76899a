"""One Lambda execution environment's Python runtime: runs in its own process, started by
tools/emu/runtime.py with the function's environment and its code unpacked as the task root
(the current directory). Not imported by the emulator.

    python -I runner.py FD

Init: imports the module of `_HANDLER` (`path/to/file.function`) and answers on file descriptor
FD `{"ready": true}`, or `{"initError": {...}}` and exits. Then, for each JSON line on stdin
`{"requestId", "event", "deadlineMs", "invokedFunctionArn", "log"}`, calls the handler with the
event and a context as the Python runtime builds it, with stdout and stderr (and the root
logger, in Lambda's format) going to the file `log`, and answers one line on FD: `{"result":
JSON text}` or `{"error": {"errorMessage", "errorType", "requestId", "stackTrace"}}`, with
`maxMemoryMB`. EOF on stdin ends it. The errors are worded as the Python runtime words them
(Runtime.ImportModuleError, Runtime.HandlerNotFound, Runtime.UserCodeSyntaxError,
Runtime.MalformedHandlerName, Runtime.MarshalError).
"""

import decimal
import importlib
import json
import logging
import os
import resource
import sys
import time
import traceback

REQUEST = {"id": None}


class LambdaContext:
    """What the Python runtime passes as `context` (awslambdaric's LambdaContext)."""

    def __init__(self, request_id, deadline_ms, invoked_function_arn):
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.client_context = None
        self.identity = None
        self.tenant_id = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(int(self._deadline_ms - time.time() * 1000), 0)

    def log(self, msg):
        sys.stdout.write(str(msg))
        sys.stdout.flush()

    def __repr__(self):
        return (f"LambdaContext([aws_request_id={self.aws_request_id},log_group_name={self.log_group_name},"
                f"log_stream_name={self.log_stream_name},function_name={self.function_name},"
                f"memory_limit_in_mb={self.memory_limit_in_mb},function_version={self.function_version},"
                f"invoked_function_arn={self.invoked_function_arn}])")


class RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = REQUEST["id"] or ""
        return True


def lambda_logging():
    """The root logger as the Python runtime sets it up: one handler, Lambda's line format."""
    handler = logging.StreamHandler(sys.stderr)
    formatter = logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n", "%Y-%m-%dT%H:%M:%S"
    )
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.addFilter(RequestIdFilter())
    handler.terminator = ""
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)


def stack_of(tb):
    """The traceback's frames from the handler's on (the runtime's own are left out)."""
    frames = [f for f in traceback.extract_tb(tb) if os.path.abspath(f.filename) != os.path.abspath(__file__)]
    return traceback.format_list(frames)


def fault(kind, message, tb=None):
    return {"errorMessage": message, "errorType": kind, "requestId": REQUEST["id"] or "", "stackTrace": stack_of(tb) if tb else []}


def load(handler):
    """The handler function, or raises (kind, message)."""
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise Failure("Runtime.MalformedHandlerName", f"Bad handler '{handler}': {e}")
    modname = modname.replace("/", ".")
    try:
        module = importlib.import_module(modname)
    except ImportError as e:
        raise Failure("Runtime.ImportModuleError", f"Unable to import module '{modname}': {e}")
    except SyntaxError as e:
        raise Failure("Runtime.UserCodeSyntaxError", f"Syntax error in module '{modname}': {e}")
    except Exception as e:
        raise Failure(type(e).__name__, str(e), e.__traceback__)
    fn = getattr(module, fname, None)
    if fn is None:
        raise Failure("Runtime.HandlerNotFound", f"Handler '{fname}' missing on module '{modname}'")
    return fn


class Failure(Exception):
    def __init__(self, kind, message, tb=None):
        super().__init__(message)
        self.doc = fault(kind, message, tb)


def to_json(value):
    def default(o):
        if isinstance(o, decimal.Decimal):
            return int(o) if o == o.to_integral_value() else float(o)
        raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")

    return json.dumps(value, default=default)


def redirect(path):
    """stdout and stderr (file descriptors 1 and 2) into the log file `path`."""
    sys.stdout.flush()
    sys.stderr.flush()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def answer(out, doc):
    sys.stdout.flush()
    sys.stderr.flush()
    doc["maxMemoryMB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    os.write(out, (json.dumps(doc) + "\n").encode())


def main():
    out = int(sys.argv[1])
    sys.path.insert(0, os.getcwd())
    sys.stdout.reconfigure(line_buffering=True)
    sys.stderr.reconfigure(line_buffering=True)
    lambda_logging()
    try:
        handler = load(os.environ.get("_HANDLER", ""))
    except Failure as f:
        sys.stdout.write(f"[ERROR] {f.doc['errorType']}: {f.doc['errorMessage']}\n")
        answer(out, {"initError": f.doc})
        return
    answer(out, {"ready": True})
    for line in sys.stdin:
        req = json.loads(line)
        REQUEST["id"] = req["requestId"]
        redirect(req["log"])
        context = LambdaContext(req["requestId"], req["deadlineMs"], req.get("invokedFunctionArn"))
        try:
            result = handler(req.get("event"), context)
        except Exception as e:
            doc = fault(type(e).__name__, str(e), e.__traceback__)
            trace = "".join(doc["stackTrace"]).rstrip("\n")
            sys.stdout.write(f"[ERROR] {doc['errorType']}: {doc['errorMessage']}\nTraceback (most recent call last):\n{trace}\n")
            answer(out, {"error": doc})
            continue
        try:
            text = to_json(result)
        except (TypeError, ValueError) as e:
            doc = fault("Runtime.MarshalError", f"Unable to marshal response: {e}")
            sys.stdout.write(f"[ERROR] Runtime.MarshalError: {doc['errorMessage']}\n")
            answer(out, {"error": doc})
            continue
        answer(out, {"result": text})


if __name__ == "__main__":
    main()
