"""`reconcile export`: write manifests for everything a CRM has now, to adopt the tool on a live tenant."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from reconciler.commands._common import choose_target, open_crm, target_options
from reconciler.commands.output_files import check_directory
from reconciler.crm.snapshot import snapshot
from reconciler.crm.sync_snapshot import read_all_sync
from reconciler.diagnostics import Diagnostic, DiagnosticError
from reconciler.export.manifests import Export, export_live
from reconciler.export.writer import LAYOUTS, Layout, plan_files, render_documents, stale_manifests, write_files
from reconciler.manifest.models import KINDS
from reconciler.manifest.schema import manifest_json_schema_text
from reconciler.project import load_project

# Written beside the exported manifests, so that their modeline resolves in the user's repository.
SCHEMA_FILE = "manifest.schema.json"


@click.command("export")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None, metavar="DIR",
              help="Write manifest files into DIR (created if needed). Default: print one YAML stream to stdout.")
@click.option("--layout", type=click.Choice(LAYOUTS), default="per-kind", show_default=True,
              help="One file per kind, or one file per resource (in a directory per kind).")
@click.option("--schema", "schema", default=None, metavar="PATH|URL",
              help="Manifest JSON Schema for the editor modeline; a path is made relative to each file. "
                   f"Default with --out: DIR/{SCHEMA_FILE}, written by export; without --out: no modeline.")
@target_options
def export(
    out: Path | None,
    layout: Layout,
    schema: str | None,
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
    check_directory("--out", out)
    selection = choose_target(target, url, insecure=insecure)
    ignore = load_project().ignore_map()

    async def run() -> Export:
        async with open_crm(selection, insecure=insecure, parallelism=parallelism) as crm:
            live = await snapshot(crm.client, target_description=crm.identity)
            live = await read_all_sync(crm.client, live)
        return export_live(live, ignore=ignore)

    exported = asyncio.run(run())
    if out is None:
        _note_missing_schema(schema)
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
    try:
        if schema is None:
            out.mkdir(parents=True, exist_ok=True)
            schema_file = out / SCHEMA_FILE
            schema_file.write_text(manifest_json_schema_text(), encoding="utf-8")
            schema = str(schema_file)
        _note_missing_schema(schema)
        written = write_files(out, planned, schema=schema)
    except OSError as error:
        raise DiagnosticError([Diagnostic(
            f"--out {out}: cannot write {error.filename or 'a file'}: {error.strerror or type(error).__name__}",
            hint="free some space or choose another directory; export again to rewrite every file",
        )]) from None
    counts = ", ".join(f"{len(exported.of_kind(k))} {k}" for k in KINDS if exported.of_kind(k))
    click.echo(f"Exported {len(exported.resources)} resources ({counts or 'none'}) to {len(written)} file(s) in {out}.")
    for path in written:
        click.echo(f"  {path}")
    _report(exported, stream_is_yaml=False)


def _note_missing_schema(schema: str | None) -> None:
    if schema is not None and "://" not in schema and not Path(schema).is_file():
        click.echo(f"note: --schema {schema} does not exist, so editors will not find it; "
                   f"write it with: reconcile schema > {schema}", err=True)


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
