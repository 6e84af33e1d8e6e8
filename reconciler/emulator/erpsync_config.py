"""The ErpSync agent's sync configuration methods: field mappings, list mappings,
defaults for new ERP actors, ERP-tab rank and sync priority
(docs/en/api/reference/restful/agent/ErpSync_Agent/).

Where the docs leave a behaviour open, the strictest documented reading is taken;
each is listed with its vendor doc path in docs/emulator.md ("Sync configuration").
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from typing import Any

from starlette.responses import Response

from reconciler.emulator.context import Emulator, written_or_null
from reconciler.emulator.erpsync import ERPSYNC
from reconciler.emulator.seed import SyncConnectorProfile
from reconciler.emulator.store import get_connector, get_erp, list_erp
from reconciler.emulator.sync_carriers import (
    actor_type_mapping,
    crm_field_of,
    default_value,
    list_item,
)
from reconciler.emulator.sync_rules import check_field_mapping, check_list_mappings
from reconciler.emulator.sync_store import (
    FIELDS,
    LIST_ITEM_MAPPINGS,
    ActorRow,
    FieldRow,
    ListItemMappingRow,
    actor_of,
    actors_of,
    crm_fields_mapped_elsewhere,
    fields_of,
    list_items_of,
    save_priorities,
)
from reconciler.emulator.sync_store import ACTORS
from reconciler.emulator.wire import Arg, BadRequest, Field, carrier, json_response, read_entity

MAPPING_FIELDS = (
    Field("ErpConnectionId", "int"),
    Field("IsActive", "bool"),
    Field("ActorTypeErp", "str"),
    Field("ActorTypeCrm", "str"),
)
FIELD_MAPPING_FIELDS = (
    Field("ErpFieldId", "int"),
    Field("ErpFieldKey", "str"),
    Field("CrmFieldKey", "str"),
    Field("SyncToCrm", "bool"),
    Field("SyncToErp", "bool"),
    Field("ShowInGui", "bool"),
    Field("ShowInSearch", "bool"),
)
DEFAULT_FIELDS = (
    Field("ErpFieldId", "int"),
    Field("HasFirstSyncDefaultValue", "bool"),
    Field("FirstSyncDefaultValue", "str"),
    Field("PromptUser", "bool"),
    Field("Mandatory", "bool"),
)


def _profile(emu: Emulator, conn: sqlite3.Connection, connection_id: int) -> SyncConnectorProfile | None:
    row = get_erp(conn, connection_id)
    connector = get_connector(conn, row.connector_id) if row else None
    return emu.seed.connector_profile(connector.url) if connector else None


# --- field mappings --------------------------------------------------------------


@ERPSYNC.method(
    "GetActorTypeMapping",
    Arg("ErpConnectionId", "int"),
    Arg("ActorType", "str"),
    returns="ErpSyncActorTypeMapping, or null for an unknown connection or an actor type it does not have",
)
async def get_actor_type_mapping(emu: Emulator, args: dict[str, Any]) -> Response:
    def read(conn: sqlite3.Connection) -> dict[str, Any] | None:
        actor = actor_of(conn, args["ErpConnectionId"], args["ActorType"])
        if actor is None:
            return None
        elsewhere = crm_fields_mapped_elsewhere(conn, actor.connection_id, actor.crm)
        return actor_type_mapping(emu.seed, actor, fields_of(conn, actor.id), elsewhere)

    return json_response(await emu.read(read))


@ERPSYNC.method(
    "SaveActorTypeMapping",
    Arg("Mapping", "object"),
    returns="ErpSyncActorTypeMapping as now stored (null for an unknown connection or actor type)",
    summary="The whole state of one actor type: a cached field left out is unmapped and hidden",
)
async def save_actor_type_mapping(emu: Emulator, args: dict[str, Any]) -> Response:
    mapping = read_entity("Mapping", args["Mapping"], MAPPING_FIELDS)
    sent = args["Mapping"].get("FieldMappings") or []
    if not isinstance(sent, list) or not all(isinstance(f, dict) for f in sent):
        raise BadRequest("'Mapping.FieldMappings' must be an array of ErpSyncFieldMapping objects")
    entries = [read_entity("Mapping.FieldMappings[]", f, FIELD_MAPPING_FIELDS) for f in sent]

    def save(conn: sqlite3.Connection) -> dict[str, Any] | None:
        actor = actor_of(conn, mapping["ErpConnectionId"] or 0, mapping["ActorTypeErp"] or "")
        if actor is None:
            return None
        crm = mapping["ActorTypeCrm"]
        if crm is not None and crm != (actor.crm or "Unknown"):
            raise BadRequest(
                f"Mapping.ActorTypeCrm: {actor.erp} is synced to {actor.crm or 'Unknown'} on this connection, "
                f"not {crm} (the pairing comes from the connector)"
            )
        stored = {f.id: f for f in fields_of(conn, actor.id)}
        elsewhere = crm_fields_mapped_elsewhere(conn, actor.connection_id, actor.crm)
        new_rows = {fid: _unmapped(row) for fid, row in stored.items()}
        for entry in entries:
            row = stored.get(entry["ErpFieldId"] or 0)
            if row is None:
                raise BadRequest(f"Mapping.FieldMappings: ErpFieldId {entry['ErpFieldId']} is not a field of {actor.erp}")
            new_rows[row.id] = check_field_mapping(emu.seed, actor, row, entry, elsewhere)
        for fid, row in new_rows.items():
            if row != stored[fid]:
                FIELDS.update(conn, row)
        saved = replace(actor, is_active=bool(mapping["IsActive"]))
        ACTORS.update(conn, saved)
        return actor_type_mapping(emu.seed, saved, fields_of(conn, actor.id), elsewhere)

    return json_response(await emu.write(save))


def _unmapped(row: FieldRow) -> FieldRow:
    return replace(row, crm_field_key="", sync_to_crm=False, sync_to_erp=False, show_in_gui=False, show_in_search=False)


@ERPSYNC.method(
    "GetCrmActorType",
    Arg("ErpConnectionId", "int"),
    Arg("ErpActorType", "str"),
    returns="CrmActorType name (Unknown when the connection has no such ERP actor type; null for an unknown connection)",
)
async def get_crm_actor_type(emu: Emulator, args: dict[str, Any]) -> Response:
    def read(conn: sqlite3.Connection) -> str | None:
        if get_erp(conn, args["ErpConnectionId"]) is None:
            return None
        actor = actor_of(conn, args["ErpConnectionId"], args["ErpActorType"])
        return (actor.crm if actor else None) or "Unknown"

    return json_response(await emu.read(read))


# --- list mappings ---------------------------------------------------------------


def _list_fields(conn: sqlite3.Connection, emu: Emulator, connection_id: int) -> list[tuple[ActorRow, FieldRow]]:
    """The mapped, list-typed fields of a connection whose CRM field uses a list."""
    return [
        (actor, f)
        for actor in actors_of(conn, connection_id)
        for f in fields_of(conn, actor.id)
        if f.field_type == "List" and not f.missing_in_erp and (crm := crm_field_of(emu.seed, actor, f)) and crm.list_name
    ]


def _list_container(conn: sqlite3.Connection, emu: Emulator, connection_id: int) -> dict[str, Any] | None:
    row = get_erp(conn, connection_id)
    if row is None:
        return None
    profile = _profile(emu, conn, connection_id)
    entries = []
    for actor, f in _list_fields(conn, emu, connection_id):
        crm_list = crm_field_of(emu.seed, actor, f).list_name  # type: ignore[union-attr]
        crm_items = {i.id: i.name for i in emu.seed.list_items(crm_list) or []}
        mapped = {m.erp_item_key: m.crm_item_id for m in list_items_of(conn, f.id)}
        # Every ERP item is listed, an unmapped one with a null CrmListItem
        # (docs/en/erp/admin/configure.md, "List mapping": pick a CRM item for every ERP item).
        erp_items = profile.lists.get(f.list_name, []) if profile else []
        entries.append(carrier({
            "ErpFieldId": f.id,
            "ErpActorTypeName": actor.erp,
            "ErpListName": f.list_name,
            "CrmList": list_item(0, crm_list),
            "ErpCrmListItemMappings": [
                carrier({
                    "ErpListItemId": item.key,
                    "ErpListItemName": item.name,
                    "CrmListItem": list_item(cid, crm_items.get(cid, "")) if (cid := mapped.get(item.key)) else None,
                })
                for item in erp_items
            ],
        }))
    return carrier({"ErpConnectionId": row.id, "ErpConnectionName": row.name, "ErpListItemMappings": entries})


@ERPSYNC.method(
    "GetConnectionListMappings",
    Arg("ErpConnectionId", "int"),
    returns="ErpConnectionListMappingContainer (null for an unknown connection)",
)
async def get_connection_list_mappings(emu: Emulator, args: dict[str, Any]) -> Response:
    return json_response(await emu.read(lambda c: _list_container(c, emu, args["ErpConnectionId"])))


@ERPSYNC.method(
    "SaveConnectionListMappings",
    Arg("ListMapping", "object"),
    returns="ErpConnectionListMappingContainer as now stored (null for an unknown connection)",
    summary="The whole list mapping of the connection: a field or item left out is unmapped",
)
async def save_connection_list_mappings(emu: Emulator, args: dict[str, Any]) -> Response:
    container = args["ListMapping"]
    connection_id = read_entity("ListMapping", container, (Field("ErpConnectionId", "int"),))["ErpConnectionId"] or 0

    def save(conn: sqlite3.Connection) -> dict[str, Any] | None:
        if get_erp(conn, connection_id) is None:
            return None
        profile = _profile(emu, conn, connection_id)
        fields = {f.id: (actor, f) for actor, f in _list_fields(conn, emu, connection_id)}
        wanted = check_list_mappings(emu.seed, profile, fields, container)
        for _, f in fields.values():
            conn.execute(f"DELETE FROM {LIST_ITEM_MAPPINGS.name} WHERE field_id = ?", (f.id,))
        for field_id, pairs in wanted.items():
            for erp_key, crm_id in pairs.items():
                LIST_ITEM_MAPPINGS.insert(conn, ListItemMappingRow(0, field_id, erp_key, crm_id))
        return _list_container(conn, emu, connection_id)

    return json_response(await emu.write(save))


# --- defaults for new ERP actors -------------------------------------------------


@ERPSYNC.method("GetDefaultValueInfo", Arg("ErpFieldId", "int"), returns="ErpSyncDefaultValue (null for an unknown field)")
async def get_default_value_info(emu: Emulator, args: dict[str, Any]) -> Response:
    field = await emu.read(lambda c: FIELDS.get(c, args["ErpFieldId"]))
    return json_response(default_value(field) if field else None)


@ERPSYNC.method(
    "SaveDefaultValueInfo",
    Arg("ErpSyncDefaultValue", "object"),
    returns="ErpSyncDefaultValue as now stored (null for an unknown field)",
)
async def save_default_value_info(emu: Emulator, args: dict[str, Any]) -> Response:
    sent = read_entity("ErpSyncDefaultValue", args["ErpSyncDefaultValue"], DEFAULT_FIELDS)
    preset, prompt, mandatory = (bool(sent[k]) for k in ("HasFirstSyncDefaultValue", "PromptUser", "Mandatory"))

    def save(conn: sqlite3.Connection) -> dict[str, Any] | None:
        field = FIELDS.get(conn, sent["ErpFieldId"] or 0)
        if field is None:
            return None
        forced = field.access == "Mandatory"
        # "Mandatory - User must fill in value" needs a preset or the question
        # (docs/en/erp/admin/configure.md, "Defaults"); a connector-mandatory field's
        # box is on and disabled (docs/api/netserver/erp-connectors/setup-defaults.md).
        if mandatory and not (preset or prompt) and not forced:
            raise BadRequest(f"ErpSyncDefaultValue: {field.key} is Mandatory but has neither a default value nor PromptUser")
        if forced and (preset or prompt) and not mandatory:
            raise BadRequest(f"ErpSyncDefaultValue: {field.key} is mandatory for the connector; Mandatory cannot be false")
        saved = replace(
            field, has_first_sync_default=preset, first_sync_default=sent["FirstSyncDefaultValue"] or "",
            prompt_user=prompt, mandatory=mandatory,
        )
        FIELDS.update(conn, saved)
        return default_value(saved)

    return json_response(await emu.write(save))


# --- ERP-tab rank ----------------------------------------------------------------


@ERPSYNC.method(
    "MoveErpFieldItem",
    Arg("ErpFieldId", "int"),
    Arg("Direction", "int"),
    Arg("ErpConnectionId", "int"),
    Arg("ErpActorType", "str"),
    returns="204; null for an unknown connection, actor type or field",
    summary="Swap the field with its neighbour: Direction -1 = one place up (shown earlier), +1 = one place down",
)
async def move_erp_field_item(emu: Emulator, args: dict[str, Any]) -> Response:
    step = args["Direction"]
    if step not in (-1, 1):
        raise BadRequest(f"Direction must be -1 or 1 (one place up or down), got {step}")

    def move(conn: sqlite3.Connection) -> bool:
        actor = actor_of(conn, args["ErpConnectionId"], args["ErpActorType"])
        if actor is None:
            return False
        ordered = sorted(fields_of(conn, actor.id), key=lambda f: (f.rank, f.id))
        index = next((i for i, f in enumerate(ordered) if f.id == args["ErpFieldId"]), None)
        if index is None:
            return False
        target = index + step
        if not 0 <= target < len(ordered):
            raise BadRequest(f"{ordered[index].key} is already {'first' if step < 0 else 'last'}; it cannot move further")
        ordered[index], ordered[target] = ordered[target], ordered[index]
        for rank, f in enumerate(ordered):  # ranks are renumbered without gaps
            if f.rank != rank:
                FIELDS.update(conn, replace(f, rank=rank))
        return True

    return await written_or_null(emu, move)


# --- sync priority ---------------------------------------------------------------


@ERPSYNC.method(
    "SaveErpConnectionSyncPriorities",
    Arg("ErpConnectionIds", "int[]"),
    returns="bool: true when the order was saved",
    summary="Every connection that is not deleted, exactly once, highest priority first",
)
async def save_sync_priorities(emu: Emulator, args: dict[str, Any]) -> Response:
    ids: list[int] = args["ErpConnectionIds"]

    def save(conn: sqlite3.Connection) -> bool:
        live = {r.id for r in list_erp(conn, include_deleted=False)}
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        unknown = [i for i in ids if i not in live]
        left_out = sorted(live - set(ids))
        if duplicates or unknown or left_out:
            problems = [
                f"{what}: {', '.join(map(str, found))}"
                for what, found in (("twice", duplicates), ("not a connection that is not deleted", unknown),
                                    ("left out", left_out)) if found
            ]
            raise BadRequest("ErpConnectionIds must list every connection that is not deleted once; " + "; ".join(problems))
        save_priorities(conn, ids)
        return True

    return json_response(await emu.write(save))


# --- summary ---------------------------------------------------------------------


@ERPSYNC.method(
    "GetErpSyncConnectionSummary",
    Arg("ErpSyncConnectionId", "int"),
    returns="ErpSyncConnectionSummary (null for an unknown connection)",
)
async def get_connection_summary(emu: Emulator, args: dict[str, Any]) -> Response:
    def read(conn: sqlite3.Connection) -> dict[str, Any] | None:
        row = get_erp(conn, args["ErpSyncConnectionId"])
        if row is None:
            return None
        actors = []
        for actor in actors_of(conn, row.id):
            fields = fields_of(conn, actor.id)
            mapped = [f.key for f in fields if f.sync_to_crm or f.sync_to_erp]
            defaults = [f.key for f in fields if f.has_first_sync_default or f.prompt_user]
            actors.append(carrier({
                "ActorType": actor.erp,
                "HasMappings": bool(mapped),
                "Defaults": ", ".join(defaults),  # display text
                "Mappings": ", ".join(mapped),
            }))
        return carrier({
            "DisplayName": row.name, "DisplayDescription": row.description, "Active": row.active,
            "Deleted": row.deleted, "LastSync": row.most_recent_timestamp, "Actors": actors,
        })

    return json_response(await emu.read(read))
