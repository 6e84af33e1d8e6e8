"""The `Dynamic` archive provider: database tables read with the dot syntax
(`GET /api/v1/archive/dynamic?$select=erpfield.erpfield_id,erpfield.Rank&$filter=...`).

Vendor docs (SuperOfficeDocs/superoffice-docs): docs/en/api/archive-providers/reference/dynamic.md
and docs/en/api/search/odata/dynamic-provider.md. As in the vendor's examples,
each row is keyed by the `$select` strings as sent and `PrimaryKey` is a string; the
EntityName is the table's name. Only the ERP sync tables are held (dynamic_tables.py);
the filter subset is dynamic_filter.py. The provider has no entities, so `$entities`
is refused. Rows of a soft-deleted connection's actor types and fields are still rows
of those tables (deleting a connection only marks the connection), so they are answered.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.emulator.context import Emulator
from reconciler.emulator.dynamic_filter import parse_filter
from reconciler.emulator.dynamic_tables import ColumnRef, resolve, same_base_table
from reconciler.emulator.wire import BadRequest, lookup

NAME = "dynamic"

Row = tuple[str, str, Mapping[str, Any]]  # (PrimaryKey, EntityName, values by select string)


def _select(query: Mapping[str, str]) -> list[ColumnRef]:
    raw = lookup(query, "$select")[1] or ""
    texts = [part.strip() for part in raw.split(",") if part.strip()]
    if not texts:
        raise BadRequest(
            "The Dynamic provider needs $select: the columns to read, as table.field (for example "
            "$select=erpfield.erpfield_id,erpfield.Rank)"
        )
    return [resolve(text) for text in texts]


async def dynamic_rows(emu: Emulator, query: Mapping[str, str]) -> tuple[list[Row], list[str]]:
    """The rows the query asks for, in primary key order, and the column keys to answer."""
    if lookup(query, "$entities")[1]:
        raise BadRequest("The Dynamic provider has no entities; leave $entities out and name columns in $select")
    refs = _select(query)
    terms = parse_filter(lookup(query, "$filter")[1] or "")
    table = same_base_table([*refs, *(t.ref for t in terms)])

    key = table.columns[0]
    keyed = [t for t in terms if t.ref.column is key]
    keys = [v for v in keyed[0].values if type(v) is int] if keyed else None

    def read(conn: sqlite3.Connection) -> Sequence[Any]:
        return table.rows(conn, keys)

    found = [row for row in await emu.read(read) if all(t.matches(row) for t in terms)]
    found.sort(key=table.key_of)
    rows: list[Row] = [
        (str(table.key_of(row)), table.name, {r.text: r.column.of(row) for r in refs}) for row in found
    ]
    return rows, [r.text for r in refs]
