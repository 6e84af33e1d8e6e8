"""`reconcile plan` on several targets: each planned side by side, each in its own section, one summary."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from reconciler.commands.many_targets import ManyTargets, print_sections, refuse_with_many
from reconciler.commands.plan import plan_options
from reconciler.connection_tests import TestMode
from reconciler.diagnostics import Diagnostic, DiagnosticError
from reconciler.fleet.summary import exit_status
from reconciler.render.fleet import render_summary_markdown, render_summary_text
from reconciler.plan.document import JsonRequest

SEVERAL = "with several targets, save them with --output json > plans.json (one plan per target inside)"


def plan_many(
    targets: Sequence[str], all_targets: bool, *, paths: Sequence[str], url: str | None, insecure: bool,
    parallelism: int, target_parallelism: int, test_mode: TestMode, test_timeout: float,
    prune: tuple[int | None, bool, bool], output: str, out: Path | None, detailed: bool, show_unchanged: bool,
    junit_xml: Path | None,
) -> int:
    refuse_with_many({"--out": out, "--junit-xml": junit_xml}, SEVERAL)
    if url and click.get_current_context().get_parameter_source("url") is click.core.ParameterSource.COMMANDLINE:
        raise DiagnosticError([Diagnostic("both --url and several targets are given",
                                          hint="targets take their URLs from reconcile.yaml; leave out --url")])
    fleet = ManyTargets.choose(targets, all_targets, paths=paths, insecure=insecure, parallelism=parallelism,
                               target_parallelism=target_parallelism, test_timeout=test_timeout)
    options = plan_options(*prune)
    done = asyncio.run(fleet.plan_each(options, test_mode))
    request = JsonRequest(manifests=list(paths), maxDeletes=options.max_deletes, allowDeletes=prune[1],
                          allowEmpty=prune[2], test=test_mode)
    summary = fleet.summary(done, request)
    if output == "json":
        click.echo(summary.render(), nl=False)
    elif output == "markdown":
        click.echo(render_summary_markdown(summary, detailed=detailed), nl=False)
    else:
        print_sections(done, fleet.url, show_unchanged=show_unchanged)
        render_summary_text(summary, sys.stdout, detailed=detailed)
    return exit_status(summary, detailed=detailed)
