"""How a value looks in any output. The one place that decides how a secret is shown."""

from __future__ import annotations

import json

from reconciler.plan.model import Change, FieldChange
from reconciler.secrets import REDACTED, Sensitive

SYMBOLS = {"create": "+", "update": "~", "soft-delete": "-", "restore": "↺", "no-op": " "}
SOFT_DELETE_NOTE = "not in the manifests: the CRM keeps it (Deleted); add it back to restore it"
EXTRA_COPY_NOTE = "a newer copy (id {id}) of a name the manifests manage: the CRM keeps it (Deleted); the oldest stays in use"


def soft_delete_note(change: Change) -> str:
    return EXTRA_COPY_NOTE.format(id=change.live_id) if change.extra_copy else SOFT_DELETE_NOTE


def show(value: object) -> str:
    """A value for humans: strings quoted, lists bracketed, absent as (none)."""
    if isinstance(value, Sensitive):
        return REDACTED
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(show(v) for v in value) + "]" if value else "[]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def visible_fields(change: Change) -> tuple[FieldChange, ...]:
    """The field changes worth a line: on a create, empty values (no users, no
    description) say nothing."""
    if change.action != "create":
        return change.fields
    return tuple(f for f in change.fields if f.sensitive or f.after not in ((), "", None))


def show_field(change: FieldChange, *, creating: bool) -> str:
    """`path: before → after`, or for a secret only whether it changed and where it comes from."""
    if change.sensitive:
        origin = f", from {change.reference}" if change.reference else ""
        if change.after is None:
            return f"{change.path}: {REDACTED} → (removed)"
        if creating or change.before is None:
            return f"{change.path}: {REDACTED}{origin}"
        return f"{change.path}: changed {REDACTED}{origin}"
    if creating:
        return f"{change.path}: {show(change.after)}"
    return f"{change.path}: {show(change.before)} → {show(change.after)}"
