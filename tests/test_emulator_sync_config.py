"""The emulator's sync configuration methods, as the vendor docs read (strictest reading
where they are open): field cache and auto-mapping, mappings, list mappings, defaults,
ERP-tab moves, sync priority, and the activation rule."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from test_emulator_support import AsgiClient, agent, default_client, ok

VISMA = "https://connectors.example.com/visma"


@pytest.fixture()
def client(tmp_path: Path) -> Iterator[AsgiClient]:
    c = default_client(tmp_path)
    yield c
    c.close()


def new_connection(client: AsgiClient, name: str = "Visma Production") -> int:
    connector = ok(client.post("api/v1/Agents/ErpSync/SaveErpSyncConnectorEntity",
                               json={"ErpConnectorId": 0, "DisplayName": "Visma.net", "URL": VISMA, "Deleted": False}))
    saved = ok(agent(client, "ErpSync/SaveConnection", {"Connection": {
        "ErpConnectionId": 0, "ErpConnectorId": connector["ErpConnectorId"], "DisplayName": name,
        "ConfigFields": {"CompanyId": "5", "ApiKey": "demo-5"}, "AllAccess": True}}))
    return saved["ErpConnectionId"]


def mapping(client: AsgiClient, connection_id: int, actor: str = "Customer") -> dict[str, Any]:
    return ok(agent(client, "ErpSync/GetActorTypeMapping", {"ErpConnectionId": connection_id, "ActorType": actor}))


def by_key(found: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["ErpFieldKey"]: f for f in found["FieldMappings"]}


def save_mapping(client: AsgiClient, found: dict[str, Any], **changes: dict[str, Any]):
    fields = [{**f, **changes.get(f["ErpFieldKey"], {})} for f in found["FieldMappings"]]
    return agent(client, "ErpSync/SaveActorTypeMapping", {"Mapping": {**found, "FieldMappings": fields}})


def detail(response) -> str:
    assert response.status_code == 400, (response.status_code, response.text)
    return response.json()["MessageDetail"]


def test_save_connection_caches_actor_types_and_auto_maps_without_direction(client: AsgiClient) -> None:
    cid = new_connection(client)
    found = mapping(client, cid)
    assert found["ActorTypeErp"] == "Customer" and found["ActorTypeCrm"] == "Contact" and found["IsActive"] is False
    fields = by_key(found)
    assert fields["NAME"]["CrmFieldKey"] == "contact/name"  # auto-mapped...
    assert fields["NAME"]["SyncToCrm"] is False and fields["NAME"]["SyncToErp"] is False  # ...with no direction
    assert fields["CREDITLIMIT"]["CrmFieldKey"] == "" and fields["CREDITLIMIT"]["Access"] == "ReadOnly"
    summary = ok(agent(client, "ErpSync/GetErpSyncConnectionSummary", {"ErpSyncConnectionId": cid}))
    assert [a["ActorType"] for a in summary["Actors"]] == ["Customer", "Supplier", "Person", "Project"]
    assert ok(agent(client, "ErpSync/GetCrmActorType", {"ErpConnectionId": cid, "ErpActorType": "Person"})) == "Person"
    assert ok(agent(client, "ErpSync/GetCrmActorType", {"ErpConnectionId": cid, "ErpActorType": "Sale"})) == "Unknown"
    assert mapping(client, cid, "Sale") is None


def test_save_mapping_is_the_whole_state_and_refuses_what_the_docs_rule_out(client: AsgiClient) -> None:
    cid = new_connection(client)
    found = mapping(client, cid)
    saved = ok(save_mapping(client, found, NAME={"SyncToCrm": True, "SyncToErp": True},
                            VATNO={"CrmFieldKey": "contact/orgnr", "SyncToCrm": True},
                            CREDITLIMIT={"ShowInGui": True}))
    fields = by_key(saved)
    assert (fields["VATNO"]["SyncToCrm"], fields["VATNO"]["SyncToErp"]) == (True, False)
    assert fields["CREDITLIMIT"]["ShowInGui"] is True
    # A field left out of the list is unmapped and hidden.
    partial = {**saved, "FieldMappings": [f for f in saved["FieldMappings"] if f["ErpFieldKey"] != "VATNO"]}
    again = by_key(ok(agent(client, "ErpSync/SaveActorTypeMapping", {"Mapping": partial})))
    assert again["VATNO"]["CrmFieldKey"] == "" and again["VATNO"]["SyncToCrm"] is False
    assert "needs a CrmFieldKey" in detail(save_mapping(client, found, BALANCE={"SyncToCrm": True}))
    assert "ReadOnly" in detail(save_mapping(client, found, CREDITLIMIT={"CrmFieldKey": "contact/name", "SyncToErp": True}))
    assert "ERP tab" in detail(save_mapping(client, found, NAME={"SyncToCrm": True, "ShowInGui": True}))
    assert "no field 'contact/nope'" in detail(save_mapping(client, found, VATNO={"CrmFieldKey": "contact/nope"}))
    assert "is NAME, not VATNO" in detail(save_mapping(client, found, NAME={"ErpFieldKey": "VATNO"}))


def test_a_crm_field_another_connection_maps_is_already_mapped_and_cannot_be_fed_one_way(client: AsgiClient) -> None:
    first = new_connection(client)
    found = mapping(client, first)
    # The same connection's Supplier (also a Contact) does not count: only another connection does.
    assert by_key(found)["VATNO"]["AlreadyMapped"] is False
    assert by_key(ok(save_mapping(client, found, VATNO={"CrmFieldKey": "contact/orgnr", "SyncToCrm": True})))[
        "VATNO"]["AlreadyMapped"] is False
    other = new_connection(client, "Visma Sandbox")  # auto-maps VATNO to contact/orgnr, with no direction
    found = mapping(client, first)
    assert by_key(found)["VATNO"]["AlreadyMapped"] is True and by_key(found)["CREDITLIMIT"]["AlreadyMapped"] is False
    assert by_key(mapping(client, other))["VATNO"]["AlreadyMapped"] is True
    refused = detail(save_mapping(client, found, VATNO={"SyncToCrm": True, "SyncToErp": False}))
    assert "Customer.VATNO: contact/orgnr of Contact is already mapped by another connection" in refused
    assert by_key(mapping(client, first))["VATNO"]["SyncToCrm"] is True  # a refused save changes nothing
    ok(save_mapping(client, found, VATNO={"SyncToCrm": True, "SyncToErp": True}))  # both ways is allowed
    ok(save_mapping(client, found, VATNO={"SyncToCrm": False, "SyncToErp": True}))
    # A deleted connection maps nothing.
    assert agent(client, "ErpSync/DeleteConnection", {"ErpConnectionId": other}).status_code == 204
    found = mapping(client, first)
    assert by_key(found)["VATNO"]["AlreadyMapped"] is False
    ok(save_mapping(client, found, VATNO={"SyncToCrm": True, "SyncToErp": False}))


def test_activation_is_refused_while_a_mandatory_field_of_an_enabled_actor_has_no_direction(client: AsgiClient) -> None:
    cid = new_connection(client)
    found = mapping(client, cid)
    ok(save_mapping(client, {**found, "IsActive": True}))
    reasons = ok(agent(client, "ErpSync/ToggleErpConnectionActive", {"ErpConnectionId": cid}))
    assert reasons == ["The mandatory field NAME of Customer has no sync direction; map it and choose a direction"]
    ok(save_mapping(client, {**found, "IsActive": True}, NAME={"SyncToCrm": True}))
    assert ok(agent(client, "ErpSync/ToggleErpConnectionActive", {"ErpConnectionId": cid})) == []


def test_list_mappings_list_every_erp_item_and_save_the_whole_set(client: AsgiClient) -> None:
    cid = new_connection(client)
    assert ok(agent(client, "ErpSync/GetConnectionListMappings", {"ErpConnectionId": cid}))["ErpListItemMappings"] == []
    ok(save_mapping(client, mapping(client, cid), CATEGORY={"CrmFieldKey": "contact/category", "SyncToCrm": True}))
    container = ok(agent(client, "ErpSync/GetConnectionListMappings", {"ErpConnectionId": cid}))
    [entry] = container["ErpListItemMappings"]
    assert entry["ErpListName"] == "CustomerClasses" and entry["CrmList"]["Name"] == "Category"
    assert [(i["ErpListItemId"], i["CrmListItem"]) for i in entry["ErpCrmListItemMappings"]] == [
        ("A", None), ("B", None), ("C", None)]
    entry["ErpCrmListItemMappings"][0]["CrmListItem"] = {"Id": 1}
    saved = ok(agent(client, "ErpSync/SaveConnectionListMappings", {"ListMapping": container}))
    items = saved["ErpListItemMappings"][0]["ErpCrmListItemMappings"]
    assert items[0]["CrmListItem"]["Name"] == "Key account" and items[1]["CrmListItem"] is None
    entry["ErpCrmListItemMappings"][1]["CrmListItem"] = {"Id": 1}
    assert "more than one ERP item" in detail(agent(client, "ErpSync/SaveConnectionListMappings", {"ListMapping": container}))
    entry["ErpCrmListItemMappings"][1]["CrmListItem"] = {"Id": 0}
    assert "not an item of the CRM list" in detail(
        agent(client, "ErpSync/SaveConnectionListMappings", {"ListMapping": container}))


def test_defaults_are_saved_per_field_and_mandatory_needs_a_value_or_the_question(client: AsgiClient) -> None:
    cid = new_connection(client)
    payterms = by_key(mapping(client, cid))["PAYTERMS"]["ErpFieldId"]
    info = ok(agent(client, "ErpSync/GetDefaultValueInfo", {"ErpFieldId": payterms}))
    assert info["DefaultValue"] == "30" and info["HasFirstSyncDefaultValue"] is False
    saved = ok(agent(client, "ErpSync/SaveDefaultValueInfo", {"ErpSyncDefaultValue": {
        **info, "HasFirstSyncDefaultValue": True, "FirstSyncDefaultValue": "10", "Mandatory": True}}))
    assert (saved["FirstSyncDefaultValue"], saved["Mandatory"]) == ("10", True)
    assert "neither a default value nor PromptUser" in detail(agent(client, "ErpSync/SaveDefaultValueInfo", {
        "ErpSyncDefaultValue": {**info, "Mandatory": True}}))
    name = by_key(mapping(client, cid))["NAME"]["ErpFieldId"]
    assert "cannot be false" in detail(agent(client, "ErpSync/SaveDefaultValueInfo", {"ErpSyncDefaultValue": {
        "ErpFieldId": name, "PromptUser": True, "Mandatory": False}}))


def test_move_is_one_adjacent_swap_and_priorities_take_the_full_order(client: AsgiClient) -> None:
    cid = new_connection(client)
    other = new_connection(client, "Visma Sandbox")
    fields = by_key(mapping(client, cid))
    move = {"ErpFieldId": fields["BALANCE"]["ErpFieldId"], "Direction": -1, "ErpConnectionId": cid,
            "ErpActorType": "Customer"}
    assert agent(client, "ErpSync/MoveErpFieldItem", move).status_code == 204
    assert "-1 or 1" in detail(agent(client, "ErpSync/MoveErpFieldItem", {**move, "Direction": -2}))
    first = {**move, "ErpFieldId": fields["NUMBER"]["ErpFieldId"]}
    assert "already first" in detail(agent(client, "ErpSync/MoveErpFieldItem", first))
    assert "left out" in detail(agent(client, "ErpSync/SaveErpConnectionSyncPriorities", {"ErpConnectionIds": [other]}))
    assert ok(agent(client, "ErpSync/SaveErpConnectionSyncPriorities", {"ErpConnectionIds": [other, cid]})) is True
    items = ok(client.get("api/v1/MDOList/erpconnections", params={"flat": "true"}))
    assert [(i["Name"], i["Rank"]) for i in items] == [("Visma Sandbox", 1), ("Visma Production", 2)]


def test_update_connection_fields_caches_again_and_auto_maps_an_unmapped_field(client: AsgiClient) -> None:
    cid = new_connection(client)
    found = mapping(client, cid)
    unmapped = ok(save_mapping(client, found, NAME={"CrmFieldKey": ""}))
    assert by_key(unmapped)["NAME"]["CrmFieldKey"] == ""
    assert ok(agent(client, "ErpSync/UpdateConnectionFields", {"ErpConnectionId": cid})) is True
    again = by_key(mapping(client, cid))
    assert again["NAME"]["CrmFieldKey"] == "contact/name" and again["NAME"]["SyncToCrm"] is False
    assert [f["ErpFieldId"] for f in mapping(client, cid)["FieldMappings"]] == [f["ErpFieldId"] for f in found["FieldMappings"]]
