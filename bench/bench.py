#!/usr/bin/env python3
"""The plan benchmark (README, "Performance"): moto behind a proxy adding a fixed latency per
request; cruddur-infra plan of the Cruddur stack beside a sequential boto3 reader and the limit
(start-up, exec to the plan's first request as bench/startup.py times it, + the critical path's
round trips x latency); then plan time for 1, 10, 40 and 200 tables;
then the cost of discovery (prune by ownership): the Cruddur stack's plan, wall time and requests,
before and after 300 foreign resources (100 tables, 100 functions, 100 roles) join the account.

    bench/run [--latency-ms 20] [--runs 7] [--rate-limits]

With --rate-limits the replay backend keeps AWS's documented per-account rates (bench/replay.py,
tools/emu/rates.py) and the throttles it answered are reported.
"""

import argparse
import os
import urllib.request
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(REPO, "target", "release", "cruddur-infra")
PY = os.path.join(REPO, ".venv", "bin", "python")
# Dependent reads on the longest chain of a plan: STS / DescribeTable / GetRole / the role's
# policy lists / DescribeVpcs / GetFunction / ListEventSourceMappings all at once, then
# ListTagsOfResource / GetRolePolicy / DescribeRouteTables / DescribeVpcEndpoints /
# DescribeSubnets / DescribeSecurityGroups / ListEventSourceMappings(ARN) at once.
CRITICAL_PATH = 2


def emulator(latency):
    p = subprocess.Popen(
        [PY, os.path.join(REPO, "tools", "emulator.py"), "--port", "0", "--latency-ms", str(latency)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = p.stdout.readline()
    return p, "http://127.0.0.1:" + line.strip().split("=")[1]


def set_latency(url, ms):
    urllib.request.urlopen(urllib.request.Request(f"{url}/_proxy/latency?ms={ms}", method="POST")).read()


def timed(cmd, cwd, runs, rest=0.0):
    """The median wall time of `runs` runs; `rest` seconds of quiet before each (untimed)."""
    out = []
    for _ in range(runs):
        time.sleep(rest)
        t = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def calls(url):
    with urllib.request.urlopen(f"{url}/_proxy/calls") as r:
        import json

        return json.loads(r.read())


def reset_calls(url):
    urllib.request.urlopen(urllib.request.Request(f"{url}/_proxy/calls/reset", method="POST")).read()


def requests_of_plan(url, cwd, extra=()):
    reset_calls(url)
    subprocess.run([BIN, "--endpoint-url", url, *extra, "plan"], cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    return len(calls(url))


def rate_bound(url, cwd, extra=()):
    """The time AWS's per-account rates alone take for one plan (docs/aws-behaviour.md rule 46):
    the plan's requests counted by rate (tools/emu/rates.py, the rates of src/pace.rs): n
    requests of an "N per second" rate take (n - 1) // N whole seconds (N in any one second);
    of a documented bucket, max(0, n - burst) / rate; the largest, with the rate and its count."""
    sys.path.insert(0, os.path.join(REPO, "tools"))
    from emu import rates

    reset_calls(url)
    subprocess.run([BIN, "--endpoint-url", url, "plan", *extra], cwd=cwd, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    counts = {}
    for c in calls(url):
        found = rates.rate_of(c["service"], c["action"])
        if found:
            r, bucket = found
            key = (r.service, bucket if isinstance(bucket, str) else ",".join(sorted(r.ops)) or "*", r.per_second, r.burst)
            counts[key] = counts.get(key, 0) + 1
    if not counts:
        return 0.0, None, 0
    def spacing(key, n):
        _, _, per_second, burst = key
        return float((n - 1) // int(per_second)) if burst is None else max(0, n - burst) / per_second

    key, n = max(counts.items(), key=lambda kv: spacing(*kv))
    return spacing(key, n), f"{key[0]}:{key[1]} at {key[2]:g}/s", n


def post(url, path):
    urllib.request.urlopen(urllib.request.Request(f"{url}{path}", method="POST")).read()


def record(url, scenarios):
    """The emulator's answers to one plan of each scenario (cwd, extra args)."""
    import json

    post(url, "/_proxy/record?on=1")
    for cwd, extra in scenarios:
        subprocess.run([BIN, "--endpoint-url", url, "plan", *extra], cwd=cwd, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    post(url, "/_proxy/record?on=0")
    with urllib.request.urlopen(f"{url}/_proxy/recorded") as r:
        return json.loads(r.read())


def replay_server(path, latency_ms, rate_limits=False):
    p = subprocess.Popen([PY, os.path.join(REPO, "bench", "replay.py"), path, "--latency-ms", str(latency_ms),
                          *(["--rate-limits"] if rate_limits else [])],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return p, "http://127.0.0.1:" + p.stdout.readline().strip().split("=")[1]


def envs_spec(n):
    envs = "".join(f"  e{i}:\n    region: us-east-1\n    name_suffix: -e{i}\n" for i in range(n))
    return ("version: 1\nstack: benchenvs\ndefault_env: e0\nenvironments:\n" + envs +
            "tables:\n  envtable:\n    partition_key: { name: pk, type: S }\n    billing: on_demand\n")


def add_foreign(url, n):
    """n tables, n functions and n roles that are not this stack's (some of another stack)."""
    import io
    import json
    import zipfile

    import boto3

    kw = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    ddb, iam, lam = boto3.client("dynamodb", **kw), boto3.client("iam", **kw), boto3.client("lambda", **kw)
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        z.writestr("f.py", "def h(e, c): pass")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    for i in range(n):
        tags = [{"Key": "team", "Value": "other"}] + ([{"Key": "managed-by", "Value": "cruddur-infra"}, {"Key": "cruddur-infra:stack", "Value": "other"}] if i % 2 else [])
        ddb.create_table(TableName=f"foreign-{i:03d}", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST", Tags=tags)
        iam.create_role(RoleName=f"foreign-{i:03d}", AssumeRolePolicyDocument=trust, Tags=tags)
        lam.create_function(FunctionName=f"foreign-{i:03d}", Runtime="python3.12", Handler="f.h", Code={"ZipFile": b.getvalue()},
                            Role=f"arn:aws:iam::123456789012:role/foreign-{i:03d}", Tags={t["Key"]: t["Value"] for t in tags})


def tables_spec(n):
    # One stack per size: every spec owns only its own tables (the same stack and env would
    # make the others its orphans, to be pruned).
    body = "".join(
        f"  b{n}-t{i:03d}:\n    partition_key: {{ name: pk, type: S }}\n    billing: on_demand\n" for i in range(n)
    )
    return f"version: 1\nstack: bench{n}\ndefault_env: local\nenvironments:\n  local:\n    region: us-east-1\ntables:\n{body}"


ENV = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
ENV.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", NO_COLOR="1")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--latency-ms", type=float, default=20)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--rate-limits", action="store_true", help="the replay backend throttles beyond AWS's rates")
    a = ap.parse_args()
    lat = a.latency_ms / 1000
    proc, url = emulator(a.latency_ms)
    work = tempfile.mkdtemp()
    try:
        for d in ("policies", "lambda"):
            shutil.copytree(os.path.join(REPO, d), os.path.join(work, d), ignore=shutil.ignore_patterns("__pycache__", "tests"))
        shutil.copy(os.path.join(REPO, "infra.yaml"), work)
        subprocess.run([BIN, "--endpoint-url", url, "-q", "apply", "--yes"], cwd=work, check=True, stdout=subprocess.DEVNULL, env=ENV)
        version = timed([BIN, "--version"], work, max(a.runs, 20))
        # Start-up as the limit counts it: exec to the plan's first request (bench/startup.py).
        sys.path.insert(0, os.path.join(REPO, "bench"))
        import startup as first_request

        first_request.once(BIN, ["plan"], work)
        startup = statistics.median(first_request.once(BIN, ["plan"], work) for _ in range(max(a.runs, 21))) / 1000
        plan = timed([BIN, "--endpoint-url", url, "plan"], work, a.runs)
        reader_wall = timed([PY, os.path.join(REPO, "bench", "sequential_reader.py"), url], work, max(3, a.runs // 2))
        reads = []
        for _ in range(max(3, a.runs // 2)):
            r = subprocess.run([PY, os.path.join(REPO, "bench", "sequential_reader.py"), url], capture_output=True, text=True, check=True)
            reads.append(float(r.stdout.strip()))
        reader_reads = statistics.median(reads)
        limit = startup + CRITICAL_PATH * lat
        # The emulator's own work: moto answers in one Python process, one request at a time
        # (GIL), so concurrent reads queue there; on AWS they are served in parallel.
        table_dirs = {}
        for n in (1, 10, 40, 200):
            d = os.path.join(work, f"t{n}")
            os.makedirs(d)
            with open(os.path.join(d, "infra.yaml"), "w") as f:
                f.write(tables_spec(n))
            subprocess.run([BIN, "--endpoint-url", url, "-q", "apply", "--yes"], cwd=d, check=True, stdout=subprocess.DEVNULL, env=ENV)
            table_dirs[n] = d
        set_latency(url, 0)
        floor = timed([BIN, "--endpoint-url", url, "plan"], work, a.runs)
        floors = {n: timed([BIN, "--endpoint-url", url, "plan"], d, a.runs) for n, d in table_dirs.items()}
        set_latency(url, a.latency_ms)
        rows = [
            ("cruddur-infra plan (Cruddur stack)", plan),
            ("sequential boto3 reader, whole script", reader_wall),
            ("sequential boto3 reader, reads only", reader_reads),
            (f"limit: start-up + {CRITICAL_PATH} round trips", limit),
            ("cruddur-infra --version", version),
            ("start-up: exec to the plan's first request", startup),
            ("plan at 0 ms latency (emulator's own work)", floor),
            ("limit + emulator's own work", limit + floor - startup),
        ]
        sizes = {}
        for n, d in table_dirs.items():
            sizes[n] = timed([BIN, "--endpoint-url", url, "plan"], d, a.runs)
            rows.append((f"plan of {n} table(s)", sizes[n]))
            rows.append((f"plan of {n} table(s) at 0 ms latency", floors[n]))
        print(f"latency {a.latency_ms:g} ms per request, median of {a.runs} runs\n")
        print(f"| {'measure':<42} | {'ms':>8} |\n|{'-' * 44}|{'-' * 10}|")
        for name, v in rows:
            print(f"| {name:<42} | {v * 1000:8.1f} |")
        print()
        print(f"plan / limit:                       {plan / limit:5.2f}  (target <= 1.5)")
        print(f"plan / (limit + emulator's work):   {plan / (limit + floor - startup):5.2f}")
        print(f"reader (reads only) / plan:         {reader_reads / plan:5.2f}  (target >= 5)")
        print(f"reader (whole script) / plan:       {reader_wall / plan:5.2f}")
        print(f"40 tables / 1 table:                {sizes[40] / sizes[1]:5.2f}  (target <= 1.5)")
        print(f"  the same, less the emulator's own work: {(sizes[40] - floors[40]) / (sizes[1] - floors[1]):5.2f}")
        print(f"start-up (exec to first request):   {startup * 1000:5.1f} ms (target < 10)")

        # The replay backend: the same plans answered from memory, concurrently, after the latency.
        envs_dir = os.path.join(work, "envs10")
        os.makedirs(envs_dir)
        with open(os.path.join(envs_dir, "infra.yaml"), "w") as f:
            f.write(envs_spec(10))
        set_latency(url, 0)
        for i in range(10):
            subprocess.run([BIN, "--endpoint-url", url, "-q", "--env", f"e{i}", "apply", "--yes"], cwd=envs_dir, check=True, stdout=subprocess.DEVNULL, env=ENV)
        scenarios = [("the Cruddur stack", work, []), ("1 table", table_dirs[1], []), ("10 tables", table_dirs[10], []),
                     ("40 tables", table_dirs[40], []), ("200 tables", table_dirs[200], []), ("1 env (1 table)", envs_dir, ["--env", "e0"]),
                     ("10 envs, --all-envs", envs_dir, ["--all-envs"])]
        bounds = {name: rate_bound(url, d, extra) for name, d, extra in scenarios}
        recorded = record(url, [(d, extra) for _, d, extra in scenarios])
        set_latency(url, a.latency_ms)
        rec_path = os.path.join(work, "recorded.json")
        import json
        with open(rec_path, "w") as f:
            json.dump(recorded, f)
        rproc, rurl = replay_server(rec_path, a.latency_ms, a.rate_limits)
        try:
            # With the rates kept, each run starts on a budget left unused by a second of quiet,
            # as one plan on an account nothing else is calling; back to back, runs share it.
            rest = 1.0 if a.rate_limits else 0.0
            replayed = {name: timed([BIN, "--endpoint-url", rurl, "plan", *extra], d, a.runs, rest) for name, d, extra in scenarios}
            with urllib.request.urlopen(f"{rurl}/_replay/stats") as r:
                stats = json.loads(r.read())
        finally:
            rproc.kill()
        limit = startup + CRITICAL_PATH * lat
        print()
        print(f"replay backend: recorded answers, served concurrently after {a.latency_ms:g} ms each; limit = start-up + {CRITICAL_PATH} round trips = {limit * 1000:.1f} ms\n")
        print("limit of each plan = start-up + max(2 round trips, its slowest rate's spacing + 1 round trip)\n")
        print(f"| {'plan of':<24} | {'ms':>8} | {'limit ms':>8} | {'/ limit':>8} | {'bound by':<44} |\n|{'-' * 26}|{'-' * 10}|{'-' * 10}|{'-' * 10}|{'-' * 46}|")
        own_limit = {}
        for name, v in replayed.items():
            spacing, which, n = bounds[name]
            own = own_limit[name] = startup + max(CRITICAL_PATH * lat, spacing + lat)
            what = f"{n} x {which}" if spacing + lat > CRITICAL_PATH * lat else f"{CRITICAL_PATH} round trips"
            print(f"| {name:<24} | {v * 1000:8.1f} | {own * 1000:8.1f} | {v / own:8.2f} | {what:<44} |")
        print()
        for name in ("the Cruddur stack", "40 tables", "200 tables", "10 envs, --all-envs"):
            print(f"{name + ' / its limit:':<32} {replayed[name] / own_limit[name]:5.2f}  (target <= 1.3)")
        print(f"40 tables / 1 table:             {replayed['40 tables'] / replayed['1 table']:5.2f}")
        print(f"10 envs / 1 env:                 {replayed['10 envs, --all-envs'] / replayed['1 env (1 table)']:5.2f}")
        print(f"start-up (exec to first request): {startup * 1000:5.1f} ms (target < 10)")
        print(f"unrecorded requests:    {len(stats['missed'])} {stats['missed'][:3]}")
        if a.rate_limits:
            print(f"throttled requests:     {stats.get('throttled', 0)} {stats.get('throttled_by_operation', {})}")

        # Discovery: the same plan without discovery (--target every resource reads only those),
        # with it, and with 300 foreign resources beside the stack.
        every = []
        for addr in ("dynamodb_table.cruddur-messages", "sqs_queue.cruddur-messaging-stream-dlq", "vpc_endpoint.dynamodb", "iam_role.cruddur-messaging-stream",
                     "lambda_function.cruddur-messaging-stream", "lambda_event_source_mapping.cruddur-messaging-stream"):
            every += ["--target", addr]
        rows = []

        def measure(name):
            no = (timed([BIN, "--endpoint-url", url, *every, "plan"], work, a.runs), requests_of_plan(url, work, every))
            yes = (timed([BIN, "--endpoint-url", url, "plan"], work, a.runs), requests_of_plan(url, work))
            rows.append((name + ", without discovery (--target all)", no))
            rows.append((name + ", with discovery", yes))

        measure("the stack alone")
        set_latency(url, 0)
        add_foreign(url, 100)
        set_latency(url, a.latency_ms)
        measure("+ 300 foreign resources")
        print()
        print("discovery: the Cruddur stack's plan, before and after 300 foreign resources (100 tables, functions, roles)\n")
        print(f"| {'account':<56} | {'ms':>8} | {'requests':>8} |\n|{'-' * 58}|{'-' * 10}|{'-' * 10}|")
        for name, (ms, n) in rows:
            print(f"| {name:<56} | {ms * 1000:8.1f} | {n:8d} |")
    finally:
        proc.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
