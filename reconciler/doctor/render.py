"""`reconcile doctor`'s rows as text for a person or JSON for a machine.
The JSON document is published as schemas/doctor.schema.json."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from reconciler.doctor.checks import Check
from reconciler.json_schema import schema_text

DOCTOR_SCHEMA_ID = "urn:erp-reconciler:schema:doctor:v1"
MARKS = {"pass": "✓", "fail": "✗", "skip": "–"}


class JsonCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")

    check: str = Field(description="A stable key: endpoint, credentials, erpsync, quote, users, archives, "
                                   "get_all_connections, connector_urls; with the system user flow also "
                                   "credential_kind and exchange (first), ticket_life and host (last).")
    title: str
    status: Literal["pass", "fail", "skip"] = Field(description="skip: not reached, because an earlier check failed.")
    found: str = Field(description="What the check found.")
    fix: str = Field(description="What to do when it fails; empty otherwise.")


class JsonDoctor(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Literal[1]
    target: str = Field(description="The target, described without any credential.")
    passed: bool = Field(description="Every check passed (exit status 0).")
    checks: list[JsonCheck]


def all_passed(checks: Sequence[Check]) -> bool:
    return all(c.status == "pass" for c in checks)


def render_text(checks: Sequence[Check], target: str) -> str:
    width = max(len(c.title) for c in checks)
    lines = [f"Doctor: {target}", ""]
    for check in checks:
        lines.append(f"  {MARKS[check.status]} {check.title.ljust(width)}  {check.found}")
        if check.status == "fail" and check.fix:
            lines.append(f"      fix: {check.fix}")
    counts = {status: sum(1 for c in checks if c.status == status) for status in MARKS}
    lines += ["", f"{counts['pass']} passed, {counts['fail']} failed, {counts['skip']} not checked."]
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
