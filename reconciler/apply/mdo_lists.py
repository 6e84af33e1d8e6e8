"""The MDO lists that List-type config fields name, for checking config at apply time."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from reconciler.crm.client import CrmClient
from reconciler.crm.live import FieldMeta, ListItem


async def lists_for(
    client: CrmClient, fields: Sequence[FieldMeta], known: Mapping[str, tuple[ListItem, ...]]
) -> dict[str, tuple[ListItem, ...]]:
    """The lists that `fields` name: those read while planning, and the others read now."""
    names = sorted({f.list_name for f in fields if f.field_type == "List" and f.list_name})
    missing = [name for name in names if name not in known]
    fetched = await asyncio.gather(*(client.get_mdo_list(name) for name in missing))
    return {**{name: known[name] for name in names if name in known}, **dict(zip(missing, fetched))}
