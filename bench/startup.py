#!/usr/bin/env python3
"""Start-up of the tool: from exec to its first AWS request (issue 32's start-up target).

    bench/startup.py [--bin target/release/cruddur-infra] [--runs 21] [-- ARGS...]

Listens on a free loopback port, runs `BIN --endpoint-url http://127.0.0.1:PORT ARGS` (default
`plan` in a folder with the shipped spec) and times the first connection's arrival after the
process was started; the tool is then killed. Prints the median and the quartiles in ms.
"""

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def once(binary, args, cwd):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null", NO_COLOR="1")
    start = time.perf_counter()
    proc = subprocess.Popen([binary, "--endpoint-url", f"http://127.0.0.1:{port}", *args], cwd=cwd, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    listener.settimeout(10)
    try:
        conn, _ = listener.accept()
        elapsed = time.perf_counter() - start
        conn.close()
    finally:
        proc.kill()
        proc.wait()
        listener.close()
    return elapsed * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(ROOT / "target/release/cruddur-infra"))
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("args", nargs="*", default=["plan"])
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="startup-")
    try:
        for part in ("infra.yaml", "policies", "lambda"):
            src = ROOT / part
            (shutil.copytree if src.is_dir() else shutil.copy)(src, Path(work) / part)
        once(a.bin, a.args, work)  # warm the page cache
        ms = sorted(once(a.bin, a.args, work) for _ in range(a.runs))
        q = statistics.quantiles(ms, n=4)
        print(f"exec to first request: median {statistics.median(ms):.1f} ms (quartiles {q[0]:.1f} / {q[2]:.1f}), {a.runs} runs, {a.bin}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
