"""The emulator's `Dynamic` archive provider (the dot syntax) over real HTTP: the ERP sync
tables `erpfield` and `erpconnectionactortype`, the `$filter` subset, paging, and a 400
naming the problem for everything the emulator does not read."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from conftest import DEMO_TOKEN, EmulatorServer
from reconciler.emulator import archives

VISMA = "https://connectors.example.com/visma"
FIELDS_PER_CONNECTION = 12 + 12 + 5 + 5  # Customer, Supplier, Person, Project in the default seed's Visma profile


@pytest.fixture()
def http(emulator_server: EmulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator_server.url, headers={"Authorization": f"Bearer {DEMO_TOKEN}"},
                      timeout=10) as client:
        yield client


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, (response.status_code, response.text)
    return response.json()


def agent(http: httpx.Client, method: str, body: dict[str, Any]) -> httpx.Response:
    return http.post(f"api/v1/Agents/ErpSync/{method}", json=body)


def new_connections(http: httpx.Client, count: int) -> list[int]:
    connector = ok(agent(http, "SaveErpSyncConnectorEntity",
                         {"ErpConnectorId": 0, "DisplayName": "Visma.net", "URL": VISMA, "Deleted": False}))
    return [
        ok(agent(http, "SaveConnection", {"Connection": {
            "ErpConnectionId": 0, "ErpConnectorId": connector["ErpConnectorId"], "DisplayName": f"Visma {n}",
            "ConfigFields": {"CompanyId": "5", "ApiKey": "demo-5"}, "AllAccess": True}}))["ErpConnectionId"]
        for n in range(count)
    ]


def field_ids(http: httpx.Client, connection_id: int, actor: str = "Customer") -> dict[str, int]:
    found = ok(agent(http, "GetActorTypeMapping", {"ErpConnectionId": connection_id, "ActorType": actor}))
    return {f["ErpFieldKey"]: f["ErpFieldId"] for f in found["FieldMappings"]}


def dynamic(http: httpx.Client, select: str, filter: str | None = None, **more: str) -> httpx.Response:
    params = {"$select": select, **({"$filter": filter} if filter is not None else {}), **more}
    return http.get("api/v1/archive/dynamic", params=params)


def rows(http: httpx.Client, select: str, filter: str | None = None) -> list[dict[str, Any]]:
    answer = ok(dynamic(http, select, filter))
    assert answer["odata.nextLink"] is None
    return answer["value"]


def refused(response: httpx.Response) -> str:
    assert response.status_code == 400, (response.status_code, response.text)
    body = response.json()
    assert body["Message"] == "The request is invalid."
    return str(body["MessageDetail"])


def test_the_client_request_reads_field_ranks_keyed_by_the_select_strings(http: httpx.Client) -> None:
    new_connections(http, 9)  # 9 x 34 fields: ids 1..306
    answer = ok(http.get("api/v1/archive/dynamic", params={
        "$select": "erpfield.erpfield_id,erpfield.Rank", "$filter": "erpfield.erpfield_id in (301,302,303)"}))
    assert answer["odata.nextLink"] is None and answer["odata.metadata"].endswith("api/v1/archive/$metadata")
    # 301 is the 9th connection's last Person field (POSITION, 5th: rank 4); 302 and 303 its first Project fields.
    assert answer["value"] == [
        {"PrimaryKey": "301", "EntityName": "erpfield", "erpfield.erpfield_id": 301, "erpfield.Rank": 4},
        {"PrimaryKey": "302", "EntityName": "erpfield", "erpfield.erpfield_id": 302, "erpfield.Rank": 0},
        {"PrimaryKey": "303", "EntityName": "erpfield", "erpfield.erpfield_id": 303, "erpfield.Rank": 1},
    ]


def test_the_rank_follows_a_move_of_the_erp_tab(http: httpx.Client) -> None:
    [cid] = new_connections(http, 1)
    ids = field_ids(http, cid)
    select = "erpfield.ErpFieldKey,erpfield.Rank"
    wanted = f"erpfield.erpfield_id in ({ids['CREDITLIMIT']}, {ids['BALANCE']})"
    assert [(r["erpfield.ErpFieldKey"], r["erpfield.Rank"]) for r in rows(http, select, wanted)] == [
        ("CREDITLIMIT", 10), ("BALANCE", 11)]
    move = {"ErpFieldId": ids["BALANCE"], "Direction": -1, "ErpConnectionId": cid, "ErpActorType": "Customer"}
    assert agent(http, "MoveErpFieldItem", move).status_code == 204
    assert [(r["erpfield.ErpFieldKey"], r["erpfield.Rank"]) for r in rows(http, select, wanted)] == [
        ("CREDITLIMIT", 11), ("BALANCE", 10)]


def test_filters_eq_in_one_of_and_with_strings_and_booleans(http: httpx.Client) -> None:
    first, second = new_connections(http, 2)
    found = ok(agent(http, "GetActorTypeMapping", {"ErpConnectionId": first, "ActorType": "Customer"}))
    shown = [{**f, "ShowInGui": f["ErpFieldKey"] == "CREDITLIMIT"} for f in found["FieldMappings"]]
    ok(agent(http, "SaveActorTypeMapping", {"Mapping": {**found, "FieldMappings": shown}}))
    ids = field_ids(http, first)
    key = "erpfield.ErpFieldKey"

    def keys(filter: str) -> list[str]:
        return [r[key] for r in rows(http, key, filter)]

    assert keys("erpfield.ShowInGui = true") == ["CREDITLIMIT"]
    assert keys("erpfield.ShowInGui eq 1") == ["CREDITLIMIT"]
    assert keys(f"erpfield.erpfield_id EQUALS {ids['NAME']}") == ["NAME"]
    # actor type 1 is the first connection's Customer; Supplier (2) has the same keys
    assert keys("erpfield.ErpConnectionActorTypeId = 1 AND erpfield.ErpFieldKey eq 'VATNO'") == ["VATNO"]
    company_and_project = ["NAME", "NAME", "NAME", "BUDGET"]  # Customer, Supplier, Project; in id order
    assert keys("erpfield.ErpFieldKey oneOf ('NAME', 'BUDGET') and erpfield.ShowInGui = 0") == company_and_project * 2
    assert keys("erpfield.ErpFieldKey = 'name'") == []  # strings compare with case
    assert keys(f"erpfield.erpfield_id in ({ids['NAME']}) and erpfield.Rank = 0") == []  # NAME is second
    actors = rows(http, "erpconnectionactortype.ErpConnectionId,erpconnectionactortype.IsActive,"
                        "erpconnectionactortype.ActorTypeErp", f"erpconnectionactortype.ErpConnectionId = {second}")
    assert [r["PrimaryKey"] for r in actors] == ["5", "6", "7", "8"]
    assert {(r["EntityName"], r["erpconnectionactortype.ErpConnectionId"], r["erpconnectionactortype.IsActive"],
             r["erpconnectionactortype.ActorTypeErp"]) for r in actors} == {
        ("erpconnectionactortype", second, False, None)}  # enums are answered null


def test_columns_match_without_case_answer_under_the_sent_spelling_and_null_without_data(
    http: httpx.Client,
) -> None:
    [cid] = new_connections(http, 1)
    name = field_ids(http, cid)["NAME"]
    response = http.get("api/v1/archive/Dynamic", params={
        "$select": "ERPFIELD.rank,erpfield.fieldtype,erpfield.Access,erpfield.MaxLength,erpfield.DisplayName,"
                   "erpfield.MissingInERP,erpfield.updatedCount",
        "$filter": f"ErpField.ERPFIELD_ID eq {name}"})
    assert ok(response)["value"] == [{
        "PrimaryKey": str(name), "EntityName": "erpfield", "ERPFIELD.rank": 1, "erpfield.fieldtype": None,
        "erpfield.Access": None, "erpfield.MaxLength": None, "erpfield.DisplayName": "Name",
        "erpfield.MissingInERP": False, "erpfield.updatedCount": None}]


def test_a_deleted_connections_fields_are_still_rows_of_the_table(http: httpx.Client) -> None:
    kept, deleted = new_connections(http, 2)
    assert agent(http, "DeleteConnection", {"ErpConnectionId": deleted}).status_code == 204
    actors = rows(http, "erpconnectionactortype.ErpConnectionId")
    assert [r["erpconnectionactortype.ErpConnectionId"] for r in actors] == [kept] * 4 + [deleted] * 4
    assert len(rows(http, "erpfield.erpfield_id")) == 2 * FIELDS_PER_CONNECTION


def test_pages_hold_page_size_rows_and_link_the_next_with_the_same_query(
    http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(archives, "PAGE_SIZE", 10)
    new_connections(http, 1)
    select, filter = "erpfield.erpfield_id", "erpfield.Rank in (0,1,2,3,4,5,6,7,8,9,10,11)"
    seen: list[int] = []
    link: str | None = str(dynamic(http, select, filter).request.url)
    pages = 0
    while link is not None:
        answer = ok(http.get(link))
        assert len(answer["value"]) <= 10
        seen += [r["erpfield.erpfield_id"] for r in answer["value"]]
        link, pages = answer["odata.nextLink"], pages + 1
    assert pages == 4 and seen == list(range(1, FIELDS_PER_CONNECTION + 1))
    assert refused(dynamic(http, select, filter, **{"$skip": "x"})) == "The value 'x' is not valid for $skip (a whole number)"


@pytest.mark.parametrize("select, message", [
    ("", "The Dynamic provider needs $select"),
    (" , ", "The Dynamic provider needs $select"),
    ("Rank", "The column 'Rank' is not of the form table.field"),
    ("erpfield.Rank.", "The column 'erpfield.Rank.' is not of the form table.field"),
    ("category.name", "does not hold the table 'category' (it holds: erpfield, erpconnectionactortype)"),
    ("erpfield.Nope", "The table erpfield has no field 'Nope' (docs/en/database/tables/erpfield.md lists: erpfield_id,"),
    ("erpfield.Rank,erpconnectionactortype.IsActive",
     "The base table must be the same for all fields; these columns start on erpfield, erpconnectionactortype"),
    ("erpfield.ErpConnectionActorTypeId.IsActive", "does not implement joins"),
    ("erpfield:ErpConnectionActorTypeId.IsActive", "does not implement joins"),
    ("erpconnectionactortype.(erpfield->ErpConnectionActorTypeId).Rank", "does not implement joins"),
])
def test_a_select_the_emulator_cannot_read_is_a_400_that_says_why(http: httpx.Client, select: str, message: str) -> None:
    assert message in refused(dynamic(http, select))


def test_a_missing_select_and_entities_with_a_value_are_400s(http: httpx.Client) -> None:
    assert "needs $select" in refused(http.get("api/v1/archive/dynamic"))
    assert "has no entities" in refused(dynamic(http, "erpfield.Rank", **{"$entities": "erpfield"}))
    assert ok(dynamic(http, "erpfield.Rank", **{"$entities": ""}))["value"] == []  # empty is as if left out


@pytest.mark.parametrize("filter, message", [
    ("erpfield.Rank = 1 or erpfield.Rank = 2", "expected 'and' or the end at 'or erpfield.Rank = 2'"),
    ("(erpfield.Rank = 1)", "expected a column (table.field) at '(erpfield.Rank = 1)'"),
    ("erpfield.Rank > 1", "expected an operator after erpfield.Rank at '> 1'"),
    ("erpfield.ErpFieldKey contains 'N'", "expected an operator after erpfield.ErpFieldKey at 'contains 'N''"),
    ("erpfield.Rank in 1, 2", "expected '(' to open the list of values at '1, 2'"),
    ("erpfield.Rank in (1 2)", "expected ',' or ')' in the list of values at '2)'"),
    ("erpfield.Rank = 'one'", "erpfield.Rank is Int: expected an integer at ''one''"),
    ("erpfield.ErpFieldKey = NAME", "erpfield.ErpFieldKey is String: expected a 'quoted string' at 'NAME'"),
    ("erpfield.ShowInGui = 2", "erpfield.ShowInGui is Bool: expected true, false, 1 or 0 at '2'"),
    ("erpfield.Rank =", "erpfield.Rank is Int: expected an integer at the end"),
    ("erpfield.ErpFieldKey = 'open", "expected a 'quoted string' at ''open'"),
])
def test_a_filter_outside_the_supported_subset_is_a_400_that_says_what_is_supported(
    http: httpx.Client, filter: str, message: str
) -> None:
    detail = refused(dynamic(http, "erpfield.Rank", filter))
    assert message in detail
    assert "supports only $filter terms 'table.field = value' (=, eq, equals) and 'table.field in (v1, v2, ...)'" in detail


@pytest.mark.parametrize("filter, message", [
    ("erpfield.FieldType = 1", "holds no data for erpfield.FieldType (the docs do not say how an enum is rendered)"),
    ("erpfield.MaxLength = 1", "holds no data for erpfield.MaxLength (it answers null)"),
    ("erpconnectionactortype.IsActive = 1", "The base table must be the same for all fields"),
    ("erpfield.ErpConnectionActorTypeId.IsActive = 1", "does not implement joins"),
    ("Rank = 1", "The column 'Rank' is not of the form table.field"),
])
def test_a_filter_column_must_be_a_base_table_column_with_data(http: httpx.Client, filter: str, message: str) -> None:
    assert message in refused(dynamic(http, "erpfield.Rank", filter))


def test_an_unknown_provider_is_still_a_404_and_the_others_still_answer(http: httpx.Client) -> None:
    response = http.get("api/v1/archive/Nope")
    assert response.status_code == 404 and response.json()["ErrorMessage"] == "Archive provider 'Nope' not found"
    assert ok(http.get("api/v1/archive/ErpConnector", params={"$select": "id"}))["value"] == []
