"""The database tables the `Dynamic` archive provider can read here, and the dot syntax
that names their columns (`table.field`).

Vendor docs (SuperOfficeDocs/superoffice-docs): the dot syntax is
docs/en/api/search/odata/dynamic-provider.md;
the columns are those of docs/en/database/tables/erpfield.md and
erpconnectionactortype.md, spelt as there and matched without regard to case.

A documented column the emulator holds no data for answers null. So do the enum
columns: the docs do not say how the provider renders an enum (name or number).
Joins are part of the dot syntax, but the emulator does not implement them.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from reconciler.emulator.sync_store import ACTORS, FIELDS
from reconciler.emulator.wire import BadRequest

Kind = Literal["int", "string", "bool", "enum", "datetime"]


@dataclass(frozen=True)
class DocColumn:
    """A column as the table document lists it, and where the emulator keeps its value."""

    name: str
    kind: Kind
    value: Callable[[Any], Any] | None = None  # None: no data here, answered null

    def of(self, row: Any) -> Any:
        return None if self.value is None else self.value(row)


@dataclass(frozen=True)
class DynamicTable:
    name: str  # the database name, lower case, as the dot syntax spells it
    doc: str  # the vendor document that lists its columns
    columns: tuple[DocColumn, ...]  # the primary key first
    # The rows in primary key order; only those with these primary keys when given.
    rows: Callable[[sqlite3.Connection, Sequence[int] | None], Sequence[Any]]

    def column(self, name: str) -> DocColumn | None:
        return next((c for c in self.columns if c.name.lower() == name.lower()), None)

    def key_of(self, row: Any) -> int:
        return int(self.columns[0].of(row))


@dataclass(frozen=True)
class ColumnRef:
    """One `table.field` as the caller wrote it, resolved to the table and its column."""

    text: str
    table: DynamicTable
    column: DocColumn


_AUDIT_COLUMNS = (
    DocColumn("registered", "datetime"),
    DocColumn("registered_associate_id", "int"),
    DocColumn("updated", "datetime"),
    DocColumn("updated_associate_id", "int"),
    DocColumn("updatedCount", "int"),
)


def _field(attr: str) -> Callable[[Any], Any]:
    return lambda row: getattr(row, attr)


def _rows_of(store: Any) -> Callable[[sqlite3.Connection, Sequence[int] | None], Sequence[Any]]:
    """Rows of a store table, narrowed in SQL to the given primary keys: a filter on the
    key should not read the whole table (the client asks for a hundred fields at a time)."""
    def rows(conn: sqlite3.Connection, keys: Sequence[int] | None) -> Sequence[Any]:
        if keys is None:
            return store.select(conn)
        found: list[Any] = []
        unique = sorted(set(keys))
        for start in range(0, len(unique), 500):  # within SQLite's limit on bound parameters
            chunk = unique[start : start + 500]
            found += store.select(conn, f"{store.columns[0].name} IN ({', '.join('?' * len(chunk))})", chunk)
        return found

    return rows


ERP_FIELD = DynamicTable(
    "erpfield",
    "docs/en/database/tables/erpfield.md",
    (
        DocColumn("erpfield_id", "int", _field("id")),
        DocColumn("ErpConnectionActorTypeId", "int", _field("actor_id")),
        DocColumn("ErpFieldKey", "string", _field("key")),
        DocColumn("DisplayName", "string", _field("display_name")),
        DocColumn("DisplayDescription", "string", _field("description")),
        DocColumn("FieldType", "enum"),
        DocColumn("ListName", "string", _field("list_name")),
        DocColumn("DefaultValue", "string", _field("default_value")),
        DocColumn("MaxLength", "int"),
        DocColumn("Access", "enum"),
        DocColumn("HasFirstSyncDefaultValue", "bool", _field("has_first_sync_default")),
        DocColumn("FirstSyncDefaultValue", "string", _field("first_sync_default")),
        DocColumn("PromptUser", "bool", _field("prompt_user")),
        DocColumn("Mandatory", "bool", _field("mandatory")),
        DocColumn("CrmFieldKey", "string", _field("crm_field_key")),
        DocColumn("SyncToCrm", "bool", _field("sync_to_crm")),
        DocColumn("SyncToErp", "bool", _field("sync_to_erp")),
        DocColumn("ShowInGui", "bool", _field("show_in_gui")),
        DocColumn("ShowInSearch", "bool", _field("show_in_search")),
        DocColumn("Rank", "int", _field("rank")),
        DocColumn("ListReference", "string"),
        DocColumn("MissingInERP", "bool", _field("missing_in_erp")),
        *_AUDIT_COLUMNS,
    ),
    _rows_of(FIELDS),
)

ERP_CONNECTION_ACTOR_TYPE = DynamicTable(
    "erpconnectionactortype",
    "docs/en/database/tables/erpconnectionactortype.md",
    (
        DocColumn("erpconnectionactortype_id", "int", _field("id")),
        DocColumn("ErpConnectionId", "int", _field("connection_id")),
        DocColumn("ActorTypeErp", "enum"),
        DocColumn("ActorTypeCrm", "enum"),
        DocColumn("IsActive", "bool", _field("is_active")),
        *_AUDIT_COLUMNS,
    ),
    _rows_of(ACTORS),
)

TABLES: dict[str, DynamicTable] = {t.name: t for t in (ERP_FIELD, ERP_CONNECTION_ACTOR_TYPE)}

_NAME = r"[A-Za-z_]\w*"
_PLAIN = re.compile(rf"({_NAME})\.({_NAME})")
# table, one or more joins (.fk  :fk  .fk[table]  .(table->fk)), then .field
_JOIN = re.compile(rf"{_NAME}(?:[.:]{_NAME}(?:\[{_NAME}\])?|\.\({_NAME}->{_NAME}\))+\.{_NAME}")
COLUMN_TOKEN = rf"{_NAME}(?:[.:]{_NAME}(?:\[{_NAME}\])?|\.\({_NAME}->{_NAME}\))*"


def resolve(text: str) -> ColumnRef:
    """The table and documented column that `text` names; a 400 saying what is wrong otherwise."""
    plain = _PLAIN.fullmatch(text)
    if plain is None:
        if _JOIN.fullmatch(text):
            raise BadRequest(
                f"The column '{text}' joins another table; the emulator's Dynamic provider does not implement "
                "joins (.fk.field, :fk.field, .(table->fk).field): select plain table.field columns of one table"
            )
        raise BadRequest(f"The column '{text}' is not of the form table.field (for example erpfield.Rank)")
    table = TABLES.get(plain.group(1).lower())
    if table is None:
        raise BadRequest(
            f"The emulator's Dynamic provider does not hold the table '{plain.group(1)}' "
            f"(it holds: {', '.join(TABLES)})"
        )
    column = table.column(plain.group(2))
    if column is None:
        raise BadRequest(
            f"The table {table.name} has no field '{plain.group(2)}' ({table.doc} lists: "
            f"{', '.join(c.name for c in table.columns)})"
        )
    return ColumnRef(text, table, column)


def same_base_table(refs: Sequence[ColumnRef]) -> DynamicTable:
    tables = list(dict.fromkeys(r.table.name for r in refs))
    if len(tables) > 1:
        raise BadRequest(
            f"The base table must be the same for all fields; these columns start on {', '.join(tables)}"
        )
    return refs[0].table

