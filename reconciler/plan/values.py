"""Config values: validate against the connector's field metadata and normalise
to the wire string the CRM stores, so that equal values never show as a change.

Values are strings on the wire, encoded as SuperOffice's CultureDataFormatter
does in the invariant culture: Checkbox "1"/"0", Integer digits, Double with a
dot and no trailing ".0", Date ISO 8601.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from reconciler.crm.live import FieldMeta, ListItem
from reconciler.diagnostics import did_you_mean
from reconciler.manifest.models import ConfigValue
from reconciler.secrets import Sensitive

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_TEXT_KINDS = frozenset({"Text", "Password", "List", "Label"})
# ASCII digits only: int() would also read other scripts' digits ("٣").
_INT_RE = re.compile(r"[+-]?[0-9]+")
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


class ValueProblem(ValueError):
    """A config value that does not fit its field; the message never holds the value."""


@dataclass(frozen=True)
class NormalisedConfig:
    values: dict[str, str | Sensitive]
    problems: list[tuple[str, str, str | None]]  # Problem: (field key or "", message, hint)


def format_double(number: float) -> str:
    """Like .NET's invariant double.ToString(): 1.5 -> "1.5", 2.0 -> "2", 1e20 -> "1E+20"."""
    if math.isnan(number) or math.isinf(number):
        raise ValueProblem("must be a finite number")
    text = repr(float(number))
    mantissa, _, exponent = text.partition("e")
    if mantissa.endswith(".0"):
        mantissa = mantissa[:-2]
    if exponent:
        sign = "-" if exponent.startswith("-") else "+"
        return f"{mantissa}E{sign}{exponent.lstrip('+-').zfill(2)}"
    return mantissa


def _plain(value: ConfigValue) -> object:
    return value.reveal() if isinstance(value, Sensitive) else value


def _checkbox(raw: object) -> str:
    if isinstance(raw, bool):
        return "1" if raw else "0"
    if isinstance(raw, int) and raw in (0, 1):
        return str(raw)
    if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
        return "1" if raw.strip().lower() in _TRUE else "0"
    raise ValueProblem("must be true or false")


def _int32(number: int) -> str:
    # Connectors read Integer values as a .NET int (CultureDataFormatter.EncodeInt in
    # docs/api/netserver/erp-connectors/api/field-value-formats-and-conventions.md).
    if not INT32_MIN <= number <= INT32_MAX:
        raise ValueProblem(f"must be between {INT32_MIN} and {INT32_MAX} (the CRM stores a 32-bit integer)")
    return str(number)


def _integer(raw: object) -> str:
    if isinstance(raw, bool):
        raise ValueProblem("must be a whole number, not true/false")
    if isinstance(raw, int):
        return _int32(raw)
    if isinstance(raw, float) and raw.is_integer():
        return _int32(int(raw))
    if isinstance(raw, str):
        text = raw.strip()
        if _INT_RE.fullmatch(text):
            return _int32(int(text))
        if text.lstrip("+-").isdigit():
            raise ValueProblem("must be written with the digits 0-9")
    raise ValueProblem("must be a whole number")


def _double(raw: object) -> str:
    if isinstance(raw, bool):
        raise ValueProblem("must be a number, not true/false")
    if isinstance(raw, (int, float)):
        return format_double(float(raw))
    if isinstance(raw, str):
        try:
            return format_double(float(raw.strip()))
        except ValueError:
            pass
    raise ValueProblem("must be a number (use a dot for decimals, e.g. 1.5)")


def _date(raw: object) -> str:
    if isinstance(raw, (datetime, date)):
        return raw.isoformat()
    if isinstance(raw, str):
        text = raw.strip()
        if text == "":
            return ""
        for parse in (date.fromisoformat, datetime.fromisoformat):
            try:
                return parse(text).isoformat()
            except ValueError:
                continue
    raise ValueProblem("must be a date like 2026-01-31 (or a date-time like 2026-01-31T09:00:00)")


def _text(raw: object) -> str:
    """Text, Password, List: strings; numbers are written as the user sees them."""
    if isinstance(raw, bool):
        raise ValueProblem("is text: quote it (\"true\") if you mean the word")
    if isinstance(raw, float):
        return format_double(raw)
    if isinstance(raw, (datetime, date)):
        return raw.isoformat()
    return str(raw)


_BY_FIELD_TYPE: dict[str, Callable[[object], str]] = {
    "Checkbox": _checkbox,
    "Integer": _integer,
    "Double": _double,
    "Date": _date,
}


def normalise_value(meta: FieldMeta, value: ConfigValue) -> str:
    """The wire string for `value` in a field described by `meta`; ValueProblem if it does not fit."""
    raw = _plain(value)
    if type(raw) is str and meta.field_type in _TEXT_KINDS:
        return raw  # the common case, as _text would give it
    if raw is None:
        return ""
    return _BY_FIELD_TYPE.get(meta.field_type, _text)(raw)


def normalise_live_value(meta: FieldMeta | None, value: str | Sensitive) -> str | Sensitive:
    """A stored value in the same normal form as desired ones (unparseable values stay as stored)."""
    if meta is None:
        return value
    try:
        text = normalise_value(meta, value)
    except ValueProblem:
        return value
    return Sensitive(text) if isinstance(value, Sensitive) or meta.field_type == "Password" else text


Problem = tuple[str, str, str | None]  # (field key or "", message, hint)


def _written_problem(key: str, meta: FieldMeta | None, valid_keys: Sequence[str]) -> Problem | None:
    """Why `key` cannot be written at all, if it cannot."""
    if meta is None:
        hint = did_you_mean(key, valid_keys) or (
            f"valid keys: {', '.join(valid_keys)}" if valid_keys else "this connector defines no config fields")
        return (key, f"unknown config key '{key}'", hint)
    if meta.field_type == "Label":
        return (key, f"'{key}' is a label shown in the admin UI, not a setting", "remove it")
    if meta.access == "ReadOnly":
        return (key, f"'{key}' is read-only (set by the connector)", "remove it from the manifest")
    return None


def _list_problem(key: str, meta: FieldMeta, text: str, value: ConfigValue,
                  lists: Mapping[str, Sequence[ListItem]]) -> Problem | None:
    """A List field's value must name (or give the id of) a live item of its list, when the list is known."""
    items = lists.get(meta.list_name)
    if not items:
        return None
    names = [i.name for i in items if not i.deleted]
    if text in names or text in [str(i.id) for i in items if not i.deleted]:
        return None
    hint = did_you_mean(text, names) if not isinstance(value, Sensitive) else None
    return (key, f"'{key}' must be one of the list '{meta.list_name}': {', '.join(names)}", hint)


def _written_value(key: str, meta: FieldMeta, value: ConfigValue,
                   lists: Mapping[str, Sequence[ListItem]]) -> str | Sensitive | Problem:
    """The value to store for what the manifest wrote, or the problem with it."""
    try:
        text = normalise_value(meta, value)
    except ValueProblem as problem:
        return (key, f"'{key}' ({meta.field_type}) {problem}", None)
    if meta.max_length and len(text) > meta.max_length:
        return (key, f"'{key}' is {len(text)} characters long; the connector allows at most {meta.max_length}", None)
    if meta.field_type == "List" and text:
        not_listed = _list_problem(key, meta, text, value, lists)
        if not_listed is not None:
            return not_listed
    if isinstance(value, Sensitive) or meta.field_type == "Password":
        return Sensitive(text, getattr(value, "reference", None))
    return text


def _unwritten_value(meta: FieldMeta, live: Mapping[str, str | Sensitive] | None) -> str | Sensitive:
    """A field the manifest leaves out: read-only ones keep what the CRM has, others take the default."""
    if meta.access == "ReadOnly" and live is not None and meta.key in live:
        return normalise_live_value(meta, live[meta.key])
    return Sensitive(meta.default) if meta.field_type == "Password" else meta.default


def _empty_mandatory(fields: Sequence[FieldMeta], values: Mapping[str, str | Sensitive],
                     problems: Sequence[Problem]) -> list[Problem]:
    reported = {p[0] for p in problems}
    empty: list[Problem] = []
    for meta in fields:
        if meta.access != "Mandatory" or meta.key not in values or meta.key in reported:
            continue
        current = values[meta.key]
        if (current.reveal() if isinstance(current, Sensitive) else current) == "":
            empty.append(("", f"mandatory config field '{meta.key}' ({meta.field_type}) has no value",
                          f"add 'config: {{{meta.key}: …}}'"))
    return empty


def desired_config(
    fields: Sequence[FieldMeta],
    written: Mapping[str, ConfigValue],
    live: Mapping[str, str | Sensitive] | None,
    lists: Mapping[str, Sequence[ListItem]],
) -> NormalisedConfig:
    """The full config to store: written values normalised, omitted fields from
    DefaultValue, read-only fields as the CRM has them. Problems are collected, not raised."""
    by_key = {f.key: f for f in fields}
    valid_keys = sorted(k for k, f in by_key.items() if f.field_type != "Label")
    values: dict[str, str | Sensitive] = {}
    problems: list[Problem] = []
    for key, value in written.items():
        meta = by_key.get(key)
        result: str | Sensitive | Problem | None = _written_problem(key, meta, valid_keys)
        if result is None and meta is not None:
            result = _written_value(key, meta, value, lists)
        if isinstance(result, tuple):
            problems.append(result)
        elif result is not None:
            values[key] = result
    for meta in fields:
        if meta.key not in values and meta.key not in written and meta.field_type != "Label":
            values[meta.key] = _unwritten_value(meta, live)
    problems += _empty_mandatory(fields, values, problems)
    return NormalisedConfig(values=values, problems=problems)
