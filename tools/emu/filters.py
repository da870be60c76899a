"""Lambda event filter patterns (docs/aws-behaviour.md rule 39): EventBridge pattern syntax, at
most `max_filters` patterns per mapping (a quota, 5 unless raised), each at most 4096 characters.

    check(req, max_filters) -> a Refusal, or None when the FilterCriteria is acceptable
    matches_any(filters, record) -> whether a record passes a mapping's Filters (the data plane)

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


# -- matching (the data plane: tools/emu/dataplane.py) ----------------------------------------------
# What a mapping's FilterCriteria lets through, as Lambda evaluates it on each record it reads
# (Lambda Developer Guide, "Control which events Lambda sends to your function"; EventBridge User
# Guide, "Content filtering"): the patterns are OR'ed; inside a pattern every key must match; a
# list holds alternatives for a leaf value (an array in the event matches if any element does); a
# nested object descends; `$or` holds alternative sub-patterns. A record no pattern matches is
# dropped (docs/aws-behaviour.md rule 39).

_MISSING = object()


def matches_any(filters, record):
    """Whether a record passes a mapping's FilterCriteria.Filters (no filters: every record)."""
    patterns = []
    for f in filters or []:
        pattern = f.get("Pattern") if isinstance(f, dict) else None
        if pattern is None:
            continue
        try:
            patterns.append(json.loads(pattern) if isinstance(pattern, str) else pattern)
        except ValueError:
            continue
    if not patterns:
        return not filters
    return any(matches(p, record) for p in patterns)


def matches(pattern, event):
    """Whether one pattern (a parsed JSON object) matches an event (parsed JSON)."""
    if not isinstance(pattern, dict):
        return False
    for key, want in pattern.items():
        if key == "$or":
            if not any(matches(alt, event) for alt in want or []):
                return False
            continue
        value = event.get(key, _MISSING) if isinstance(event, dict) else _MISSING
        if isinstance(want, dict):
            if not _descend(want, value):
                return False
        elif isinstance(want, list):
            if not _leaf(want, value):
                return False
        else:
            return False
    return True


def _descend(pattern, value):
    if isinstance(value, list):
        return any(_descend(pattern, v) for v in value)
    if isinstance(value, dict):
        return matches(pattern, value)
    # A missing (or leaf) value still matches a sub-pattern that only asks for absences.
    return matches(pattern, {})


def _leaf(alternatives, value):
    if value is _MISSING:
        return any(isinstance(a, dict) and a.get("exists") is False for a in alternatives)
    values = value if isinstance(value, list) else [value]
    if isinstance(value, list) and not value:
        return any(isinstance(a, dict) and a.get("exists") is False for a in alternatives)
    return any(_alternative_matches(a, v) for a in alternatives for v in values)


def _same(want, v):
    """Exact matching: strings, numbers (by value), booleans and null, each only its own type."""
    if want is None:
        return v is None
    if isinstance(want, bool) or isinstance(v, bool):
        return isinstance(want, bool) and isinstance(v, bool) and want == v
    if _number(want):
        return _number(v) and float(v) == float(want)
    return isinstance(v, str) and v == want


def _text(arg, v, test):
    """prefix / suffix: `arg` a string or {"equals-ignore-case": string}."""
    if not isinstance(v, str):
        return False
    if isinstance(arg, dict):
        arg = arg.get("equals-ignore-case")
        return isinstance(arg, str) and test(v.casefold(), arg.casefold())
    return isinstance(arg, str) and test(v, arg)


def _wildcard(pattern, v):
    import re

    if not isinstance(v, str) or not isinstance(pattern, str):
        return False
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out += re.escape(pattern[i + 1])
            i += 2
            continue
        out += ".*" if c == "*" else re.escape(c)
        i += 1
    return re.fullmatch(out, v, re.DOTALL) is not None


def _numeric(arg, v):
    import operator

    if not _number(v) or not isinstance(arg, list):
        return False
    ops = {"<": operator.lt, "<=": operator.le, "=": operator.eq, ">": operator.gt, ">=": operator.ge}
    for i in range(0, len(arg) - 1, 2):
        op = ops.get(arg[i])
        if op is None or not _number(arg[i + 1]) or not op(float(v), float(arg[i + 1])):
            return False
    return True


def _cidr(arg, v):
    import ipaddress

    try:
        return isinstance(v, str) and ipaddress.ip_address(v) in ipaddress.ip_network(arg, strict=False)
    except ValueError:
        return False


def _anything_but(arg, v):
    if v is None:
        return False
    if isinstance(arg, dict):
        (name, inner), = arg.items()
        if not isinstance(v, str):
            return False
        inner = inner if isinstance(inner, list) else [inner]
        if name == "prefix":
            return not any(v.startswith(p) for p in inner)
        if name == "suffix":
            return not any(v.endswith(s) for s in inner)
        if name == "wildcard":
            return not any(_wildcard(w, v) for w in inner)
        if name == "equals-ignore-case":
            return not any(v.casefold() == s.casefold() for s in inner)
        return False
    banned = arg if isinstance(arg, list) else [arg]
    return not any(_same(b, v) for b in banned)


def _alternative_matches(alt, v):
    if not isinstance(alt, dict):
        return _same(alt, v)
    if len(alt) != 1:
        return False
    (name, arg), = alt.items()
    if name == "exists":
        return bool(arg) and not isinstance(v, dict)
    if name == "prefix":
        return _text(arg, v, str.startswith)
    if name == "suffix":
        return _text(arg, v, str.endswith)
    if name == "equals-ignore-case":
        return isinstance(v, str) and isinstance(arg, str) and v.casefold() == arg.casefold()
    if name == "wildcard":
        return _wildcard(arg, v)
    if name == "numeric":
        return _numeric(arg, v)
    if name == "cidr":
        return _cidr(arg, v)
    if name == "anything-but":
        return _anything_but(arg, v)
    return False
