"""Config values: validate against the connector's field metadata and normalise
to the wire string the CRM stores, so that equal values never show as a change.

Values are strings on the wire, encoded as SuperOffice's CultureDataFormatter
does in the invariant culture: Checkbox "1"/"0", Integer digits, Double with a
dot and no trailing ".0", Date ISO 8601.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from reconciler.crm.live import FieldMeta, ListItem
from reconciler.manifest.models import ConfigValue
from reconciler.secrets import Sensitive

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_TEXT_KINDS = frozenset({"Text", "Password", "List", "Label"})
_INT_RE = re.compile(r"^[+-]?\d+$")


class ValueProblem(ValueError):
    """A config value that does not fit its field; the message never holds the value."""


@dataclass(frozen=True)
class NormalisedConfig:
    values: dict[str, str | Sensitive]
    problems: list[tuple[str, str, str | None]]  # (field key or "", message, hint)


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


def normalise_value(meta: FieldMeta, value: ConfigValue) -> str:
    """The wire string for `value` in a field described by `meta`; ValueProblem if it does not fit."""
    raw = _plain(value)
    kind = meta.field_type
    if type(raw) is str and kind in _TEXT_KINDS:
        return raw  # the common case, as the last line below would give it
    if raw is None:
        return ""
    if kind == "Checkbox":
        if isinstance(raw, bool):
            return "1" if raw else "0"
        if isinstance(raw, int) and raw in (0, 1):
            return str(raw)
        if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
            return "1" if raw.strip().lower() in _TRUE else "0"
        raise ValueProblem("must be true or false")
    if kind == "Integer":
        if isinstance(raw, bool):
            raise ValueProblem("must be a whole number, not true/false")
        if isinstance(raw, int):
            return str(raw)
        if isinstance(raw, float) and raw.is_integer():
            return str(int(raw))
        if isinstance(raw, str) and _INT_RE.match(raw.strip()):
            return str(int(raw.strip()))
        raise ValueProblem("must be a whole number")
    if kind == "Double":
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
    if kind == "Date":
        if isinstance(raw, datetime):
            return raw.isoformat()
        if isinstance(raw, date):
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
    # Text, Password, List: strings; numbers are written as the user sees them.
    if isinstance(raw, bool):
        raise ValueProblem("is text: quote it (\"true\") if you mean the word")
    if isinstance(raw, float):
        return format_double(raw)
    if isinstance(raw, (datetime, date)):
        return raw.isoformat()
    return str(raw)


def normalise_live_value(meta: FieldMeta | None, value: str | Sensitive) -> str | Sensitive:
    """A stored value in the same normal form as desired ones (unparseable values stay as stored)."""
    if meta is None:
        return value
    try:
        text = normalise_value(meta, value)
    except ValueProblem:
        return value
    return Sensitive(text) if isinstance(value, Sensitive) or meta.field_type == "Password" else text


def desired_config(
    fields: Sequence[FieldMeta],
    written: Mapping[str, ConfigValue],
    live: Mapping[str, str | Sensitive] | None,
    lists: Mapping[str, Sequence[ListItem]],
) -> NormalisedConfig:
    """The full config to store: written values normalised, omitted fields from
    DefaultValue, read-only fields as the CRM has them. Problems are collected, not raised."""
    from reconciler.diagnostics import did_you_mean

    by_key = {f.key: f for f in fields}
    values: dict[str, str | Sensitive] = {}
    problems: list[tuple[str, str, str | None]] = []

    for key, value in written.items():
        meta = by_key.get(key)
        if meta is None:
            valid = sorted(k for k, f in by_key.items() if f.field_type != "Label")
            problems.append(
                (key, f"unknown config key '{key}'",
                 did_you_mean(key, valid) or (f"valid keys: {', '.join(valid)}" if valid else "this connector defines no config fields"))
            )
            continue
        if meta.field_type == "Label":
            problems.append((key, f"'{key}' is a label shown in the admin UI, not a setting", "remove it"))
            continue
        if meta.access == "ReadOnly":
            problems.append((key, f"'{key}' is read-only (set by the connector)", "remove it from the manifest"))
            continue
        try:
            text = normalise_value(meta, value)
        except ValueProblem as problem:
            problems.append((key, f"'{key}' ({meta.field_type}) {problem}", None))
            continue
        if meta.max_length and len(text) > meta.max_length:
            problems.append(
                (key, f"'{key}' is {len(text)} characters long; the connector allows at most {meta.max_length}", None)
            )
            continue
        if meta.field_type == "List" and text:
            items = lists.get(meta.list_name)
            if items:
                names = [i.name for i in items if not i.deleted]
                ids = [str(i.id) for i in items if not i.deleted]
                if text not in names and text not in ids:
                    problems.append(
                        (key, f"'{key}' must be one of the list '{meta.list_name}': {', '.join(names)}",
                         did_you_mean(text, names) if not isinstance(value, Sensitive) else None)
                    )
                    continue
        sensitive = isinstance(value, Sensitive) or meta.field_type == "Password"
        values[key] = Sensitive(text, getattr(value, "reference", None)) if sensitive else text

    for meta in fields:
        if meta.key in values or meta.field_type == "Label" or meta.key in written:
            continue
        if meta.access == "ReadOnly" and live is not None and meta.key in live:
            values[meta.key] = normalise_live_value(meta, live[meta.key])
            continue
        default = meta.default
        values[meta.key] = Sensitive(default) if meta.field_type == "Password" else default

    for meta in fields:
        if meta.access != "Mandatory" or meta.key not in values:
            continue
        current = values[meta.key]
        text = current.reveal() if isinstance(current, Sensitive) else current
        if text == "" and not any(p[0] == meta.key for p in problems):
            problems.append(
                ("", f"mandatory config field '{meta.key}' ({meta.field_type}) has no value",
                 f"add 'config: {{{meta.key}: …}}'")
            )
    return NormalisedConfig(values=values, problems=problems)
