"""Which targets of reconcile.yaml a multi-target command runs: names, globs, or all of them."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

from reconciler.diagnostics import Diagnostic, DiagnosticError, did_you_mean
from reconciler.project import ProjectFile

GLOB_CHARACTERS = frozenset("*?[")


def is_many(patterns: Sequence[str], all_targets: bool) -> bool:
    """Whether a command runs in multi-target mode: --all-targets, a glob, or --target given more than once.
    One plain --target NAME keeps the single-target behaviour and output."""
    return all_targets or len(patterns) > 1 or any(GLOB_CHARACTERS & set(p) for p in patterns)


def expand_targets(project: ProjectFile, patterns: Sequence[str], all_targets: bool, *,
                   given_as: str = "--target ") -> list[str]:
    """The target names, in reconcile.yaml order, each once. A pattern that matches nothing is an error."""
    known = list(project.targets)
    if all_targets:
        if patterns:
            raise DiagnosticError([Diagnostic("both --all-targets and --target (or RECONCILE_TARGET) are given",
                                              hint="choose one: --all-targets, or --target NAME/GLOB (repeatable)")])
        if not known:
            raise DiagnosticError([Diagnostic("reconcile.yaml defines no targets",
                                              project.locate("targets"), hint="define them under 'targets:'")])
        return known
    chosen: set[str] = set()
    problems = []
    for pattern in patterns:
        matched = [name for name in known if fnmatch.fnmatchcase(name, pattern)]
        if not matched:
            hint = did_you_mean(pattern, known) or (f"known targets: {', '.join(sorted(known))}" if known
                                                    else "define targets in reconcile.yaml")
            what = "matches no target" if GLOB_CHARACTERS & set(pattern) else "is not a target"
            problems.append(Diagnostic(f"{given_as}'{pattern}' {what}", project.locate("targets"), hint=hint))
        chosen.update(matched)
    if problems:
        raise DiagnosticError(problems)
    return [name for name in known if name in chosen]
