"""A pydantic model published as a JSON schema file (`schemas/*.schema.json`)."""

from __future__ import annotations

import json

from pydantic import BaseModel


def schema_text(model: type[BaseModel], schema_id: str, title: str) -> str:
    """The schema of `model` with the draft, a stable `$id` (a URN) and a title, as written to schemas/."""
    document = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": schema_id,
        **model.model_json_schema(by_alias=True),
        "title": title,
    }
    return json.dumps(document, indent=2) + "\n"
