"""Contract: every endpoint answers with the documented keys and JSON types, and the
reference samples are accepted (requests) or matched in shape (responses)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from test_emulator_support import AsgiClient, agent, ok, rich_client, sample, shape

CARRIER = {"TableRight": "null", "FieldProperties": "object"}
CONNECTOR = {"ErpConnectorId": "number", "DisplayName": "string", "URL": "string", "Deleted": "boolean", **CARRIER}
ERP_CONNECTION = {
    "ErpConnectionId": "number", "ErpConnectorId": "number", "DisplayName": "string",
    "DisplayDescription": "string", "Active": "boolean", "ConnectionId": "string",
    "MostRecentTimestamp": "string", "ConfigFields": "object", "Deleted": "boolean",
    "AllAccess": "boolean", "UserGroupAccessIds": "array", "AssociateAccessIds": "array", **CARRIER,
}
FIELD_METADATA = {
    "FieldKey": "string", "Rank": "number", "DisplayName": "string", "DisplayDescription": "string",
    "FieldType": "string", "ListName": "string", "DefaultValue": "string", "MaxLength": "number",
    "Access": "string", "ShowInSearch": "boolean", **CARRIER,
}
QUOTE_CONNECTION = {
    "QuoteConnectionId": "number", "ERPName": "string", "DisplayName": "string",
    "DisplayDescription": "string", "Rank": "number", "ConnectorName": "string",
    "ErpConnectionId": "number", "ExtraData": "string", "IsAvailable": "boolean",
    "InitializeResponse": "null", "PriceLists": "array", "AllAccess": "boolean", "Deleted": "boolean",
    "UserGroupAccessIds": "array", "AssociateAccessIds": "array", **CARRIER,
}
PLUGIN_RESPONSE = {
    "IsOk": "boolean", "UserExplanation": "string", "TechExplanation": "string", "ErrorCode": "string",
    "Changes": "null", "Status": "string", **CARRIER,
}
MDO_ITEM = {
    "Id": "number", "Name": "string", "ToolTip": "string", "Deleted": "boolean", "Rank": "number",
    "Type": "string", "ChildItems": "array", "IconHint": "string", "ColorBlock": "number",
    "ExtraInfo": "string", "StyleHint": "string", "FullName": "string", **CARRIER,
}
USER_GROUP = {"Value": "string", "Tooltip": "string", "Id": "number", "Rank": "number", "Deleted": "boolean", **CARRIER}
FIELD_TYPES = {"Checkbox", "Text", "Password", "Integer", "Double", "List", "Date", "Datetime", "Label"}


@pytest.fixture()
def client(tmp_path: Path) -> Iterator[AsgiClient]:
    c = rich_client(tmp_path)
    yield c
    c.close()


# --- ErpSync agent ---------------------------------------------------------------


def test_sync_connector_endpoints(client: AsgiClient) -> None:
    listed = ok(agent(client, "ErpSync/GetAllConnectors"))
    assert all(shape(item) == {"Id": "number", "Name": "string", "ToolTip": "string"} for item in listed)
    assert shape(ok(agent(client, "ErpSync/GetErpSyncConnectorEntity",
                          params={"erpSyncConnectorEntityId": 1}))) == CONNECTOR
    default = ok(agent(client, "ErpSync/CreateDefaultErpSyncConnectorEntity"))
    assert shape(default) == CONNECTOR and default["ErpConnectorId"] == 0
    saved = ok(agent(client, "ErpSync/SaveErpSyncConnectorEntity",
                     {"ErpConnectorId": 0, "DisplayName": "New", "URL": "https://x.example/", "Deleted": False}))
    assert shape(saved) == CONNECTOR
    assert ok(agent(client, "ErpSync/CanDeleteErpSyncConnectorEntity", {"ErpSyncConnectorId": 1})) in (
        "NoError", "ErrorConnectorHasConnections", "ErrorNotFound")
    assert ok(agent(client, "ErpSync/TestConnectorUrl", {"Url": "https://connectors.example.com/visma"})) == "NoError"
    deleted = agent(client, "ErpSync/DeleteErpSyncConnectorEntity",
                    params={"ErpSyncConnectorEntityId": saved["ErpConnectorId"]})
    assert deleted.status_code == 204 and deleted.content == b""


def test_connection_endpoints(client: AsgiClient) -> None:
    connections = ok(agent(client, "ErpSync/GetAllConnections", {"IncludeDeleted": True}))
    assert connections and all(shape(c) == ERP_CONNECTION for c in connections)
    assert all(isinstance(i, int) for c in connections for i in c["UserGroupAccessIds"] + c["AssociateAccessIds"])
    assert shape(ok(agent(client, "ErpSync/GetConnection", {"ErpConnectionId": 1}))) == ERP_CONNECTION
    config = ok(agent(client, "ErpSync/GetErpConnectionConfigFields", {"ErpConnectionId": 1}))
    assert config and all(isinstance(v, str) for v in config.values())
    fields = ok(agent(client, "ErpSync/GetConfigurationFields", {"ErpConnectorId": 1}))
    assert fields and all(shape(f) == FIELD_METADATA for f in fields)
    assert {f["FieldType"] for f in fields} <= FIELD_TYPES
    assert {f["Access"] for f in fields} == {"Normal", "Mandatory", "ReadOnly"}
    assert ok(agent(client, "ErpSync/TestConnectionById", {"ErpConnectionId": 1})) is True
    assert ok(agent(client, "ErpSync/TestConnectionByConfig",
                    {"ErpConnectionId": 1, "ConfigFields": {"ApiKey": "demo-1", "CompanyId": "1"}})) is True
    assert ok(agent(client, "ErpSync/ToggleErpConnectionActive", {"ErpConnectionId": 1})) == []
    saved = ok(agent(client, "ErpSync/SaveConnection", {"Connection": {
        "ErpConnectionId": 0, "ErpConnectorId": 1, "DisplayName": "C", "DisplayDescription": "",
        "Active": False, "ConnectionId": None, "MostRecentTimestamp": None,
        "ConfigFields": {"CompanyId": "1"}, "Deleted": False, "AllAccess": True,
        "UserGroupAccessIds": [], "AssociateAccessIds": []}}))
    assert {k: v for k, v in shape(saved).items() if k != "MostRecentTimestamp"} == {
        k: v for k, v in ERP_CONNECTION.items() if k != "MostRecentTimestamp"}
    deleted = agent(client, "ErpSync/DeleteConnection", {"ErpConnectionId": saved["ErpConnectionId"]})
    assert deleted.status_code == 204 and deleted.content == b""


def test_field_type_spellings_are_the_seeds(client: AsgiClient) -> None:
    # Tripletex's StartDate is deliberately the connector-side "Datetime" (reference 7.7).
    fields = ok(agent(client, "ErpSync/GetConfigurationFields", {"ErpConnectorId": 2}))
    assert {f["FieldKey"]: f["FieldType"] for f in fields}["StartDate"] == "Datetime"
    visma = ok(agent(client, "ErpSync/GetConfigurationFields", {"ErpConnectorId": 1}))
    assert [f["Rank"] for f in visma] == sorted(f["Rank"] for f in visma)
    assert {f["FieldType"] for f in visma} == {"Label", "Integer", "Password", "List", "Checkbox", "Text"}


# --- Quote agent -----------------------------------------------------------------


def test_quote_endpoints(client: AsgiClient) -> None:
    connections = ok(agent(client, "Quote/GetAllInstalledQuoteConnections"))
    assert connections and all(shape(c) == QUOTE_CONNECTION for c in connections)
    assert shape(ok(agent(client, "Quote/GetConnection", {"QuoteConnectionId": 1}))) == QUOTE_CONNECTION
    fresh = ok(agent(client, "Quote/CreateConnectionFromConnectorName", {"ConnectorName": "Visma.Quote"}))
    assert shape(fresh) == QUOTE_CONNECTION and fresh["QuoteConnectionId"] == 0
    saved = ok(agent(client, "Quote/SaveConnection", {"Connection": {**fresh, "DisplayName": "Q"}}))
    assert shape(saved) == QUOTE_CONNECTION and saved["QuoteConnectionId"] > 0
    fields = ok(agent(client, "Quote/GetConfigurationFields", {"ConnectionId": 0, "ConnectorName": "Visma.Quote"}))
    assert isinstance(fields, dict)
    assert all(key == meta["FieldKey"] and shape(meta) == FIELD_METADATA for key, meta in fields.items())
    stored = ok(agent(client, "Quote/SaveConnectionConfigFields",
                      {"QuoteConnectionId": saved["QuoteConnectionId"], "ConnectionConfigFields": {"A": "1"}}))
    assert stored == {"A": "1"}
    assert ok(agent(client, "Quote/GetConnectionConfigFields",
                    {"QuoteConnectionId": saved["QuoteConnectionId"]})) == {"A": "1"}
    tested = ok(agent(client, "Quote/TestConnection",
                      {"ConnectorName": "Visma.Quote", "ConnectionData": {"PriceListCurrency": "NOK"}}))
    assert shape(tested) == PLUGIN_RESPONSE
    for method in ("Quote/DeleteConnection", "Quote/RestoreConnection"):
        response = agent(client, method, {"QuoteConnectionId": saved["QuoteConnectionId"]})
        assert response.status_code == 204 and response.content == b""


# --- lists -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["associate", "quoteconnectors", "erpconnectors", "VismaEnvironments"])
def test_mdo_lists(client: AsgiClient, name: str) -> None:
    items = ok(client.get(f"api/v1/MDOList/{name}", params={"flat": "true"}))
    assert items and all(shape(item) == MDO_ITEM for item in items)


def test_user_group_items(client: AsgiClient) -> None:
    items = ok(client.get("api/v1/List/UserGroup/Items", params={"includeDeleted": "false"}))
    assert items and all(shape(item) == USER_GROUP for item in items)


# --- the reference samples -------------------------------------------------------


def test_sample_save_connection_request_is_accepted(client: AsgiClient) -> None:
    body = sample("v1ErpSyncAgent_SaveConnection.request.json")
    saved = ok(agent(client, "ErpSync/SaveConnection", body))
    sent = body["Connection"]
    assert saved["ErpConnectionId"] == sent["ErpConnectionId"]
    assert saved["ConfigFields"] == sent["ConfigFields"]
    assert saved["UserGroupAccessIds"] == sent["UserGroupAccessIds"]
    assert saved["AssociateAccessIds"] == sent["AssociateAccessIds"]
    assert saved["Deleted"] is True
    # The GUID is the server's, whatever the client sent.
    assert saved["ConnectionId"] != sent["ConnectionId"]


def test_sample_test_connection_by_config_request_is_accepted(client: AsgiClient) -> None:
    body = sample("v1ErpSyncAgent_TestConnectionByConfig.request.json")
    assert ok(agent(client, "ErpSync/TestConnectionByConfig", body)) is False  # id 853 names nothing


@pytest.mark.parametrize(
    ("sample_name", "method", "body"),
    [
        ("v1ErpSyncAgent_GetAllConnections.response.json", "ErpSync/GetAllConnections", {"IncludeDeleted": False}),
        ("v1ErpSyncAgent_GetAllConnectors.response.json", "ErpSync/GetAllConnectors", None),
        ("v1ErpSyncAgent_GetConfigurationFields.response.json", "ErpSync/GetConfigurationFields", {"ErpConnectorId": 1}),
        ("v1QuoteAgent_GetConnection.response.json", "Quote/GetConnection", {"QuoteConnectionId": 1}),
    ],
)
def test_responses_match_sample_shapes(client: AsgiClient, sample_name: str, method: str, body: Any) -> None:
    expected = sample(sample_name)
    actual = ok(agent(client, method, body))
    assert type(actual) is type(expected)  # both arrays, or both objects
    assert shape(actual) == shape(expected)


def test_get_on_an_agent_url_describes_the_call(client: AsgiClient) -> None:
    described = ok(client.get("api/v1/Agents/ErpSync/SaveConnection"))
    assert described["Verb"] == "POST"
    assert described["Arguments"] == [{"Name": "Connection", "Type": "object", "In": "body", "Required": True}]
    # ... and does not invoke it: nothing was created.
    assert len(ok(agent(client, "ErpSync/GetAllConnections", {"IncludeDeleted": True}))) == 5


def test_paths_and_argument_names_ignore_case(client: AsgiClient) -> None:
    got = ok(client.post("api/v1/agents/erpsync/getconnection", json={"erpconnectionid": 1}))
    assert got["ErpConnectionId"] == 1
    got = ok(agent(client, "ErpSync/GetErpSyncConnectorEntity", params={"ERPSYNCCONNECTORENTITYID": "2"}))
    assert got["DisplayName"] == "Tripletex"
