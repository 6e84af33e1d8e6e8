"""Exported manifests -> YAML text and files, stable byte for byte for the same CRM state.

Layouts: `per-kind` (sync-connectors.yaml, erp-connections.yaml,
quote-connections.yaml) or `per-resource` (<kind dir>/<name>.yaml). Every file
starts with the yaml-language-server modeline pointing at the manifest schema.

Strings are quoted whenever a YAML reader (YAML 1.1, or the 1.2 core schema
our loader uses) could take them for anything but a string, so "12345",
"0o17", "1e5" or "yes" stay the strings the CRM stored.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from reconciler.export.manifests import Export, ExportedResource
from reconciler.manifest.files import discover
from reconciler.manifest.models import KINDS, Kind

Layout = Literal["per-kind", "per-resource"]
LAYOUTS: tuple[Layout, ...] = ("per-kind", "per-resource")
KIND_FILES: dict[Kind, str] = {
    "SyncConnector": "sync-connectors",
    "ErpConnection": "erp-connections",
    "QuoteConnection": "quote-connections",
}
HEADER = "# Exported by `reconcile export`. Secret values are ${env:…} references; see the export's output."


class _Dumper(yaml.SafeDumper):
    """Safe dumping that also quotes what the YAML 1.2 core schema would not read as a string."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


for _tag, _pattern, _first in (
    ("int", r"^(?:[-+]?(?:0|[1-9][0-9]*)|0o[0-7]+|0x[0-9a-fA-F]+)$", list("-+0123456789")),
    ("float", r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
     list("-+.0123456789")),
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE|yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF|y|Y|n|N)$",
     list("tTfFyYnNoO")),
    ("null", r"^(?:~|null|Null|NULL)$", ["~", "n", "N"]),
):
    _Dumper.add_implicit_resolver("tag:yaml.org,2002:" + _tag, re.compile(_pattern), _first)


def _dump(document: dict[str, Any]) -> str:
    return yaml.dump(
        document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=4096
    )


def modeline(schema: str | None, directory: Path) -> str:
    """The yaml-language-server modeline for a file in `directory` ("" without a schema)."""
    if schema is None:
        return ""
    if "://" in schema:
        ref = schema
    else:
        ref = Path(os.path.relpath(Path(schema).absolute(), directory.absolute())).as_posix()
    return f"# yaml-language-server: $schema={ref}\n"


def render_documents(resources: Iterable[ExportedResource], *, schema: str | None, directory: Path) -> str:
    """One multi-document YAML text, with the modeline (when there is a schema) and header first."""
    body = "---\n".join(_dump(r.document) for r in resources)
    return f"{modeline(schema, directory)}{HEADER}\n{body}"


@dataclass(frozen=True)
class PlannedFile:
    path: Path  # relative to the output directory
    resources: tuple[ExportedResource, ...]


def plan_files(export: Export, layout: Layout) -> list[PlannedFile]:
    """Which file each resource goes to; names are stable for the same CRM state."""
    files: list[PlannedFile] = []
    for kind in KINDS:
        resources = export.of_kind(kind)
        if not resources:
            continue
        if layout == "per-kind":
            files.append(PlannedFile(Path(f"{KIND_FILES[kind]}.yaml"), tuple(resources)))
            continue
        taken: set[str] = set()
        for resource in resources:  # sorted by name already
            stem = slug(resource.name)
            unique, n = stem, 1
            while unique.lower() in taken:
                n += 1
                unique = f"{stem}-{n}"
            taken.add(unique.lower())
            files.append(PlannedFile(Path(KIND_FILES[kind]) / f"{unique}.yaml", (resource,)))
    return files


def slug(name: str) -> str:
    """A file name for a resource name: 'Visma Production' -> 'visma-production'."""
    text = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return text[:80].rstrip("-") or "resource"


def stale_manifests(out: Path, planned: Iterable[PlannedFile]) -> list[Path]:
    """Manifest files already in `out` that this export would not rewrite (they would be
    loaded with it and could duplicate or soft-delete objects)."""
    if not out.is_dir():
        return []
    ours = {(out / f.path).resolve() for f in planned}
    # The same walk as `-f DIR` (hidden paths and reconcile.yaml skipped).
    return [f.path for f in discover([out]).files if f.path.resolve() not in ours]


def write_files(out: Path, planned: Iterable[PlannedFile], *, schema: str | None) -> list[Path]:
    written: list[Path] = []
    for file in planned:
        target = out / file.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render_documents(file.resources, schema=schema, directory=target.parent), encoding="utf-8")
        written.append(target)
    return written
