"""Export internals: variable names, YAML quoting, and secrets that are never revealed."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.crm.live import FieldMeta, Group, Live, LiveConnector, LiveErpConnection, User
from reconciler.export.env_names import EnvNames, name_part
from reconciler.export.manifests import export_live
from reconciler.export.writer import plan_files, render_documents, slug
from reconciler.manifest.references import resolve
from reconciler.manifest.yaml_source import parse_documents
from reconciler.secrets import Sensitive

CANARY = "canary-91be-live-secret"


class NeverReveal(Sensitive):
    __slots__ = ()

    def reveal(self) -> str:
        raise AssertionError("export revealed a secret")


@pytest.mark.parametrize(
    "text, expected",
    [("Visma Production", "VISMA_PRODUCTION"), ("ApiKey", "API_KEY"), ("APIKey", "API_KEY"),
     ("Bjørn's ERP (EU)", "BJ_RN_S_ERP_EU"), ("---", ""), ("9 lives", "9_LIVES")],
)
def test_name_parts(text: str, expected: str) -> None:
    assert name_part(text) == expected


def test_names_are_unique_and_valid() -> None:
    names = EnvNames()
    got = [names.allocate("a b", "Key"), names.allocate("A-B", "key"), names.allocate("!!", "?"), names.allocate("a b", "key")]
    assert got == ["RECONCILE_A_B_KEY", "RECONCILE_A_B_KEY_2", "RECONCILE_CONNECTION_FIELD", "RECONCILE_A_B_KEY_3"]


def test_slugs() -> None:
    assert slug("Visma.net") == "visma-net" and slug("ÆØÅ") == "resource"


def _live(config: dict[str, object], fields: tuple[FieldMeta, ...]) -> Live:
    return Live(
        target="t",
        connectors=(LiveConnector(1, "C", "https://c.example.com"), LiveConnector(2, "Gone", "https://g", deleted=True)),
        erp_connections=(
            LiveErpConnection(id=1, connector_id=1, name="E", description="", active=True, guid="g", deleted=False,
                              all_access=False, group_ids=(1, 9), associate_ids=(1, 2), config=config),
            LiveErpConnection(id=2, connector_id=2, name="Orphan", description="", active=True, guid="h",
                              deleted=False, all_access=True),
            LiveErpConnection(id=3, connector_id=1, name="Deleted", description="", active=True, guid="i",
                              deleted=True, all_access=True),
        ),
        erp_fields={1: fields},
        users=(User(1, "ADM"), User(2, "OLD", deleted=True)),
        groups=(Group(1, "Finance"),),
    )


def test_export_never_reveals_a_secret_and_keeps_tricky_strings() -> None:
    fields = (
        FieldMeta("Password", "Password", rank=2),
        FieldMeta("Empty", "Password", rank=3),
        FieldMeta("Text", "Text", rank=1),
        FieldMeta("Version", "Text", access="ReadOnly"),
        FieldMeta("Info", "Label"),
    )
    config = {"Password": NeverReveal(CANARY), "Empty": NeverReveal(""), "Text": "${x} 0o17",
              "Version": "1.0", "Info": "label", "Stale": "x"}
    exported = export_live(_live(config, fields))
    text = render_documents(exported.resources, schema="https://example.com/schema.json", directory=Path("."))
    assert CANARY not in text
    assert [r.ref for r in exported.resources] == ["SyncConnector/C", "ErpConnection/E"]
    erp = exported.resources[1].document["spec"]
    assert erp["scope"] == {"users": ["ADM"], "groups": ["Finance"]}
    assert list(erp["config"]) == ["Text", "Password", "Empty"]  # by rank; read-only, label, unknown left out
    assert erp["config"]["Password"] == "${env:RECONCILE_E_PASSWORD}" and erp["config"]["Empty"] == ""
    assert [s.name for s in exported.secrets] == ["RECONCILE_E_PASSWORD"]
    notes = "\n".join(exported.notes)
    assert "ErpConnection/Orphan: left out: its sync connector (id 2)" in notes
    assert "left out user id 2 (retired)" in notes and "left out group id 9 (unknown)" in notes
    assert "config key 'Stale'" in notes
    assert "Deleted" not in text
    # Read back with the manifest loader's own YAML reader and reference resolver: the same strings.
    document = parse_documents(text, "x.yaml").documents[1].data
    assert resolve(document["spec"]["config"]["Text"], manifest_dir=Path("."), env={}) == "${x} 0o17"


@pytest.mark.parametrize(
    "value",
    ["12345", "0o17", "0x1F", "1e5", "1.0", ".5", "yes", "NO", "on", "y", "true", "null", "~", "", " lead", "trail ",
     "2026-01-01", "2026-01-01 10:00:00", "a: b", "- x", "#c", "'q'", '"d"', "[1]", "{a}", "*x", "&y", "!t", "%p",
     "@a", "`b", "multi\nline", "tab\there", "Ærø ✓", "0123", "+1", "-0", ".inf", ".NaN"],
)
def test_text_values_round_trip_through_the_manifest_reader(value: str) -> None:
    fields = (FieldMeta("Text", "Text"),)
    exported = export_live(_live({"Text": value}, fields))
    text = render_documents(exported.resources, schema="s.json", directory=Path("."))
    document = parse_documents(text, "x.yaml").documents[1].data
    written = document["spec"]["config"]["Text"]
    assert isinstance(written, str)
    assert resolve(written, manifest_dir=Path("."), env={}) == value


def test_files_per_resource_get_unique_names() -> None:
    live = Live(target="t", connectors=(LiveConnector(1, "A b", "u"), LiveConnector(2, "a-B", "u"), LiveConnector(3, "ÆØ", "u")))
    planned = plan_files(export_live(live), "per-resource")
    assert [str(p.path) for p in planned] == [
        "sync-connectors/a-b.yaml", "sync-connectors/a-b-2.yaml", "sync-connectors/resource.yaml"]
