"""`reconcile export`: write manifests for everything a CRM has now, to adopt the tool on a live tenant."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from reconciler.commands._common import choose_target, open_target, reports_errors, target_options
from reconciler.crm.snapshot import snapshot
from reconciler.diagnostics import Diagnostic, DiagnosticError
from reconciler.export.manifests import Export, export_live
from reconciler.export.writer import LAYOUTS, Layout, plan_files, render_documents, stale_manifests, write_files
from reconciler.manifest.models import KINDS
from reconciler.project import load_project

DEFAULT_SCHEMA = "schemas/manifest.schema.json"


@click.command("export")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None, metavar="DIR",
              help="Write manifest files into DIR (created if needed). Default: print one YAML stream to stdout.")
@click.option("--layout", type=click.Choice(LAYOUTS), default="per-kind", show_default=True,
              help="One file per kind, or one file per resource (in a directory per kind).")
@click.option("--schema", "schema", default=DEFAULT_SCHEMA, show_default=True, metavar="PATH|URL",
              help="Manifest JSON Schema for the editor modeline; a path is made relative to each file.")
@target_options
@reports_errors()
def export(
    out: Path | None,
    layout: Layout,
    schema: str,
    target: str | None,
    url: str | None,
    insecure: bool,
    parallelism: int,
) -> None:
    """Write manifests for every connector and connection the CRM has (not deleted).

    The output plans back to "No changes" against the same CRM. Secret values
    (Password-type config fields) are never written: they become ${env:NAME}
    references, and the variables to set are listed at the end. Read-only and
    label fields belong to the connector and are left out; so are the names
    that reconcile.yaml ignores.

    \b
    Examples:
      reconcile export --out manifests/
      reconcile export --out manifests/ --layout per-resource --target production
      reconcile export > tenant.yaml
    """
    selection = choose_target(target, url, insecure=insecure)
    ignore = load_project().ignore_map()

    async def run() -> Export:
        async with open_target(selection, insecure=insecure, parallelism=parallelism) as crm:
            live = await snapshot(crm.client, target_description=crm.identity)
        return export_live(live, ignore=ignore)

    exported = asyncio.run(run())
    if out is None:
        click.echo(render_documents(exported.resources, schema=schema, directory=Path.cwd()), nl=False)
        _report(exported, stream_is_yaml=True)
        return
    planned = plan_files(exported, layout)
    stale = stale_manifests(out, planned)
    if stale:
        shown = ", ".join(str(p) for p in stale[:5]) + (" …" if len(stale) > 5 else "")
        raise DiagnosticError([
            Diagnostic(
                f"{out} already holds manifests this export would not rewrite: {shown}",
                hint="export into a new or empty directory, or remove them (they would be planned together "
                     "with the export and could duplicate or soft-delete objects)",
            )
        ])
    written = write_files(out, planned, schema=schema)
    counts = ", ".join(f"{len(exported.of_kind(k))} {k}" for k in KINDS if exported.of_kind(k))
    click.echo(f"Exported {len(exported.resources)} resources ({counts or 'none'}) to {len(written)} file(s) in {out}.")
    for path in written:
        click.echo(f"  {path}")
    _report(exported, stream_is_yaml=False)


def _report(exported: Export, *, stream_is_yaml: bool) -> None:
    # With YAML on stdout, everything else goes to stderr so the stream stays loadable.
    err = stream_is_yaml
    for note in exported.notes:
        click.echo(f"note: {note}", err=True)
    if not exported.secrets:
        return
    click.echo("", err=err)
    click.echo(
        "Set these environment variables (the values are in the CRM; export never writes them) "
        "before plan or apply:",
        err=err,
    )
    width = max(len(s.name) for s in exported.secrets)
    for secret in exported.secrets:
        click.echo(f"  {secret.name.ljust(width)}  {secret.resource}, config {secret.field}", err=err)
    if not stream_is_yaml:
        sys.stdout.flush()
