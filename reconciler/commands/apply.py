"""`reconcile apply`: carry out a plan, safely, and check that the CRM converged."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

import click
from rich.text import Text

from reconciler.apply.executor import execute
from reconciler.apply.progress import ApplyProgress
from reconciler.apply.report import Report
from reconciler.apply.saved_plan import load_saved_plan, stale_reasons
from reconciler.commands._common import choose_target, open_target, reports_errors, target_options
from reconciler.commands.plan import junit_option, plan_options, prune_options, test_option
from reconciler.connection_tests import TestMode
from reconciler.diagnostics import Diagnostic, DiagnosticError
from reconciler.manifest.loader import load_desired
from reconciler.manifest.models import Desired
from reconciler.plan.model import Plan
from reconciler.plan.planner import PlanOptions, make_plan
from reconciler.planning import build_plan, read_live
from reconciler.render.junit import apply_cases, render_junit
from reconciler.render.text import make_console, render_text

NO_TTY = "stdin is not a terminal, so apply cannot ask for confirmation; pass --auto-approve to apply without asking"


@click.command("apply")
@click.argument("plan_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("-f", "--filename", "paths", multiple=True, metavar="PATH",
              help="Manifest file or directory (repeatable). With PLAN_FILE: where the manifests are now, "
                   "if not where the plan says.")
@target_options
@test_option
@prune_options
@click.option("--auto-approve", is_flag=True, help="Apply without asking (required without a terminal).")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write what was done as JSON.")
@junit_option
@reports_errors()
def apply(
    plan_file: Path | None,
    paths: Sequence[str],
    target: str | None,
    url: str | None,
    insecure: bool,
    parallelism: int,
    test_mode: TestMode,
    max_deletes: int | None,
    allow_deletes: bool,
    allow_empty: bool,
    auto_approve: bool,
    report_path: Path | None,
    junit_xml: Path | None,
) -> None:
    """Apply the manifests to the CRM, or apply a saved plan exactly.

    Without PLAN_FILE, plans, shows the plan and asks before changing anything
    (--auto-approve skips the question). With PLAN_FILE (from `plan --out`),
    applies it only if nothing moved since: same manifests, same target, and
    every object it touches unchanged in the CRM; otherwise it writes nothing
    and says what moved. Exit 0 when everything was applied and the CRM matches
    the manifests, 1 otherwise.

    \b
    Examples:
      reconcile apply -f examples/ --auto-approve
      reconcile plan -f manifests/ --out plan.json && reconcile apply plan.json
      reconcile apply -f manifests/ --target production --auto-approve --junit-xml tests.xml
    """
    saved = load_saved_plan(plan_file) if plan_file is not None else None
    if saved is not None:
        assert saved.request is not None
        paths = paths or tuple(saved.request.manifests)
        options = PlanOptions(
            max_deletes=saved.request.maxDeletes,
            allow_deletes=saved.request.allowDeletes,
            allow_empty=saved.request.allowEmpty,
            ignore=plan_options(None, False, False).ignore,
        )
        test_mode = saved.request.test
    elif not paths:
        raise click.UsageError("give manifests with -f PATH, or a saved plan file")
    else:
        options = plan_options(max_deletes, allow_deletes, allow_empty)
    selection = choose_target(target, url, insecure=insecure)
    desired = load_desired(paths, variables=selection.vars)
    if saved is None and not auto_approve and not sys.stdin.isatty():
        raise DiagnosticError([Diagnostic(NO_TTY)])

    planned_plans: list[Plan] = []  # for --junit-xml

    async def run() -> Report | None:
        async with open_target(selection, insecure=insecure, parallelism=parallelism) as target:
            planned = await build_plan(target.client, desired, target=target.identity, options=options, test_mode=test_mode)
            plan = planned.plan
            planned_plans.append(plan)
            if saved is not None:
                problems = stale_reasons(saved, plan, target=target.identity, manifest_digest=desired.digest)
                if problems:
                    raise DiagnosticError(problems)
            else:
                render_text(plan, sys.stdout)
            if not plan.has_changes:
                if saved is not None:
                    click.echo("No changes.")
                return None
            if saved is None and not auto_approve:
                click.confirm("\nApply these changes to the CRM?", abort=True)
            total = sum(1 for c in plan.changes if c.is_change)
            with ApplyProgress(total) as progress:
                outcomes = await execute(target.client, plan, planned.live, desired, progress)
            not_converged = await _still_different(target.client, desired, target.identity, options)
            return Report(target=target.identity, outcomes=tuple(outcomes), not_converged=not_converged)

    try:
        report = asyncio.run(run())
    except click.exceptions.Abort:
        click.echo("Nothing was applied.", err=True)
        sys.exit(1)
    if junit_xml is not None and planned_plans:
        done = planned_plans[0]
        junit_xml.write_text(render_junit(apply_cases(done, report), suite="reconcile apply", target=done.target),
                             encoding="utf-8")
    if report is None:
        if report_path is not None:
            report_path.write_text(Report(target="", outcomes=()).to_json(), encoding="utf-8")
        sys.exit(0)
    _print_summary(report)
    if report_path is not None:
        report_path.write_text(report.to_json(), encoding="utf-8")
    sys.exit(0 if report.ok else 1)


async def _still_different(client, desired: Desired, target: str, options: PlanOptions) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    """Plan again from a fresh read: whatever still differs did not converge."""
    live = await read_live(client, desired, target)
    relaxed = PlanOptions(max_deletes=options.max_deletes, allow_deletes=True, allow_empty=True, ignore=options.ignore)
    try:
        again = make_plan(desired, live, relaxed)
    except DiagnosticError as error:
        return tuple(f"(cannot plan: {d.message})" for d in error.diagnostics)
    return tuple(f"{c.ref} ({c.action})" for c in again.changes if c.is_change)


def _print_summary(report: Report) -> None:
    console = make_console(sys.stdout)
    console.print()
    style = "bold" if report.ok else "bold red"
    console.print(Text(report.summary_line(), style=style))
    for ref in report.not_converged:
        console.print(Text(f"  still different: {ref}", style="yellow"))
