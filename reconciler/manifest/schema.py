"""The JSON Schema of the manifest language, generated from the pydantic models.

`schemas/manifest.schema.json` is this output, committed for editors (the
yaml-language-server modeline in examples/ points at it); regenerate it with
`reconcile schema > schemas/manifest.schema.json`.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import TypeAdapter

from reconciler.manifest.models import API_VERSION, Manifest

SCHEMA_ID = "urn:erp-reconciler:schema:manifest:v1"  # the plan and errors schemas: …:plan:v1, …:errors:v1


def manifest_json_schema() -> dict[str, Any]:
    """One manifest document: a SyncConnector, ErpConnection or QuoteConnection."""
    generated = TypeAdapter(Manifest).json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": f"erp-reconciler manifest ({API_VERSION})",
        "description": (
            "One resource per YAML document. Config string values may contain "
            "${env:NAME} and ${file:path} secret references and ${var:NAME} target "
            "variables (reconcile.yaml); $${ is a literal ${. "
            "Scope: 'everyone: true', or 'users' and/or 'groups' lists (not both)."
        ),
        **generated,
    }


def manifest_json_schema_text() -> str:
    """Exactly the text of schemas/manifest.schema.json."""
    return json.dumps(manifest_json_schema(), indent=2, ensure_ascii=False) + "\n"
