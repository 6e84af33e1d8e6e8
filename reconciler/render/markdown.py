"""The plan as a pull-request comment: a summary table, then details per change.

GitHub refuses comments over 65,536 characters; we stay under MAX_CHARS and
say so when the details had to be cut.
"""

from __future__ import annotations

import html
import re

from reconciler.diagnostics import visible
from reconciler.plan.model import Change, Plan, deletes
from reconciler.render.text import summary_line
from reconciler.render.values import SYMBOLS, show_field, soft_delete_note, visible_fields

MAX_CHARS = 60_000
TEST_ICONS = {"passed": "✅ passed", "failed": "❌ failed", "deferred": "⏳ deferred", "not-run": "➖ not run"}


def _cell(text: str) -> str:
    """Text from a manifest or the CRM, safe in a table cell or a note: HTML-escaped, so that
    a name can neither add markup nor break the table, and on one line."""
    return visible(_html(text).replace("|", "&#124;").replace("`", "&#96;").replace("\n", " "))


def _details(change: Change) -> str:
    creating = change.action == "create"
    body: list[str] = []
    for field in visible_fields(change):
        prefix = "+" if creating else "~"
        body.append(f"{prefix} {visible(show_field(field, creating=creating))}")
    if deletes(change.action):
        body.append(f"- {soft_delete_note(change)}")
    if change.test is not None and change.test.explanation:
        body.append(f"# test {change.test.status}: {visible(change.test.explanation)}")
    # A fence longer than any run of backticks inside, so that no value can close it.
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall("`+", "\n".join(body))), default=0))
    summary = f"{SYMBOLS[change.action].strip() or '='} {change.kind}/{_cell(change.name)}"
    return "\n".join([f"<details><summary><code>{summary}</code> — {change.action}</summary>", "",
                      f"{fence}diff", *body, fence, "", "</details>"])


def _html(text: str) -> str:
    return html.escape(text, quote=True)


def render_markdown(plan: Plan, *, max_chars: int = MAX_CHARS) -> str:
    changed = [c for c in plan.changes if c.is_change]
    head = ["### erp-reconciler plan", "", f"**{summary_line(plan)}**", "", f"Target: `{plan.target}`", ""]
    text = "\n".join(head) + "\n"
    cut_note = "\n_{n} more {what} were cut to keep this comment under {limit:,} characters; see the JSON plan._\n"
    reserve = len(cut_note.format(n=len(changed), what="rows and all change details", limit=max_chars))
    # Notes are capped too: a plan can warn once per object (half the budget at most).
    for i, warning in enumerate(plan.warnings):
        line = f"> note: {_cell(warning)}\n"
        if len(text) + len(line) + reserve > max_chars // 2:
            text += f"> _{len(plan.warnings) - i} more notes were cut; see the JSON plan._\n"
            break
        text += line

    rows = [f"| {SYMBOLS[c.action].strip()} | {c.kind} | {_cell(c.name)} | {c.action} | {TEST_ICONS[c.test.status] if c.test else ''} |" for c in changed]
    if rows:
        text += "| | Kind | Name | Action | Test |\n|---|---|---|---|---|\n"
    for i, row in enumerate(rows):
        if len(text) + len(row) + 1 + reserve > max_chars:
            return text + cut_note.format(n=len(rows) - i, what="rows and all change details", limit=max_chars)
        text += row + "\n"

    details = [_details(c) for c in changed]
    for i, block in enumerate(details):
        if len(text) + len(block) + 1 + reserve > max_chars:
            return text + cut_note.format(n=len(details) - i, what="change details", limit=max_chars)
        text += ("\n" if i == 0 else "") + block + "\n"
    return text
