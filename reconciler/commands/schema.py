"""`reconcile schema`: print the manifest JSON Schema."""

from __future__ import annotations

import click

from reconciler.manifest.schema import manifest_json_schema_text


@click.command("schema")
def schema() -> None:
    """Print the JSON Schema of manifest documents (for editors and CI).

    \b
    Examples:
      reconcile schema > schemas/manifest.schema.json   # regenerate the committed copy
    """
    click.echo(manifest_json_schema_text(), nl=False)
