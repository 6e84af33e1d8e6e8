"""The ErpSync sync configuration endpoints: one thin call each, through the client's
request method (its HTTP policy: auth, retries, concurrency bound, error mapping).

Kept apart from `client.py` so the sync configuration can grow without touching it; the
requests go through `crm.http` (http.py), like the other endpoints.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from reconciler.crm import sync_wire
from reconciler.crm.errors import CrmAuthError, CrmNotFoundError, CrmRequestError, CrmServerError
from reconciler.crm.sync_live import LiveActorMapping, LiveDefault, LiveListMapping, LiveSyncConfig
from reconciler.crm.wire import Json, mdo_items

if TYPE_CHECKING:
    from reconciler.crm.client import CrmClient

_AGENT = "ErpSync"


async def _call(crm: CrmClient, method: str, body: Json) -> Json:
    return await crm.http.agent(_AGENT, method, body)


def _saved(endpoint: str, body: Json) -> Json:
    if body is None:  # how a failed agent call answers (docs/api/webapi/agents/index.md)
        raise CrmServerError(endpoint, "answered null: the CRM did not make the change (a failed agent call)",
                             hint="run plan again to see the current state")
    return body


async def get_actor_mapping(crm: CrmClient, connection_id: int, erp_actor: str) -> LiveActorMapping | None:
    """None when the connection does not offer the actor type (or does not exist)."""
    body = await _call(crm, "GetActorTypeMapping", {"ErpConnectionId": connection_id, "ActorType": erp_actor})
    return None if body is None else crm.http.parse("ErpSync/GetActorTypeMapping", lambda: sync_wire.actor_mapping(body))


async def save_actor_mapping(crm: CrmClient, mapping: LiveActorMapping) -> LiveActorMapping:
    endpoint = "ErpSync/SaveActorTypeMapping"
    body = await _call(crm, "SaveActorTypeMapping", {"Mapping": sync_wire.actor_mapping_to_wire(mapping)})
    return crm.http.parse(endpoint, lambda: sync_wire.actor_mapping(_saved(endpoint, body)))


async def get_list_mappings(crm: CrmClient, connection_id: int) -> tuple[LiveListMapping, ...]:
    body = await _call(crm, "GetConnectionListMappings", {"ErpConnectionId": connection_id})
    return () if body is None else crm.http.parse("ErpSync/GetConnectionListMappings", lambda: sync_wire.list_mappings(body))


async def save_list_mappings(
    crm: CrmClient, connection_id: int, mappings: tuple[LiveListMapping, ...]
) -> tuple[LiveListMapping, ...]:
    endpoint = "ErpSync/SaveConnectionListMappings"
    body = await _call(crm, "SaveConnectionListMappings",
                       {"ListMapping": sync_wire.list_mappings_to_wire(connection_id, mappings)})
    return crm.http.parse(endpoint, lambda: sync_wire.list_mappings(_saved(endpoint, body)))


async def get_default(crm: CrmClient, field_id: int) -> LiveDefault | None:
    body = await _call(crm, "GetDefaultValueInfo", {"ErpFieldId": field_id})
    return None if body is None else crm.http.parse("ErpSync/GetDefaultValueInfo", lambda: sync_wire.default_value(body))


async def save_default(crm: CrmClient, default: LiveDefault) -> LiveDefault:
    endpoint = "ErpSync/SaveDefaultValueInfo"
    body = await _call(crm, "SaveDefaultValueInfo", {"ErpSyncDefaultValue": sync_wire.default_value_to_wire(default)})
    return crm.http.parse(endpoint, lambda: sync_wire.default_value(_saved(endpoint, body)))


async def save_priorities(crm: CrmClient, connection_ids: list[int]) -> None:
    """The full order, highest priority first."""
    endpoint = "ErpSync/SaveErpConnectionSyncPriorities"
    body = await _call(crm, "SaveErpConnectionSyncPriorities", {"ErpConnectionIds": connection_ids})
    if body is not True:
        raise CrmServerError(endpoint, "did not save the sync priority order (it answered "
                             f"{'null' if body is None else body!r})", hint="run plan again to see the current state")


async def get_priority_ranks(crm: CrmClient) -> dict[str, int]:
    """Connection GUID -> sync priority rank (1 = first; 0 = not known), from MDO list
    erpconnections (docs/api/mdo-providers/reference/erpconnections.md)."""
    body = await crm.http.get("MDOList/erpconnections", params={"flat": "true"})
    if body is None:
        return {}
    return crm.http.parse("GET MDOList/erpconnections",
                      lambda: sync_wire.priority_ranks(list(mdo_items(body, "list erpconnections"))))


# Ids per archive request: 100 seven-digit ids make a query string of about 1.1 kB,
# well inside the 2,048 bytes IIS request filtering allows by default.
RANK_IDS_PER_REQUEST = 100


class RanksUnreadable(Exception):
    """The CRM refused the archive read of the ERP-tab rank; the message says how."""


async def get_field_ranks(crm: CrmClient, field_ids: Iterable[int]) -> dict[int, int | None]:
    """ErpFieldId -> Rank (lowest shows first on the ERP tab; None = no rank). No ErpSync
    method returns the rank of every field, so it is read from the database table ErpField
    through archive Dynamic (docs/en/api/archive-providers/reference/dynamic.md,
    docs/en/database/tables/erpfield.md). A refusal (400/403/404: the provider or the
    table not open to this user) raises RanksUnreadable; other failures propagate."""
    ids = sorted(set(field_ids))
    chunks = [ids[i : i + RANK_IDS_PER_REQUEST] for i in range(0, len(ids), RANK_IDS_PER_REQUEST)]
    try:
        pages = await asyncio.gather(*(
            crm.get_archive("dynamic", select=(sync_wire.FIELD_ID_COLUMN, sync_wire.RANK_COLUMN),
                            where=f"{sync_wire.FIELD_ID_COLUMN} in ({','.join(map(str, chunk))})")
            for chunk in chunks
        ))
    except (CrmRequestError, CrmAuthError, CrmNotFoundError) as refused:
        raise RanksUnreadable(str(refused)) from None
    ranks: dict[int, int | None] = {}
    for rows in pages:
        ranks.update(crm.http.parse("GET archive/dynamic", lambda rows=rows: sync_wire.field_ranks(rows)))
    return {field_id: rank for field_id, rank in ranks.items() if field_id in ids}


async def move_field(crm: CrmClient, connection_id: int, erp_actor: str, field_id: int, step: int) -> None:
    """One place later (+1) or earlier (-1) on the ERP tab. Answers nothing (204), so
    whether it took is seen only by reading the ranks again."""
    body = {"ErpFieldId": field_id, "Direction": step, "ErpConnectionId": connection_id, "ErpActorType": erp_actor}
    await _call(crm, "MoveErpFieldItem", body)


async def read_sync_config(
    crm: CrmClient, connection_id: int, actors: Iterable[str], actors_with_defaults: Iterable[str] = (),
    actors_with_order: Iterable[str] = (),
) -> LiveSyncConfig:
    """One mapping read per managed actor, one list-mapping read per connection, one
    default read per field of the actors whose defaults are managed, and one rank read
    (archive Dynamic) for the fields of the actors whose ERP-tab order is managed - all
    at once, within the client's concurrency bound."""
    wanted = list(actors)
    mappings, lists = await asyncio.gather(
        asyncio.gather(*(get_actor_mapping(crm, connection_id, a) for a in wanted)),
        get_list_mappings(crm, connection_id),
    )
    by_actor = dict(zip(wanted, mappings))
    jobs: list[tuple[str, Any]] = []
    for actor in actors_with_defaults:
        mapping = by_actor.get(actor)
        for f in mapping.fields if mapping else ():
            jobs.append((actor, get_default(crm, f.id)))
    ordered = [f.id for a in actors_with_order for f in (by_actor[a].fields if by_actor.get(a) else ())]
    found, (ranks, unreadable) = await asyncio.gather(
        asyncio.gather(*(job for _, job in jobs)), _ranks_or_reason(crm, ordered))
    defaults: dict[str, dict[str, LiveDefault]] = {}
    for (actor, _), default in zip(jobs, found):
        if default is not None:
            defaults.setdefault(actor, {})[default.key] = default
    return LiveSyncConfig(connection_id=connection_id, actors=by_actor, lists=lists, defaults=defaults,
                          ranks=ranks, ranks_unreadable=unreadable)


async def _ranks_or_reason(crm: CrmClient, field_ids: list[int]) -> tuple[dict[int, int | None] | None, str]:
    if not field_ids:
        return None, ""
    try:
        return await get_field_ranks(crm, field_ids), ""
    except RanksUnreadable as refused:
        return None, str(refused)


def ranks_by_connection(ranks: Mapping[str, int], guids: Mapping[int, str]) -> dict[int, int]:
    """Connection id -> priority rank, for the connections whose GUID the list names."""
    return {cid: ranks[guid] for cid, guid in guids.items() if ranks.get(guid)}


async def get_actor_types(crm: CrmClient, connection_id: int) -> tuple[str, ...]:
    """The ERP actor types configured on a connection, from GetErpSyncConnectionSummary
    (its argument is ErpSyncConnectionId, unlike the other methods)."""
    body = await _call(crm, "GetErpSyncConnectionSummary", {"ErpSyncConnectionId": connection_id})
    if body is None:
        return ()
    return crm.http.parse("ErpSync/GetErpSyncConnectionSummary", lambda: sync_wire.summary_actor_types(body))
