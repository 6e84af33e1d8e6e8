"""The published schemas: consistent $ids, committed copies current, and the JSON error
document of every command valid against schemas/errors.schema.json."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from conftest import Cli
from reconciler.doctor.render import render_doctor_schema
from reconciler.render.json_errors import render_errors_schema

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"


@pytest.mark.parametrize("path", sorted(SCHEMAS.glob("*.schema.json")), ids=lambda p: p.name)
def test_every_schema_id_follows_one_pattern(path: Path) -> None:
    document = json.loads(path.read_text())
    kind = path.name.removesuffix(".schema.json")
    assert document["$id"] == f"urn:erp-reconciler:schema:{kind}:v1"
    assert document["title"].startswith(f"erp-reconciler {kind}")
    jsonschema.Draft202012Validator.check_schema(document)


def test_committed_errors_schema_is_current() -> None:
    assert (SCHEMAS / "errors.schema.json").read_text() == render_errors_schema(), (
        "schemas/errors.schema.json is stale: run `python -m reconciler.render.json_errors > schemas/errors.schema.json`"
    )


def test_committed_doctor_schema_is_current() -> None:
    assert (SCHEMAS / "doctor.schema.json").read_text() == render_doctor_schema(), (
        "schemas/doctor.schema.json is stale: run `python -m reconciler.doctor.render > schemas/doctor.schema.json`"
    )


def test_doctor_reports_are_valid_against_the_published_schema(embedded_cli: Cli) -> None:
    validator = jsonschema.Draft202012Validator(json.loads((SCHEMAS / "doctor.schema.json").read_text()))
    fresh = json.loads(embedded_cli("doctor", "-o", "json").stdout)
    validator.validate(fresh)
    assert fresh["version"] == 1 and len(fresh["checks"]) == 11
    # A fresh tenant has no ERP connection yet: its sync rows are notes, which the schema allows.
    assert {c["status"] for c in fresh["checks"]} == {"pass", "note"} and fresh["passed"] is True


def test_json_error_documents_are_valid_against_the_published_schema(embedded_cli: Cli, workdir: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    validator = jsonschema.Draft202012Validator(json.loads((SCHEMAS / "errors.schema.json").read_text()))
    manifest = workdir / "examples" / "connections.yaml"
    good = embedded_cli("validate", "-f", "examples/", "-o", "json")
    manifest.write_text(manifest.read_text().replace("${file:secrets/visma-production-api-key.txt}", "${env:UNSET}"))
    noted = embedded_cli("validate", "-f", "examples/", "-o", "json")
    manifest.write_text(manifest.read_text().replace("url:", "uri:", 1))
    invalid = embedded_cli("validate", "-f", "examples/", "-o", "json")
    failed_plan = embedded_cli("plan", "-f", "examples/", "-o", "json")

    async def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr("reconciler.commands.plan.build_plan", explode)
    manifest.write_text(manifest.read_text().replace("uri:", "url:", 1))
    monkeypatch.setenv("UNSET", "set-now")
    internal = embedded_cli("plan", "-f", "examples/", "-o", "json")
    documents = [json.loads(r.stdout) for r in (good, noted, invalid, failed_plan, internal)]
    for document in documents:
        validator.validate(document)
    assert documents[0] == {"valid": True, "resources": 7, "errors": []}
    assert documents[1]["notes"][0]["line"] == 32
    assert documents[2]["valid"] is False and documents[3]["errors"] and "valid" not in documents[3]
    assert "internal error (RuntimeError)" in documents[4]["errors"][0]["message"]
