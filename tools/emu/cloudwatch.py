"""CloudWatch alarms as AWS keeps them, where moto 5.2.5 does not (docs/aws-behaviour.md rule 41), in
any mode. Applied to each decoded request and answer: CBOR ones by tools/emu/cbor.py, JSON 1.0 ones
(X-Amz-Target, what botocore picks) by tools/emulator.py; the query form is left as moto answers it.

    Alarms().before(op, params, ctx) -> Refusal | Reply | None   (may change params)
    Alarms().after(op, params, output, ctx) -> output

`ctx["backend"]()` is moto's CloudWatch backend of the caller's account and region.

- PutMetricAlarm replaces the whole alarm (moto does too: a new alarm object), but AWS keeps an
  existing alarm's state (moto resets it to OK) and starts a new alarm in INSUFFICIENT_DATA (moto:
  OK); `Tags` apply only when the alarm is created (moto merges them into an existing alarm's).
- DescribeAlarms pages: at most MaxRecords (1-100, 50 when not given) alarms by name, with a
  NextToken for the rest (moto answers every alarm at once); its filters combine (moto applies
  only the first of ActionPrefix, AlarmNamePrefix, AlarmNames, StateValue); without AlarmTypes only
  metric alarms are answered, as on AWS.
- DescribeAlarmsForMetric also filters by Dimensions, Statistic, ExtendedStatistic, Period and
  Unit (moto: by metric name and namespace only).
- ListTagsForResource of an alarm that does not exist is ResourceNotFoundException (moto: no
  tags); UntagResource of an alarm without tags succeeds (moto: ResourceNotFoundException);
  DeleteAlarms also forgets the alarms' tags (moto keeps them for an alarm of the same name).
"""

import base64
import json

from . import Refusal, Reply

PAGE_DEFAULT = 50
PAGE_MAX = 100
FILTERS = ("AlarmNames", "AlarmNamePrefix", "ActionPrefix", "StateValue")


def token_of(name):
    return base64.urlsafe_b64encode(json.dumps({"after": name}).encode()).decode()


def name_of(token):
    """The alarm name a NextToken continues after (None if it is not one of ours)."""
    try:
        doc = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError):
        return None
    return doc.get("after") if isinstance(doc, dict) and isinstance(doc.get("after"), str) else None


def not_found():
    return Refusal("ResourceNotFoundException", "The specified resource does not exist.", "404 Not Found")


class Alarms:
    def before(self, op, params, ctx):
        method = getattr(self, f"before_{op}", None)
        return method(params, ctx) if method else None

    def after(self, op, params, output, ctx):
        method = getattr(self, f"after_{op}", None)
        return method(params, output, ctx) if method else output

    # -- PutMetricAlarm ----------------------------------------------------------------------
    @staticmethod
    def before_PutMetricAlarm(params, ctx):
        old = ctx["backend"]().alarms.get(params.get("AlarmName"))
        if old is not None:
            params.pop("Tags", None)  # only at creation: later changes go through TagResource
            ctx["state"] = (old.state_value, old.state_reason, old.state_reason_data, old.state_updated_timestamp, old.history)
        return None

    @staticmethod
    def after_PutMetricAlarm(params, output, ctx):
        alarm = ctx["backend"]().alarms.get(params.get("AlarmName"))
        if alarm is not None:
            if "state" in ctx:
                (alarm.state_value, alarm.state_reason, alarm.state_reason_data,
                 alarm.state_updated_timestamp, alarm.history) = ctx["state"]
            else:
                alarm.state_value = "INSUFFICIENT_DATA"
        return output

    # -- DescribeAlarms ----------------------------------------------------------------------
    @staticmethod
    def before_DescribeAlarms(params, ctx):
        try:
            page = int(params.pop("MaxRecords", None) or PAGE_DEFAULT)
        except (TypeError, ValueError):
            page = PAGE_DEFAULT
        ctx["page"] = min(max(page, 1), PAGE_MAX)
        token = params.pop("NextToken", None)
        if token is not None:
            after = name_of(token)
            if after is None:
                return Refusal("InvalidNextToken", "The service can not decode the next token.")
            ctx["after"] = after
        return None

    @staticmethod
    def after_DescribeAlarms(params, output, ctx):
        types = params.get("AlarmTypes") or ["MetricAlarm"]
        kinds = [k for k, t in (("MetricAlarms", "MetricAlarm"), ("CompositeAlarms", "CompositeAlarm")) if t in types]
        alarms = sorted(
            ((a.get("AlarmName") or "", kind, a) for kind in kinds for a in output.get(kind) or [] if matches(params, a)),
            key=lambda x: x[0],
        )
        if "after" in ctx:
            alarms = [x for x in alarms if x[0] > ctx["after"]]
        page = alarms[:ctx["page"]]
        out = {"MetricAlarms": [], "CompositeAlarms": []}
        for _, kind, a in page:
            out[kind].append(a)
        if len(alarms) > len(page):
            out["NextToken"] = token_of(page[-1][0])
        return out

    # -- DescribeAlarmsForMetric -----------------------------------------------------------------
    @staticmethod
    def after_DescribeAlarmsForMetric(params, output, ctx):
        def same(a):
            for key in ("Statistic", "ExtendedStatistic", "Period", "Unit"):
                if params.get(key) is not None and a.get(key) != params[key]:
                    return False
            if params.get("Dimensions") is not None:
                want = {(d.get("Name"), d.get("Value")) for d in params["Dimensions"]}
                if {(d.get("Name"), d.get("Value")) for d in a.get("Dimensions") or []} != want:
                    return False
            return True

        output["MetricAlarms"] = [a for a in output.get("MetricAlarms") or [] if same(a)]
        return output

    # -- tags -------------------------------------------------------------------------------------
    @staticmethod
    def alarm_named(ctx, arn):
        """The alarm of an alarm ARN (None when there is none; False for an ARN of another kind)."""
        parts = (arn or "").split(":")
        if len(parts) < 7 or parts[5] != "alarm":
            return False
        return ctx["backend"]().alarms.get(":".join(parts[6:]))

    def before_ListTagsForResource(self, params, ctx):
        if self.alarm_named(ctx, params.get("ResourceARN")) is None:
            return not_found()
        return None

    def before_UntagResource(self, params, ctx):
        arn = params.get("ResourceARN")
        alarm = self.alarm_named(ctx, arn)
        if alarm is None:
            return not_found()
        if alarm and not ctx["backend"]().tagger.list_tags_for_resource(arn).get("Tags"):
            return Reply({})  # nothing to remove
        return None

    @staticmethod
    def before_DeleteAlarms(params, ctx):
        alarms = ctx["backend"]().alarms
        ctx["arns"] = [alarms[n].alarm_arn for n in params.get("AlarmNames") or [] if n in alarms]
        return None

    @staticmethod
    def after_DeleteAlarms(params, output, ctx):
        tagger = ctx["backend"]().tagger
        for arn in ctx.get("arns", []):
            tagger.delete_all_tags_for_resource(arn)
        return output


def matches(params, alarm):
    """Whether a described alarm passes every filter of a DescribeAlarms request."""
    names = params.get("AlarmNames")
    if names and alarm.get("AlarmName") not in names:
        return False
    prefix = params.get("AlarmNamePrefix")
    if prefix and not (alarm.get("AlarmName") or "").startswith(prefix):
        return False
    action = params.get("ActionPrefix")
    if action and not any(a.startswith(action) for a in alarm.get("AlarmActions") or []):
        return False
    state = params.get("StateValue")
    if state and alarm.get("StateValue") != state:
        return False
    return True
