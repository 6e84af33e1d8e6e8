"""`reconcile doctor`'s rows as text for a person or JSON for a machine.
The JSON document is published as schemas/doctor.schema.json."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from reconciler.doctor.row import NOT_FAILING, Check
from reconciler.json_schema import schema_text

DOCTOR_SCHEMA_ID = "urn:erp-reconciler:schema:doctor:v1"
MARKS = {"pass": "✓", "fail": "✗", "skip": "–", "note": "i"}


class JsonCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")

    check: str = Field(description="A stable key: endpoint, credentials, erpsync, quote, users, archives, "
                                   "get_all_connections, connector_urls, sync_priority, sync_endpoints, erp_tab_order; with the system user flow also "
                                   "credential_kind and exchange (first), ticket_life and host (last).")
    title: str
    status: Literal["pass", "fail", "skip", "note"] = Field(
        description="skip: not reached, because an earlier check failed. note: not a failure (it does "
                    "not fail doctor), but something about this tenant worth knowing.")
    found: str = Field(description="What the check found.")
    fix: str = Field(description="What to do when it fails; for a note, what it means for plan and apply; "
                                 "empty otherwise.")


class JsonDoctor(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Literal[1]
    target: str = Field(description="The target, described without any credential.")
    passed: bool = Field(description="Every check passed or is a note (exit status 0).")
    checks: list[JsonCheck]


def all_passed(checks: Sequence[Check]) -> bool:
    """Ready: every row passed or is a note; a note never fails doctor."""
    return all(c.status in NOT_FAILING for c in checks)


def render_text(checks: Sequence[Check], target: str) -> str:
    width = max(len(c.title) for c in checks)
    lines = [f"Doctor: {target}", ""]
    for check in checks:
        lines.append(f"  {MARKS[check.status]} {check.title.ljust(width)}  {check.found}")
        if check.status == "fail" and check.fix:
            lines.append(f"      fix: {check.fix}")
        if check.status == "note" and check.fix:
            lines.append(f"      note: {check.fix}")
    counts = {status: sum(1 for c in checks if c.status == status) for status in MARKS}
    notes = f", {counts['note']} note{'s' if counts['note'] != 1 else ''}" if counts["note"] else ""
    lines += ["", f"{counts['pass']} passed{notes}, {counts['fail']} failed, {counts['skip']} not checked."]
    if all_passed(checks):
        lines.append("This target is ready for reconcile plan.")
    return "\n".join(lines) + "\n"


def render_json(checks: Sequence[Check], target: str) -> str:
    document = JsonDoctor(
        version=1, target=target, passed=all_passed(checks),
        checks=[JsonCheck.model_validate(c.to_dict()) for c in checks],
    )
    return json.dumps(document.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


def render_doctor_schema() -> str:
    return schema_text(JsonDoctor, DOCTOR_SCHEMA_ID, "erp-reconciler doctor report")


if __name__ == "__main__":  # regenerate: python -m reconciler.doctor.render > schemas/doctor.schema.json
    print(render_doctor_schema(), end="")
