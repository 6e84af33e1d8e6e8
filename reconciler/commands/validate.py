"""`reconcile validate`: check manifests offline; every problem at once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import click

from reconciler.commands._common import complete_targets, manifest_option, output_option
from reconciler.commands.error_handler import EXIT_ERROR, EXIT_OK
from reconciler.diagnostics import Diagnostic, DiagnosticError
from reconciler.plan.ignored import ignored_manifests
from reconciler.plan.sync_validation import offline_problems
from reconciler.manifest.loader import load_desired
from reconciler.manifest.models import KINDS, Desired
from reconciler.project import load_project
from reconciler.render.json_errors import render_errors


@click.command("validate")
@manifest_option
@output_option("text", "json")
@click.option(
    "--target", "target", envvar="RECONCILE_TARGET", default=None, metavar="NAME", shell_complete=complete_targets,
    help="Check ${var:…} references against this reconcile.yaml target's vars "
         "[default: defaultTarget, else the vars every target defines].",
)
@click.option("--require-secrets", is_flag=True,
              help="Treat an unset ${env:…} variable or an absent ${file:…} secret as an error "
                   "(by default validate notes it: plan and apply refuse it).")
def validate(paths: Sequence[str], output: str, target: str | None, require_secrets: bool) -> int:
    """Check manifests without contacting the CRM.

    Checks keys, values, names, ${…} references, the ignore list and the sync
    rules that need no CRM (a direction needs crmField, mandatory defaults,
    erpTabOrder and priority duplicates, no toCrm on a CRM field another
    connection maps); plan checks the rest against the CRM.

    Exit 0 when valid; exit 1 with every error (file:line:col, resource,
    what is wrong, and a hint) when not. Works without the secrets: an unset
    ${env:…} variable or an absent ${file:…} secret is a note, not an error,
    unless --require-secrets.

    \b
    Examples:
      reconcile validate -f examples/
      reconcile validate -f manifests/ --target production
      reconcile validate -f manifests/ --output json
      reconcile validate -f manifests/ --require-secrets   # in CI, where the secrets are
    """
    unavailable: list[Diagnostic] | None = None if require_secrets else []
    # Invalid manifests are validate's answer, not a failure of the command: reported here.
    try:
        project = load_project()
        desired = load_desired(paths, variables=project.validation_vars(target), unavailable_secrets=unavailable)
        problems = ignored_manifests(desired, project.ignore_map()) + offline_problems(desired)
        if problems:
            raise DiagnosticError(problems)
    except DiagnosticError as exc:
        _report_errors(list(exc.diagnostics), output)
        return EXIT_ERROR
    _report_valid(desired, output, notes=unavailable or [])
    return EXIT_OK


def _report_valid(desired: Desired, output: str, *, notes: list[Diagnostic]) -> None:
    if output == "json":
        click.echo(render_errors([], valid=True, resources=len(desired.resources), notes=notes))
        return
    for note in notes:
        click.echo(f"note: {note}; validate goes on without it, plan and apply refuse it", err=True)
    click.echo(summary(desired))


def summary(desired: Desired) -> str:
    """E.g. 'Valid: 7 resources (2 SyncConnector, 3 ErpConnection, 2 QuoteConnection) in 1 file'."""
    counts = Counter(resource.kind for resource in desired.resources)
    kinds = ", ".join(f"{counts[kind]} {kind}" for kind in KINDS if counts[kind])
    total = len(desired.resources)
    files = len(desired.files)
    text = f"Valid: {total} resource{'s' if total != 1 else ''}"
    if kinds:
        text += f" ({kinds})"
    return text + f" in {files} file{'s' if files != 1 else ''}"


def _report_errors(problems: list[Diagnostic], output: str) -> None:
    if output == "json":
        click.echo(render_errors(problems, valid=False, resources=0))
        return
    for problem in problems:
        click.echo(str(problem), err=True)
    files = {p.location.file for p in problems if p.location is not None}
    count = f"{len(problems)} error{'s' if len(problems) != 1 else ''}"
    where = f" in {len(files)} file{'s' if len(files) != 1 else ''}" if files else ""
    click.echo(f"Invalid: {count}{where}", err=True)
