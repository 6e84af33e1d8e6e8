"""After apply: does the CRM now match the manifests? Asked of what apply wrote.

Apply planned from a full read moments ago; everything it did not write is as
that read found it (a concurrent writer is another matter, which the next plan
sees). So the check reads again only the objects apply wrote or tried to write,
plus the field metadata and lists a newly registered connector brings, puts them
into the plan's read, and plans again. Its cost follows the changes, not the
tenant. Only when a create's outcome is unknown (no id came back) does it read
everything again, to find the object by name.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import replace
from typing import TypeVar

from reconciler.plan.outcome import Outcome
from reconciler.crm.client import CrmClient
from reconciler.crm.errors import CrmNotFoundError, CrmRequestError, CrmServerError
from reconciler.crm.live import FieldMeta, ListItem, Live, LiveConnector, LiveErpConnection, LiveQuoteConnection

_Obj = TypeVar("_Obj", LiveConnector, LiveErpConnection, LiveQuoteConnection)


def _touched(outcomes: Iterable[Outcome], kind: str) -> list[int]:
    return sorted({o.live_id for o in outcomes if o.kind == kind and o.status != "skipped" and o.live_id is not None})


def _merged(before: Sequence[_Obj], ids: Sequence[int], fresh: Sequence[_Obj | None]) -> tuple[_Obj, ...]:
    """`before` with the objects of `ids` replaced by their fresh read (gone if None)."""
    by_id = {obj.id: obj for obj in before if obj.id not in ids}
    by_id.update({obj.id: obj for obj in fresh if obj is not None})
    return tuple(by_id[i] for i in sorted(by_id))


def outcome_unknown(outcomes: Iterable[Outcome]) -> bool:
    return any(o.action == "create" and o.status == "failed" and o.live_id is None for o in outcomes)


async def reread_written(
    client: CrmClient, live: Live, outcomes: Sequence[Outcome], read_all: Callable[[], Awaitable[Live]]
) -> Live:
    """`live` (the plan's read) with what apply wrote read again (`read_all` when that is not enough)."""
    if outcome_unknown(outcomes):
        return await read_all()
    connector_ids = _touched(outcomes, "SyncConnector")
    erp_ids = _touched(outcomes, "ErpConnection")
    quote_ids = _touched(outcomes, "QuoteConnection")
    connectors, erp, quote = await asyncio.gather(
        asyncio.gather(*(client.get_connector(i) for i in connector_ids)),
        asyncio.gather(*(client.get_connection(i) for i in erp_ids)),
        asyncio.gather(*(client.get_quote_connection(i) for i in quote_ids)),
    )
    new_connectors = [c for c in connectors if c is not None and not c.deleted and c.id not in live.erp_fields]
    erp_fields = dict(live.erp_fields)
    for connector, fields in zip(
        new_connectors, await asyncio.gather(*(_fields_or_none(client, c.id) for c in new_connectors))
    ):
        if fields is not None:
            erp_fields[connector.id] = fields
    wanted_lists = sorted(
        {f.list_name for fields in erp_fields.values() for f in fields if f.field_type == "List" and f.list_name}
        - set(live.lists)
    )
    lists = dict(live.lists)
    for name, items in zip(wanted_lists, await asyncio.gather(*(_list_or_none(client, n) for n in wanted_lists))):
        if items is not None:
            lists[name] = items
    return replace(
        live,
        connectors=_merged(live.connectors, connector_ids, connectors),
        erp_connections=_merged(live.erp_connections, erp_ids, erp),
        quote_connections=_merged(live.quote_connections, quote_ids, quote),
        erp_fields=dict(sorted(erp_fields.items())),
        lists=dict(sorted(lists.items())),
    )


async def _fields_or_none(client: CrmClient, connector_id: int) -> tuple[FieldMeta, ...] | None:
    try:
        return await client.get_erp_config_fields(connector_id)
    except CrmServerError:
        return None  # the plan then says the connector's fields could not be read


async def _list_or_none(client: CrmClient, name: str) -> tuple[ListItem, ...] | None:
    try:
        return await client.get_mdo_list(name)
    except (CrmRequestError, CrmNotFoundError, CrmServerError):
        return None
