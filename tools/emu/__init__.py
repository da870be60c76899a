"""The rules of tools/emulator.py's --aws-rules mode that need more than a few lines: AWS's
eventual consistency (consistency.py), Lambda's event filter patterns (filters.py), the
services' API models (models.py) and SNS topics and email subscriptions (sns.py); and, in any
mode, CloudWatch's Smithy RPC v2 CBOR translated for moto (cbor.py) with its alarms as AWS keeps
them (cloudwatch.py), and Lambda versions, aliases and triggers on aliases as AWS keeps them,
with their refusals under --aws-rules (versions.py); and the data plane of stream triggers
(dataplane.py: Invoke and a poller per mapping; streams.py: the stream's records kept, trimmed
by retention; runtime.py and runner.py: a Python handler run in a process of its own); SQS's
sampled short polls (sqs.py, --aws-rules); and AWS's per-account request rates with each
service's throttling answer (rates.py, --rate-limits; shared with bench/replay.py). Each module
decides; emulator.py answers on the wire, in each service's own error format.

A rule answers with a Refusal (an AWS error) or a Reply (a 200 with this JSON document instead
of moto's answer), or None to let the call through unchanged.
"""

from dataclasses import dataclass, field


@dataclass
class Refusal:
    code: str
    message: str
    status: str = "400 Bad Request"
    # The code the query protocol gave this error (SQS's JSON protocol still sends it, in the
    # x-amzn-query-error header, and the SDKs report it as the error's code).
    query_code: str = None


@dataclass
class Reply:
    doc: dict = field(default_factory=dict)
    status: str = "200 OK"
