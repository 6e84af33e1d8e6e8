"""The sync configuration part of a snapshot, read after the rest (it needs the live
connection ids): only for connections whose manifest has a `sync` block. Per such
connection: one GetActorTypeMapping per managed actor type, one
GetConnectionListMappings, and one GetDefaultValueInfo per field of the actor types
whose defaults are managed, and one archive Dynamic read of the ERP-tab rank when an
erpTabOrder is managed; then one MDO list per CRM list named by a list mapping that
the snapshot does not hold yet, and MDOList/erpconnections once when a priority is managed.
All within the client's concurrency bound."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, replace

from reconciler.crm.client import CrmClient
from reconciler.crm.live import Live
from reconciler.crm.sync_endpoints import get_actor_types, get_priority_ranks, ranks_by_connection, read_sync_config


@dataclass(frozen=True)
class SyncNeeds:
    """What one connection's `sync` block manages."""

    actors: tuple[str, ...]
    actors_with_defaults: tuple[str, ...] = ()
    actors_with_order: tuple[str, ...] = ()  # erpTabOrder managed


async def read_sync(client: CrmClient, live: Live, needs: Mapping[str, SyncNeeds], priority: bool) -> Live:
    """`live` with the sync configuration of the connections `needs` names read (again)."""
    if not needs and not priority:
        return live
    wanted = [(c.id, needs[c.name]) for c in live.erp_connections if not c.deleted and c.name in needs]
    configs, ranks = await asyncio.gather(
        asyncio.gather(*(read_sync_config(client, cid, n.actors, n.actors_with_defaults, n.actors_with_order)
                         for cid, n in wanted)),
        get_priority_ranks(client) if priority else _no_ranks(),
    )
    crm_lists = sorted({lm.crm_list for cfg in configs for lm in cfg.lists if lm.crm_list} - set(live.lists))
    fetched = await asyncio.gather(*(client.get_mdo_list(name) for name in crm_lists))
    return replace(
        live,
        sync={**live.sync, **{cfg.connection_id: cfg for cfg in configs}},
        sync_priority=ranks_by_connection(ranks, {c.id: c.guid for c in live.erp_connections if not c.deleted})
        if priority else live.sync_priority,
        lists={**live.lists, **dict(zip(crm_lists, fetched))},
    )


async def _no_ranks() -> dict[str, int]:
    return {}


async def read_all_sync(client: CrmClient, live: Live) -> Live:
    """Everything, for export: every actor type of every connection, with its defaults
    and ERP-tab order, and the priority order. One GetErpSyncConnectionSummary per
    connection first."""
    alive = [c for c in live.erp_connections if not c.deleted]
    actor_types = await asyncio.gather(*(get_actor_types(client, c.id) for c in alive))
    needs = {c.name: SyncNeeds(types, types, types) for c, types in zip(alive, actor_types) if types}
    return await read_sync(client, live, needs, priority=True)
