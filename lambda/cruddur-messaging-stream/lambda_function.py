"""Cruddur's message stream handler: access pattern D on the single-table design.

When a message row (pk = MSG#<message_group_uuid>, sk = <created_at>) is inserted, both group
rows of that conversation (pk = GRP#<owner user uuid>, sk = <last_message_at>), found through
the index INDEX_NAME (message_group_uuid, sk), move to sk = created_at with message = the text,
every other attribute kept.

- Every record of the batch is read; for one group in one batch the newest message wins.
- REMOVE / MODIFY events and events on other rows (our own group-row writes among them) are
  ignored without stopping the batch.
- Delivery is at least once and may replay: a group row never moves backwards (its current sk
  is compared with the message's created_at).
- The old row's delete and the new row's put are one transaction (both rows of a group in
  one), so a crash cannot lose a conversation from either user's list.
- A record that fails is reported in batchItemFailures (the mapping has ReportBatchItemFailures
  on), so the rest of the batch is not retried forever.

Calls made (and so what the role's inline policy allows, no more): dynamodb:Query on the index,
dynamodb:PutItem and dynamodb:DeleteItem on the table (inside TransactWriteItems).
Configuration: TABLE_NAME and INDEX_NAME from the environment; region and endpoint from the
Lambda runtime (boto3's defaults).
"""

import logging
import os

import boto3
from botocore.exceptions import ClientError

log = logging.getLogger()
log.setLevel(logging.INFO)

MESSAGE_PREFIX = "MSG#"
GROUP_PREFIX = "GRP#"
ATTEMPTS = 3

_client = None


def client():
    global _client
    if _client is None:
        _client = boto3.client("dynamodb")
    return _client


def _message_of(record):
    """(group uuid, created_at, text) of an inserted message row, or None to ignore it."""
    if record.get("eventName") != "INSERT":
        return None
    image = record["dynamodb"]["NewImage"]
    pk = image["pk"]["S"]
    if not pk.startswith(MESSAGE_PREFIX):
        return None
    return pk[len(MESSAGE_PREFIX) :], image["sk"]["S"], image["message"]["S"]


def _group_rows(table, index, group_uuid):
    out = []
    kwargs = dict(
        TableName=table,
        IndexName=index,
        KeyConditionExpression="message_group_uuid = :g",
        ExpressionAttributeValues={":g": {"S": group_uuid}},
    )
    while True:
        page = client().query(**kwargs)
        out.extend(i for i in page["Items"] if i["pk"]["S"].startswith(GROUP_PREFIX))
        if "LastEvaluatedKey" not in page:
            return out
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _move_group(table, index, group_uuid, created_at, text):
    """Moves every group row of the conversation that is older than created_at. Retries when
    another invocation moved a row in between (the transaction's condition fails)."""
    for attempt in range(ATTEMPTS):
        items = []
        for row in _group_rows(table, index, group_uuid):
            if row["sk"]["S"] >= created_at:
                continue  # already at this message or a newer one: never move backwards
            moved = dict(row)
            moved["sk"] = {"S": created_at}
            moved["message"] = {"S": text}
            items.append(
                {
                    "Delete": {
                        "TableName": table,
                        "Key": {"pk": row["pk"], "sk": row["sk"]},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                }
            )
            items.append({"Put": {"TableName": table, "Item": moved}})
        if not items:
            return
        try:
            client().transact_write_items(TransactItems=items)
            return
        except ClientError as e:
            if e.response["Error"]["Code"] != "TransactionCanceledException" or attempt == ATTEMPTS - 1:
                raise
            log.info("group %s changed while being updated; reading it again", group_uuid)


def lambda_handler(event, context):
    table = os.environ["TABLE_NAME"]
    index = os.environ["INDEX_NAME"]
    failures = []
    # group uuid -> (created_at, text, [sequence numbers of its records])
    newest = {}
    for record in event.get("Records", []):
        seq = record.get("dynamodb", {}).get("SequenceNumber")
        try:
            msg = _message_of(record)
        except (KeyError, TypeError) as e:
            log.error("record %s is not a readable message row: %r", seq, e)
            failures.append(seq)
            continue
        if msg is None:
            continue
        group, created_at, text = msg
        seqs = newest.get(group, (None, None, []))[2] + [seq]
        if group not in newest or created_at > newest[group][0]:
            newest[group] = (created_at, text, seqs)
        else:
            newest[group] = (newest[group][0], newest[group][1], seqs)
    for group, (created_at, text, seqs) in newest.items():
        try:
            _move_group(table, index, group, created_at, text)
        except Exception:  # one group's failure must not fail the others
            log.exception("updating message group %s failed", group)
            failures.extend(seqs)
    return {"batchItemFailures": [{"itemIdentifier": s} for s in failures if s is not None]}
