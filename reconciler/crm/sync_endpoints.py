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
from reconciler.crm.errors import CrmServerError
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


async def read_sync_config(
    crm: CrmClient, connection_id: int, actors: Iterable[str], actors_with_defaults: Iterable[str] = ()
) -> LiveSyncConfig:
    """One mapping read per managed actor, one list-mapping read per connection, and one
    default read per field of the actors whose defaults are managed - all at once, within
    the client's concurrency bound."""
    wanted = list(actors)
    mappings, lists = await asyncio.gather(
        asyncio.gather(*(get_actor_mapping(crm, connection_id, a) for a in wanted)),
        get_list_mappings(crm, connection_id),
    )
    by_actor = dict(zip(wanted, mappings))
    defaults: dict[str, dict[str, LiveDefault]] = {}
    jobs: list[tuple[str, Any]] = []
    for actor in actors_with_defaults:
        mapping = by_actor.get(actor)
        for f in mapping.fields if mapping else ():
            jobs.append((actor, get_default(crm, f.id)))
    found = await asyncio.gather(*(job for _, job in jobs))
    for (actor, _), default in zip(jobs, found):
        if default is not None:
            defaults.setdefault(actor, {})[default.key] = default
    return LiveSyncConfig(connection_id=connection_id, actors=by_actor, lists=lists, defaults=defaults)


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
