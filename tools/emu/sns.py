"""SNS topics and email subscriptions as AWS keeps them (docs/aws-behaviour.md rule 42), in
tools/emulator.py's --aws-rules mode; plain mode keeps moto's behaviour (the existing ARN whatever
the tags; every subscription confirmed at once).

    rules = SnsRules()
    rules.before(action, params, backend, ctx) -> Refusal | None
    rules.after(action, params, status, data, backend, ctx) -> data (moto's XML, rewritten)
    confirm(backends, arn=None, endpoint=None) -> how many pending subscriptions it confirmed

`params` is the query request (a flat dict), `backend()` moto's SNS backend of the caller. The
pending state lives on moto's own subscription (its PendingConfirmation attribute), so a moto
reset forgets it too.

- CreateTopic of a name the caller already owns, with a tag the topic does not have (a new key,
  or another value), is InvalidParameter "Invalid parameter: Tags Reason: Topic already exists
  with different tags"; with the same tags (or none, or some of them) it answers the existing ARN,
  as on AWS. (moto answers the existing ARN whatever the tags and keeps the old ones.)
- An `email` or `email-json` subscription stays pending until its recipient confirms (here:
  POST /_proxy/sns/confirm?arn=ARN or ?endpoint=ADDRESS): Subscribe answers "pending
  confirmation" (the ARN with ReturnSubscriptionArn=true), ListSubscriptions and
  ListSubscriptionsByTopic show SubscriptionArn "PendingConfirmation", GetSubscriptionAttributes
  says PendingConfirmation true; Unsubscribe of "PendingConfirmation" (not an ARN) or of a pending
  subscription's ARN is InvalidParameter. Other protocols (sqs, lambda, https, ...) are confirmed
  at once, as moto does.
"""

import re

from . import Refusal

PENDING_PROTOCOLS = ("email", "email-json")
LISTS = ("ListSubscriptions", "ListSubscriptionsByTopic")
ARN_IN_XML = re.compile(rb"<SubscriptionArn>([^<]*)</SubscriptionArn>")


def tags_of(params):
    """The Tags.member.N.Key / .Value pairs of a query request, as a dict."""
    out, i = {}, 1
    while f"Tags.member.{i}.Key" in params:
        out[params[f"Tags.member.{i}.Key"]] = params.get(f"Tags.member.{i}.Value", "")
        i += 1
    return out


def is_pending(sub):
    return sub is not None and str(sub.attributes.get("PendingConfirmation")).lower() == "true"


def set_pending(sub, pending):
    sub.attributes["PendingConfirmation"] = "true" if pending else "false"
    sub.attributes["ConfirmationWasAuthenticated"] = "false" if pending else "true"


def confirm(backends, arn=None, endpoint=None):
    """Confirms pending subscriptions (by ARN or endpoint) in every account and region."""
    n = 0
    for account in list(backends.keys()):
        for region in list(backends[account].keys()):
            for sub in list(backends[account][region].subscriptions.values()):
                if is_pending(sub) and (sub.arn == arn or (endpoint is not None and sub.endpoint == endpoint)):
                    set_pending(sub, False)
                    n += 1
    return n


class SnsRules:
    actions = {"CreateTopic", "Subscribe", "Unsubscribe", *LISTS}

    def before(self, action, params, backend, ctx):
        if action == "CreateTopic":
            return self.create_topic(params, backend())
        if action == "Subscribe":
            b = backend()
            old = b._find_subscription(params.get("TopicArn"), params.get("Endpoint"), params.get("Protocol"))
            ctx["existed"] = old is not None
        if action == "Unsubscribe":
            return self.unsubscribe(params.get("SubscriptionArn") or "", backend())
        return None

    @staticmethod
    def create_topic(params, b):
        name = params.get("Name")
        topic = next((t for t in b.topics.values() if t.name == name), None)
        if topic is None:
            return None
        current = getattr(topic, "_tags", None) or {}
        if any(current.get(k) != v for k, v in tags_of(params).items()):
            return Refusal("InvalidParameter", "Invalid parameter: Tags Reason: Topic already exists with different tags")
        return None

    @staticmethod
    def unsubscribe(arn, b):
        parts = len(arn.split(":"))
        if parts < 6:
            return Refusal("InvalidParameter", f"Invalid parameter: SubscriptionArn Reason: An ARN must have at least 6 elements, not {parts}")
        if is_pending(b.subscriptions.get(arn)):
            return Refusal(
                "InvalidParameter",
                "Invalid parameter: SubscriptionArn Reason: the subscription is pending confirmation and cannot be deleted",
            )
        return None

    def after(self, action, params, status, data, backend, ctx):
        if not status.startswith("200"):
            return data
        if action == "Subscribe":
            return self.subscribed(params, data, backend(), ctx)
        if action in LISTS:
            subs = backend().subscriptions
            return ARN_IN_XML.sub(
                lambda m: b"<SubscriptionArn>PendingConfirmation</SubscriptionArn>"
                if is_pending(subs.get(m.group(1).decode())) else m.group(0),
                data,
            )
        return data

    @staticmethod
    def subscribed(params, data, b, ctx):
        sub = b._find_subscription(params.get("TopicArn"), params.get("Endpoint"), params.get("Protocol"))
        if sub is None:
            return data
        if not ctx.get("existed") and sub.protocol in PENDING_PROTOCOLS:
            set_pending(sub, True)
        if is_pending(sub) and (params.get("ReturnSubscriptionArn") or "").lower() != "true":
            return ARN_IN_XML.sub(b"<SubscriptionArn>pending confirmation</SubscriptionArn>", data)
        return data
