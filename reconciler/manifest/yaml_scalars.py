"""How a YAML scalar is read: the YAML 1.2 core schema, plus dates.

`yes`/`no`/`on`/`off` stay strings (so `Country: NO` is "NO", not false), `1:30`
is not a number, and a number with a leading zero such as `0123` stays the
string "0123" (a company number or postcode keeps its zero).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from yaml.constructor import SafeConstructor
from yaml.nodes import ScalarNode
from yaml.resolver import BaseResolver

TAG = "tag:yaml.org,2002:"
STR = TAG + "str"
NULL = TAG + "null"
MERGE = TAG + "merge"
SCALAR_TAGS = {TAG + t for t in ("str", "int", "float", "bool", "null", "timestamp")}
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_INT = re.compile(r"^(?:[-+]?(?:0|[1-9][0-9]*)|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|(?:0|[1-9][0-9]*)(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_TIMESTAMP = re.compile(
    r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
    |[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?
     (?:[Tt]|[ \t]+)[0-9][0-9]?
     :[0-9][0-9] :[0-9][0-9] (?:\.[0-9]*)?
     (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""",
    re.X,
)


class CoreResolver(BaseResolver):
    """YAML 1.2 core schema (plus timestamps) instead of PyYAML's YAML 1.1 rules."""


for _tag, _regexp, _first in (
    ("bool", _BOOL, list("tTfF")),
    ("int", _INT, list("-+0123456789")),
    ("float", _FLOAT, list("-+.0123456789")),
    ("null", _NULL, ["~", "n", "N", ""]),
    ("timestamp", _TIMESTAMP, list("0123456789")),
    ("merge", re.compile(r"^<<$"), ["<"]),
):
    CoreResolver.add_implicit_resolver(TAG + _tag, _regexp, _first)

# Implicit resolvers by a plain scalar's first character, as CoreResolver.resolve consults them.
RESOLVERS_BY_FIRST_CHARACTER: dict[str, list[tuple[str, re.Pattern[str]]]] = {
    first: list(resolvers) for first, resolvers in CoreResolver.yaml_implicit_resolvers.items()
}
assert None not in RESOLVERS_BY_FIRST_CHARACTER  # no wildcard resolvers to consult


def convert_scalar(tag: str, value: str) -> Any:
    """The Python value of a resolved scalar; ValueError (and kin) when it is not valid."""
    kind = tag[len(TAG):]
    if kind == "str":
        return value
    if kind == "null":
        if not _NULL.match(value):
            raise ValueError(value)
        return None
    if kind == "bool":
        if not _BOOL.match(value):
            raise ValueError(value)
        return value.lower() == "true"
    if kind == "int":
        text = value.replace("_", "")
        if text.startswith(("0o", "0x")):
            return int(text[2:], 8 if text[1] == "o" else 16)
        return int(text, 10)
    if kind == "float":
        lowered = value.lower()
        if lowered in (".inf", "+.inf", "-.inf"):
            return float(lowered.replace(".", ""))
        if lowered == ".nan":
            return float("nan")
        return float(value)
    if not _TIMESTAMP.match(value):
        raise ValueError(value)
    # PyYAML's own timestamp reading.
    result: date | datetime = _TIMESTAMPS.construct_yaml_timestamp(ScalarNode(tag, value))
    return result


_TIMESTAMPS = SafeConstructor()
