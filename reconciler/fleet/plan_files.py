"""Plans saved by many runs (CI matrix jobs), read back for one summary.

A file may hold one JSON plan (`plan --output json` or `--out`), a multi-target
summary (`plan --all-targets --output json`), or the JSON error document a failed
`plan --output json` prints — that target then shows as an error, not as missing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reconciler.diagnostics import Diagnostic, DiagnosticError, Location
from reconciler.fleet.listing import where
from reconciler.fleet.summary import FleetSummary, TargetSummary, from_errors, from_plan
from reconciler.manifest.files import ReadFailed, read_bytes
from reconciler.project import ProjectFile
from reconciler.render.json_errors import JsonErrors
from reconciler.plan.document import JsonPlan

MAX_PLAN_FILE_BYTES = 64 * 1024 * 1024
WHAT = "a JSON plan, a multi-target plan, or the JSON errors of a failed plan (reconcile plan --output json)"


def read_plan_file(argument: str, project: ProjectFile) -> list[TargetSummary]:
    """`PLAN.json` or `NAME=PLAN.json`. Without NAME a plan is named after the reconcile.yaml
    target with its URL, else after the file (`customer-a.json` -> customer-a)."""
    name, _, file = argument.rpartition("=") if "=" in argument else ("", "", argument)
    path = Path(file)
    start = Location(file, 1, 1)
    try:
        raw = read_bytes(path, file, limit=MAX_PLAN_FILE_BYTES, what="plan file")
    except ReadFailed as failure:
        raise DiagnosticError([failure.diagnostic]) from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DiagnosticError([Diagnostic(f"not JSON: {error}", start, hint=f"give {WHAT}")]) from None
    if not isinstance(data, dict):
        raise DiagnosticError([Diagnostic("not a plan: the JSON is not an object", start, hint=f"give {WHAT}")])
    try:
        if "targets" in data:
            return _renamed(FleetSummary.model_validate(data).targets, name)
        if "errors" in data:
            errors = JsonErrors.model_validate(data).errors
            label = name or path.stem
            url = where(project, label) if label in project.targets else "unknown"
            return [from_errors(label, url, [_line(e.model_dump()) for e in errors] or ["the plan failed"])]
        plan = JsonPlan.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        raise DiagnosticError([Diagnostic(
            f"not a plan: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}", start, hint=f"give {WHAT}")]) from None
    return [from_plan(name or _name_by_url(project, plan.target) or path.stem, plan)]


def _renamed(targets: list[TargetSummary], name: str) -> list[TargetSummary]:
    if not name:
        return targets
    if len(targets) != 1:
        raise DiagnosticError([Diagnostic(f"NAME={name}: the file holds {len(targets)} targets, already named",
                                          hint="give NAME= only for a file with one plan")])
    return [targets[0].model_copy(update={"name": name})]


def _name_by_url(project: ProjectFile, url: str) -> str | None:
    named = [name for name, spec in project.targets.items() if spec.url and _same(spec.url, url)]
    return named[0] if len(named) == 1 else None


def _same(a: str, b: str) -> bool:
    return a.rstrip("/").lower() == b.rstrip("/").lower()


def _line(error: dict[str, Any]) -> str:
    where = f"{error['file']}:{error['line']}:{error['column']}: " if error.get("file") and error.get("line") else ""
    return where + error["message"] + (f" ({error['hint']})" if error.get("hint") else "")


def merge(arguments: list[str], project: ProjectFile) -> FleetSummary:
    targets = [target for argument in arguments for target in read_plan_file(argument, project)]
    seen: dict[str, int] = {}
    for target in targets:
        seen[target.name] = seen.get(target.name, 0) + 1
    twice = [name for name, n in seen.items() if n > 1]
    if twice:
        raise DiagnosticError([Diagnostic(f"target '{twice[0]}' is in more than one plan file",
                                          hint="give each target's plan once, or name them: NAME=PLAN.json")])
    return FleetSummary(targets=targets)
