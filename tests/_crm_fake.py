"""An in-memory SuperOffice tenant behind httpx.MockTransport, for the CRM client tests.

Small and explicit on purpose: it answers the endpoints the client uses with
the documented shapes, records every request, counts requests in flight, and
lets a test replace any endpoint's answer (faults, odd shapes).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from reconciler.crm.client import CrmClient

BASE = "https://crm.example.com/Cust1/"

Override = Callable[[httpx.Request], httpx.Response | None]
T = TypeVar("T")


def meta(key: str, field_type: str = "Text", *, rank: int = 0, access: str = "Normal",
         list_name: str = "", default: str = "", max_length: int = 0) -> dict[str, Any]:
    return {"FieldKey": key, "Rank": rank, "DisplayName": key, "DisplayDescription": "",
            "FieldType": field_type, "ListName": list_name, "DefaultValue": default,
            "MaxLength": max_length, "Access": access, "ShowInSearch": False,
            "TableRight": None, "FieldProperties": {}}


def erp_carrier(id: int, connector_id: int, name: str, config: dict[str, str] | None,
                *, deleted: bool = False) -> dict[str, Any]:
    return {"ErpConnectionId": id, "ErpConnectorId": connector_id, "DisplayName": name,
            "DisplayDescription": "", "Active": True, "ConnectionId": f"guid-{id}",
            "MostRecentTimestamp": None, "ConfigFields": config, "Deleted": deleted,
            "AllAccess": True, "UserGroupAccessIds": [], "AssociateAccessIds": [],
            "TableRight": None, "FieldProperties": {}}


def quote_carrier(id: int, name: str, connector_name: str, erp_id: int,
                  *, deleted: bool = False) -> dict[str, Any]:
    return {"QuoteConnectionId": id, "ERPName": "", "DisplayName": name,
            "DisplayDescription": "", "Rank": 1, "ConnectorName": connector_name,
            "ErpConnectionId": erp_id, "ExtraData": "", "IsAvailable": True,
            "InitializeResponse": None, "PriceLists": [], "AllAccess": False,
            "Deleted": deleted, "UserGroupAccessIds": [1], "AssociateAccessIds": [],
            "TableRight": None, "FieldProperties": {}}


@dataclass
class FakeTenant:
    connectors: list[dict[str, Any]] = field(default_factory=list)  # {Id, Name, ExtraInfo (URL), Deleted}
    erp_fields: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    erp_connections: list[dict[str, Any]] = field(default_factory=list)
    erp_config: dict[int, dict[str, str]] = field(default_factory=dict)  # stored values
    quote_connections: list[dict[str, Any]] = field(default_factory=list)
    quote_config: dict[int, dict[str, str]] = field(default_factory=dict)
    quote_fields: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    installed_quote: list[str] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)  # {Id, Name (login), FullName, Deleted}
    groups: list[dict[str, Any]] = field(default_factory=list)
    mdo_lists: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    overrides: dict[str, Override] = field(default_factory=dict)  # by endpoint name
    delay: float = 0.0  # seconds each request takes (lets concurrency show)
    calls: list[str] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    def client(self, **kwargs: Any) -> CrmClient:
        async def no_sleep(_: float) -> None:
            return None

        kwargs.setdefault("sleep", no_sleep)
        return CrmClient(BASE, transport=self.transport(), **kwargs)

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            return self._route(request)
        finally:
            self.in_flight -= 1

    def _route(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/Cust1/api/v1/")
        endpoint = path.removeprefix("Agents/") if request.method == "POST" else f"GET {path}"
        self.calls.append(endpoint)
        self.bodies.append(request.content)
        override = self.overrides.get(endpoint)
        if override is not None:
            answer = override(request)
            if answer is not None:
                return answer
        body = json.loads(request.content) if request.content else {}
        query = request.url.params
        handler = getattr(self, "_" + endpoint.replace("/", "_").replace(" ", "_"), None)
        if handler is None:
            return httpx.Response(404, json={"Message": f"No route {endpoint}"})
        result = handler(body, query)
        if result is _VOID:
            return httpx.Response(204)
        return httpx.Response(200, json=result)

    # --- ErpSync
    def _ErpSync_GetAllConnections(self, body: dict, query: Any) -> Any:
        return [c for c in self.erp_connections if body.get("IncludeDeleted") or not c["Deleted"]]

    def _ErpSync_GetConnection(self, body: dict, query: Any) -> Any:
        return next((c for c in self.erp_connections if c["ErpConnectionId"] == body["ErpConnectionId"]), None)

    def _ErpSync_GetConfigurationFields(self, body: dict, query: Any) -> Any:
        return self.erp_fields.get(body["ErpConnectorId"])

    def _ErpSync_GetErpConnectionConfigFields(self, body: dict, query: Any) -> Any:
        wanted = body["ErpConnectionId"]
        if wanted in self.erp_config:
            return self.erp_config[wanted]
        # One store, as in the CRM: what the carrier lists is what is stored.
        return next((c["ConfigFields"] for c in self.erp_connections if c["ErpConnectionId"] == wanted), None)

    def _ErpSync_SaveConnection(self, body: dict, query: Any) -> Any:
        conn = dict(body["Connection"])
        if not conn["ErpConnectionId"]:
            conn["ErpConnectionId"] = 1 + max((c["ErpConnectionId"] for c in self.erp_connections), default=0)
            assert conn["ConnectionId"] in (None, ""), "a new connection must not bring its own GUID"
            conn["ConnectionId"] = str(uuid.uuid4())
        self.erp_connections = [c for c in self.erp_connections if c["ErpConnectionId"] != conn["ErpConnectionId"]]
        self.erp_connections.append(conn)
        self.erp_config[conn["ErpConnectionId"]] = dict(conn["ConfigFields"] or {})
        return conn

    def _ErpSync_DeleteConnection(self, body: dict, query: Any) -> Any:
        for c in self.erp_connections:
            if c["ErpConnectionId"] == body["ErpConnectionId"]:
                c["Deleted"] = True
                c["Active"] = False  # a soft-deleted connection is never active
        return _VOID

    def _ErpSync_ToggleErpConnectionActive(self, body: dict, query: Any) -> Any:
        for c in self.erp_connections:
            if c["ErpConnectionId"] == body["ErpConnectionId"]:
                c["Active"] = not c["Active"]
                return []
        return None

    def _ErpSync_DeleteErpSyncConnectorEntity(self, body: dict, query: Any) -> Any:
        for c in self.connectors:
            if c["Id"] == int(query["ErpSyncConnectorEntityId"]):
                c["Deleted"] = True
                return _VOID
        return None

    def _ErpSync_TestConnectionByConfig(self, body: dict, query: Any) -> Any:
        return body["ConfigFields"].get("Password") == "right"

    def _ErpSync_GetErpSyncConnectorEntity(self, body: dict, query: Any) -> Any:
        wanted = int(query["erpSyncConnectorEntityId"])
        for c in self.connectors:
            if c["Id"] == wanted:
                return {"ErpConnectorId": c["Id"], "DisplayName": c["Name"], "URL": c["ExtraInfo"],
                        "Deleted": c.get("Deleted", False), "TableRight": None, "FieldProperties": {}}
        return None

    # --- Quote
    def _Quote_GetAllInstalledQuoteConnections(self, body: dict, query: Any) -> Any:
        return [c for c in self.quote_connections if not c["Deleted"]]

    def _Quote_GetConnection(self, body: dict, query: Any) -> Any:
        return next((c for c in self.quote_connections if c["QuoteConnectionId"] == body["QuoteConnectionId"]), None)

    def _Quote_DeleteConnection(self, body: dict, query: Any) -> Any:
        return self._set_quote_deleted(body["QuoteConnectionId"], True)

    def _Quote_RestoreConnection(self, body: dict, query: Any) -> Any:
        return self._set_quote_deleted(body["QuoteConnectionId"], False)

    def _set_quote_deleted(self, quote_id: int, deleted: bool) -> Any:
        for c in self.quote_connections:
            if c["QuoteConnectionId"] == quote_id:
                c["Deleted"] = deleted
                return _VOID
        return None

    def _Quote_GetConnectionConfigFields(self, body: dict, query: Any) -> Any:
        return self.quote_config.get(body["QuoteConnectionId"], {})

    def _Quote_GetConfigurationFields(self, body: dict, query: Any) -> Any:
        return self.quote_fields.get(body["ConnectorName"])

    def _Quote_TestConnection(self, body: dict, query: Any) -> Any:
        ok = body["ConnectionData"].get("Password") == "right"
        return {"IsOk": ok, "UserExplanation": "fine" if ok else "wrong password",
                "TechExplanation": "", "ErrorCode": "" if ok else "AUTH", "Changes": None,
                "Status": "Ok" if ok else "Error"}

    # --- archives: {PrimaryKey, EntityName, columns}; deleted/expired rows only when asked for
    @staticmethod
    def _archive(query: Any, rows: list[tuple[int, str, dict[str, Any]]]) -> Any:
        entities = set(query.get("$entities", "").split(","))
        return {"odata.metadata": BASE + "api/v1/archive/$metadata", "odata.nextLink": None,
                "value": [{"PrimaryKey": key, "EntityName": entity, **values}
                          for key, entity, values in rows if entity in entities]}

    def _GET_archive_ErpConnector(self, body: dict, query: Any) -> Any:
        return self._archive(query, [
            (c["Id"], "deleted" if c.get("Deleted") else "erpConnector",
             {"id": c["Id"], "name": c["Name"], "url": c["ExtraInfo"]}) for c in self.connectors])

    def _GET_archive_QuoteConnection(self, body: dict, query: Any) -> Any:
        return self._archive(query, [
            (c["QuoteConnectionId"], "deleted" if c["Deleted"] else "quoteConnection",
             {"quoteConnectionId": c["QuoteConnectionId"], "displayName": c["DisplayName"], "deleted": c["Deleted"]})
            for c in self.quote_connections])

    def _GET_archive_AllUsers(self, body: dict, query: Any) -> Any:
        return self._archive(query, [
            (u["Id"], "expired" if u.get("Deleted") else "all",
             {"associateDbId": u["Id"], "assocName": u["Name"], "fullName": u.get("FullName", ""),
              "isActive": not u.get("Deleted")}) for u in self.users])

    # --- lists

    def _GET_MDOList_quoteconnectors(self, body: dict, query: Any) -> Any:
        return [{"Id": i + 1, "Name": n, "Deleted": False} for i, n in enumerate(self.installed_quote)]

    def _GET_List_UserGroup_Items(self, body: dict, query: Any) -> Any:
        assert query.get("includeDeleted") == "true"
        return self.groups

    def __getattr__(self, name: str) -> Any:
        prefix = "_GET_MDOList_"
        if name.startswith(prefix) and name[len(prefix):] in self.mdo_lists:
            return lambda body, query: self.mdo_lists[name[len(prefix):]]
        raise AttributeError(name)


_VOID = object()


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def call(client: CrmClient, method: Callable[[CrmClient], Awaitable[T]]) -> T:
    """Open the client, make one call with it, close it: `call(client, lambda c: c.get_users())`."""

    async def go() -> T:
        async with client:
            return await method(client)

    return asyncio.run(go())


def small_tenant() -> FakeTenant:
    """Two sync connectors, one with a Password and a List field; one quote connector."""
    return FakeTenant(
        connectors=[
            {"Id": 1, "Name": "Visma.net", "ExtraInfo": "https://c.example.com/visma", "Deleted": False},
            {"Id": 2, "Name": "Old", "ExtraInfo": "https://c.example.com/old", "Deleted": True},
        ],
        erp_fields={
            1: [meta("CompanyId", "Integer", rank=1, access="Mandatory"),
                meta("Password", "Password", rank=2),
                meta("Since", "Datetime", rank=3),
                meta("Country", "List", rank=4, list_name="country")],
        },
        erp_connections=[erp_carrier(10, 1, "Visma Production", {"CompanyId": "7", "Password": "hunter2"})],
        erp_config={10: {"CompanyId": "7", "Password": "hunter2"}},
        quote_connections=[quote_carrier(20, "Visma Quotes", "Visma.Quote", 10),
                           quote_carrier(21, "Old Quotes", "Visma.Quote", 10, deleted=True)],
        quote_config={20: {"Currency": "NOK", "Password": "q-secret"}, 21: {}},
        quote_fields={"Visma.Quote": {"Password": meta("Password", "Password", rank=2),
                                      "Currency": meta("Currency", "Text", rank=1)}},
        installed_quote=["Visma.Quote", "Other.Quote"],
        users=[{"Id": 5, "Name": "ANNA", "FullName": "Anna A", "Deleted": False}],
        groups=[{"Id": 1, "Value": "Sales Norway", "Tooltip": "", "Rank": 1, "Deleted": False}],
        mdo_lists={"country": [{"Id": 47, "Name": "Norway", "Deleted": False}]},
    )
