"""`reconcile summarize`: one summary from the plans of many targets (a CI matrix's artifacts)."""

from __future__ import annotations

import sys

import click

from reconciler.commands._common import output_option
from reconciler.fleet.plan_files import merge
from reconciler.fleet.summary import exit_status
from reconciler.project import load_project
from reconciler.render.fleet import render_details_text, render_summary_markdown, render_summary_text


@click.command("summarize")
@click.argument("plans", nargs=-1, required=True, metavar="[NAME=]PLAN.json...")
@output_option("text", "json", "markdown")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when any target has changes (0 none, 1 a failed target).")
def summarize(plans: tuple[str, ...], output: str, detailed_exitcode: bool) -> int:
    """Merge JSON plans of many targets into one summary: which targets drifted, which failed.

    A PLAN.json is what `plan --output json` (or `--out`) wrote for one target, what
    `plan --all-targets --output json` wrote for several, or the JSON errors of a plan
    that failed. A plan is named NAME when given, else after the reconcile.yaml target
    with its URL, else after its file. Exit 1 when any target failed (an error or a
    failed connection test), 2 for changes with --detailed-exitcode, else 0.

    \b
    Examples:
      reconcile summarize plans/*.json
      reconcile summarize plans/*.json --output markdown > comment.md
      reconcile summarize customer-a=a/plan.json customer-b=b/plan.json --detailed-exitcode
    """
    summary = merge(list(plans), load_project())
    if output == "json":
        click.echo(summary.render(), nl=False)
    elif output == "markdown":
        click.echo(render_summary_markdown(summary, detailed=detailed_exitcode), nl=False)
    else:
        render_details_text(summary, sys.stdout)
        render_summary_text(summary, sys.stdout, detailed=detailed_exitcode)
    return exit_status(summary, detailed=detailed_exitcode)
