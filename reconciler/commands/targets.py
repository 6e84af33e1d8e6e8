"""`reconcile targets`: the targets of reconcile.yaml, for people and as a CI matrix."""

from __future__ import annotations

import json

import click

from reconciler.commands._common import output_option
from reconciler.fleet.listing import matrix, target_rows
from reconciler.fleet.selection import expand_targets
from reconciler.project import load_project


@click.command("targets")
@click.argument("patterns", nargs=-1, metavar="[NAME|GLOB]...")
@output_option("text", "json")
def targets(patterns: tuple[str, ...], output: str) -> int:
    """List the targets of reconcile.yaml: name, URL (without credentials) and the
    environment variables that hold each one's credentials. Never a value.

    With --output json, a matrix for CI: `target` is the list of names (GitHub
    Actions `matrix.target`, GitLab `parallel:matrix`), `include` adds each
    target's url and credential variable names.

    \b
    Examples:
      reconcile targets
      reconcile targets 'customer-*' --output json
      echo "matrix=$(reconcile targets -o json)" >> "$GITHUB_OUTPUT"
    """
    project = load_project()
    rows = target_rows(project, expand_targets(project, patterns, all_targets=not patterns, given_as=""))
    if output == "json":
        click.echo(json.dumps(matrix(rows), separators=(",", ":")))
        return 0
    width = max(len(row["target"]) for row in rows)
    for row in rows:
        needs = ", ".join(row["credentials"]) or "no credentials"
        click.echo(f"{row['target']:<{width}}  {row['url']}  ({needs})")
    return 0
