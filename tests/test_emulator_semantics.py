"""Behaviour a client depends on: soft delete, restore, CanDelete, Toggle, tests, 400, 401."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.emulator.app import create_app
from test_emulator_support import AsgiClient, agent, ok, rich_client

NEW_CONNECTION = {
    "ErpConnectionId": 0, "ErpConnectorId": 1, "DisplayName": "New", "DisplayDescription": "d",
    "Active": False, "ConnectionId": None, "ConfigFields": {"CompanyId": "5", "ApiKey": "demo-5"},
    "Deleted": False, "AllAccess": False, "UserGroupAccessIds": [3], "AssociateAccessIds": [1, 2],
}


@pytest.fixture()
def client(tmp_path: Path) -> Iterator[AsgiClient]:
    c = rich_client(tmp_path)
    yield c
    c.close()


def connection(client: AsgiClient, connection_id: int) -> dict:
    return ok(agent(client, "ErpSync/GetConnection", {"ErpConnectionId": connection_id}))


def error_detail(response) -> str:
    assert response.status_code == 400, (response.status_code, response.text)
    body = response.json()
    assert body["Message"] == "The request is invalid."
    return body["MessageDetail"]


# --- ERP connections -------------------------------------------------------------


def test_create_generates_guid_and_ignores_the_clients(client: AsgiClient) -> None:
    saved = ok(agent(client, "ErpSync/SaveConnection", {"Connection": {**NEW_CONNECTION, "ConnectionId": "mine"}}))
    assert saved["ErpConnectionId"] > 0 and saved["ConnectionId"] not in ("mine", "", None)
    assert len(saved["ConnectionId"]) == 36
    # The GUID stays the same on update, even when a client sends another one.
    updated = ok(agent(client, "ErpSync/SaveConnection", {"Connection": {
        **saved, "DisplayName": "Renamed", "ConnectionId": "other"}}))
    assert updated["ConnectionId"] == saved["ConnectionId"] and updated["DisplayName"] == "Renamed"
    assert connection(client, saved["ErpConnectionId"]) == updated


def test_update_gives_fields_that_are_left_out_their_defaults(client: AsgiClient) -> None:
    before = connection(client, 2)
    assert before["ConfigFields"] and before["DisplayName"]
    after = ok(agent(client, "ErpSync/SaveConnection",
                     {"Connection": {"ErpConnectionId": 2, "ErpConnectorId": before["ErpConnectorId"],
                                     "DisplayDescription": "x"}}))
    # Not "keep what was stored": the carrier is the whole entity.
    assert after["DisplayDescription"] == "x" and after["DisplayName"] == "" and after["ConfigFields"] == {}
    assert after["ConnectionId"] == before["ConnectionId"]  # the GUID is the server's


def test_delete_is_soft_and_restore_is_save_with_deleted_false(client: AsgiClient) -> None:
    assert connection(client, 1)["Active"] is True
    assert agent(client, "ErpSync/DeleteConnection", {"ErpConnectionId": 1}).status_code == 204
    deleted = connection(client, 1)
    assert deleted["Deleted"] is True and deleted["Active"] is False  # the row is kept
    visible = ok(agent(client, "ErpSync/GetAllConnections", {"IncludeDeleted": False}))
    assert 1 not in [c["ErpConnectionId"] for c in visible]
    everything = ok(agent(client, "ErpSync/GetAllConnections", {"IncludeDeleted": True}))
    assert 1 in [c["ErpConnectionId"] for c in everything]
    # Restore (reference 7.1): save it back with Deleted false; config and GUID survive.
    restored = ok(agent(client, "ErpSync/SaveConnection", {"Connection": {**deleted, "Deleted": False}}))
    assert restored["Deleted"] is False and restored["ConnectionId"] == deleted["ConnectionId"]
    assert restored["ConfigFields"] == deleted["ConfigFields"]
    assert 1 in [c["ErpConnectionId"] for c in ok(agent(client, "ErpSync/GetAllConnections", {}))]


def test_get_all_connections_without_config_fields_knob(tmp_path: Path) -> None:
    c = rich_client(tmp_path, list_config_fields=False)
    try:
        listed = ok(agent(c, "ErpSync/GetAllConnections", {"IncludeDeleted": True}))
        assert listed and all(item["ConfigFields"] == {} for item in listed)
        assert connection(c, 1)["ConfigFields"]["CompanyId"] == "12345"  # GetConnection still has them
        assert ok(c.put("_emulator/options", json={"list_config_fields": True}))["list_config_fields"] is True
        assert ok(agent(c, "ErpSync/GetAllConnections", {}))[0]["ConfigFields"] is not None
    finally:
        c.close()


def test_toggle_activation_needs_a_passing_test(client: AsgiClient) -> None:
    reasons = ok(agent(client, "ErpSync/ToggleErpConnectionActive", {"ErpConnectionId": 2}))
    assert reasons == ["The connection test failed: Visma.net rejected the API key"]
    assert connection(client, 2)["Active"] is False
    # Offline connector: every test fails.
    reasons = ok(agent(client, "ErpSync/ToggleErpConnectionActive", {"ErpConnectionId": 4}))
    assert len(reasons) == 1 and "did not answer" in reasons[0]
    # Fix the key, then activation works; deactivation always works.
    fixed = {**connection(client, 2), "ConfigFields": {"CompanyId": "1", "ApiKey": "demo-fixed"}}
    ok(agent(client, "ErpSync/SaveConnection", {"Connection": fixed}))
    assert ok(agent(client, "ErpSync/ToggleErpConnectionActive", {"ErpConnectionId": 2})) == []
    assert connection(client, 2)["Active"] is True
    assert ok(agent(client, "ErpSync/ToggleErpConnectionActive", {"ErpConnectionId": 2})) == []
    assert connection(client, 2)["Active"] is False


def test_toggle_reasons_for_deleted_missing_and_unknown(client: AsgiClient) -> None:
    reasons = ok(agent(client, "ErpSync/ToggleErpConnectionActive", {"ErpConnectionId": 3}))
    assert reasons and "deleted" in reasons[0]
    assert connection(client, 3)["Active"] is False
    saved = ok(agent(client, "ErpSync/SaveConnection", {"Connection": {**NEW_CONNECTION, "ConfigFields": {}}}))
    reasons = ok(agent(client, "ErpSync/ToggleErpConnectionActive", {"ErpConnectionId": saved["ErpConnectionId"]}))
    assert "The mandatory field CompanyId has no value" in reasons
    assert "The mandatory field ApiKey has no value" in reasons
    # An unknown id is a failed agent call: 200 with null (docs/api/webapi/agents/index.md).
    unknown = agent(client, "ErpSync/ToggleErpConnectionActive", {"ErpConnectionId": 999})
    assert unknown.status_code == 200 and unknown.json() is None


def test_test_connection_by_config_reads_a_connector_id(client: AsgiClient) -> None:
    good = {"ApiKey": "demo-a", "CompanyId": "42"}
    tokens = {"ConsumerToken": "demo-c", "EmployeeToken": "demo-e"}
    # ErpConnectionId is the connector's id: 1 = Visma.net, 2 = Tripletex.
    assert ok(agent(client, "ErpSync/TestConnectionByConfig", {"ErpConnectionId": 1, "ConfigFields": good})) is True
    assert ok(agent(client, "ErpSync/TestConnectionByConfig",
                    {"ErpConnectionId": 1, "ConfigFields": {**good, "ApiKey": "bad"}})) is False
    assert ok(agent(client, "ErpSync/TestConnectionByConfig", {"ErpConnectionId": 2, "ConfigFields": tokens})) is True
    # Connection 816 uses connector 411, but 816 is no connector: a connection id fails.
    assert ok(agent(client, "ErpSync/TestConnectionByConfig", {"ErpConnectionId": 816, "ConfigFields": good})) is False
    assert ok(agent(client, "ErpSync/TestConnectionByConfig", {"ErpConnectionId": 411, "ConfigFields": good})) is True
    # Unknown keys are ignored: an ErpConnectorId does not pick the connector.
    assert ok(agent(client, "ErpSync/TestConnectionByConfig",
                    {"ErpConnectionId": 816, "ErpConnectorId": 411, "ConfigFields": good})) is False
    assert ok(agent(client, "ErpSync/TestConnectionByConfig",
                    {"ErpConnectionId": 1, "ErpConnectorId": 2, "ConfigFields": good})) is True
    assert ok(agent(client, "ErpSync/TestConnectionByConfig", {"ErpConnectionId": 9999, "ConfigFields": good})) is False


def test_update_connection_fields_asks_the_connector(client: AsgiClient) -> None:
    assert ok(agent(client, "ErpSync/UpdateConnectionFields", {"ErpConnectionId": 1})) is True
    assert ok(agent(client, "ErpSync/UpdateConnectionFields", {"ErpConnectionId": 4})) is False  # offline connector
    assert ok(agent(client, "ErpSync/UpdateConnectionFields", {"ErpConnectionId": 999})) is None  # unknown id


def test_test_connection_by_id_uses_stored_config(client: AsgiClient) -> None:
    assert ok(agent(client, "ErpSync/TestConnectionById", {"ErpConnectionId": 1})) is True
    assert ok(agent(client, "ErpSync/TestConnectionById", {"ErpConnectionId": 2})) is False
    assert ok(agent(client, "ErpSync/TestConnectionById", {"ErpConnectionId": 999})) is False


def test_not_found_is_null_with_200(client: AsgiClient) -> None:
    for method, body in [
        ("ErpSync/GetConnection", {"ErpConnectionId": 999}),
        ("ErpSync/GetErpConnectionConfigFields", {"ErpConnectionId": 999}),
        ("ErpSync/GetConfigurationFields", {"ErpConnectorId": 999}),
        ("Quote/GetConnection", {"QuoteConnectionId": 999}),
        ("Quote/GetConnectionConfigFields", {"QuoteConnectionId": 999}),
        ("Quote/CreateConnectionFromConnectorName", {"ConnectorName": "Nope"}),
        ("Quote/GetConfigurationFields", {"ConnectorName": "Nope"}),
    ]:
        response = agent(client, method, body)
        assert response.status_code == 200 and response.json() is None, method
    response = agent(client, "ErpSync/GetErpSyncConnectorEntity", params={"erpSyncConnectorEntityId": 999})
    assert response.status_code == 200 and response.json() is None


def test_config_values_are_stored_as_given(client: AsgiClient) -> None:
    config = {"CompanyId": "0012", "ApiKey": "demo-x", "Unknown": "kept", "Empty": ""}
    saved = ok(agent(client, "ErpSync/SaveConnection", {"Connection": {**NEW_CONNECTION, "ConfigFields": config}}))
    assert ok(agent(client, "ErpSync/GetErpConnectionConfigFields",
                    {"ErpConnectionId": saved["ErpConnectionId"]})) == config


# --- sync connectors -------------------------------------------------------------


def test_can_delete_and_delete_connector(client: AsgiClient) -> None:
    def can_delete(connector_id: int) -> str:
        return ok(agent(client, "ErpSync/CanDeleteErpSyncConnectorEntity", {"ErpSyncConnectorId": connector_id}))

    def delete(connector_id: int):
        return agent(client, "ErpSync/DeleteErpSyncConnectorEntity", params={"ErpSyncConnectorEntityId": connector_id})

    assert can_delete(1) == "ErrorConnectorHasConnections"
    assert "still has" in error_detail(delete(1))
    assert can_delete(999) == "ErrorNotFound"
    # Tripletex (2) has no connections at all.
    assert can_delete(2) == "NoError"
    assert delete(2).status_code == 204
    entity = ok(agent(client, "ErpSync/GetErpSyncConnectorEntity", params={"erpSyncConnectorEntityId": 2}))
    assert entity["Deleted"] is True  # soft delete
    assert 2 not in [c["Id"] for c in ok(agent(client, "ErpSync/GetAllConnectors"))]
    # Deleted connectors are not in the MDO list; the archive has them when asked.
    assert 2 not in [i["Id"] for i in ok(client.get("api/v1/MDOList/erpconnectors"))]
    rows = ok(client.get("api/v1/archive/ErpConnector", params={"$select": "name,url"}))["value"]
    assert 2 not in [r["PrimaryKey"] for r in rows]
    rows = ok(client.get("api/v1/archive/ErpConnector",
                         params={"$select": "name,url", "$entities": "erpConnector,deleted"}))["value"]
    assert {"PrimaryKey": 2, "EntityName": "deleted", "url": "https://connectors.example.com/tripletex"}.items() <= next(
        r for r in rows if r["PrimaryKey"] == 2).items()
    # Restore by saving it with Deleted false.
    restored = ok(agent(client, "ErpSync/SaveErpSyncConnectorEntity", {**entity, "Deleted": False}))
    assert restored["Deleted"] is False
    assert 2 in [c["Id"] for c in ok(agent(client, "ErpSync/GetAllConnectors"))]


def test_only_live_connections_block_a_connector_delete(client: AsgiClient) -> None:
    # Offline (3) has one connection (4); once it is deleted the connector can go.
    assert agent(client, "ErpSync/DeleteConnection", {"ErpConnectionId": 4}).status_code == 204
    assert ok(agent(client, "ErpSync/CanDeleteErpSyncConnectorEntity", {"ErpSyncConnectorId": 3})) == "NoError"
    assert agent(client, "ErpSync/DeleteErpSyncConnectorEntity", params={"ErpSyncConnectorEntityId": 3}).status_code == 204


def test_save_connector_with_deleted_true_follows_the_delete_rule(client: AsgiClient) -> None:
    entity = ok(agent(client, "ErpSync/GetErpSyncConnectorEntity", params={"erpSyncConnectorEntityId": 1}))
    assert "still has" in error_detail(agent(client, "ErpSync/SaveErpSyncConnectorEntity", {**entity, "Deleted": True}))


def test_test_connector_url(client: AsgiClient) -> None:
    def test(url: str) -> str:
        return ok(agent(client, "ErpSync/TestConnectorUrl", {"Url": url}))

    assert test("https://connectors.example.com/visma/") == "NoError"  # trailing slash is the same URL
    assert test("https://connectors.example.com/offline") == "ErrorNotFound"
    assert test("https://nowhere.example.com/") == "ErrorNotFound"


def test_connector_with_unknown_url_has_no_fields_and_fails_tests(client: AsgiClient) -> None:
    saved = ok(agent(client, "ErpSync/SaveErpSyncConnectorEntity",
                     {"ErpConnectorId": 0, "DisplayName": "Mystery", "URL": "https://nowhere.example.com/"}))
    assert ok(agent(client, "ErpSync/GetConfigurationFields", {"ErpConnectorId": saved["ErpConnectorId"]})) == []
    assert ok(agent(client, "ErpSync/TestConnectionByConfig",
                    {"ErpConnectionId": saved["ErpConnectorId"], "ConfigFields": {}})) is False


# --- Quote agent -----------------------------------------------------------------


def test_quote_lifecycle(client: AsgiClient) -> None:
    fresh = ok(agent(client, "Quote/CreateConnectionFromConnectorName", {"ConnectorName": "Tripletex.Quote"}))
    assert fresh["ERPName"] == "Tripletex"
    # CreateConnectionFromConnectorName does not persist anything.
    installed = len(ok(agent(client, "Quote/GetAllInstalledQuoteConnections")))
    saved = ok(agent(client, "Quote/SaveConnection", {"Connection": {
        **fresh, "DisplayName": "Tripletex Quotes", "ErpConnectionId": 1, "AllAccess": False,
        "UserGroupAccessIds": [1, 2]}}))
    qid = saved["QuoteConnectionId"]
    ok(agent(client, "Quote/SaveConnectionConfigFields",
             {"QuoteConnectionId": qid, "ConnectionConfigFields": {"Currency": "NOK", "ApiToken": "demo-t"}}))
    assert agent(client, "Quote/DeleteConnection", {"QuoteConnectionId": qid}).status_code == 204
    assert len(ok(agent(client, "Quote/GetAllInstalledQuoteConnections"))) == installed  # not the deleted one
    rows = ok(client.get("api/v1/archive/QuoteConnection",
                         params={"$select": "displayName", "$entities": "quoteConnection,deleted"}))["value"]
    assert {"PrimaryKey": qid, "EntityName": "deleted", "displayName": "Tripletex Quotes"} in rows
    assert agent(client, "Quote/RestoreConnection", {"QuoteConnectionId": qid}).status_code == 204
    restored = ok(agent(client, "Quote/GetConnection", {"QuoteConnectionId": qid}))
    assert restored == {**saved, "Deleted": False}
    assert ok(agent(client, "Quote/GetConnectionConfigFields", {"QuoteConnectionId": qid})) == {
        "Currency": "NOK", "ApiToken": "demo-t"}
    fields = ok(agent(client, "Quote/GetConfigurationFields", {"ConnectionId": qid, "ConnectorName": "ignored"}))
    assert list(fields) == ["Currency", "ApiToken"]


def test_quote_tests_explain_without_echoing_secrets(client: AsgiClient) -> None:
    canary = "CANARY-secret-token-1234"
    result = ok(agent(client, "Quote/TestConnection",
                      {"ConnectorName": "Tripletex.Quote", "ConnectionData": {"Currency": "NOK", "ApiToken": canary}}))
    assert result["IsOk"] is False and result["Status"] == "Error"
    assert result["UserExplanation"] == "Tripletex rejected the API token"
    assert result["TechExplanation"] == "401 from /v2/token"
    assert canary not in str(result)
    good = ok(agent(client, "Quote/TestConnection",
                    {"ConnectorName": "Tripletex.Quote", "ConnectionData": {"ApiToken": "demo-1"}}))
    assert good["IsOk"] is True and good["Status"] == "Ok"
    currency = ok(agent(client, "Quote/TestConnection",
                        {"ConnectorName": "Visma.Quote", "ConnectionData": {"PriceListCurrency": "Kroner"}}))
    assert currency["IsOk"] is False and currency["UserExplanation"].startswith("Unknown currency 'Kroner'")
    excel = ok(agent(client, "Quote/TestConnection", {"ConnectorName": "SuperOffice.Excel"}))
    assert excel["IsOk"] is True
    unknown = ok(agent(client, "Quote/TestConnection", {"ConnectorName": "Nope", "ConnectionData": {}}))
    assert unknown["IsOk"] is False and unknown["ErrorCode"] == "UnknownConnector"


def test_quote_save_refuses_unknown_connector_and_erp_connection(client: AsgiClient) -> None:
    detail = error_detail(agent(client, "Quote/SaveConnection", {"Connection": {
        "QuoteConnectionId": 0, "ConnectorName": "Visma.Qoute", "DisplayName": "x"}}))
    assert "not an installed quote connector" in detail and "Visma.Quote" in detail
    detail = error_detail(agent(client, "Quote/SaveConnection", {"Connection": {
        "QuoteConnectionId": 0, "ConnectorName": "Visma.Quote", "ErpConnectionId": 999}}))
    assert "no ERP connection with id 999" in detail


# --- lists -----------------------------------------------------------------------


def test_user_groups_and_associates(client: AsgiClient) -> None:
    groups = ok(client.get("api/v1/List/UserGroup/Items"))
    assert "Old Projects" not in [g["Value"] for g in groups]
    groups = ok(client.get("api/v1/List/UserGroup/Items", params={"includeDeleted": "true"}))
    assert {"Value": "Old Projects", "Deleted": True}.items() <= next(
        g for g in groups if g["Value"] == "Old Projects").items()
    # docs/en/api/mdo-providers/reference/associate.md: Name is the display name; no retired users.
    users = ok(client.get("api/v1/MDOList/associate", params={"flat": "true"}))
    assert "Bjørn Klev" in [u["Name"] for u in users]
    assert "Frank Eriksen" not in [u["Name"] for u in users] and "BKL" not in [u["Name"] for u in users]
    ids = [u["Id"] for u in users]
    # The logins: GetAssociateList (a JSON array of ids), retired ones included by id.
    listed = ok(client.post("api/v1/Agents/Associate/GetAssociateList", json=[ids[0], 999]))
    assert [a["Name"] for a in listed] == ["ADM"] and listed[0]["Deleted"] is False
    assert "must be a JSON array of ids" in error_detail(client.post("api/v1/Agents/Associate/GetAssociateList",
                                                                     json={"Ids": [1]}))
    # ... or archive AllUsers: retired users (entity "expired") only when asked for.
    def logins(entities: str | None) -> dict[str, str]:
        params = {"$select": "associateDbId,assocName"} | ({"$entities": entities} if entities else {})
        return {r["assocName"]: r["EntityName"] for r in ok(client.get("api/v1/archive/AllUsers", params=params))["value"]}
    assert "FRE" not in logins(None) and logins(None)["BKL"] == "all"
    assert logins("all,expired")["FRE"] == "expired"
    bad = client.get("api/v1/archive/AllUsers", params={"$select": "login"})
    assert "has no column 'login'" in error_detail(bad)


def test_mdo_lists_for_quote_connectors_and_list_fields(client: AsgiClient) -> None:
    names = [i["Name"] for i in ok(client.get("api/v1/MDOList/quoteconnectors"))]
    assert names == ["Visma.Quote", "Tripletex.Quote", "SuperOffice.Excel"]
    env = ok(client.get("api/v1/MDOList/VismaEnvironments"))
    assert [i["Name"] for i in env] == ["production", "sandbox"]
    assert "Unknown MDO list 'nope'" in error_detail(client.get("api/v1/MDOList/nope"))


# --- 400 -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "body", "params"),
    [
        ("ErpSync/SaveConnection", {"Connection": {**NEW_CONNECTION, "ErpConnectionId": 999}}, None),
        ("ErpSync/DeleteConnection", {"ErpConnectionId": 999}, None),
        ("ErpSync/ToggleErpConnectionActive", {"ErpConnectionId": 999}, None),
        ("ErpSync/DeleteErpSyncConnectorEntity", None, {"ErpSyncConnectorEntityId": 999}),
        ("ErpSync/SaveErpSyncConnectorEntity", {"ErpConnectorId": 999, "DisplayName": "x", "URL": "https://x"}, None),
        ("Quote/SaveConnection", {"Connection": {"QuoteConnectionId": 999, "ConnectorName": "Visma.Quote"}}, None),
        ("Quote/DeleteConnection", {"QuoteConnectionId": 999}, None),
        ("Quote/RestoreConnection", {"QuoteConnectionId": 999}, None),
        ("Quote/SaveConnectionConfigFields", {"QuoteConnectionId": 999, "ConnectionConfigFields": {}}, None),
    ],
)
def test_agent_calls_on_unknown_ids_answer_200_null(
    client: AsgiClient, method: str, body: dict | None, params: dict | None
) -> None:
    # docs/api/webapi/agents/index.md: a failed agent call is 200 with a null body.
    response = agent(client, method, body, params=params)
    assert (response.status_code, response.json()) == (200, None)


@pytest.mark.parametrize(
    ("method", "body", "expected"),
    [
        ("ErpSync/GetConnection", {"ErpConnectionId": "1"}, "'ErpConnectionId' must be a 32-bit integer"),
        ("ErpSync/GetConnection", {"ErpConnectionId": True}, "must be a 32-bit integer"),
        ("ErpSync/GetConnection", {}, "'ErpConnectionId' (int) is missing"),
        ("ErpSync/GetAllConnections", {"IncludeDeleted": "yes"}, "'IncludeDeleted' must be true or false"),
        ("ErpSync/SaveConnection", {"Connection": [1]}, "'Connection' must be an object"),
        ("ErpSync/SaveConnection", {"Connection": {**NEW_CONNECTION, "ConfigFields": {"CompanyId": 5}}},
         "the value of 'CompanyId' must be a JSON string"),
        ("ErpSync/SaveConnection", {"Connection": {**NEW_CONNECTION, "Active": "true"}}, "Connection.Active"),
        ("ErpSync/SaveConnection", {"Connection": {**NEW_CONNECTION, "UserGroupAccessIds": ["1"]}},
         "an array of integers"),
        ("ErpSync/SaveConnection", {"Connection": {**NEW_CONNECTION, "ErpConnectorId": 999}},
         "no sync connector with id 999"),
        ("ErpSync/SaveConnection", {"Connection": {**NEW_CONNECTION, "AssociateAccessIds": [12345]}},
         "no associate with id 12345"),
        ("ErpSync/SaveConnection", {"Connection": {**NEW_CONNECTION, "UserGroupAccessIds": [12345]}},
         "no user group with id 12345"),
        ("ErpSync/TestConnectionByConfig", {"ErpConnectionId": 1}, "'ConfigFields' (dict) is missing"),
        ("ErpSync/SaveErpSyncConnectorEntity", {"ErpConnectorId": 0, "DisplayName": "x"}, "URL is required"),
        ("ErpSync/SaveErpSyncConnectorEntity", {"ErpConnectorId": "0"}, "ErpConnectorId"),
        ("Quote/SaveConnectionConfigFields", {"QuoteConnectionId": 1, "ConnectionConfigFields": {"A": None}},
         "the value of 'A' must be a JSON string"),
        ("Quote/GetConfigurationFields", {}, "Give ConnectionId"),
    ],
)
def test_bad_arguments_are_400(client: AsgiClient, method: str, body: dict, expected: str) -> None:
    assert expected in error_detail(agent(client, method, body))


def test_malformed_bodies_are_400(client: AsgiClient) -> None:
    url = "api/v1/Agents/ErpSync/GetConnection"
    assert "not valid JSON" in error_detail(client.post(url, content=b"{nope", headers={"Content-Type": "application/json"}))
    assert "must be a JSON object" in error_detail(client.post(url, json=[1, 2]))
    missing = agent(client, "ErpSync/DeleteErpSyncConnectorEntity")
    assert "'ErpSyncConnectorEntityId' (int) is missing from the query string" in error_detail(missing)
    bad_query = agent(client, "ErpSync/GetErpSyncConnectorEntity", params={"erpSyncConnectorEntityId": "x"})
    assert "not valid for erpSyncConnectorEntityId" in error_detail(bad_query)


def test_unknown_paths_and_verbs(client: AsgiClient) -> None:
    assert agent(client, "ErpSync/NoSuchMethod").status_code == 404
    assert client.get("api/v1/Nothing/Here").status_code == 404
    assert client.put("api/v1/Agents/ErpSync/GetConnection", json={}).status_code == 405


# --- 401 -------------------------------------------------------------------------


def test_credentials(tmp_path: Path) -> None:
    app = create_app(tmp_path / "state.sqlite")
    c = AsgiClient(app)
    url = "api/v1/Agents/ErpSync/GetAllConnectors"
    basic = base64.b64encode(b"ADM:demo-password").decode()
    wrong_basic = base64.b64encode(b"ADM:wrong").decode()
    try:
        refused = [
            {},
            {"Authorization": "Bearer wrong-token"},
            {"Authorization": "Bearer"},
            {"Authorization": "SOTicket 7T:demo-ticket"},  # Online: SO-AppToken is required
            {"Authorization": "SOTicket 7T:demo-ticket", "SO-AppToken": "wrong"},
            {"Authorization": f"Basic {wrong_basic}"},
            {"Authorization": "Basic !!!notbase64"},
            {"Authorization": "Negotiate abc"},
        ]
        for headers in refused:
            response = c.post(url, headers=headers)
            assert response.status_code == 401, headers
            assert response.json()["Message"] == "Authorization has been denied for this request."
        accepted = [
            {"Authorization": "Bearer demo-token"},
            {"Authorization": "bearer demo-token"},
            {"Authorization": "SOTicket 7T:demo-ticket", "SO-AppToken": "demo-app-token"},
            {"Authorization": "SoTicket 7T:demo-ticket", "SO-AppToken": "demo-app-token"},
            {"Authorization": f"Basic {basic}"},
        ]
        for headers in accepted:
            assert c.post(url, headers=headers).status_code == 200, headers
        # Lists need credentials too; the /_emulator/ controls do not.
        assert c.get("api/v1/MDOList/associate").status_code == 401
        assert c.get("_emulator/requests").status_code == 200
    finally:
        c.close()


def test_credentials_option_replaces_the_seeds(tmp_path: Path) -> None:
    from reconciler.emulator.auth import Credentials

    creds = Credentials(bearer_tokens=("other",), tickets=(("7T:onsite", None),))
    c = AsgiClient(create_app(tmp_path / "state.sqlite", credentials=creds))
    try:
        url = "api/v1/Agents/ErpSync/GetAllConnectors"
        assert c.post(url, headers={"Authorization": "Bearer demo-token"}).status_code == 401
        assert c.post(url, headers={"Authorization": "Bearer other"}).status_code == 200
        # A ticket without an app token in the credentials is onsite-style: no SO-AppToken needed.
        assert c.post(url, headers={"Authorization": "SOTicket 7T:onsite"}).status_code == 200
    finally:
        c.close()
