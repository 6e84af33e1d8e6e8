"""The JSON error document: what `--output json` prints when a command fails, and what
`validate --output json` prints either way. Published as schemas/errors.schema.json."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Optional

from pydantic import BaseModel, ConfigDict, Field

from reconciler.diagnostics import Diagnostic
from reconciler.json_schema import schema_text

ERRORS_SCHEMA_ID = "urn:erp-reconciler:schema:errors:v1"


class JsonDiagnostic(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file: Optional[str] = Field(description="The file the problem is in, when it is in one.")
    line: Optional[int] = Field(ge=1, description="1-based.")
    column: Optional[int] = Field(ge=1, description="1-based.")
    resource: Optional[str] = Field(description="Kind/name of the resource, when known.")
    message: str
    hint: Optional[str] = Field(description="How to fix it, when there is a hint.")


class JsonErrors(BaseModel):
    model_config = ConfigDict(extra="forbid")

    valid: Optional[bool] = Field(default=None, description="validate only: whether the manifests are valid.")
    resources: Optional[int] = Field(default=None, ge=0, description="validate only: resources read.")
    errors: list[JsonDiagnostic] = Field(description="Every problem; empty when validate found none.")
    notes: Optional[list[JsonDiagnostic]] = Field(
        default=None, description="validate only: secrets this machine lacks (plan and apply need them)."
    )


def _json(problem: Diagnostic) -> JsonDiagnostic:
    return JsonDiagnostic.model_validate(problem.to_dict())


def render_errors(
    errors: Sequence[Diagnostic], *, valid: bool | None = None, resources: int | None = None,
    notes: Sequence[Diagnostic] = (),
) -> str:
    document = JsonErrors(valid=valid, resources=resources, errors=[_json(p) for p in errors],
                          notes=[_json(n) for n in notes] or None)
    # Keys that do not apply are left out; a diagnostic's unknown file or line stays null.
    return json.dumps({k: v for k, v in document.model_dump(mode="json").items() if v is not None}, indent=2)


def render_errors_schema() -> str:
    return schema_text(JsonErrors, ERRORS_SCHEMA_ID, "erp-reconciler errors")


if __name__ == "__main__":  # regenerate: python -m reconciler.render.json_errors > schemas/errors.schema.json
    print(render_errors_schema(), end="")
