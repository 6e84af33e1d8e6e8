"""`reconcile validate`: check manifests offline; every problem at once."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence

import click

from reconciler.diagnostics import Diagnostic, DiagnosticError
from reconciler.manifest.loader import load_desired
from reconciler.manifest.models import KINDS, Desired
from reconciler.project import load_project


@click.command("validate")
@click.option(
    "-f",
    "--filename",
    "paths",
    multiple=True,
    required=True,
    metavar="PATH",
    help="Manifest file or directory (*.yaml/*.yml, recursive). Repeatable.",
)
@click.option(
    "--output",
    "-o",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, json for tools.",
)
@click.option(
    "--target", "target", envvar="RECONCILE_TARGET", default=None, metavar="NAME",
    help="Check ${var:…} references against this reconcile.yaml target's vars "
         "[default: defaultTarget, else the vars every target defines].",
)
def validate(paths: Sequence[str], output: str, target: str | None) -> None:
    """Check manifests without contacting the CRM.

    Exit 0 when valid; exit 1 with every error (file:line:col, resource,
    what is wrong, and a hint) when not.

    \b
    Examples:
      reconcile validate -f examples/
      reconcile validate -f manifests/ --target production
      reconcile validate -f manifests/ --output json
    """
    try:
        desired = load_desired(paths, variables=load_project().validation_vars(target))
    except DiagnosticError as exc:
        _report_errors(list(exc.diagnostics), output)
        raise SystemExit(1) from None
    except Exception as exc:  # noqa: BLE001 - the user gets a message, never a traceback
        # Only the type: an unexpected message could carry anything, even a secret.
        problem = Diagnostic(
            f"internal error while validating ({type(exc).__name__}); this is a bug in reconcile",
            hint="please report it with the command you ran",
        )
        _report_errors([problem], output)
        raise SystemExit(1) from None
    _report_valid(desired, output)


def _report_valid(desired: Desired, output: str) -> None:
    if output == "json":
        click.echo(json.dumps({"valid": True, "resources": len(desired.resources), "errors": []}, indent=2))
        return
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
        click.echo(json.dumps({"valid": False, "resources": 0,
                               "errors": [p.to_dict() for p in problems]}, indent=2))
        return
    for problem in problems:
        click.echo(str(problem), err=True)
    files = {p.location.file for p in problems if p.location is not None}
    count = f"{len(problems)} error{'s' if len(problems) != 1 else ''}"
    where = f" in {len(files)} file{'s' if len(files) != 1 else ''}" if files else ""
    click.echo(f"Invalid: {count}{where}", err=True)
