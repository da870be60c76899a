#!/usr/bin/env python3
"""A backend that does not hide the tool's own speed: it answers recorded AWS requests from
memory after a fixed latency, any number at once (asyncio, HTTP/1.1 keep-alive).

The answers are recorded once from the emulator (tools/emulator.py, `/_proxy/record` then
`/_proxy/recorded`); a request is matched by method, path, query, `X-Amz-Target` and body (the
signature and dates are ignored). An unrecorded request is answered 599 and counted.

    replay.py RECORDED.json --latency-ms 20     prints `READY port=N`, then serves
    GET /_replay/stats                          {"served": N, "missed": [...]}
"""

import argparse
import asyncio
import base64
import json
import sys


def key(method, path, query, target, body):
    return (method, path, query, target, body)


class Replay:
    def __init__(self, recorded, latency):
        self.answers = {}
        for r in recorded:
            k = key(r["method"], r["path"], r["query"], r["target"], base64.b64decode(r["body"]))
            self.answers[k] = (r["status"], r["headers"], base64.b64decode(r["data"]))
        self.latency = latency
        self.served = 0
        self.missed = []

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
                        {"served": self.served, "missed": self.missed}
                    ).encode()
                else:
                    await asyncio.sleep(self.latency)
                    answer = self.answers.get(key(method, path, query, headers.get("x-amz-target", ""), body))
                    if answer is None:
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
    a = ap.parse_args()
    with open(a.recorded) as f:
        replay = Replay(json.load(f), a.latency_ms / 1000)
    server = await asyncio.start_server(replay.handle, "127.0.0.1", a.port, backlog=1024)
    print(f"READY port={server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
