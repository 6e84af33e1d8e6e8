"""Archive providers: `GET /api/v1/archive/{provider}` (an OData "slim" response).

Only the providers the ERP tooling needs: AllUsers, ErpConnector and
QuoteConnection (docs/en/api/archive-providers/reference/allusers.md,
erpconnector.md, quoteconnection.md), and Dynamic for the ERP sync tables
(dynamic_archive.py, which pages the same way). Each row is `{PrimaryKey, EntityName,
<selected columns>}` (docs/en/api/reference/restful/rest/Archive/v1Archive_GetArchive_GET.md).

Strict where the documents allow it: a column or entity a provider does not
document is a 400; retired users (`expired`) and deleted rows (`deleted`) are
rows of their own entity, returned only when `$entities` names it. Documented
columns the emulator has no data for answer null. Pages hold at most
`PAGE_SIZE` rows and link the next one in `odata.nextLink`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from reconciler.emulator import dynamic_archive
from reconciler.emulator.context import Emulator
from reconciler.emulator.store import list_connectors, list_quotes
from reconciler.emulator.wire import BadRequest, error_response, json_response, lookup

PAGE_SIZE = 500

Row = tuple[int, str, Mapping[str, Any]]  # (PrimaryKey, EntityName, column values)

_COMMON = ("getAllRows", "getNoRows", "updatedBy", "updatedDate", "registeredBy", "registeredDate")


@dataclass(frozen=True)
class Provider:
    name: str
    entities: tuple[str, ...]  # documented entity names, as spelt in the docs
    default_entities: tuple[str, ...]  # what an empty $entities gives (never the deleted/expired ones)
    columns: tuple[str, ...]  # documented column names
    rows: Callable[[Emulator], Any]  # async: the rows of every entity


async def _users(emu: Emulator) -> list[Row]:
    return [
        (
            u.id or 0,
            "expired" if u.deleted else "all",
            {"associateDbId": u.id, "assocName": u.login, "fullName": u.full_name, "userName": u.login,
             "isActive": not u.deleted, "canLogin": not u.deleted, "assocTooltip": ""},
        )
        for u in emu.seed.users
    ]


async def _connectors(emu: Emulator) -> list[Row]:
    rows = await emu.read(list_connectors)
    return [
        (r.id, "deleted" if r.deleted else "erpConnector", {"id": r.id, "name": r.name, "url": r.url})
        for r in rows
    ]


async def _quotes(emu: Emulator) -> list[Row]:
    rows = await emu.read(list_quotes)
    return [
        (
            r.id,
            "deleted" if r.deleted else "quoteConnection",
            {"quoteConnectionId": r.id, "deleted": r.deleted, "allAccess": r.all_access, "erpName": r.erp_name,
             "displayName": r.name, "displayDescription": r.description, "connectorName": r.connector_name,
             "extraData": r.extra_data, "erpConnection/id": r.erp_connection_id},
        )
        for r in rows
    ]


_USER_ENTITIES = (
    "all", "superoffice_system-user-cal", "superoffice_admin-system-user", "superoffice_admin-extern-user",
    "superoffice_visible-for", "superoffice_reporter-studio-user", "superoffice_admin-anonymous-user",
    "superoffice_publish", "superoffice_superlicense-no-selection", "superoffice_ten-sales",
    "superoffice_ten-service", "superoffice_ten-marketing", "superoffice_ten-salesservicemarketing",
    "superoffice_outlook-synchronizer", "expired",
)

PROVIDERS: dict[str, Provider] = {
    p.name.lower(): p
    for p in (
        Provider(
            "AllUsers", _USER_ENTITIES, ("all",),
            ("getAllRows", "getNoRows", "userplan", "canLogin", *_USER_ENTITIES[1:-1], "firstName", "lastName",
             "middleName", "fullName", "contactId", "personId", "mrMrs", "title", "associateDbId", "contactName",
             "contactDepartment", "usergroup", "usergroupId", "contactFullName", "contactCategory", "role",
             "assocName", "assocTooltip", "assocType", "ejUserId", "simultaneousEjUser", "ejDisplayName",
             "ejStatus", "credentialType", "credentialDisplayValue", "isActive", "isActiveText",
             "portraitThumbnail", "otherGroups", "userName", "personEmail", "locationAddress", "isLocation"),
            _users,
        ),
        Provider("ErpConnector", ("erpConnector", "deleted"), ("erpConnector",), ("id", "url", "name", *_COMMON),
                 _connectors),
        Provider(
            "QuoteConnection", ("quoteConnection", "deleted"), ("quoteConnection",),
            ("quoteConnectionId", "deleted", "allAccess", "erpName", "displayName", "displayDescription",
             "connectorName", "extraData", *_COMMON, "erpConnection/id", "erpConnection/name",
             "erpConnection/description", "erpConnection/active", "erpConnection/erpId",
             "erpConnection/mostRecent", "erpConnection/allAccess", "erpConnection/deleted"),
            _quotes,
        ),
    )
}


def _names(raw: str | None, known: tuple[str, ...], what: str, provider: str) -> list[str]:
    """The documented spellings of a comma-separated list, matched without regard to case."""
    by_lower = {k.lower(): k for k in known}
    found: list[str] = []
    for part in (raw or "").split(","):
        name = part.strip()
        if not name:
            continue
        if name.lower() not in by_lower:
            raise BadRequest(f"Archive provider {provider} has no {what} '{name}' (it has: {', '.join(known)})")
        found.append(by_lower[name.lower()])
    return found


async def archive(emu: Emulator, request: Request, provider_name: str) -> Response:
    query = request.query_params
    if provider_name.lower() == dynamic_archive.NAME:
        dynamic, keys = await dynamic_archive.dynamic_rows(emu, query)
        return _page(request, dynamic, keys)
    provider = PROVIDERS.get(provider_name.lower())
    if provider is None:
        return error_response(404, "SoNotFoundException", f"Archive provider '{provider_name}' not found")
    select = _names(lookup(query, "$select")[1], provider.columns, "column", provider.name) or list(provider.columns)
    entities = set(_names(lookup(query, "$entities")[1], provider.entities, "entity", provider.name))
    rows = [r for r in await provider.rows(emu) if r[1] in (entities or set(provider.default_entities))]
    rows.sort(key=lambda r: r[0])
    return _page(request, rows, select)


def _page(request: Request, rows: Sequence[tuple[int | str, str, Mapping[str, Any]]], columns: list[str]) -> Response:
    """One page of `rows` (already in order) with the `columns` of each, linking the next page."""
    query = request.query_params
    skip = _int_query(query, "$skip")
    page = rows[skip : skip + PAGE_SIZE]
    next_link = None
    if skip + PAGE_SIZE < len(rows):
        params = {k: v for k, v in query.items() if k.lower() != "$skip"}
        next_link = f"{str(request.url).split('?')[0]}?{urlencode({**params, '$skip': skip + PAGE_SIZE})}"
    base = str(request.base_url)
    return json_response(
        {
            "odata.metadata": f"{base}api/v1/archive/$metadata",
            "odata.nextLink": next_link,
            "value": [
                {"PrimaryKey": key, "EntityName": entity, **{c: values.get(c) for c in columns}}
                for key, entity, values in page
            ],
        }
    )


def _int_query(query: Mapping[str, str], name: str) -> int:
    found, raw = lookup(query, name)
    if not found or raw == "":
        return 0
    if not raw.isdigit():
        raise BadRequest(f"The value '{raw}' is not valid for {name} (a whole number)")
    return int(raw)
