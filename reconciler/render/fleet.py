"""The summary of many targets: a table for the terminal, a pull-request comment, per-target details folded."""

from __future__ import annotations

from typing import TextIO

from rich import box
from rich.table import Table
from rich.text import Text

from reconciler.fleet.summary import FleetSummary, TargetSummary, causes
from reconciler.plan.model import ACTIONS, Action, changes_anything
from reconciler.render.markdown import MAX_CHARS, TEST_ICONS, _cell
from reconciler.render.text import make_console
from reconciler.render.values import SYMBOLS

# The terminal table's narrower heading for an action's column (the markdown table uses the action).
TEXT_HEADINGS: dict[Action, str] = {"soft-delete": "delete", "no-op": "same"}
STATUS_STYLES = {"error": "bold red", "failed-tests": "red", "changes": "yellow", "no-changes": "green"}
STATUS_ICONS = {"error": "❌ error", "failed-tests": "❌ failed tests", "changes": "🟡 changes", "no-changes": "✅ no changes"}


def _count(target: TargetSummary, action: str) -> str:
    return str(target.counts[action]) if target.counts else "–"


def render_summary_text(summary: FleetSummary, stream: TextIO, *, detailed: bool,
                        color: bool | None = None, verdict: bool = True) -> None:
    """The table: one row per target, counts only (each target's section above says what and why)."""
    console = make_console(stream, color=color)
    if not console.is_terminal:
        console.width = 200  # a CI log: no need to squeeze the table into 80 columns
    table = Table(title=f"Summary of {len(summary.targets)} target(s)", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("Target", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    for heading in (*(TEXT_HEADINGS.get(action, action) for action in ACTIONS), "failed tests", "errors"):
        table.add_column(heading, justify="right", no_wrap=True)
    for target in summary.targets:
        table.add_row(
            Text(target.name), Text(target.status, style=STATUS_STYLES[target.status]),
            *(_count(target, action) for action in ACTIONS),
            str(len(target.failedTests)) if target.failedTests else "", str(len(target.errors)) if target.errors else "",
        )
    console.print()
    console.print(table)
    if verdict:
        console.print(Text(causes(summary, detailed=detailed), style="bold"))


def render_summary_markdown(summary: FleetSummary, *, detailed: bool = False, max_chars: int = MAX_CHARS) -> str:
    """One comment: the table of every target, then each target's changes folded; cut at `max_chars`."""
    text = "\n".join(["### erp-reconciler plan: many targets", "", f"**{causes(summary, detailed=detailed)}**", "",
                      "| Target | Status | " + " | ".join(ACTIONS) + " | Failed tests | Error |",
                      "|---|---|" + "---:|" * len(ACTIONS) + "---|---|"]) + "\n"
    cut_note = "\n_{n} more {what} were cut to keep this comment under {limit:,} characters; see the JSON plans._\n"
    reserve = len(cut_note.format(n=len(summary.targets), what="targets and all details", limit=max_chars))
    for i, target in enumerate(summary.targets):
        row = (f"| {_cell(target.name)} | {STATUS_ICONS[target.status]} | "
               + " | ".join(_count(target, a) for a in ACTIONS)
               + f" | {_cell(', '.join(target.failedTests))} | {_cell(target.errors[0] if target.errors else '')} |\n")
        if len(text) + len(row) + reserve > max_chars:
            return text + cut_note.format(n=len(summary.targets) - i, what="targets and all details", limit=max_chars)
        text += row
    folded = [_folded(t) for t in summary.targets if t.status != "no-changes"]
    for i, block in enumerate(folded):
        if len(text) + len(block) + 1 + reserve > max_chars:
            return text + cut_note.format(n=len(folded) - i, what="target details", limit=max_chars)
        text += ("\n" if i == 0 else "") + block + "\n"
    return text


def _folded(target: TargetSummary) -> str:
    lines = [f"<details><summary><code>{_cell(target.name)}</code> — {STATUS_ICONS[target.status]}"
             f" ({_cell(target.url)})</summary>", ""]
    lines += [f"- error: {_cell(e)}" for e in target.errors]
    if target.plan is not None:
        lines += [f"> note: {_cell(w)}\n" for w in target.plan.warnings]
        changed = [c for c in target.plan.changes if changes_anything(c.action)]
        if changed:
            lines += ["| | Kind | Name | Action | Test |", "|---|---|---|---|---|"]
            lines += [f"| {SYMBOLS[c.action].strip()} | {c.kind} | {_cell(c.name)} | {c.action} | "
                      f"{TEST_ICONS[c.test.status] if c.test else ''} |" for c in changed]
    return "\n".join([*lines, "", "</details>"])


def render_details_text(summary: FleetSummary, stream: TextIO, *, color: bool | None = None) -> None:
    """What each target that is not in step would change (or what stopped it), one line per change."""
    console = make_console(stream, color=color)
    for target in summary.targets:
        if target.status == "no-changes":
            continue
        console.print(Text(f"{target.name} ({target.url})", style="bold"))
        for error in target.errors:
            console.print(Text(f"  error: {error}", style="bold red"))
        changed = [c for c in target.plan.changes if changes_anything(c.action)] if target.plan is not None else []
        for change in changed:
            line = Text(f"  {SYMBOLS[change.action]} {change.kind}/{change.name}  {change.action}")
            if change.test is not None:
                line.append(f"  test {change.test.status}", style="bold red" if change.test.status == "failed" else "dim")
            console.print(line)
