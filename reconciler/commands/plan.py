"""`reconcile plan`: what apply would change, tested, for a reviewer and for machines."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from reconciler.commands._common import (
    DEFAULT_TEST_TIMEOUT, choose_target, connection_options, manifest_option, open_crm, output_option,
)
from reconciler.commands.many_targets import many_target_options
from reconciler.commands.output_files import check_writable, write_output
from reconciler.commands.error_handler import EXIT_CHANGES, EXIT_ERROR, EXIT_OK
from reconciler.connection_tests import TestMode
from reconciler.fleet.selection import is_many
from reconciler.manifest.loader import load_desired
from reconciler.plan.model import Plan
from reconciler.plan.planner import PlanOptions
from reconciler.planning import build_plan
from reconciler.project import load_project
from reconciler.plan.document import JsonRequest
from reconciler.render.json_plan import render_json
from reconciler.render.junit import plan_cases, render_junit
from reconciler.render.markdown import render_markdown
from reconciler.render.text import render_text

def prune_options(command):  # type: ignore[no-untyped-def]
    command = click.option("--allow-empty", is_flag=True, help="Allow soft-deleting every live object of a kind.")(command)
    command = click.option("--allow-deletes", is_flag=True, help="Allow more soft-deletes than --max-deletes.")(command)
    command = click.option("--max-deletes", type=click.IntRange(0), default=None,
                           help="Most soft-deletes one run may do [default: reconcile.yaml maxDeletes, else 5].")(command)
    return command


def junit_option(command):  # type: ignore[no-untyped-def]
    return click.option(
        "--junit-xml", "junit_xml", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="FILE",
        help="Write the connection test results as JUnit XML (one testcase per connection tested).",
    )(command)


def test_option(command):  # type: ignore[no-untyped-def]
    command = click.option(
        "--test-timeout", "test_timeout", type=click.FloatRange(min=0, min_open=True), default=DEFAULT_TEST_TIMEOUT,
        show_default=True, metavar="SECONDS",
        help="How long one connection test may take; a test that takes longer fails (it is not retried).",
    )(command)
    return click.option(
        "--test", "test_mode", type=click.Choice(["changed", "all", "none"]), default="changed", show_default=True,
        help="Which connections to test with their desired config while planning.",
    )(command)


def plan_options(max_deletes: int | None, allow_deletes: bool, allow_empty: bool) -> PlanOptions:
    project = load_project()
    limit = max_deletes if max_deletes is not None else (project.maxDeletes if project.maxDeletes is not None else 5)
    return PlanOptions(
        max_deletes=limit, allow_deletes=allow_deletes, allow_empty=allow_empty, ignore=project.ignore_map()
    )


def exit_code(plan: Plan, detailed: bool) -> int:
    if plan.failed_tests:
        return EXIT_ERROR
    return EXIT_CHANGES if detailed and plan.has_changes else EXIT_OK


@click.command("plan")
@manifest_option
@many_target_options
@connection_options
@test_option
@prune_options
@output_option("text", "json", "markdown")
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True, path_type=Path), default=None,
              help="Save the plan (JSON, no secret values) for `reconcile apply PLAN`.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes (0 none, 1 error).")
@click.option("--show-unchanged", is_flag=True, help="List objects that need no change too.")
@junit_option
def plan(
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
    output: str,
    out: Path | None,
    detailed_exitcode: bool,
    show_unchanged: bool,
    junit_xml: Path | None,
) -> int:
    """Show what apply would change in the CRM, and test every connection it would touch.

    \b
    Exit codes: 0 no changes (or changes without --detailed-exitcode),
    2 changes (with --detailed-exitcode), 1 error or a failed connection test.
    With several targets: the worst of them, and the last line names them.

    \b
    Examples:
      reconcile plan -f examples/
      reconcile plan -f manifests/ --out plan.json --detailed-exitcode
      reconcile plan -f manifests/ --output markdown > plan.md
      reconcile plan -f manifests/ --target production --junit-xml tests.xml
      reconcile plan -f manifests/ --target 'customer-*' --detailed-exitcode
      reconcile plan -f manifests/ --all-targets --output markdown > plans.md
    """
    if is_many(targets, all_targets):
        from reconciler.commands.plan_many import plan_many

        return plan_many(
            targets, all_targets, paths=paths, url=url, insecure=insecure, parallelism=parallelism,
            target_parallelism=target_parallelism, test_mode=test_mode, test_timeout=test_timeout,
            prune=(max_deletes, allow_deletes, allow_empty), output=output, out=out, detailed=detailed_exitcode,
            show_unchanged=show_unchanged, junit_xml=junit_xml,
        )
    check_writable({"--out": out, "--junit-xml": junit_xml})
    selection = choose_target(targets[0] if targets else None, url, insecure=insecure)
    desired = load_desired(paths, variables=selection.vars)
    options = plan_options(max_deletes, allow_deletes, allow_empty)

    async def run() -> Plan:
        async with open_crm(selection, insecure=insecure, parallelism=parallelism, test_timeout=test_timeout) as crm:
            planned = await build_plan(crm.client, desired, target=crm.identity, options=options, test_mode=test_mode)
            return planned.plan

    result = asyncio.run(run())
    request = JsonRequest(
        manifests=list(paths), maxDeletes=options.max_deletes, allowDeletes=allow_deletes,
        allowEmpty=allow_empty, test=test_mode,
    )
    if out is not None:
        write_output("--out", out, render_json(result, request))
    if junit_xml is not None:
        write_output("--junit-xml", junit_xml, render_junit(plan_cases(result), suite="reconcile plan", target=result.target))
    if output == "json":
        click.echo(render_json(result, request), nl=False)
    elif output == "markdown":
        click.echo(render_markdown(result), nl=False)
    else:
        render_text(result, sys.stdout, show_unchanged=show_unchanged)
        if out is not None:
            click.echo(f"Saved the plan to {out}; apply it with: reconcile apply {out}")
    return exit_code(result, detailed_exitcode)
