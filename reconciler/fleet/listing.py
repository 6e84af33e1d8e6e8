"""The targets of reconcile.yaml as a CI matrix: names, URLs without credentials, the variables each needs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from reconciler.project import ProjectFile


def printable_url(url: str | None) -> str:
    """The URL without user info, query or fragment (any of them could carry a credential)."""
    if not url:
        return ""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def where(project: ProjectFile, name: str) -> str:
    """A target's URL as safe to print; without one, who finds the tenant."""
    spec = project.targets[name]
    if spec.url:
        return printable_url(spec.url)
    return "the tenant its login service names" if spec.credentials is not None else "embedded emulator"


def target_rows(project: ProjectFile, names: Sequence[str]) -> list[dict[str, Any]]:
    rows = []
    for name in names:
        spec = project.targets[name]
        variables = sorted(spec.credentials.variables().values()) if spec.credentials is not None else []
        rows.append({"target": name, "url": where(project, name), "credentials": variables})
    return rows


def matrix(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """`target` is the list a matrix expands (GitHub `matrix.target`, GitLab `parallel:matrix` TARGET);
    `include` adds each one's url and credential variable names to the same job."""
    return {"target": [row["target"] for row in rows], "include": rows}
