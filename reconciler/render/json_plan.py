"""The versioned JSON plan document (`--output json`, `--out plan.json`).

Its shape is these pydantic models; `schemas/plan.schema.json` is generated
from them. Secret values are never in it: a sensitive field carries only
`sensitive: true` and the manifest reference it came from.
"""

from __future__ import annotations

import json
from typing import Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field

from reconciler import __version__
from reconciler.plan.model import Change, FieldChange, Plan
from reconciler.render.values import json_value

FORMAT_VERSION = 1
Scalar = Union[str, bool, int, float, list[str], None]


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JsonLocation(_Doc):
    file: str
    line: int
    column: int


class JsonField(_Doc):
    path: str = Field(description="e.g. 'url', 'users', 'config.ApiKey'")
    before: Scalar = Field(description="null when absent, or when sensitive")
    after: Scalar = Field(description="null when removed, or when sensitive")
    sensitive: bool = False
    reference: Optional[str] = Field(default=None, description="the manifest's ${env:…}/${file:…} for a sensitive value")


class JsonTest(_Doc):
    status: Literal["passed", "failed", "deferred", "not-run"]
    explanation: str = ""


class JsonChange(_Doc):
    kind: Literal["SyncConnector", "ErpConnection", "QuoteConnection"]
    name: str
    action: Literal["create", "update", "soft-delete", "restore", "no-op"]
    liveId: Optional[int] = None
    fingerprint: Optional[str] = Field(default=None, description="of the live object this change relies on")
    dependsOn: list[str] = Field(default_factory=list)
    location: Optional[JsonLocation] = None
    fields: list[JsonField] = Field(default_factory=list)
    test: Optional[JsonTest] = None


class JsonSummary(_Doc):
    create: int
    update: int
    restore: int
    soft_delete: int = Field(alias="soft-delete")
    no_op: int = Field(alias="no-op")
    tests: dict[str, int]


class JsonRequest(_Doc):
    """How the plan was made, so that `reconcile apply PLAN` can make it again and compare."""

    manifests: list[str] = Field(description="the -f paths, as given")
    maxDeletes: int
    allowDeletes: bool = False
    allowEmpty: bool = False
    test: Literal["all", "changed", "none"] = "changed"


class JsonPlan(_Doc):
    formatVersion: Literal[1] = FORMAT_VERSION
    tool: str
    target: str
    manifestDigest: str
    request: Optional[JsonRequest] = None
    hasChanges: bool
    summary: JsonSummary
    warnings: list[str] = Field(default_factory=list)
    changes: list[JsonChange]


def _field(change: FieldChange) -> JsonField:
    if change.sensitive:
        return JsonField(path=change.path, before=None, after=None, sensitive=True, reference=change.reference)
    return JsonField(path=change.path, before=json_value(change.before), after=json_value(change.after))  # type: ignore[arg-type]


def _change(change: Change) -> JsonChange:
    loc = change.location
    return JsonChange(
        kind=change.kind,
        name=change.name,
        action=change.action,
        liveId=change.live_id,
        fingerprint=change.fingerprint,
        dependsOn=list(change.depends_on),
        location=JsonLocation(file=loc.file, line=loc.line, column=loc.column) if loc else None,
        fields=[_field(f) for f in change.fields],
        test=JsonTest(status=change.test.status, explanation=change.test.explanation) if change.test else None,
    )


def plan_document(plan: Plan, request: JsonRequest | None = None) -> JsonPlan:
    counts = plan.counts()
    return JsonPlan(
        tool=f"erp-reconciler {__version__}",
        target=plan.target,
        manifestDigest=plan.manifest_digest,
        request=request,
        hasChanges=plan.has_changes,
        summary=JsonSummary.model_validate({**counts, "tests": plan.test_counts()}),
        warnings=list(plan.warnings),
        changes=[_change(c) for c in plan.changes],
    )


def render_json(plan: Plan, request: JsonRequest | None = None) -> str:
    return plan_document(plan, request).model_dump_json(indent=2, by_alias=True) + "\n"


def plan_json_schema() -> dict[str, object]:
    schema = JsonPlan.model_json_schema(by_alias=True)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://erp-reconciler.dev/schemas/plan.schema.json",
        "title": "erp-reconciler plan",
        **schema,
    }


def render_plan_schema() -> str:
    return json.dumps(plan_json_schema(), indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":  # regenerate: python -m reconciler.render.json_plan > schemas/plan.schema.json
    print(render_plan_schema(), end="")
