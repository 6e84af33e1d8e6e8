"""Doctor rows for sync configuration: whether this tenant reports the sync priority
order, whether the sync configuration reads answer, and whether the ERP-tab rank can be
read. Read-only like every row."""

from __future__ import annotations

from reconciler.crm.client import CrmClient
from reconciler.crm.errors import CrmError
from reconciler.crm.sync_endpoints import (
    RanksUnreadable,
    get_actor_mapping,
    get_actor_types,
    get_field_ranks,
    get_priority_ranks,
)
from reconciler.doctor.row import Check, refusal

SYNC_PRIORITY = "Sync priority order readable"
SYNC_ENDPOINTS = "Sync configuration reads answer"
ERP_TAB_ORDER = "ERP-tab order readable"

NOT_COMPARED = (
    "plan cannot compare sync.priority here (it says so in a note) and apply sends the priority order "
    "whenever it touches a connection that sets sync.priority"
)


async def sync_priority_row(client: CrmClient) -> Check:
    """The plan compares sync.priority only when MDOList/erpconnections gives a Rank
    (docs/api/mdo-providers/reference/erpconnections.md)."""
    try:
        ranks = await get_priority_ranks(client)
    except CrmError as error:
        return Check(
            "sync_priority", SYNC_PRIORITY, "fail", f"MDOList/erpconnections: {refusal(error)}",
            "plan reads this list when a manifest sets sync.priority; the user behind the credentials "
            "must be allowed to read it",
        )
    if not ranks:
        return await _no_named_items(client)
    ranked = sum(1 for rank in ranks.values() if rank > 0)
    if ranked:
        return Check(
            "sync_priority", SYNC_PRIORITY, "pass",
            f"MDOList/erpconnections gives a Rank ({ranked} of {len(ranks)} ERP connections ranked); "
            "plan compares sync.priority",
        )
    return Check(
        "sync_priority", SYNC_PRIORITY, "note",
        f"MDOList/erpconnections gives no Rank for any of its {len(ranks)} ERP connections "
        "(no order was ever saved, or this CRM does not report it)",
        NOT_COMPARED,
    )


async def _no_named_items(client: CrmClient) -> Check:
    """The list names no connection (by its GUID in ExtraInfo): a fresh tenant, or a CRM
    whose list does not carry the GUID - then plan cannot tell whose rank is whose."""
    try:
        count = len(await client.get_all_connections(include_deleted=False, with_config=False))
    except CrmError:
        count = 0  # the ErpSync rows say why; this row cannot tell more
    if count:
        return Check(
            "sync_priority", SYNC_PRIORITY, "note",
            f"MDOList/erpconnections names none of the {count} ERP connections by its GUID (ExtraInfo), "
            "so it cannot tell which rank is whose",
            NOT_COMPARED,
        )
    return Check(
        "sync_priority", SYNC_PRIORITY, "note",
        "no ERP connections yet, so it cannot tell whether this CRM reports the order (Rank); "
        "run doctor again after the first apply",
        "if it does not, " + NOT_COMPARED,
    )


async def sync_endpoints_row(client: CrmClient) -> Check:
    """One GetErpSyncConnectionSummary and one GetActorTypeMapping, for the first ERP connection."""
    try:
        connections = await client.get_all_connections(include_deleted=False, with_config=False)
    except CrmError as error:
        return Check("sync_endpoints", SYNC_ENDPOINTS, "skip",
                     f"not checked: the ERP connections could not be listed ({refusal(error)})")
    if not connections:
        return Check("sync_endpoints", SYNC_ENDPOINTS, "note",
                     "not checked: no ERP connection yet; run doctor again after the first apply")
    first = min(connections, key=lambda c: c.id)
    method = "GetErpSyncConnectionSummary"
    try:
        actor_types = await get_actor_types(client, first.id)
        if not actor_types:
            return Check(
                "sync_endpoints", SYNC_ENDPOINTS, "pass",
                f"{method} answers for {first.name} (no actor types, so GetActorTypeMapping was not tried)",
            )
        method = "GetActorTypeMapping"
        await get_actor_mapping(client, first.id, actor_types[0])
    except CrmError as error:
        return Check("sync_endpoints", SYNC_ENDPOINTS, "fail", f"ErpSync/{method} for {first.name}: {refusal(error)}",
                     _fix(method, error))
    return Check(
        "sync_endpoints", SYNC_ENDPOINTS, "pass",
        f"GetErpSyncConnectionSummary and GetActorTypeMapping ({actor_types[0]}) answer for {first.name}",
    )


TAB_ORDER_NOT_COMPARED = (
    "plan cannot compare sync erpTabOrder here (it says so in a note) and apply leaves the ERP-tab order "
    "as it is; the rank is read through archive Dynamic (table ErpField), which the user behind the "
    "credentials must be allowed to use"
)


async def erp_tab_order_row(client: CrmClient) -> Check:
    """One rank read (archive Dynamic, table ErpField) for the fields of the first ERP
    connection's first actor type: what plan reads when a manifest sets erpTabOrder."""
    try:
        connections = await client.get_all_connections(include_deleted=False, with_config=False)
        first = min(connections, key=lambda c: c.id) if connections else None
        actor_types = await get_actor_types(client, first.id) if first else ()
        mapping = await get_actor_mapping(client, first.id, actor_types[0]) if first and actor_types else None
    except CrmError as error:
        return Check("erp_tab_order", ERP_TAB_ORDER, "skip",
                     f"not checked: the sync configuration could not be read ({refusal(error)})")
    if first is None or mapping is None or not mapping.fields:
        why = "no ERP connection yet" if first is None else f"{first.name} has no ERP fields cached yet"
        return Check("erp_tab_order", ERP_TAB_ORDER, "note",
                     f"not checked: {why}; run doctor again after the first apply")
    where = f"the {len(mapping.fields)} {mapping.erp_actor} fields of {first.name}"
    try:
        ranks = await get_field_ranks(client, [f.id for f in mapping.fields])
    except RanksUnreadable as refused:
        return Check("erp_tab_order", ERP_TAB_ORDER, "note", f"archive Dynamic refused: {refused}",
                     TAB_ORDER_NOT_COMPARED)
    except CrmError as error:
        return Check("erp_tab_order", ERP_TAB_ORDER, "fail", f"archive Dynamic: {refusal(error)}",
                     "plan reads it when a manifest sets erpTabOrder; try again later")
    ranked = sum(1 for rank in ranks.values() if rank is not None)
    if ranked:
        return Check("erp_tab_order", ERP_TAB_ORDER, "pass",
                     f"archive Dynamic gives the Rank of {ranked} of {where}; plan compares erpTabOrder")
    return Check("erp_tab_order", ERP_TAB_ORDER, "note",
                 f"archive Dynamic answers but gives no Rank for {where}", TAB_ORDER_NOT_COMPARED)


USED_BY = {
    "GetErpSyncConnectionSummary": "export reads it to find every actor type of a connection",
    "GetActorTypeMapping": "plan and apply read it for every connection with a `sync` block",
}


def _fix(method: str, error: CrmError) -> str:
    if error.status in (401, 403):
        return f"{USED_BY[method]}; the user behind the credentials needs ERP administration rights to read it"
    if error.status == 404:
        return (f"this server has no {method} ({USED_BY[method]}), so `sync` blocks cannot be managed here: "
                "leave them out of the manifests or upgrade the server")
    return ""
