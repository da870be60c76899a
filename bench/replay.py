#!/usr/bin/env python3
"""A backend that does not hide the tool's own speed: it answers recorded AWS requests from
memory after a fixed latency, any number at once (asyncio, HTTP/1.1 keep-alive).

The answers are recorded once from the emulator (tools/emulator.py, `/_proxy/record` then
`/_proxy/recorded`); a request is matched by method, path, query, `X-Amz-Target` and body (the
signature and dates are ignored). An unrecorded request is answered 599 and counted.

    replay.py RECORDED.json --latency-ms 20 [--rate-limits]   prints `READY port=N`, then serves
    GET /_replay/stats        {"served": N, "missed": [...], "throttled": N, "throttled_by_operation": {...}}

With --rate-limits, AWS's documented per-account request rates are kept as token buckets, as the
emulator's --rate-limits keeps them (docs/aws-behaviour.md rule 46; the table, the buckets and the
throttling answers are tools/emu/rates.py, shared): one account (the replay has one), a bucket per
region and rate (per action for EC2). A request beyond its bucket is answered as its service
throttles (DynamoDB ThrottlingException, Lambda TooManyRequestsException 429, EC2
RequestLimitExceeded 503, ...), after the same latency, whether or not it was recorded, and is
counted in `throttled` (and `throttled_by_operation`, "service:Operation") rather than `served`.
The service is the request's SigV4 credential scope, as the emulator routes (else its target,
path or host); its operation the target's, the query Action, the CBOR path's or Lambda's REST
route.
"""

import argparse
import asyncio
import base64
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from emu import rates  # noqa: E402  (tools/emu/rates.py)

ACCOUNT = "replay"  # the one account whose answers were recorded


def key(method, path, query, target, body):
    return (method, path, query, target, body)


def environ_of(method, path, query, headers):
    """The WSGI-style environ tools/emu/rates.py reads a request from."""
    env = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query}
    for name, value in headers.items():
        env["HTTP_" + name.upper().replace("-", "_")] = value
    if "content-type" in headers:
        env["CONTENT_TYPE"] = headers["content-type"]
    return env


class Replay:
    def __init__(self, recorded, latency, rate_limits=False):
        self.answers = {}
        for r in recorded:
            k = key(r["method"], r["path"], r["query"], r["target"], base64.b64decode(r["body"]))
            self.answers[k] = (r["status"], r["headers"], base64.b64decode(r["data"]))
        self.latency = latency
        self.served = 0
        self.missed = []
        self.limiter = rates.Limiter() if rate_limits else None
        if rate_limits:
            rates.lambda_operation("GET", "/")  # Lambda's routes read now, not during a timed run

    def stats(self):
        limited = self.limiter.stats() if self.limiter else {"throttled": 0, "by_operation": {}}
        return {"served": self.served, "missed": self.missed, "throttled": limited["throttled"],
                "throttled_by_operation": limited["by_operation"]}

    def throttled(self, method, path, query, headers, body):
        """The throttling answer when the request is beyond its rate (--rate-limits), else None."""
        if self.limiter is None:
            return None
        env = environ_of(method, path, query, headers)
        service, op = rates.operation_of(env, body)
        auth = headers.get("authorization", "")
        scope = auth.split("Credential=")[1].split("/") if "Credential=" in auth else []
        region = scope[2] if len(scope) > 2 else "us-east-1"
        wait = self.limiter.take(ACCOUNT, region, service, op)
        return None if wait is None else rates.throttle(service, env, wait)

    async def handle(self, reader, writer):
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                method, target_uri, _ = line.decode("latin-1").split(" ", 2)
                headers = {}
                while True:
                    h = await reader.readline()
                    if h in (b"\r\n", b"\n", b""):
                        break
                    name, _, value = h.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
                path, _, query = target_uri.partition("?")
                if path == "/_replay/stats":
                    status, out_headers, data = "200 OK", [["Content-Type", "application/json"]], json.dumps(
                        self.stats()
                    ).encode()
                else:
                    throttled = self.throttled(method, path, query, headers, body)  # counted on arrival
                    await asyncio.sleep(self.latency)
                    answer = self.answers.get(key(method, path, query, headers.get("x-amz-target", ""), body))
                    if throttled is not None:
                        status, out_headers, data = throttled
                    elif answer is None:
                        self.missed.append(f"{method} {path}?{query} {headers.get('x-amz-target', '')} {body[:120]!r}")
                        status, out_headers, data = "599 Not Recorded", [], b"not recorded"
                    else:
                        self.served += 1
                        status, out_headers, data = answer
                head = f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in out_headers)
                head += f"Content-Length: {len(data)}\r\n\r\n"
                writer.write(head.encode("latin-1") + data)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("recorded")
    ap.add_argument("--latency-ms", type=float, default=20)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--rate-limits", action="store_true", help="throttle beyond AWS's documented per-account rates")
    a = ap.parse_args()
    with open(a.recorded) as f:
        replay = Replay(json.load(f), a.latency_ms / 1000, a.rate_limits)
    server = await asyncio.start_server(replay.handle, "127.0.0.1", a.port, backlog=1024)
    print(f"READY port={server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
