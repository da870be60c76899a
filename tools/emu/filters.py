"""Lambda event filter patterns (docs/aws-behaviour.md rule 39): EventBridge pattern syntax, at
most `max_filters` patterns per mapping (a quota, 5 unless raised), each at most 4096 characters.

    check(req, max_filters) -> a Refusal, or None when the FilterCriteria is acceptable

A pattern is a JSON object. Each value is a nested object or a non-empty list of alternatives;
an alternative is a string, number, boolean, null or a matcher object with exactly one key:
prefix, suffix, anything-but, numeric, exists, equals-ignore-case, wildcard, cidr. `numeric` is an
ordered list: [op, n] or [lower-op, n1, upper-op, n2] with n1 < n2 (Amazon EventBridge User
Guide, "Content filtering in event patterns"; Lambda Developer Guide, "Event filtering").
"""

import json

from . import Refusal

MAX_PATTERN = 4096
INVALID = "Invalid filter pattern definition."
OPS = {"<", "<=", "=", ">", ">="}
LOWER, UPPER = {">", ">="}, {"<", "<="}


class Invalid(Exception):
    pass


def check(req, max_filters):
    filters = (req.get("FilterCriteria") or {}).get("Filters") or []
    if not isinstance(filters, list):
        return Refusal("InvalidParameterValueException", INVALID)
    if len(filters) > max_filters:
        return Refusal(
            "InvalidParameterValueException",
            f"The number of filters ({len(filters)}) exceeds the limit of {max_filters} filters per event source mapping.",
        )
    for f in filters:
        pattern = f.get("Pattern") if isinstance(f, dict) else None
        if pattern is not None and not valid(pattern):
            return Refusal("InvalidParameterValueException", INVALID)
    return None


def valid(pattern):
    """Whether a pattern (its JSON text) is valid EventBridge syntax."""
    if not isinstance(pattern, str) or len(pattern) > MAX_PATTERN:
        return False
    try:
        doc = json.loads(pattern)
        _object(doc)
    except (ValueError, Invalid):
        return False
    return True


def _object(doc):
    if not isinstance(doc, dict) or not doc:
        raise Invalid
    for key, value in doc.items():
        if key == "$or":
            _or(value)
        elif isinstance(value, dict):
            _object(value)
        elif isinstance(value, list) and value:
            for alt in value:
                _alternative(alt)
        else:
            raise Invalid


def _or(value):
    if not isinstance(value, list) or len(value) < 2:
        raise Invalid
    for alt in value:
        _object(alt)


def _alternative(alt):
    if alt is None or isinstance(alt, (str, bool, int, float)):
        return
    if not isinstance(alt, dict) or len(alt) != 1:
        raise Invalid
    (name, arg), = alt.items()
    matcher = MATCHERS.get(name)
    if matcher is None:
        raise Invalid
    matcher(arg)


def _number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _string(arg):
    if not isinstance(arg, str):
        raise Invalid


def _string_or_ignore_case(arg):
    """prefix / suffix: a string, or {"equals-ignore-case": string}."""
    if isinstance(arg, dict) and set(arg) == {"equals-ignore-case"}:
        arg = arg["equals-ignore-case"]
    _string(arg)


def _exists(arg):
    if not isinstance(arg, bool):
        raise Invalid


def _numeric(arg):
    if not isinstance(arg, list) or len(arg) not in (2, 4):
        raise Invalid
    pairs = [arg[i:i + 2] for i in range(0, len(arg), 2)]
    for op, n in pairs:
        if op not in OPS or not _number(n):
            raise Invalid
    if len(pairs) == 2:
        (op1, n1), (op2, n2) = pairs
        if op1 not in LOWER or op2 not in UPPER or not n1 < n2:
            raise Invalid


def _anything_but(arg):
    if isinstance(arg, str) or _number(arg):
        return
    if isinstance(arg, list) and arg and all(isinstance(v, str) or _number(v) for v in arg):
        return
    if isinstance(arg, dict) and len(arg) == 1 and next(iter(arg)) in ("prefix", "suffix", "wildcard", "equals-ignore-case"):
        value = next(iter(arg.values()))
        if isinstance(value, str) or (isinstance(value, list) and value and all(isinstance(v, str) for v in value)):
            return
    raise Invalid


MATCHERS = {
    "prefix": _string_or_ignore_case,
    "suffix": _string_or_ignore_case,
    "anything-but": _anything_but,
    "numeric": _numeric,
    "exists": _exists,
    "equals-ignore-case": _string,
    "wildcard": _string,
    "cidr": _string,
}
