"""Names that reconcile.yaml's `ignore:` leaves alone: one rule for validate and plan."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping

from reconciler.diagnostics import Diagnostic
from reconciler.manifest.models import Desired

IgnoreRules = Mapping[str, tuple[str, ...]]  # kind -> name globs


def is_ignored(ignore: IgnoreRules, kind: str, name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, glob) for glob in ignore.get(kind, ()))


def ignored_manifests(desired: Desired, ignore: IgnoreRules) -> list[Diagnostic]:
    """A manifest for a name that `ignore:` covers cannot be managed: one error each."""
    return [
        Diagnostic(
            message=f"'{resource.name}' is in the ignore list of reconcile.yaml, so it cannot be managed",
            location=resource.locate("metadata", "name"),
            resource=resource.ref,
            hint="remove the manifest or the ignore entry",
        )
        for resource in desired.resources
        if is_ignored(ignore, resource.kind, resource.name)
    ]
