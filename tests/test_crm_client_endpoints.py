"""Typed endpoint methods: documented bodies in, live dataclasses out, and back."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from _crm_fake import BASE, FakeTenant, erp_carrier, meta, quote_carrier, run, small_tenant
from reconciler.crm import TestOutcome
from reconciler.crm.errors import CrmError, CrmProtocolError, CrmServerError
from reconciler.crm.live import FieldMeta, LiveErpConnection, LiveQuoteConnection
from reconciler.crm.wire import field_metas, parse_test_outcome
from reconciler.secrets import Sensitive

SAMPLES = Path(__file__).parent / "data" / "crm_samples"
CANARY = "canary-e2b8f1-do-not-print"


def sample(name: str):
    return json.loads((SAMPLES / name).read_text())


def call(tenant: FakeTenant, method: str, *args, **kwargs):
    async def go():
        async with tenant.client() as client:
            return await getattr(client, method)(*args, **kwargs)

    return run(go())


def sample_tenant(name: str, endpoint: str) -> FakeTenant:
    tenant = small_tenant()
    tenant.overrides[endpoint] = lambda r: httpx.Response(200, json=sample(name))
    return tenant


# --- the documented samples ------------------------------------------------------------


def test_sample_get_all_connections_parses():
    tenant = sample_tenant("v1ErpSyncAgent_GetAllConnections.response.json", "ErpSync/GetAllConnections")
    # Documented "without config field data": the values are read per connection, whatever the list carries.
    tenant.erp_config[100] = {"TenantId": "a1b2c3d4-e5f6-g7h8-i9j0-k1l2m3n4o5p6", "Environment": "crm.dynamics.com"}
    (conn,) = call(tenant, "get_all_connections")
    assert conn == LiveErpConnection(
        id=100, connector_id=621, name="Microsoft Dynamics 365 Sales",
        description="Integration with Dynamics 365 for customer and sales data synchronization",
        active=True, guid="D365-SALES-PROD", deleted=False, all_access=False,
        group_ids=(623, 726), associate_ids=(74, 163),
        # connector 621 is unknown to this tenant (no metadata): every value is protected
        config={"TenantId": Sensitive("a1b2c3d4-e5f6-g7h8-i9j0-k1l2m3n4o5p6"),
                "Environment": Sensitive("crm.dynamics.com")},
    )
    assert conn.most_recent_timestamp == "2024-11-27T09:15:00Z"
    assert tenant.calls == ["ErpSync/GetAllConnections", "ErpSync/GetErpConnectionConfigFields",
                            "ErpSync/GetConfigurationFields"]


def test_sample_configuration_fields_parse():
    tenant = sample_tenant("v1ErpSyncAgent_GetConfigurationFields.response.json", "ErpSync/GetConfigurationFields")
    assert call(tenant, "get_erp_config_fields", 294) == (
        FieldMeta(key="erp_customer_id", field_type="Text", access="Mandatory",
                  display_name="ERP Customer ID",
                  description="Unique customer identifier in the ERP system",
                  rank=1, list_name="", default="", max_length=50),
    )


def test_sample_quote_connection_parses():
    tenant = sample_tenant("v1QuoteAgent_GetConnection.response.json", "Quote/GetConnection")
    tenant.quote_config[603] = {"Currency": "USD"}
    conn = call(tenant, "get_quote_connection", 603)
    assert conn == LiveQuoteConnection(
        id=603, name="SAP B1 Integration",
        description="Integration with SAP Business One ERP system for order processing",
        connector_name="SAP Business One Connector", erp_connection_id=240, deleted=False,
        all_access=True, group_ids=(319, 901), associate_ids=(415, 995),
        config={"Currency": Sensitive("USD")}, erp_name="SAP Business One", rank=11,
    )
    assert conn.extra_data == "Connection configuration data"


def test_save_connection_body_has_the_documented_shape():
    expected = sample("v1ErpSyncAgent_SaveConnection.request.json")
    tenant = small_tenant()
    conn = LiveErpConnection(
        id=816, connector_id=1, name="Emard Group", description="d", active=True, guid="a",
        deleted=True, all_access=False, group_ids=(185, 350), associate_ids=(463, 920),
        config={"CompanyId": "1"}, most_recent_timestamp="rerum",
    )
    call(tenant, "save_connection", conn)
    sent = json.loads(tenant.bodies[tenant.calls.index("ErpSync/SaveConnection")])
    assert sent.keys() == expected.keys() == {"Connection"}
    assert sent["Connection"].keys() == expected["Connection"].keys()
    assert sent["Connection"]["MostRecentTimestamp"] == "rerum"


def test_test_by_config_body_has_exactly_the_documented_keys_with_the_connector_id():
    expected = sample("v1ErpSyncAgent_TestConnectionByConfig.request.json")
    tenant = small_tenant()
    assert call(tenant, "test_erp_by_config", connector_id=7, config={"Password": Sensitive("right")}) is True
    sent = json.loads(tenant.bodies[-1])
    # ErpConnectionId is "the id of the connector we try to connect to"; no other key.
    assert sent.keys() == expected.keys()
    assert sent == {"ErpConnectionId": 7, "ConfigFields": {"Password": "right"}}


@pytest.mark.parametrize(("answer", "expected"), [(True, True), (False, False), (None, False)])
def test_update_connection_fields_reads_null_as_a_failure(answer, expected):
    tenant = small_tenant()
    tenant.overrides["ErpSync/UpdateConnectionFields"] = lambda r: httpx.Response(200, json=answer)
    assert call(tenant, "update_connection_fields", 12) is expected
    assert json.loads(tenant.bodies[-1]) == {"ErpConnectionId": 12}


@pytest.mark.parametrize(("answer", "expected"), [("NoError", "NoError"), ("ErrorNotFound", "ErrorNotFound"), (0, "NoError"), (2, "ErrorNotFound")])
def test_test_connector_url_returns_the_response_code(answer, expected):
    tenant = small_tenant()
    tenant.overrides["ErpSync/TestConnectorUrl"] = lambda r: httpx.Response(200, json=answer)
    assert call(tenant, "test_connector_url", "https://c.example.com/x") == expected
    assert json.loads(tenant.bodies[-1]) == {"Url": "https://c.example.com/x"}


# --- ERP connections -----------------------------------------------------------------


def test_password_values_come_back_sensitive_and_go_out_revealed():
    tenant = small_tenant()
    tenant.erp_config[10]["Password"] = CANARY
    (conn,) = call(tenant, "get_all_connections")
    assert conn.config == {"CompanyId": "7", "Password": Sensitive(CANARY)}
    assert isinstance(conn.config["Password"], Sensitive) and CANARY not in repr(conn)
    saved = call(tenant, "save_connection", replace(conn, description="new"))
    assert CANARY.encode() in tenant.bodies[tenant.calls.index("ErpSync/SaveConnection")]
    assert isinstance(saved.config["Password"], Sensitive) and saved.description == "new"


def test_config_left_out_of_the_list_is_fetched_per_connection():
    tenant = small_tenant()
    tenant.erp_connections = [erp_carrier(10, 1, "A", None), erp_carrier(11, 1, "B", {})]
    del tenant.erp_connections[1]["ConfigFields"]  # missing entirely
    tenant.erp_config = {10: {"CompanyId": "1", "Password": CANARY}, 11: {"CompanyId": "2"}}
    conns = call(tenant, "get_all_connections")
    assert [c.config for c in conns] == [{"CompanyId": "1", "Password": Sensitive(CANARY)}, {"CompanyId": "2"}]
    assert sorted(tenant.calls) == sorted([
        "ErpSync/GetAllConnections", "ErpSync/GetConfigurationFields",
        "ErpSync/GetErpConnectionConfigFields", "ErpSync/GetErpConnectionConfigFields",
    ])


def test_many_connections_read_their_connector_metadata_once_and_keep_their_order():
    tenant = small_tenant()
    # What the list carries is never trusted, filled, empty or null: the stored values are read.
    tenant.erp_connections = [
        erp_carrier(10 + i, 1, f"C{i}", [None, {}, {"CompanyId": "stale"}][i % 3]) for i in range(12)
    ]
    tenant.erp_config = {10 + i: {"CompanyId": f"fetched {i}", "Password": CANARY} for i in range(12)}
    conns = call(tenant, "get_all_connections")
    assert [c.name for c in conns] == [f"C{i}" for i in range(12)]
    assert [c.config["CompanyId"] for c in conns] == [f"fetched {i}" for i in range(12)]
    assert all(c.config["Password"] == Sensitive(CANARY) for c in conns)
    assert tenant.calls.count("ErpSync/GetConfigurationFields") == 1
    assert tenant.calls.count("ErpSync/GetErpConnectionConfigFields") == 12


def test_a_list_read_for_names_only_costs_one_request():
    tenant = small_tenant()
    (conn,) = call(tenant, "get_all_connections", with_config=False)
    assert conn.config == {} and tenant.calls == ["ErpSync/GetAllConnections"]


def test_empty_config_in_the_list_is_checked_when_the_connector_has_fields():
    tenant = small_tenant()
    tenant.erp_connections = [erp_carrier(10, 1, "A", {})]
    tenant.erp_config = {10: {"CompanyId": "1"}}
    (conn,) = call(tenant, "get_all_connections")
    assert conn.config == {"CompanyId": "1"}


def test_get_connection_not_found_is_none():
    assert call(small_tenant(), "get_connection", 999) is None


def test_save_new_connection_sends_null_guid_and_reads_the_generated_one():
    tenant = small_tenant()
    new = LiveErpConnection(id=0, connector_id=1, name="N", description="", active=False, guid="",
                            deleted=False, all_access=True, config={"CompanyId": "3"})
    saved = call(tenant, "save_connection", new)
    sent = json.loads(tenant.bodies[tenant.calls.index("ErpSync/SaveConnection")])["Connection"]
    assert sent["ConnectionId"] is None and sent["ErpConnectionId"] == 0
    assert saved.id == 11 and len(saved.guid) == 36 and saved.config == {"CompanyId": "3"}


def test_delete_and_toggle():
    tenant = small_tenant()
    assert call(tenant, "delete_connection", 10) is None
    assert tenant.erp_connections[0]["Deleted"] is True and tenant.erp_connections[0]["Active"] is False
    assert call(tenant, "toggle_connection_active", 10) == []  # reads it first: inactive, so expects active
    assert tenant.erp_connections[0]["Active"] is True
    assert call(tenant, "toggle_connection_active", 10, expect_active=False) == []
    assert tenant.calls[-2:] == ["ErpSync/ToggleErpConnectionActive", "ErpSync/GetConnection"]  # read back
    tenant.overrides["ErpSync/ToggleErpConnectionActive"] = lambda r: httpx.Response(
        200, json=["Test failed", "No mappings"])
    assert call(tenant, "toggle_connection_active", 10, expect_active=False) == ["Test failed", "No mappings"]


def test_a_toggle_that_answers_null_or_changes_nothing_failed():
    tenant = small_tenant()
    # docs/api/webapi/agents/index.md: a failed agent call answers 200 with null.
    tenant.overrides["ErpSync/ToggleErpConnectionActive"] = lambda r: httpx.Response(200, json=None)
    assert call(tenant, "toggle_connection_active", 10, expect_active=False) == [
        "the CRM answered null: the call failed without saying why"]
    tenant.overrides["ErpSync/ToggleErpConnectionActive"] = lambda r: httpx.Response(200, json=[])
    (reason,) = call(tenant, "toggle_connection_active", 10, expect_active=False)
    assert reason.startswith("the CRM answered success, but the connection is still active")


def test_a_success_status_with_an_error_body_is_a_failure():
    tenant = small_tenant()
    tenant.overrides["ErpSync/ToggleErpConnectionActive"] = lambda r: httpx.Response(
        200, json={"Error": True, "ErrorType": "SoException", "ErrorMessage": "Connector offline"})
    with pytest.raises(CrmServerError, match="Connector offline \\(SoException\\)"):
        call(tenant, "toggle_connection_active", 10, expect_active=False)
    tenant.overrides["Quote/SaveConnectionConfigFields"] = lambda r: httpx.Response(
        200, json={"Message": "An error has occurred."})
    with pytest.raises(CrmServerError, match="An error has occurred"):
        call(tenant, "save_quote_connection_config", 20, {"Currency": "NOK"}, connector_name="Visma.Quote")


def test_a_void_write_the_crm_did_not_carry_out_fails():
    tenant = small_tenant()
    tenant.overrides["ErpSync/DeleteConnection"] = lambda r: httpx.Response(204)
    with pytest.raises(CrmServerError, match="reading it again shows the connection is not deleted"):
        call(tenant, "delete_connection", 10)
    tenant.overrides["Quote/RestoreConnection"] = lambda r: httpx.Response(204)
    with pytest.raises(CrmServerError, match="the quote connection is not restored"):
        call(tenant, "restore_quote_connection", 21)


# --- field metadata ----------------------------------------------------------------------


def test_datetime_is_read_as_date_and_unknown_types_as_text(caplog):
    fields = field_metas([meta("A", "Datetime"), meta("B", "Date"), meta("C", "Colour"),
                          meta("D", "password"), {**meta("E"), "FieldType": 99}])
    assert [f.field_type for f in fields] == ["Date", "Date", "Text", "Password", "Label"]
    assert "unknown FieldType 'Colour'" in caplog.text


def test_quote_field_metadata_is_a_dictionary_sorted_by_rank():
    tenant = small_tenant()
    tenant.quote_fields["Q"] = {
        "B": meta("B", rank=2), "A": {**meta("", "Checkbox", rank=1), "FieldKey": None},
        "C": meta("C", "Datetime", rank=3),
    }
    fields = call(tenant, "get_quote_config_fields", "Q")
    assert [(f.key, f.field_type) for f in fields] == [("A", "Checkbox"), ("B", "Text"), ("C", "Date")]
    sent = json.loads(tenant.bodies[-1])
    assert sent == {"ConnectionId": 0, "ConnectorName": "Q"}


def test_field_metadata_is_fetched_once_per_connector_even_concurrently():
    import asyncio

    tenant = small_tenant()

    async def go():
        async with tenant.client() as client:
            return await asyncio.gather(*(client.get_erp_config_fields(1) for _ in range(5)))

    results = run(go())
    assert len(set(results)) == 1 and tenant.calls == ["ErpSync/GetConfigurationFields"]


# --- quote connections -------------------------------------------------------------------


def test_quote_connections_with_config_and_protected_passwords():
    tenant = small_tenant()
    tenant.quote_config[20]["Password"] = CANARY
    conns = call(tenant, "get_all_quote_connections")
    assert [(c.id, c.deleted) for c in conns] == [(20, False), (21, True)]
    assert conns[0].config == {"Currency": "NOK", "Password": Sensitive(CANARY)}
    assert isinstance(conns[0].config["Password"], Sensitive)
    assert tenant.calls.count("Quote/GetConfigurationFields") == 1


def test_quote_writes_send_the_documented_bodies():
    tenant = small_tenant()
    tenant.overrides["Quote/SaveConnection"] = lambda r: httpx.Response(
        200, json={**json.loads(r.content)["Connection"], "QuoteConnectionId": 30})
    tenant.overrides["Quote/SaveConnectionConfigFields"] = lambda r: httpx.Response(
        200, json=json.loads(r.content)["ConnectionConfigFields"])
    tenant.overrides["Quote/CreateConnectionFromConnectorName"] = lambda r: httpx.Response(
        200, json=quote_carrier(0, "", "Visma.Quote", 0))
    tenant.quote_connections.append(quote_carrier(30, "Q", "Visma.Quote", 10))

    async def go():
        async with tenant.client() as c:
            draft = await c.create_quote_connection_from_connector("Visma.Quote")
            saved = await c.save_quote_connection(replace(draft, name="Q", erp_connection_id=10))
            config = await c.save_quote_connection_config(
                saved.id, {"Currency": "NOK", "Password": Sensitive(CANARY)}, connector_name=saved.connector_name)
            await c.delete_quote_connection(saved.id)
            await c.restore_quote_connection(saved.id)
            return draft, saved, config

    draft, saved, config = run(go())
    assert draft.id == 0 and saved.id == 30 and saved.name == "Q"
    assert config == {"Currency": "NOK", "Password": Sensitive(CANARY)}
    assert isinstance(config["Password"], Sensitive)
    bodies = dict(zip(tenant.calls, (json.loads(b) if b else None for b in tenant.bodies)))
    assert bodies["Quote/CreateConnectionFromConnectorName"] == {"ConnectorName": "Visma.Quote"}
    assert bodies["Quote/SaveConnection"]["Connection"]["ErpConnectionId"] == 10
    assert bodies["Quote/SaveConnectionConfigFields"] == {
        "QuoteConnectionId": 30, "ConnectionConfigFields": {"Currency": "NOK", "Password": CANARY}}
    assert bodies["Quote/DeleteConnection"] == bodies["Quote/RestoreConnection"] == {"QuoteConnectionId": 30}


def test_quote_test_connection_outcome():
    tenant = small_tenant()
    good = call(tenant, "test_quote_connection", "Visma.Quote", {"Password": Sensitive("right")})
    assert good == TestOutcome(ok=True, user_explanation="fine", status="Ok")
    bad = call(tenant, "test_quote_connection", "Visma.Quote", {"Password": "wrong"})
    assert bad.ok is False and bad.user_explanation == "wrong password" and bad.error_code == "AUTH"
    assert json.loads(tenant.bodies[0]) == {"ConnectorName": "Visma.Quote", "ConnectionData": {"Password": "right"}}


@pytest.mark.parametrize(
    "body, ok, status",
    [
        ({"IsOk": True, "UserExplanation": "x"}, True, ""),  # older docs: no Status
        ({"Status": "Error"}, False, "Error"),  # no IsOk: derived
        ({"Status": "Warn"}, True, "Warn"),
        ({"State": "Error", "UserExplanation": "u"}, False, "Error"),  # connector-side name
        ({"State": "OkWithInfo"}, True, "OkWithInfo"),
        ({"UserExplanation": "?"}, False, ""),  # nothing says it passed
    ],
)
def test_plugin_response_tolerates_missing_isok_and_status(body, ok, status):
    outcome = parse_test_outcome(body)
    assert (outcome.ok, outcome.status) == (ok, status)


# --- connectors and lists ------------------------------------------------------------------


def test_connectors_with_urls_from_the_archive_include_deleted_ones():
    tenant = small_tenant()
    conns = call(tenant, "get_connectors_with_urls")
    assert [(c.id, c.name, c.url, c.deleted) for c in conns] == [
        (1, "Visma.net", "https://c.example.com/visma", False),
        (2, "Old", "https://c.example.com/old", True),
    ]
    (request,) = tenant.calls
    assert request == "GET archive/ErpConnector"


@pytest.mark.parametrize("status", [404, 500])
def test_a_failed_connector_read_never_falls_back_to_a_list_without_deleted_ones(status: int):
    tenant = small_tenant()
    tenant.overrides["GET archive/ErpConnector"] = lambda r: httpx.Response(
        status, json={"Error": True, "ErrorType": "SoException", "ErrorMessage": "archive failed"})
    with pytest.raises(CrmError, match="GET archive/ErpConnector .*archive failed \\(SoException\\)"):
        call(tenant, "get_connectors_with_urls")
    assert "ErpSync/GetAllConnectors" not in tenant.calls and "GET MDOList/erpconnectors" not in tenant.calls


def test_archive_pages_are_followed_on_the_target_only():
    tenant = small_tenant()
    rows = [{"PrimaryKey": i, "EntityName": "all", "assocName": f"U{i}"} for i in (1, 2)]
    pages = {"": {"value": rows[:1], "odata.nextLink": BASE + "api/v1/archive/AllUsers?$skip=1"},
             "1": {"value": rows[1:], "odata.nextLink": None}}
    tenant.overrides["GET archive/AllUsers"] = lambda r: httpx.Response(200, json=pages[r.url.params.get("$skip", "")])
    assert [u.login for u in call(tenant, "get_users")] == ["U1", "U2"]
    pages["1"]["odata.nextLink"] = "https://elsewhere.example.com/steal"
    with pytest.raises(CrmProtocolError, match="next-page link outside the target URL"):
        call(tenant, "get_users")


def test_connector_writes():
    tenant = small_tenant()
    tenant.overrides["ErpSync/SaveErpSyncConnectorEntity"] = lambda r: httpx.Response(
        200, json={**json.loads(r.content), "ErpConnectorId": 3})
    tenant.overrides["ErpSync/CanDeleteErpSyncConnectorEntity"] = lambda r: httpx.Response(
        200, json="ErrorConnectorHasConnections")
    tenant.connectors.append({"Id": 3, "Name": "New", "ExtraInfo": "https://x.example.com/", "Deleted": False})
    saved = call(tenant, "save_connector", 0, "New", "https://x.example.com/")
    assert (saved.id, saved.name, saved.url, saved.deleted) == (3, "New", "https://x.example.com/", False)
    assert json.loads(tenant.bodies[-1]) == {"ErpConnectorId": 0, "DisplayName": "New",
                                             "URL": "https://x.example.com/", "Deleted": False}
    assert call(tenant, "can_delete_connector", 3) == "ErrorConnectorHasConnections"
    assert json.loads(tenant.bodies[-1]) == {"ErpSyncConnectorId": 3}
    call(tenant, "delete_connector", 3)
    assert tenant.calls[-2:] == ["ErpSync/DeleteErpSyncConnectorEntity", "ErpSync/GetErpSyncConnectorEntity"]
    assert tenant.bodies[-2] == b""


@pytest.mark.parametrize(("answer", "code"), [
    ("NoError", "NoError"), (0, "NoError"), (1, "ErrorConnectorHasConnections"), (2, "ErrorNotFound"),
    ("1", "ErrorConnectorHasConnections"), ("errornotfound", "ErrorNotFound"),
])
def test_can_delete_reads_the_enum_as_a_string_or_an_integer(answer: object, code: str):
    tenant = small_tenant()
    tenant.overrides["ErpSync/CanDeleteErpSyncConnectorEntity"] = lambda r: httpx.Response(200, json=answer)
    assert call(tenant, "can_delete_connector", 1) == code


@pytest.mark.parametrize("answer", [3, -1, True, "Maybe", None])
def test_can_delete_refuses_values_the_enum_does_not_have(answer: object):
    tenant = small_tenant()
    tenant.overrides["ErpSync/CanDeleteErpSyncConnectorEntity"] = lambda r: httpx.Response(200, json=answer)
    with pytest.raises(CrmProtocolError, match="CanDeleteErpSyncConnectorEntity"):
        call(tenant, "can_delete_connector", 1)


def test_users_come_from_archive_all_users_with_retired_ones():
    tenant = small_tenant()
    tenant.users = [{"Id": 5, "Name": "ANNA", "FullName": "Anna A"}, {"Id": 6, "Name": "BOB", "Deleted": True},
                    {"Id": 7, "Name": "CARL", "FullName": "Carl C"}]
    users = call(tenant, "get_users")
    assert [(u.id, u.login, u.full_name, u.deleted) for u in users] == [
        (5, "ANNA", "Anna A", False), (6, "BOB", "", True), (7, "CARL", "Carl C", False)]
    assert tenant.calls == ["GET archive/AllUsers"]


def test_groups_mdo_lists_and_installed_quote_connectors():
    tenant = small_tenant()
    tenant.groups.append({"Id": 2, "Value": "Retired", "Deleted": True})
    assert [(g.id, g.name, g.deleted) for g in call(tenant, "get_user_groups")] == [
        (1, "Sales Norway", False), (2, "Retired", True)]
    assert [(i.id, i.name) for i in call(tenant, "get_mdo_list", "country")] == [(47, "Norway")]
    assert call(tenant, "get_installed_quote_connectors") == ("Visma.Quote", "Other.Quote")
