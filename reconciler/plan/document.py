"""The saved plan: the versioned JSON plan document (`plan --out plan.json`, `--output json`).

Its shape is these pydantic models; `schemas/plan.schema.json` is generated
from them (`render/json_plan.py`). `apply/saved_plan.py` reads it back and
`render/json_plan.py` prints it. Secret values are never in it: a sensitive
field carries only `sensitive: true` and the manifest reference it came from.
"""

from __future__ import annotations

from typing import Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field

from reconciler import __version__
from reconciler.manifest.models import Kind
from reconciler.plan.content import content_digest
from reconciler.plan.model import Action, Change, FieldChange, Plan, TestStatus
from reconciler.secrets import Sensitive

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
    status: TestStatus
    explanation: str = ""


class JsonChange(_Doc):
    kind: Kind
    name: str
    action: Action
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
    resourceDigests: Optional[dict[str, str]] = Field(
        default=None,
        description="per 'Kind/name': a digest of what the manifests ask for (not where they are; no secret values)",
    )
    request: Optional[JsonRequest] = None
    hasChanges: bool
    summary: JsonSummary
    warnings: list[str] = Field(default_factory=list)
    changes: list[JsonChange]


def _json_value(value: object) -> object:
    """A field value for JSON; secrets never reach here (`_field` drops them)."""
    if isinstance(value, Sensitive):
        raise TypeError("a sensitive value must not be written as JSON")
    if isinstance(value, tuple):
        return list(value)
    return value


def _field(change: FieldChange) -> JsonField:
    if change.sensitive:
        return JsonField(path=change.path, before=None, after=None, sensitive=True, reference=change.reference)
    return JsonField(path=change.path, before=_json_value(change.before), after=_json_value(change.after))  # type: ignore[arg-type]


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
        resourceDigests={c.ref: content_digest(c.desired) for c in plan.changes if c.desired is not None},
        request=request,
        hasChanges=plan.has_changes,
        summary=JsonSummary.model_validate({**counts, "tests": plan.test_counts()}),
        warnings=list(plan.warnings),
        changes=[_change(c) for c in plan.changes],
    )
