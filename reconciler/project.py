"""The optional project file `reconcile.yaml`: names to leave alone and the prune budget."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reconciler.diagnostics import Diagnostic, DiagnosticError, Location, did_you_mean

PROJECT_FILE = "reconcile.yaml"


class IgnoreRules(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    SyncConnector: list[str] = Field(default_factory=list, description="name globs never touched")
    ErpConnection: list[str] = Field(default_factory=list)
    QuoteConnection: list[str] = Field(default_factory=list)


class ProjectFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ignore: IgnoreRules = Field(default_factory=IgnoreRules)
    maxDeletes: int | None = Field(default=None, ge=0)

    def ignore_map(self) -> dict[str, tuple[str, ...]]:
        return {kind: tuple(globs) for kind, globs in self.ignore.model_dump().items() if globs}


def load_project(path: Path | None = None) -> ProjectFile:
    """`reconcile.yaml` from the working directory (or `path`); defaults when there is none."""
    path = path or Path(PROJECT_FILE)
    if not path.is_file():
        return ProjectFile()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise DiagnosticError([Diagnostic(f"cannot read the project file: {error}", Location(str(path), 1, 1))]) from None
    try:
        return ProjectFile.model_validate(data)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            where = ".".join(str(p) for p in item["loc"])
            hint = None
            if item["type"] == "extra_forbidden":
                choices = list(IgnoreRules.model_fields) if len(item["loc"]) > 1 else list(ProjectFile.model_fields)
                hint = did_you_mean(str(item["loc"][-1]), choices)
            problems.append(Diagnostic(f"{where}: {item['msg']}", Location(str(path), 1, 1), hint=hint))
        raise DiagnosticError(problems) from None
