"""`reconcile apply`: carry out a plan, safely, and check that the CRM converged."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

import click
from rich.text import Text

from reconciler.apply.convergence import reread_written
from reconciler.apply.executor import execute
from reconciler.apply.saved_plan import guard_problems, load_saved_plan, stale_reasons
from reconciler.commands._common import MANIFEST_PATH, choose_target, connection_options, open_crm
from reconciler.commands.many_targets import ManyTargets, many_target_options, refuse_with_many
from reconciler.commands.output_files import check_writable, write_output
from reconciler.commands.error_handler import EXIT_ERROR, EXIT_OK
from reconciler.commands.plan import junit_option, plan_options, prune_options, test_option
from reconciler.connection_tests import TestMode
from reconciler.fleet.selection import is_many
from reconciler.diagnostics import Diagnostic, DiagnosticError
from reconciler.manifest.loader import load_desired
from reconciler.manifest.models import Desired
from reconciler.plan.document import JsonPlan
from reconciler.plan.model import Plan
from reconciler.plan.outcome import Outcome, Report
from reconciler.plan.planner import PlanOptions
from reconciler.crm.client import CrmClient
from reconciler.crm.live import Live
from reconciler.crm.sync_snapshot import read_sync
from reconciler.planning import build_plan, plan_changes, read_live, snapshot_needs
from reconciler.render.json_report import render_report_json
from reconciler.render.junit import apply_cases, render_junit
from reconciler.render.progress import ApplyProgress
from reconciler.render.text import make_console, render_text

NO_TTY = "stdin is not a terminal, so apply cannot ask for confirmation; pass --auto-approve to apply without asking"


@click.command("apply")
@click.argument("plan_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("-f", "--filename", "paths", multiple=True, metavar="PATH", type=MANIFEST_PATH,
              help="Manifest file or directory (repeatable). With PLAN_FILE: where the manifests are now, "
                   "if not where the plan says.")
@many_target_options
@connection_options
@test_option
@prune_options
@click.option("--auto-approve", is_flag=True, help="Apply without asking (required without a terminal).")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write what was done as JSON.")
@junit_option
def apply(
    plan_file: Path | None,
    paths: Sequence[str],
    targets: tuple[str, ...],
    all_targets: bool,
    target_parallelism: int,
    url: str | None,
    insecure: bool,
    parallelism: int,
    test_mode: TestMode,
    test_timeout: float,
    max_deletes: int | None,
    allow_deletes: bool,
    allow_empty: bool,
    auto_approve: bool,
    report_path: Path | None,
    junit_xml: Path | None,
) -> int:
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
      reconcile apply -f manifests/ --target 'customer-*'    # plans all, asks once

    With several targets (--target repeated or a glob, or --all-targets), each is
    planned, the summary shown and one question asked; then every target with
    changes is applied side by side. --max-deletes holds per target.
    """
    if is_many(targets, all_targets):
        refuse_with_many({"PLAN_FILE": plan_file, "--report": report_path, "--junit-xml": junit_xml, "--url": url
                          if _given_on_command_line("url") else None},
                         "with several targets, plan and apply from the manifests (-f) and read the summary")
        fleet = ManyTargets.choose(targets, all_targets, paths=paths, insecure=insecure, parallelism=parallelism,
                                   target_parallelism=target_parallelism, test_timeout=test_timeout)
        return _apply_many(fleet, test_mode, (max_deletes, allow_deletes, allow_empty), auto_approve)
    target = targets[0] if targets else None
    check_writable({"--report": report_path, "--junit-xml": junit_xml})
    saved = load_saved_plan(plan_file) if plan_file is not None else None
    if saved is not None and not paths:
        _check_saved_manifests_are_here(saved, plan_file)
    paths, options, test_mode = _plan_inputs(saved, paths, test_mode, (max_deletes, allow_deletes, allow_empty))
    selection = choose_target(target, url, insecure=insecure)
    desired = load_desired(paths, variables=selection.vars)
    # Without a terminal nobody can answer the question: refused once the plan shows there is one to ask.
    must_ask = saved is None and not auto_approve

    planned_plans: list[Plan] = []  # for --junit-xml

    async def run() -> Report | None:
        async with open_crm(selection, insecure=insecure, parallelism=parallelism, test_timeout=test_timeout) as target:
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
            if must_ask:
                _confirm()
            total = sum(1 for c in plan.changes if c.is_change)
            with ApplyProgress(total) as progress:
                outcomes = await execute(target.client, plan, progress)
            not_converged = await _still_different(target.client, desired, planned.live, outcomes, options)
            return Report(target=target.identity, outcomes=tuple(outcomes), not_converged=not_converged)

    try:
        report = asyncio.run(run())
    except click.exceptions.Abort:
        click.echo("Nothing was applied.", err=True)
        return EXIT_ERROR
    if junit_xml is not None and planned_plans:
        done = planned_plans[0]
        write_output("--junit-xml", junit_xml,
                     render_junit(apply_cases(done, report), suite="reconcile apply", target=done.target))
    if report is None:
        if report_path is not None:
            write_output("--report", report_path, render_report_json(Report(target="", outcomes=())))
        return EXIT_OK
    _print_summary(report)
    if report_path is not None:
        write_output("--report", report_path, render_report_json(report))
    return EXIT_OK if report.ok else EXIT_ERROR


def _apply_many(fleet: ManyTargets, test_mode: TestMode, prune: tuple[int | None, bool, bool],
                auto_approve: bool) -> int:
    if not fleet.paths:
        raise click.UsageError("give manifests with -f PATH")
    from reconciler.commands.apply_many import apply_many

    return apply_many(fleet, test_mode=test_mode, prune=prune, auto_approve=auto_approve)


def _confirm() -> None:
    """Ask before writing; without a terminal nobody can answer, so that is refused."""
    if not sys.stdin.isatty():
        raise DiagnosticError([Diagnostic(NO_TTY)])
    click.confirm("\nApply these changes to the CRM?", abort=True)


def _plan_inputs(
    saved: JsonPlan | None, paths: Sequence[str], test_mode: TestMode,
    guards: tuple[int | None, bool, bool],
) -> tuple[Sequence[str], PlanOptions, TestMode]:
    """The manifests, prune options and test mode of this run: a saved plan's own (after
    checking the guards given with it), else the command line's."""
    max_deletes, allow_deletes, allow_empty = guards
    if saved is None:
        if not paths:
            raise click.UsageError("give manifests with -f PATH, or a saved plan file")
        return paths, plan_options(max_deletes, allow_deletes, allow_empty), test_mode
    problems = guard_problems(saved, max_deletes=max_deletes, allow_deletes=allow_deletes, allow_empty=allow_empty,
                              test_mode=test_mode if _given("test_mode") else None)
    if problems:
        raise DiagnosticError(problems)
    return _as_saved(saved, paths)


def _check_saved_manifests_are_here(saved: JsonPlan, plan_file: Path | None) -> None:
    """The saved plan names its manifests as plan was given them (relative paths);
    say what to do when they are not where this apply runs."""
    if saved.request is None:
        return  # load_saved_plan refuses such a plan with its own message
    missing = [p for p in saved.request.manifests if not Path(p).exists()]
    if missing:
        raise DiagnosticError([Diagnostic(
            f"the saved plan was made from {', '.join(missing)}, which is not here ({Path.cwd()})",
            hint=f"run apply in the directory plan ran in, or say where the manifests are now: "
                 f"reconcile apply {plan_file} -f NEW/PLACE",
        )])


def _as_saved(saved: JsonPlan, paths: Sequence[str]) -> tuple[Sequence[str], PlanOptions, TestMode]:
    """Manifests, options and test mode of a saved plan (manifests given with -f win)."""
    assert saved.request is not None
    options = PlanOptions(
        max_deletes=saved.request.maxDeletes,
        allow_deletes=saved.request.allowDeletes,
        allow_empty=saved.request.allowEmpty,
        ignore=plan_options(None, False, False).ignore,
    )
    return paths or tuple(saved.request.manifests), options, saved.request.test


def _given_on_command_line(parameter: str) -> bool:
    return click.get_current_context().get_parameter_source(parameter) is click.core.ParameterSource.COMMANDLINE


def _given(parameter: str) -> bool:
    """Whether an option came from the command line or the environment, not its default."""
    source = click.get_current_context().get_parameter_source(parameter)
    return source in (click.core.ParameterSource.COMMANDLINE, click.core.ParameterSource.ENVIRONMENT)


async def _still_different(
    client: CrmClient, desired: Desired, before: Live, outcomes: Sequence[Outcome], options: PlanOptions
) -> tuple[str, ...]:
    """Plan again with what apply wrote read afresh: whatever still differs did not converge."""
    live = await reread_written(client, before, outcomes, lambda: read_live(client, desired, before.target))
    needs = snapshot_needs(desired)
    written = {o.name for o in outcomes if o.kind == "ErpConnection" and o.status != "skipped"}
    live = await read_sync(client, live, {n: s for n, s in needs.sync.items() if n in written},
                           needs.sync_priority and bool(written & set(needs.sync)))
    relaxed = PlanOptions(max_deletes=options.max_deletes, allow_deletes=True, allow_empty=True, ignore=options.ignore)
    try:
        again = plan_changes(desired, live, relaxed)
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
