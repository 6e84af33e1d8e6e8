"""A saved plan (`plan --out`): reading it back, and refusing it when the world moved.

`apply PLAN` plans again from the same manifests against a fresh read of the
CRM and compares, change by change, with what was saved. Any difference — an
object changed since (its fingerprint), the manifests or the target — stops
apply before it writes anything, and every difference is named.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from reconciler.diagnostics import Diagnostic, DiagnosticError, Location
from reconciler.plan.model import Plan
from reconciler.render.json_plan import JsonChange, JsonPlan, plan_document


def load_saved_plan(path: Path) -> JsonPlan:
    where = Location(str(path), 1, 1)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DiagnosticError([Diagnostic(f"cannot read the saved plan: {error}", where,
                                          hint="make one with: reconcile plan -f PATH --out plan.json")]) from None
    if isinstance(data, dict) and data.get("formatVersion") not in (None, 1):
        raise DiagnosticError([Diagnostic(f"the saved plan has formatVersion {data.get('formatVersion')!r}; this reconcile reads 1", where,
                                          hint="plan again with this version of reconcile")])
    try:
        saved = JsonPlan.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        raise DiagnosticError([Diagnostic(
            f"this is not a saved plan: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}", where,
            hint="make one with: reconcile plan -f PATH --out plan.json")]) from None
    if saved.request is None:
        raise DiagnosticError([Diagnostic("the saved plan does not say which manifests it was made from", where,
                                          hint="save plans with `reconcile plan --out`")])
    return saved


def _key(change: JsonChange) -> tuple[str, str, int | None]:
    return (change.kind, change.name, change.liveId if change.action == "soft-delete" else None)


def _what(change: JsonChange) -> str:
    return f"{change.kind}/{change.name}"


def stale_reasons(saved: JsonPlan, fresh: Plan, *, target: str, manifest_digest: str) -> list[Diagnostic]:
    """Every way in which the plan made now differs from the saved one; empty if none."""
    problems: list[Diagnostic] = []
    if saved.target != target:
        problems.append(Diagnostic(f"the plan was made for target {saved.target}, but this run targets {target}",
                                   hint="use the same --url/SUPEROFFICE_URL, or plan again"))
    if saved.manifestDigest != manifest_digest:
        problems.append(Diagnostic("the manifests changed since the plan was made",
                                   hint="plan again, review, and apply the new plan"))
    now = {_key(c): c for c in plan_document(fresh).changes}
    then = {_key(c): c for c in saved.changes}
    for key, old in then.items():
        new = now.get(key)
        if new is None:
            problems.append(Diagnostic(f"{_what(old)}: the plan said {old.action}, but it is no longer part of the plan"))
        elif old.fingerprint != new.fingerprint:
            problems.append(Diagnostic(f"{_what(old)} (id {old.liveId if old.liveId is not None else new.liveId}) "
                                       "changed in the CRM since the plan was made"))
        elif old.action != new.action:
            problems.append(Diagnostic(f"{_what(old)}: the plan said {old.action}, now it would be {new.action}"))
        elif old.fields != new.fields:
            paths = sorted({f.path for f in old.fields} ^ {f.path for f in new.fields}
                           | {o.path for o, n in zip(old.fields, new.fields) if o != n})
            problems.append(Diagnostic(f"{_what(old)}: the changes to {', '.join(paths)} differ from the saved plan"))
    for key, new in now.items():
        if key not in then:
            problems.append(Diagnostic(f"{_what(new)}: {new.action} is not in the saved plan"))
    if problems:
        problems.append(Diagnostic("nothing was written", hint="run plan again, review it, and apply the new plan"))
    return problems
