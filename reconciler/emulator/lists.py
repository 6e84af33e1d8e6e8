"""Read-only lists: user groups (List/UserGroup) and MDO lists
(docs/api/reference/restful/rest/List_UserGroup/, docs/api/mdo-providers/reference/)."""

from __future__ import annotations

import sqlite3
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from reconciler.emulator.context import Emulator
from reconciler.emulator.store import list_connectors, list_erp, list_quotes
from reconciler.emulator.sync_store import priority_positions
from reconciler.emulator.wire import BadRequest, carrier, json_response, lookup


def _bool_query(request: Request, name: str) -> bool:
    found, raw = lookup(request.query_params, name)
    if not found or raw == "":
        return False
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise BadRequest(f"The value '{raw}' is not valid for {name} (true or false)")


async def user_group_items(emu: Emulator, request: Request) -> Response:
    include_deleted = _bool_query(request, "includeDeleted")
    items = [
        carrier(
            {"Value": g.name, "Tooltip": g.tooltip, "Id": g.id, "Rank": rank, "Deleted": g.deleted}
        )
        for rank, g in enumerate(emu.seed.groups, start=1)
        if include_deleted or not g.deleted
    ]
    return json_response(items)


def mdo_item(
    item_id: int, name: str, *, tooltip: str = "", deleted: bool = False, rank: int = 0,
    extra_info: str = "", full_name: str = "",
) -> dict[str, Any]:
    return carrier(
        {
            "Id": item_id,
            "Name": name,
            "ToolTip": tooltip,
            "Deleted": deleted,
            "Rank": rank,
            "Type": "",
            "ChildItems": [],  # every list here is flat, with or without ?flat=true
            "IconHint": "",
            "ColorBlock": 0,
            "ExtraInfo": extra_info,
            "StyleHint": "",
            "FullName": full_name or name,
        }
    )


async def mdo_list(emu: Emulator, request: Request, list_name: str) -> Response:
    _bool_query(request, "flat")  # accepted and validated; all lists are flat anyway
    name = list_name.lower()
    if name == "associate":
        # Id = AssociateId, Name = the person's display name (not the login), and
        # retired users are not listed (docs/en/api/mdo-providers/reference/associate.md).
        return json_response(
            [
                mdo_item(u.id or 0, u.full_name or u.login, rank=rank, extra_info=f"person_id={u.id}&contact_id=0")
                for rank, u in enumerate(emu.seed.users, start=1)
                if not u.deleted
            ]
        )
    if name == "quoteconnectors":
        return json_response(
            [
                mdo_item(i, q.name, tooltip=q.erp_name, rank=i)
                for i, q in enumerate(emu.seed.quote_connectors, start=1)
            ]
        )
    if name == "erpconnectors":
        # The list reformats archive ErpConnector without its `deleted` entity:
        # deleted connectors are not in it (archive ErpConnector has them).
        rows = await emu.read(list_connectors)
        return json_response(
            [mdo_item(r.id, r.name, rank=r.id, extra_info=r.url) for r in rows if not r.deleted]
        )
    if name == "erpconnections":
        return json_response(await emu.read(_erp_connection_items))
    if name == "quoteconnections":
        rows = await emu.read(list_quotes)
        return json_response(
            [mdo_item(r.id, r.name, rank=r.rank, extra_info=r.connector_name) for r in rows if not r.deleted]
        )
    items = emu.seed.list_items(list_name)
    if items is None:
        # An unknown list is a 400 (not an empty 200), so a client that asks for a
        # ListName nobody provides finds out instead of offering no choices.
        known = ["associate", "erpconnectors", "erpconnections", "quoteconnectors", "quoteconnections", *emu.seed.lists]
        raise BadRequest(f"Unknown MDO list '{list_name}'; this tenant has: {', '.join(known)}")
    return json_response(
        [
            mdo_item(i.id or 0, i.name, tooltip=i.tooltip, deleted=i.deleted, rank=rank)
            for rank, i in enumerate(items, start=1)
        ]
    )


def _erp_connection_items(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """MDO list erpconnections: the GUID in ExtraInfo (docs/api/mdo-providers/reference/erpconnections.md).
    Rank is the position in the last saved sync priority order, from 1, and 0 for a
    connection that was never in one; items come in that order (the list's useRank
    attribute: how `additional` encodes it is not documented, so it is always on here)."""
    positions = priority_positions(conn)
    rows = list_erp(conn, include_deleted=False)
    rank = {r.id: positions[r.id] + 1 if r.id in positions else 0 for r in rows}
    rows.sort(key=lambda r: (rank[r.id] == 0, rank[r.id], r.id))
    return [mdo_item(r.id, r.name, rank=rank[r.id], extra_info=r.guid) for r in rows]
