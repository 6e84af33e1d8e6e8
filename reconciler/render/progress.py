"""Progress while applying: a bar on a terminal, a line per change otherwise."""

from __future__ import annotations

import sys
from types import TracebackType

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from reconciler.plan.outcome import Outcome
from reconciler.render.text import make_console
from reconciler.render.values import SYMBOLS

MARKS = {"done": ("✓", "green"), "failed": ("✗", "bold red"), "skipped": ("–", "yellow")}


def outcome_line(outcome: Outcome) -> Text:
    mark, style = MARKS[outcome.status]
    line = Text(f"  {mark} ", style=style)
    line.append(f"{SYMBOLS[outcome.action].strip() or '='} {outcome.ref}", style="bold")
    line.append(f": {outcome.message}" if outcome.message else f": {outcome.status}", style=style if outcome.status != "done" else "")
    return line


class ApplyProgress:
    """Call with each Outcome as it finishes."""

    def __init__(self, total: int, *, interactive: bool | None = None) -> None:
        self.console = make_console(sys.stdout)
        self.interactive = self.console.is_terminal if interactive is None else interactive
        self._bar: Progress | None = None
        self._task = None
        self.total = total

    def __enter__(self) -> "ApplyProgress":
        if self.interactive and self.total:
            self._bar = Progress(
                TextColumn("Applying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                console=self.console, transient=True,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task("apply", total=self.total)
        return self

    def __call__(self, outcome: Outcome) -> None:
        self.console.print(outcome_line(outcome))
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.__exit__(exc_type, exc, tb)
