"""A saved plan (`plan --out`): reading it back, and refusing it when the world moved.

`apply PLAN` plans again from the same manifests against a fresh read of the
CRM and compares, change by change, with what was saved. Any difference — an
object changed since (its fingerprint), the manifests or the target — stops
apply before it writes anything, and every difference is named.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from pydantic import ValidationError

from reconciler.diagnostics import Diagnostic, DiagnosticError, Location
from reconciler.plan.model import Plan, deletes
from reconciler.plan.document import JsonChange, JsonPlan, plan_document


# A plan of 10,000 connections is about 6 MB; anything far larger is not a saved plan.
MAX_PLAN_BYTES = 64 * 1024 * 1024
MAKE_ONE = "make one with: reconcile plan -f PATH --out plan.json"


def _read_bounded(path: Path, where: Location) -> bytes:
    """The bytes of a regular file of at most MAX_PLAN_BYTES. Opened without blocking
    (a FIFO would wait for a writer) and checked after opening (no race with a swap)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        raise DiagnosticError([Diagnostic(f"cannot read the saved plan: {error.strerror or error}", where, hint=MAKE_ONE)]) from None
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise DiagnosticError([Diagnostic("the saved plan is not a regular file (a device, FIFO or socket)", where, hint=MAKE_ONE)])
        data = file.read(MAX_PLAN_BYTES + 1)
    if len(data) > MAX_PLAN_BYTES:
        raise DiagnosticError([Diagnostic(f"the saved plan is larger than {MAX_PLAN_BYTES // (1024 * 1024)} MB; this is not a saved plan",
                                          where, hint=MAKE_ONE)])
    return data


def load_saved_plan(path: Path) -> JsonPlan:
    where = Location(str(path), 1, 1)
    raw = _read_bounded(path, where)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DiagnosticError([Diagnostic(f"cannot read the saved plan: {error}", where, hint=MAKE_ONE)]) from None
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
    return (change.kind, change.name, change.liveId if deletes(change.action) else None)


def _what(change: JsonChange) -> str:
    return f"{change.kind}/{change.name}"


def _changed_manifests(then: dict[str, str], now: dict[str, str], problems: list[Diagnostic]) -> set[str]:
    """Names whose manifest contents differ (compared per resource, so moving or
    renaming a file with the same contents is no difference); each one is named."""
    moved: set[str] = set()
    for ref in sorted(then.keys() | now.keys()):
        before, after = then.get(ref), now.get(ref)
        if before == after:
            continue
        moved.add(ref)
        if before is None:
            problems.append(Diagnostic(f"{ref}: its manifest is new since the plan was made"))
        elif after is None:
            problems.append(Diagnostic(f"{ref}: its manifest was removed since the plan was made"))
        else:
            problems.append(Diagnostic(f"{ref}: its manifest changed since the plan was made"))
    return moved


def stale_reasons(saved: JsonPlan, fresh: Plan, *, target: str, manifest_digest: str) -> list[Diagnostic]:
    """Every way in which the plan made now differs from the saved one; empty if none."""
    problems: list[Diagnostic] = []
    if saved.target != target:
        problems.append(Diagnostic(f"the plan was made for target {saved.target}, but this run targets {target}",
                                   hint="use the same --url/SUPEROFFICE_URL, or plan again"))
    document = plan_document(fresh)
    if saved.resourceDigests is None:  # a plan saved before per-resource digests
        if saved.manifestDigest != manifest_digest:
            problems.append(Diagnostic("the manifests changed since the plan was made",
                                       hint="plan again, review, and apply the new plan"))
        moved: set[str] = set()
    else:
        moved = _changed_manifests(saved.resourceDigests, document.resourceDigests or {}, problems)
    now = {_key(c): c for c in document.changes}
    then = {_key(c): c for c in saved.changes}
    for key, old in then.items():
        new = now.get(key)
        if _what(old) in moved and not deletes(old.action):
            continue  # already named as a changed manifest
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
        if key not in then and not (_what(new) in moved and not deletes(new.action)):
            problems.append(Diagnostic(f"{_what(new)}: {new.action} is not in the saved plan"))
    if problems:
        problems.append(Diagnostic("nothing was written", hint="run plan again, review it, and apply the new plan"))
    return problems


def guard_problems(
    saved: JsonPlan, *, max_deletes: int | None, allow_deletes: bool, allow_empty: bool, test_mode: str | None
) -> list[Diagnostic]:
    """Guards given on the command line with a saved plan: a limit is honoured (the plan
    must fit it), a loosening or a different test mode is refused; None/False = not given."""
    assert saved.request is not None
    request = saved.request
    problems: list[Diagnostic] = []
    soft_deletes = sum(1 for c in saved.changes if deletes(c.action))
    if max_deletes is not None and soft_deletes > max_deletes:
        problems.append(Diagnostic(
            f"the saved plan soft-deletes {soft_deletes} objects, more than --max-deletes {max_deletes}",
            hint="apply it without --max-deletes if the deletions are intended, or plan again"))
    for flag, given, saved_value in (("--allow-deletes", allow_deletes, request.allowDeletes),
                                     ("--allow-empty", allow_empty, request.allowEmpty)):
        if given and not saved_value:
            problems.append(Diagnostic(
                f"{flag} cannot loosen a saved plan, which was made without it",
                hint=f"plan again with {flag} --out FILE, review it, and apply that"))
    if test_mode is not None and test_mode != request.test:
        problems.append(Diagnostic(
            f"--test {test_mode} differs from the saved plan's --test {request.test}",
            hint=f"a saved plan is applied as it was tested: drop --test, or plan again with --test {test_mode}"))
    if problems:
        problems.append(Diagnostic("nothing was written", hint="the saved plan was not applied"))
    return problems
