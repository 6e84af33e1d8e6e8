"""The plan as a reviewer reads it in a terminal or a CI log.

Colours only on a terminal and never with NO_COLOR (rich honours both).
"""

from __future__ import annotations

import errno
from typing import TextIO

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from reconciler.manifest.models import KINDS
from reconciler.plan.model import Change, Plan, deletes
from reconciler.render.values import SYMBOLS, show_field, soft_delete_note, visible_fields

STYLES = {"create": "green", "update": "yellow", "soft-delete": "red", "restore": "cyan", "no-op": "dim"}
TEST_STYLES = {"passed": "green", "failed": "bold red", "deferred": "yellow", "not-run": "dim"}


class _Console(Console):
    def on_broken_pipe(self) -> None:
        # rich would exit 1 without a word; the CLI's error handler says what happened.
        self.quiet = True
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")


def make_console(stream: TextIO, *, color: bool | None = None) -> Console:
    """A console for `stream`: colour when it is a terminal (unless NO_COLOR), never wider than needed."""
    return _Console(
        file=stream,
        highlight=False,
        soft_wrap=True,
        no_color=None if color is None else not color,
        force_terminal=color if color else None,
    )


def summary_line(plan: Plan) -> str:
    counts = plan.counts()
    if not plan.has_changes:
        text = f"No changes. {counts['no-op']} object(s) match the manifests."
    else:
        parts = [
            f"{counts['create']} to create",
            f"{counts['update']} to update",
            f"{counts['restore']} to restore",
            f"{counts['soft-delete']} to soft-delete",
            f"{counts['no-op']} unchanged",
        ]
        text = "Plan: " + ", ".join(parts) + "."
    tests = {k: v for k, v in plan.test_counts().items() if v}
    if tests:
        text += " Tests: " + ", ".join(f"{n} {status}" for status, n in tests.items()) + "."
    return text


def _change_lines(change: Change, *, show_unchanged: bool) -> list[Text]:
    style = STYLES[change.action]
    head = Text("  ")
    head.append(f"{SYMBOLS[change.action]} ", style=style)
    head.append(change.name, style="bold" if change.is_change else "dim")
    head.append(f"  {change.action}", style=style)
    if change.test is not None:
        head.append("  test ", style="dim")
        head.append(change.test.status, style=TEST_STYLES[change.test.status])
    lines = [head]
    if not change.is_change and not show_unchanged:
        return lines
    creating = change.action == "create"
    for field in visible_fields(change):
        lines.append(Text(f"      {show_field(field, creating=creating)}"))
    if deletes(change.action):
        lines.append(Text(f"      {soft_delete_note(change)}", style="dim"))
    if change.test is not None and change.test.explanation:
        lines.append(Text(f"      test: {change.test.explanation}", style=TEST_STYLES[change.test.status]))
    if change.depends_on and change.is_change:
        lines.append(Text(f"      after: {', '.join(change.depends_on)}", style="dim"))
    return lines


def render_text(plan: Plan, stream: TextIO, *, color: bool | None = None, show_unchanged: bool = False) -> None:
    console = make_console(stream, color=color)
    console.print(Text(f"Target: {plan.target}", style="dim"))
    for kind in KINDS:
        changes = [c for c in plan.changes if c.kind == kind and (c.is_change or show_unchanged)]
        if not changes:
            continue
        console.print()
        console.print(Text(kind, style="bold"))
        for change in changes:
            # One print per change, not per line: rich's per-call overhead (terminal size,
            # environment) dominates printing thousands of changes.
            console.print(Text("\n").join(_change_lines(change, show_unchanged=show_unchanged)))
    for warning in plan.warnings:
        console.print(Text(f"note: {warning}", style="yellow"))
    console.print()
    failed = plan.failed_tests
    console.print(Text(summary_line(plan), style="bold red" if failed else "bold"))
    if failed:
        console.print(
            Text(
                f"{len(failed)} connection test(s) failed: "
                + ", ".join(escape(c.ref) for c in failed)
                + ". apply will not save them.",
                style="red",
            )
        )
