"""The emulator's sync configuration state: actor types, the cached ERP fields with
their mappings, defaults and rank, list item mappings, and sync priorities.

The tables follow the CRM's own (docs/en/database/tables/erpconnectionactortype.md,
erpfield.md, erplistitemmapping.md). The sync priority has no column in the CRM
(docs/en/database/tables/erpconnection.md); it lives in a table of its own here.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from reconciler.emulator.tables import Column, Table, flag, integer, text


@dataclass(frozen=True)
class ActorRow:
    id: int
    connection_id: int
    erp: str  # ErpActorType name
    crm: str | None  # CrmActorType name
    is_active: bool


@dataclass(frozen=True)
class FieldRow:
    id: int
    actor_id: int
    key: str
    # connector metadata, refreshed from the connector
    display_name: str
    description: str
    field_type: str
    access: str
    list_name: str
    default_value: str
    rank: int
    missing_in_erp: bool
    # mapping, set by SaveActorTypeMapping (and the engine's auto-mapping)
    crm_field_key: str = ""
    sync_to_crm: bool = False
    sync_to_erp: bool = False
    show_in_gui: bool = False
    show_in_search: bool = False
    # defaults for new ERP actors, set by SaveDefaultValueInfo
    has_first_sync_default: bool = False
    first_sync_default: str = ""
    prompt_user: bool = False
    mandatory: bool = False


@dataclass(frozen=True)
class ListItemMappingRow:
    id: int
    field_id: int
    erp_item_key: str
    crm_item_id: int | None


@dataclass(frozen=True)
class PriorityRow:
    id: int
    connection_id: int
    position: int  # 0 = highest priority


ACTORS: Table[ActorRow] = Table("erp_actor_type", ActorRow, (
    integer("id"),
    integer("connection_id", sql_type="INTEGER NOT NULL REFERENCES erp_connection(id)"),
    text("erp"),
    text("crm", nullable=True),
    flag("is_active"),
), constraints=("UNIQUE (connection_id, erp)",))

FIELDS: Table[FieldRow] = Table("erp_field", FieldRow, (
    integer("id"),
    integer("actor_id", sql_type="INTEGER NOT NULL REFERENCES erp_actor_type(id)"),
    text("key"),
    text("display_name"),
    text("description"),
    text("field_type"),
    text("access"),
    text("list_name"),
    text("default_value"),
    integer("rank"),
    flag("missing_in_erp"),
    text("crm_field_key"),
    flag("sync_to_crm"),
    flag("sync_to_erp"),
    flag("show_in_gui"),
    flag("show_in_search"),
    flag("has_first_sync_default"),
    text("first_sync_default"),
    flag("prompt_user"),
    flag("mandatory"),
), constraints=("UNIQUE (actor_id, key)",))

LIST_ITEM_MAPPINGS: Table[ListItemMappingRow] = Table("erp_list_item_mapping", ListItemMappingRow, (
    integer("id"),
    integer("field_id", sql_type="INTEGER NOT NULL REFERENCES erp_field(id)"),
    text("erp_item_key"),
    Column("crm_item_id", "INTEGER"),
), constraints=("UNIQUE (field_id, erp_item_key)",))

PRIORITIES: Table[PriorityRow] = Table("erp_sync_priority", PriorityRow, (
    integer("id"),
    Column("connection_id", "INTEGER NOT NULL UNIQUE REFERENCES erp_connection(id)"),
    integer("position"),
))

SYNC_TABLES = (ACTORS, FIELDS, LIST_ITEM_MAPPINGS, PRIORITIES)


def actors_of(conn: sqlite3.Connection, connection_id: int) -> list[ActorRow]:
    return ACTORS.select(conn, "connection_id = ?", (connection_id,))


def actor_of(conn: sqlite3.Connection, connection_id: int, erp: str) -> ActorRow | None:
    found = ACTORS.select(conn, "connection_id = ? AND erp = ?", (connection_id, erp))
    return found[0] if found else None


def fields_of(conn: sqlite3.Connection, actor_id: int) -> list[FieldRow]:
    return FIELDS.select(conn, "actor_id = ?", (actor_id,))


def list_items_of(conn: sqlite3.Connection, field_id: int) -> list[ListItemMappingRow]:
    return LIST_ITEM_MAPPINGS.select(conn, "field_id = ?", (field_id,))


def priority_positions(conn: sqlite3.Connection) -> dict[int, int]:
    """Connection id -> its position in the last saved priority order."""
    return {p.connection_id: p.position for p in PRIORITIES.select(conn)}


def save_priorities(conn: sqlite3.Connection, connection_ids: list[int]) -> None:
    conn.execute(f"DELETE FROM {PRIORITIES.name}")
    for position, connection_id in enumerate(connection_ids):
        PRIORITIES.insert(conn, PriorityRow(0, connection_id, position))


def unsynced_mandatory_fields(conn: sqlite3.Connection, connection_id: int) -> list[str]:
    """Why activation is refused: a Mandatory ERP field of an enabled actor type without
    a sync direction (docs/en/erp/admin/configure.md, troubleshooting)."""
    return [
        f"The mandatory field {f.key} of {actor.erp} has no sync direction; map it and choose a direction"
        for actor in actors_of(conn, connection_id) if actor.is_active
        for f in fields_of(conn, actor.id)
        if f.access == "Mandatory" and not f.missing_in_erp and not (f.crm_field_key and (f.sync_to_crm or f.sync_to_erp))
    ]


def crm_fields_mapped_elsewhere(conn: sqlite3.Connection, connection_id: int, crm: str | None) -> set[str]:
    """The CRM fields of the CRM actor type `crm` that another connection (not deleted)
    maps, with or without a direction: what makes a field `AlreadyMapped` here."""
    if not crm:
        return set()
    rows = conn.execute(
        f"SELECT DISTINCT f.crm_field_key FROM {FIELDS.name} f"
        f" JOIN {ACTORS.name} a ON a.id = f.actor_id"
        " JOIN erp_connection c ON c.id = a.connection_id"
        " WHERE a.connection_id != ? AND a.crm = ? AND c.deleted = 0 AND f.crm_field_key != ''",
        (connection_id, crm),
    )
    return {key for (key,) in rows}
