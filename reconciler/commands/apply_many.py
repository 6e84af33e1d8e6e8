"""`reconcile apply` on several targets: plan them all, ask once showing the summary, apply side by side.

Every target is planned and applied on its own, with its own deletion budget
(--max-deletes is per target); one that fails never stops the others.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from collections.abc import Sequence

import click
from rich import box
from rich.table import Table
from rich.text import Text

from reconciler.apply.executor import execute
from reconciler.plan.outcome import Outcome, Report
from reconciler.render.progress import outcome_line
from reconciler.commands._common import open_crm
from reconciler.commands.apply import NO_TTY, _still_different
from reconciler.commands.error_handler import EXIT_ERROR, EXIT_OK
from reconciler.commands.many_targets import ManyTargets, TargetRun, print_sections
from reconciler.commands.plan import plan_options
from reconciler.connection_tests import TestMode
from reconciler.diagnostics import Diagnostic, DiagnosticError
from reconciler.fleet.runner import Done
from reconciler.plan.planner import PlanOptions
from reconciler.render.fleet import render_summary_text
from reconciler.render.text import make_console


def apply_many(
    fleet: ManyTargets, *, test_mode: TestMode, prune: tuple[int | None, bool, bool], auto_approve: bool,
) -> int:
    options = plan_options(*prune)
    planned = asyncio.run(fleet.plan_each(options, test_mode))
    summary = fleet.summary(planned, None)
    print_sections(planned, fleet.url, show_unchanged=False)
    render_summary_text(summary, sys.stdout, detailed=True, verdict=False)
    to_apply = [d.result for d in planned if d.result is not None and d.result.planned.plan.has_changes]
    planning_failed = any(d.result is None for d in planned)
    if not to_apply:
        click.echo("Exit 1: nothing to apply, and some targets could not be planned." if planning_failed
                   else "No changes in any target.")
        return EXIT_ERROR if planning_failed else EXIT_OK
    if not auto_approve:
        if not sys.stdin.isatty():
            raise DiagnosticError([Diagnostic(NO_TTY)])
        names = ", ".join(run.name for run in to_apply)
        click.echo(f"\n{len(to_apply)} target(s) to change: {names}.")
        try:
            click.confirm("Apply these changes to the CRM?", abort=True)
        except click.exceptions.Abort:
            click.echo("Nothing was applied.", err=True)
            return EXIT_ERROR
    applied = asyncio.run(_apply_each(fleet, to_apply, options))
    _print_reports(applied, [d.name for d in planned if d.result is None])
    failed = planning_failed or any(d.result is None or not d.result.ok for d in applied)
    return EXIT_ERROR if failed else EXIT_OK


async def _apply_each(fleet: ManyTargets, runs: Sequence[TargetRun], options: PlanOptions) -> list[Done[Report]]:
    by_name = {run.name: run for run in runs}

    async def one(name: str) -> Report:
        run = by_name[name]
        plan, live = run.planned.plan, run.planned.live
        async with open_crm(run.selection, insecure=fleet.insecure, parallelism=fleet.parallelism,
                               test_timeout=fleet.test_timeout) as crm:
            outcomes: list[Outcome] = []
            await execute(crm.client, plan, outcomes.append)
            not_converged = await _still_different(crm.client, run.desired, live, outcomes, options)
        return Report(target=crm.identity, outcomes=tuple(outcomes), not_converged=not_converged)

    return await dataclasses.replace(fleet, names=list(by_name)).each(one)


def _print_reports(applied: Sequence[Done[Report]], not_planned: Sequence[str]) -> None:
    console = make_console(sys.stdout)
    if not console.is_terminal:
        console.width = 200
    for item in applied:
        console.print()
        console.print(Text(f"━━ applied to {item.name} ━━", style="bold"))
        for error in item.errors:
            console.print(Text(f"error: {error}", style="bold red"))
        if item.result is not None:
            for outcome in item.result.outcomes:
                console.print(outcome_line(outcome))
            console.print(Text(item.result.summary_line(), style="bold" if item.result.ok else "bold red"))
            for ref in item.result.not_converged:
                console.print(Text(f"  still different: {ref}", style="yellow"))
    table = Table(title=f"Applied to {len(applied)} target(s)", title_justify="left", box=box.SIMPLE_HEAD)
    for heading in ("Target", "Result", "done", "failed", "skipped", "not converged"):
        table.add_column(heading, no_wrap=True, justify="left" if heading in ("Target", "Result") else "right")
    for item in applied:
        report = item.result
        if report is None:
            table.add_row(item.name, Text("error", style="bold red"), "–", "–", "–", "–")
            continue
        result = Text("applied", style="green") if report.ok else Text("failed", style="bold red")
        table.add_row(item.name, result, str(report.count("done")), str(report.count("failed")),
                      str(report.count("skipped")), str(len(report.not_converged)))
    console.print()
    console.print(table)
    failed = [d.name for d in applied if d.result is None or not d.result.ok]
    lines = [f"apply failed on {', '.join(failed)}"] if failed else []
    lines += [f"not planned (see above): {', '.join(not_planned)}"] if not_planned else []
    console.print(Text(f"Exit 1: {'; '.join(lines)}." if lines
                       else f"Exit 0: applied to every target with changes ({len(applied)}).", style="bold"))
