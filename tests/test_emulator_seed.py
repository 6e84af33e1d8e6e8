"""The seed format, its errors, and the default seed's fit with examples/connections.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from reconciler.emulator.seed import SeedError, load_seed, parse_seed
from test_emulator_support import agent, default_client, ok

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def example_docs() -> list[dict]:
    return [d for d in yaml.safe_load_all((EXAMPLES / "connections.yaml").read_text(encoding="utf-8")) if d]


def wire(value: object) -> str:
    """Config values as the client sends them (Checkbox "1"/"0", dates ISO)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, str) and value.startswith("${file:"):
        return (EXAMPLES / value[len("${file:"):-1]).read_text(encoding="utf-8").strip()
    return str(value)


def test_default_seed_knows_everything_the_examples_use() -> None:
    seed = load_seed(None)
    docs = example_docs()
    urls = {d["metadata"]["name"]: d["spec"]["url"] for d in docs if d["kind"] == "SyncConnector"}
    live_logins = {u.login for u in seed.users if not u.deleted}
    live_groups = {g.name for g in seed.groups if not g.deleted}
    checked = 0
    for doc in docs:
        spec = doc["spec"]
        if doc["kind"] == "SyncConnector":
            assert seed.connector_profile(spec["url"]) is not None
            continue
        if doc["kind"] == "ErpConnection":
            fields = seed.connector_profile(urls[spec["connector"]]).fields  # type: ignore[union-attr]
        else:
            fields = seed.quote_connector(spec["connector"]).fields  # type: ignore[union-attr]
        assert set(spec["config"]) <= {f.key for f in fields}, doc["metadata"]["name"]
        assert set(spec["scope"].get("users", [])) <= live_logins
        assert set(spec["scope"].get("groups", [])) <= live_groups
        checked += 1
    assert checked == 5
    assert not seed.connectors and not seed.erp_connections and not seed.quote_connections


def test_examples_pass_their_connection_tests_on_the_default_seed(tmp_path: Path) -> None:
    client = default_client(tmp_path)
    try:
        ids = {}
        docs = example_docs()
        for doc in docs:
            if doc["kind"] == "SyncConnector":
                saved = ok(agent(client, "ErpSync/SaveErpSyncConnectorEntity", {
                    "ErpConnectorId": 0, "DisplayName": doc["metadata"]["name"], "URL": doc["spec"]["url"]}))
                ids[doc["metadata"]["name"]] = saved["ErpConnectorId"]
        for doc in docs:
            config = {k: wire(v) for k, v in doc["spec"].get("config", {}).items()}
            if doc["kind"] == "ErpConnection":
                body = {"ErpConnectionId": ids[doc["spec"]["connector"]], "ConfigFields": config}
                assert ok(agent(client, "ErpSync/TestConnectionByConfig", body)) is True, doc["metadata"]["name"]
            elif doc["kind"] == "QuoteConnection":
                result = ok(agent(client, "Quote/TestConnection",
                                  {"ConnectorName": doc["spec"]["connector"], "ConnectionData": config}))
                assert result["IsOk"] is True, (doc["metadata"]["name"], result)
    finally:
        client.close()


def test_default_seed_users_groups_and_lists() -> None:
    seed = load_seed(None)
    assert [(u.login, u.full_name, u.deleted) for u in seed.users][-1] == ("FRE", "Frank Eriksen", True)
    assert [g.name for g in seed.groups if not g.deleted] == [
        "Sales Norway", "Sales Sweden", "Finance", "Support", "Management"]
    assert [i.name for i in seed.list_items("vismaenvironments") or []] == ["production", "sandbox"]
    visma = seed.connector_profile("https://connectors.example.com/visma")
    assert visma is not None
    assert {f.key: f.type for f in visma.fields} == {
        "Info": "Label", "CompanyId": "Integer", "ApiKey": "Password", "Environment": "List",
        "SyncInvoices": "Checkbox", "BatchSize": "Integer", "ConnectorVersion": "Text"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("usres: []", "usres: unknown key (did you mean 'users'?)"),
        ("users: [{login: ADM, id: x}]", "users[0].id:"),
        ("- a\n- b", "a seed is a YAML mapping"),
        ("users: [\n  {login: ADM", "s.yaml:"),
        ("users: [{login: A}, {login: A}]", "user login 'A' appears twice"),
        ("connector_profiles: [{url: 'https://x', fields: [{key: K, type: Txt}]}]", "fields[0].type"),
        ("connector_profiles: [{url: 'https://x', fields: [{key: K, type: List, list_name: Nope}]}]",
         "list_name 'Nope' is not under 'lists'"),
        ("connector_profiles: [{url: 'https://x', fields: [{key: Key, type: Text}], test: {rules: "
         "[{field: Kye, matches: x, explanation: e}]}}]", "unknown field 'Kye'"),
        ("connector_profiles: [{url: 'https://x', fields: [{key: Key, type: Text}], test: {rules: "
         "[{field: Key, matches: '(', explanation: e}]}}]", "bad regex"),
        ("quote_connectors: [{name: Q, fields: [{key: Token, type: Password}], test: {rules: "
         "[{field: Token, matches: x, explanation: 'bad {value}'}]}}]", "secrets are never echoed"),
        ("connectors: [{name: A, url: u}]\nerp_connections: [{name: E, connector: B}]", "unknown connector 'B'"),
        ("connectors: [{name: A, url: u}]\nerp_connections: [{name: E, connector: A, config: {CompanyId: 5}}]",
         "erp_connections[0].config.CompanyId"),
        ("connectors: [{name: A, url: u}]\nerp_connections: [{name: E, connector: A, scope: {users: [ADN]}}]\n"
         "users: [{login: ADM}]", "unknown user 'ADN' (did you mean 'ADM'?)"),
        ("quote_connections: [{name: Q, connector: Visma.Quote}]", "is not an installed quote connector"),
        ("faults: {error_rate: 2}", "faults.error_rate"),
    ],
)
def test_seed_errors_say_where_and_what(text: str, expected: str) -> None:
    with pytest.raises(SeedError) as caught:
        parse_seed(text, "s.yaml")
    assert expected in str(caught.value)
    assert str(caught.value).startswith("s.yaml")


def test_seed_fills_in_ids_and_keeps_explicit_ones() -> None:
    seed = parse_seed("users: [{login: A, id: 1}, {login: B}, {login: C, id: 2}]", "s.yaml")
    assert [(u.login, u.id) for u in seed.users] == [("A", 1), ("B", 3), ("C", 2)]


def test_missing_seed_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SeedError, match="cannot read seed file"):
        load_seed(tmp_path / "nope.yaml")
