"""The generated manifest JSON Schema describes the three kinds and rejects unknown keys."""

from __future__ import annotations

from reconciler.manifest.models import KINDS
from reconciler.manifest.schema import manifest_json_schema


def test_schema_has_identity_and_one_of_the_three_kinds() -> None:
    schema = manifest_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] and schema["title"]
    assert [ref["$ref"] for ref in schema["oneOf"]] == [f"#/$defs/{kind}" for kind in KINDS]
    assert schema["discriminator"]["propertyName"] == "kind"


def test_schema_forbids_unknown_keys_and_knows_the_fields() -> None:
    defs = manifest_json_schema()["$defs"]
    for name in ("ErpConnection", "ErpConnectionSpec", "Scope", "Metadata", "QuoteConnectionSpec"):
        assert defs[name]["additionalProperties"] is False
    assert defs["ErpConnectionSpec"]["required"] == ["connector", "scope"]
    assert set(defs["Scope"]["properties"]) == {"everyone", "users", "groups"}
    assert defs["SyncConnector"]["properties"]["apiVersion"]["const"] == "erp-reconciler/v1"
