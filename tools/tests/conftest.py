"""Shared by the emulator's tests: one tools/emulator.py process on a free port, with boto3
clients for it (no client-side checks: the emulator must be the one that refuses)."""

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import boto3
import botocore.session
from botocore.config import Config

TOOLS = Path(__file__).resolve().parents[1]
if str(TOOLS) not in sys.path:
    sys.path.insert(0, str(TOOLS))

_models_dir = None


def models_speaking(service, protocol):
    """A botocore data directory whose model of `service` lists only `protocol`: a client made
    with it speaks that protocol (botocore itself prefers JSON to CBOR for CloudWatch)."""
    global _models_dir
    if _models_dir is None:
        _models_dir = tempfile.mkdtemp(prefix="emu-models-")
        atexit.register(shutil.rmtree, _models_dir, True)
    loader = botocore.session.get_session().get_component("data_loader")
    data = loader.load_service_model(service, "service-2")
    data["metadata"]["protocols"] = [protocol]
    data["metadata"]["protocol"] = protocol
    where = Path(_models_dir) / protocol / service / data["metadata"]["apiVersion"]
    if not where.exists():
        os.makedirs(where)
        (where / "service-2.json").write_text(json.dumps(data))
    return str(Path(_models_dir) / protocol)


class Emulator:
    """One emulator process on a free port. `emu(service)` is a boto3 client of it;
    `emu(service, protocol="smithy-rpc-v2-cbor")` one that speaks that protocol."""

    def __init__(self, *args):
        self.proc = subprocess.Popen(
            [sys.executable, str(TOOLS / "emulator.py"), "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        line = self.proc.stdout.readline()
        assert line.startswith("READY port="), f"emulator did not start: {line!r}"
        self.url = f"http://127.0.0.1:{int(line.strip().split('=')[1])}"
        self.clients = {}

    def __call__(self, service, protocol=None):
        key = (service, protocol)
        if key not in self.clients:
            session = botocore.session.get_session()
            if protocol is not None:
                session.get_component("data_loader").search_paths.insert(0, models_speaking(service, protocol))
            self.clients[key] = boto3.Session(botocore_session=session).client(
                service, endpoint_url=self.url, region_name="us-east-1",
                aws_access_key_id="test", aws_secret_access_key="test",
                config=Config(parameter_validation=False, retries={"max_attempts": 1}),
            )
            if protocol is not None:
                assert self.clients[key].meta.service_model.resolved_protocol == protocol
        return self.clients[key]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
