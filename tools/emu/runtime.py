"""Running a function's Python handler as Lambda does, for tools/emu/dataplane.py (Invoke and the
stream pollers). moto 5.2.5 can only run a function in Docker, which no machine here has.

    rt = Runtime(url)                      # url: the emulator's own endpoint
    outcome = rt.invoke(function, event, invoked_arn, qualifier=None)
    rt.close()

`function` is a Function (`snapshot()` of moto's LambdaFunction for the version invoked: each
published version keeps the code and configuration it was published with, as on AWS). An
execution environment is a Python process (the emulator's own interpreter, which has boto3)
running tools/emu/runner.py in the function's unpacked code, with the function's environment
variables and Lambda's own (AWS_REGION, AWS_DEFAULT_REGION, AWS_LAMBDA_FUNCTION_NAME,
AWS_LAMBDA_FUNCTION_VERSION, AWS_LAMBDA_FUNCTION_MEMORY_SIZE, AWS_LAMBDA_LOG_GROUP_NAME,
AWS_LAMBDA_LOG_STREAM_NAME, LAMBDA_TASK_ROOT, _HANDLER, AWS_EXECUTION_ENV), the execution role's
temporary credentials (an STS AssumeRole in moto, so calls are made in the function's account
as that role), and AWS_ENDPOINT_URL, the emulator itself. As on AWS an environment is initialised
once (the module imported, at most INIT_TIMEOUT s), serves one invocation at a time, is reused
while warm (`idle` seconds) and is replaced when the function's code or configuration changes.

An invocation ends as Lambda's does: the handler's JSON result; an uncaught exception
(FunctionError "Unhandled", payload errorMessage / errorType / requestId / stackTrace); the
function's Timeout passed (the process is killed; "Sandbox.Timedout", "RequestId: ID Error: Task
timed out after N.NN seconds"); the runtime exiting (Runtime.ExitError). Its log (the handler's
stdout, stderr and logging, in Lambda's line format, between START / END / REPORT lines) goes to
the log group /aws/lambda/NAME in moto (created on first use, without retention, as Lambda does:
docs/aws-behaviour.md rule 22), one stream per environment; the metrics Invocations, Errors and
Duration (AWS/Lambda; FunctionName, and Resource NAME:QUALIFIER for a qualified call: rule 41)
go to moto's CloudWatch.

Not modelled: layers, container images, runtimes other than Python (an invocation of one fails
with errorType "Emulator.UnsupportedRuntime"), memory limits, concurrency limits and throttling,
the Init phase's suppressed re-run, extensions.
"""

import base64
import hashlib
import io
import json
import math
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone

RUNNER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "runner.py")
INIT_TIMEOUT = 10.0  # Lambda's Init phase limit
TAIL = 4096  # LogType Tail: the last 4 KB of the log


@dataclass
class Function:
    """What an invocation needs of one version of a function (read from moto's objects)."""

    account: str
    region: str
    name: str
    version: str
    arn: str  # unqualified
    handler: str
    runtime: str
    timeout: float
    memory: int
    env: dict
    role: str
    code: bytes
    sha: str
    package_type: str = "Zip"

    @property
    def key(self):
        """One environment serves only this code and configuration."""
        return (self.account, self.region, self.name, self.version, self.sha, self.handler, self.runtime,
                self.timeout, self.memory, json.dumps(self.env, sort_keys=True), self.role)


def snapshot(fn):
    """A Function from moto's LambdaFunction (the $LATEST object or a published version's)."""
    return Function(
        account=fn.account_id, region=fn.region, name=fn.function_name, version=str(fn.version),
        arn=fn.function_arn.rsplit(":", 1)[0] if fn.function_arn.count(":") > 6 else fn.function_arn,
        handler=fn.handler or "", runtime=fn.run_time or "", timeout=float(fn.timeout or 3),
        memory=int(fn.memory_size or 128), env=dict(fn.environment_vars or {}), role=fn.role,
        code=fn.code_bytes or b"", sha=fn.code_sha_256 or "", package_type=fn.package_type or "Zip",
    )


@dataclass
class Outcome:
    request_id: str
    executed_version: str
    payload: bytes = b"null"
    error: dict = None  # the error payload of an Unhandled error, None on success
    log: str = ""
    duration_ms: float = 0.0
    status: int = 200  # 502 with `error` = the service's own error (code, message)
    service_error: tuple = None
    result: object = field(default=None)

    @property
    def function_error(self):
        return "Unhandled" if self.error is not None else None

    @property
    def error_type(self):
        return (self.error or {}).get("errorType")

    def log_tail(self):
        return base64.b64encode(self.log.encode()[-TAIL:]).decode()


def _now_iso():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Environment:
    """One execution environment: a runner.py process serving one function version."""

    def __init__(self, runtime, fn):
        self.runtime = runtime
        self.fn = fn
        self.key = fn.key
        self.proc = None
        self.out = None
        self.buf = b""
        self.used = time.monotonic()
        self.fresh = True  # its first invocation reports the Init Duration
        self.init_ms = 0.0
        self.init_log = ""
        self.stream = time.strftime("%Y/%m/%d/", time.gmtime()) + f"[{fn.version}]" + uuid.uuid4().hex
        self.dir = tempfile.mkdtemp(prefix="env-", dir=runtime.root)
        self.logs_ready = False

    # -- the process ------------------------------------------------------------------------
    def start(self):
        """Starts and initialises the environment: None, or the init error's payload."""
        task_root = self.runtime.code_dir(self.fn)
        if isinstance(task_root, dict):
            return task_root
        rfd, wfd = os.pipe()
        init_log = os.path.join(self.dir, "init.log")
        with open(init_log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", RUNNER, str(wfd)],
                cwd=task_root, env=self.environment(task_root), stdin=subprocess.PIPE,
                stdout=log, stderr=log, pass_fds=(wfd,), start_new_session=True,
            )
        os.close(wfd)
        self.out = rfd
        began = time.monotonic()
        line = self.read(began + INIT_TIMEOUT)
        self.init_ms = (time.monotonic() - began) * 1000
        self.init_log = self.slurp(init_log)
        if line is None:
            self.kill()
            return {"errorType": "Sandbox.Timedout",
                    "errorMessage": f"Error: Init phase timed out after {INIT_TIMEOUT:.2f} seconds"}
        if "initError" in line:
            self.kill()
            return line["initError"]
        return None

    def environment(self, task_root):
        fn = self.fn
        key, secret, token = self.runtime.credentials(fn)
        env = {k: str(v) for k, v in fn.env.items()}
        env.update({
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "LAMBDA_TASK_ROOT": task_root,
            "LAMBDA_RUNTIME_DIR": os.path.dirname(RUNNER),
            "_HANDLER": fn.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": fn.name,
            "AWS_LAMBDA_FUNCTION_VERSION": fn.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{fn.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": self.stream,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_REGION": fn.region,
            "AWS_DEFAULT_REGION": fn.region,
            "AWS_ACCESS_KEY_ID": key,
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_SESSION_TOKEN": token,
            # Every call of the handler reaches this emulator, and nothing of the host's AWS setup.
            "AWS_ENDPOINT_URL": self.runtime.url(),
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        })
        return env

    def read(self, deadline):
        """The next answer line (a dict), None at the deadline or when the process ended."""
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.out], [], [], left)
            if not ready:
                return None
            chunk = os.read(self.out, 1 << 16)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                self.proc.kill()
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            for f in (self.proc.stdin,):
                try:
                    f.close()
                except OSError:
                    pass
        if self.out is not None:
            os.close(self.out)
            self.out = None
        shutil.rmtree(self.dir, ignore_errors=True)

    @staticmethod
    def slurp(path):
        try:
            with open(path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    # -- one invocation ---------------------------------------------------------------------
    def invoke(self, event, request_id, invoked_arn):
        """(kind, payload or None, handler log, max memory MB, duration ms): kind "ok", "error",
        "timeout" or "exit"."""
        fn = self.fn
        log_path = os.path.join(self.dir, f"{request_id}.log")
        began = time.monotonic()
        deadline = began + fn.timeout
        req = {"requestId": request_id, "event": event, "deadlineMs": int((time.time() + fn.timeout) * 1000),
               "invokedFunctionArn": invoked_arn, "log": log_path}
        try:
            self.proc.stdin.write((json.dumps(req) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass
        line = self.read(deadline)
        duration = (time.monotonic() - began) * 1000
        log = self.slurp(log_path)
        try:
            os.unlink(log_path)
        except OSError:
            pass
        self.used = time.monotonic()
        if line is None:
            if self.alive() and time.monotonic() >= deadline:
                self.kill()
                return "timeout", None, log, 0, fn.timeout * 1000
            try:
                code = self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                code = None
            self.kill()
            return "exit", code, log, 0, duration
        memory = line.get("maxMemoryMB", 0)
        if "error" in line:
            return "error", line["error"], log, memory, duration
        return "ok", line.get("result", "null"), log, memory, duration


class Runtime:
    def __init__(self, url, idle=60.0):
        self.url = url if callable(url) else (lambda: url)
        self.idle = idle
        self.lock = threading.Lock()
        self.pool = {}  # Function.key -> [idle Environment]
        self.busy = set()
        self.keys = {}  # (account, role, function) -> (access key, secret, token)
        self._root = None
        self.codes = {}
        self.closed = False
        self.janitor = False

    # -- what an environment needs ----------------------------------------------------------
    @property
    def root(self):
        """This emulator's directory of unpacked code and logs (made with the first invocation)."""
        with self.lock:
            if self._root is None:
                clean_stale()
                self._root = tempfile.mkdtemp(prefix=f"emu-lambda-{os.getpid()}-")
            return self._root

    def code_dir(self, fn):
        """The function's code unpacked (once per zip), or an error payload."""
        digest = hashlib.sha256(fn.code).hexdigest()
        with self.lock:
            where = self.codes.get(digest)
        if where:
            return where
        where = os.path.join(self.root, "code", digest)
        try:
            tmp = tempfile.mkdtemp(prefix="unzip-", dir=self.root)
            zipfile.ZipFile(io.BytesIO(fn.code)).extractall(tmp)
            os.makedirs(os.path.dirname(where), exist_ok=True)
            try:
                os.rename(tmp, where)
            except OSError:
                shutil.rmtree(tmp, ignore_errors=True)  # unpacked meanwhile by another invocation
        except (zipfile.BadZipFile, ValueError, OSError):
            return {"service": ("InvalidZipFileException", "Lambda was unable to unzip the function's deployment package.")}
        with self.lock:
            self.codes[digest] = where
        return where

    def credentials(self, fn):
        """Temporary credentials of the function's execution role (moto's STS AssumeRole, which
        puts them in the role's account), as Lambda hands them to the runtime."""
        with self.lock:
            found = self.keys.get((fn.account, fn.role, fn.name))
        if found:
            return found
        try:
            from moto.sts.models import sts_backends

            partition = fn.arn.split(":")[1]
            role = sts_backends[fn.account][partition].assume_role(
                region_name=fn.region, role_session_name=fn.name, role_arn=fn.role,
                policy=None, duration=43200, external_id=None,
            )
            found = (role.access_key_id, role.secret_access_key, role.session_token)
        except Exception:
            found = ("test", "test", "test")
        with self.lock:
            self.keys[(fn.account, fn.role, fn.name)] = found
        return found

    def access_keys(self):
        """The access key ids handed to functions: {key id: function name}."""
        with self.lock:
            return {v[0]: k[2] for k, v in self.keys.items()}

    # -- environments -----------------------------------------------------------------------
    def acquire(self, fn):
        """An idle warm environment of this function version, else a new one: (env, init error)."""
        with self.lock:
            idle = self.pool.get(fn.key) or []
            while idle:
                env = idle.pop()
                if env.alive():
                    self.busy.add(env)
                    return env, None
                env.kill()
            # Environments of the same version with older code or configuration are done with.
            stale = [k for k in self.pool if k[:4] == fn.key[:4] and k != fn.key]
            old = [e for k in stale for e in self.pool.pop(k)]
        for e in old:
            e.kill()
        env = Environment(self, fn)
        err = env.start()
        if err is not None:
            return None, (err, env)
        with self.lock:
            self.busy.add(env)
        return env, None

    def release(self, env):
        with self.lock:
            self.busy.discard(env)
            if env.alive() and not self.closed:
                self.pool.setdefault(env.key, []).append(env)
                if not self.janitor:
                    self.janitor = True
                    threading.Thread(target=self.sweep, name="lambda-janitor", daemon=True).start()
                return
        env.kill()

    def sweep(self):
        """Ends idle environments while there are any (a thread, started with the first one)."""
        while True:
            time.sleep(max(self.idle / 4, 0.5))
            self.reap()
            with self.lock:
                if not self.pool or self.closed:
                    self.janitor = False
                    return

    def reap(self):
        """Ends environments idle for longer than `idle` seconds."""
        now = time.monotonic()
        with self.lock:
            done = []
            for key in list(self.pool):
                keep = [e for e in self.pool[key] if now - e.used < self.idle]
                done += [e for e in self.pool[key] if now - e.used >= self.idle]
                if keep:
                    self.pool[key] = keep
                else:
                    del self.pool[key]
        for e in done:
            e.kill()

    def close(self):
        with self.lock:
            self.closed = True
            envs = [e for es in self.pool.values() for e in es] + list(self.busy)
            self.pool.clear()
        for e in envs:
            e.kill()
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)

    # -- invoking ---------------------------------------------------------------------------
    def invoke(self, fn, event, invoked_arn, qualifier=None, request_id=None):
        """Runs one invocation: an Outcome."""
        self.reap()
        rid = request_id or str(uuid.uuid4())
        out = Outcome(rid, fn.version)
        if fn.package_type != "Zip" or not fn.runtime.startswith("python"):
            out.error = {"errorType": "Emulator.UnsupportedRuntime",
                         "errorMessage": f"The emulator runs Python functions only (this one: {fn.runtime or fn.package_type})."}
            out.payload = json.dumps(out.error).encode()
            out.log = self.frame(fn, rid, "", 0.0, 0, None, "")
            self.publish(fn, out, qualifier)
            return out
        env, failed = self.acquire(fn)
        if failed is not None:
            err, dead = failed
            dead.kill()
            if "service" in err:
                out.status, out.service_error = 502, err["service"]
                return out
            err = dict(err, requestId=rid)
            out.error = err
            out.payload = json.dumps(err).encode()
            out.log = self.frame(fn, rid, dead.init_log, 0.0, 0, dead.init_ms, "")
            self.write_logs(fn, dead, out.log)
            self.publish(fn, out, qualifier)
            return out
        cold, init_log = env.fresh, env.init_log if env.fresh else ""
        env.fresh = False
        try:
            kind, doc, log, memory, duration = env.invoke(event, rid, invoked_arn)
        finally:
            self.release(env)
        out.duration_ms = duration
        status = ""
        if kind == "ok":
            out.payload = doc.encode()
            try:
                out.result = json.loads(doc)
            except ValueError:
                out.result = None
        elif kind == "error":
            out.error = doc
        elif kind == "timeout":
            log += f"{_now_iso()} {rid} Task timed out after {fn.timeout:.2f} seconds\n"
            out.error = {"errorType": "Sandbox.Timedout",
                         "errorMessage": f"RequestId: {rid} Error: Task timed out after {fn.timeout:.2f} seconds"}
            status = "Status: timeout"
        else:  # the runtime process ended without answering
            how = f"exit status {doc}" if isinstance(doc, int) and doc >= 0 else "signal: killed"
            out.error = {"errorType": "Runtime.ExitError",
                         "errorMessage": f"RequestId: {rid} Error: Runtime exited with error: {how}"}
            log += f"RequestId: {rid} Error: Runtime exited with error: {how}\nRuntime.ExitError\n"
            status = "Status: error\tError Type: Runtime.ExitError"
        if out.error is not None:
            out.payload = json.dumps(out.error).encode()
        out.log = self.frame(fn, rid, init_log + log, duration, memory, env.init_ms if cold else None, status)
        self.write_logs(fn, env, out.log)
        self.publish(fn, out, qualifier)
        return out

    @staticmethod
    def frame(fn, rid, body, duration, memory, init_ms, status):
        """The invocation's log as Lambda writes it: START, the function's lines, END, REPORT."""
        if body and not body.endswith("\n"):
            body += "\n"
        report = (f"REPORT RequestId: {rid}\tDuration: {duration:.2f} ms\tBilled Duration: {math.ceil(duration)} ms\t"
                  f"Memory Size: {fn.memory} MB\tMax Memory Used: {memory} MB\t")
        if init_ms is not None:
            report += f"Init Duration: {init_ms:.2f} ms\t"
        if status:
            report += status
        return f"START RequestId: {rid} Version: {fn.version}\n{body}END RequestId: {rid}\n{report}\n"

    # -- what Lambda records ----------------------------------------------------------------
    def write_logs(self, fn, env, text):
        """The invocation's log lines into /aws/lambda/NAME (moto's CloudWatch Logs), one stream
        per environment; the group is created without retention if missing (rule 22)."""
        try:
            from moto.logs.models import logs_backends

            logs = logs_backends[fn.account][fn.region]
            group = f"/aws/lambda/{fn.name}"
            if not env.logs_ready:
                logs.ensure_log_group(group)
                if env.stream not in logs.groups[group].streams:
                    logs.create_log_stream(group, env.stream)
                env.logs_ready = True
            now = int(time.time() * 1000)
            events = [{"timestamp": now, "message": line} for line in text.split("\n") if line]
            if events:
                logs.put_log_events(group, env.stream, events)
        except Exception:
            pass  # the log is a record of the invocation, never its cause of failure

    @staticmethod
    def publish(fn, out, qualifier):
        """AWS/Lambda metrics of one invocation into moto's CloudWatch (rule 41)."""
        try:
            from moto.cloudwatch.models import cloudwatch_backends

            dims = [[{"Name": "FunctionName", "Value": fn.name}]]
            if qualifier and qualifier != "$LATEST":
                dims.append([{"Name": "FunctionName", "Value": fn.name},
                             {"Name": "Resource", "Value": f"{fn.name}:{qualifier}"}])
                if not qualifier.isdigit():
                    dims.append([{"Name": "FunctionName", "Value": fn.name},
                                 {"Name": "Resource", "Value": f"{fn.name}:{qualifier}"},
                                 {"Name": "ExecutedVersion", "Value": fn.version}])
            data = []
            for d in dims:
                data.append({"MetricName": "Invocations", "Value": 1.0, "Unit": "Count", "Dimensions": d})
                data.append({"MetricName": "Errors", "Value": 1.0 if out.error else 0.0, "Unit": "Count", "Dimensions": d})
                data.append({"MetricName": "Duration", "Value": float(out.duration_ms), "Unit": "Milliseconds", "Dimensions": d})
            cloudwatch_backends[fn.account][fn.region].put_metric_data("AWS/Lambda", data)
        except Exception:
            pass


def clean_stale():
    """Removes what emulators that are no longer running left in the temp directory (an emulator
    killed with SIGKILL cannot clean up after itself)."""
    tmp = tempfile.gettempdir()
    try:
        names = os.listdir(tmp)
    except OSError:
        return
    for name in names:
        if not name.startswith("emu-lambda-"):
            continue
        try:
            pid = int(name.split("-")[2])
        except (IndexError, ValueError):
            continue
        try:
            os.kill(pid, 0)
            continue  # still running
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        shutil.rmtree(os.path.join(tmp, name), ignore_errors=True)
