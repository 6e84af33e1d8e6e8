"""The sync configuration carriers on the wire: parsed into `sync_live` data and built
back for the Save methods (docs/en/api/reference/restful/agent/ErpSync_Agent/)."""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.crm.sync_live import (
    LiveActorMapping,
    LiveDefault,
    LiveFieldMapping,
    LiveListItem,
    LiveListMapping,
    direction_of,
    flags_of,
)
from reconciler.crm.wire import Json, _bool, _int, _str, expect_array, expect_object, get


def field_mapping(obj: Json) -> LiveFieldMapping:
    o = expect_object(obj, "an ErpSyncFieldMapping")
    return LiveFieldMapping(
        id=_int(o, "ErpFieldId", required=True),
        key=_str(o, "ErpFieldKey"),
        crm_field=_str(o, "CrmFieldKey"),
        direction=direction_of(_bool(o, "SyncToCrm"), _bool(o, "SyncToErp")),
        erp_tab=_bool(o, "ShowInGui"),
        search=_bool(o, "ShowInSearch"),
        field_type=_str(o, "FieldType") or "Text",
        access=_str(o, "Access") or "Normal",
        missing_in_erp=_bool(o, "MissingInERP"),
        missing_in_crm=_bool(o, "MissingInCRM"),
        list_reference=_str(o, "ListReference"),
        already_mapped=_bool(o, "AlreadyMapped"),
    )


def actor_mapping(obj: Json) -> LiveActorMapping:
    o = expect_object(obj, "an ErpSyncActorTypeMapping")
    return LiveActorMapping(
        connection_id=_int(o, "ErpConnectionId"),
        erp_actor=_str(o, "ActorTypeErp"),
        crm_actor=_str(o, "ActorTypeCrm") or "Unknown",
        enabled=_bool(o, "IsActive"),
        fields=tuple(field_mapping(f) for f in expect_array(get(o, "FieldMappings") or [], "FieldMappings")),
    )


def actor_mapping_to_wire(mapping: LiveActorMapping) -> dict[str, Json]:
    """The whole actor type, every field as read and changed: a field left out may be
    unmapped by the server (whether Save replaces or merges is not documented)."""
    fields: list[Json] = []
    for f in mapping.fields:
        to_crm, to_erp = flags_of(f.direction)
        fields.append({
            "ErpFieldId": f.id, "ErpFieldKey": f.key, "CrmFieldKey": f.crm_field,
            "SyncToCrm": to_crm, "SyncToErp": to_erp, "ShowInGui": f.erp_tab, "ShowInSearch": f.search,
        })
    return {
        "ErpConnectionId": mapping.connection_id, "IsActive": mapping.enabled,
        "ActorTypeErp": mapping.erp_actor, "ActorTypeCrm": mapping.crm_actor, "FieldMappings": fields,
    }


def _list_item(obj: Json) -> LiveListItem:
    o = expect_object(obj, "an ErpCrmListItemMapping")
    crm = get(o, "CrmListItem")
    crm_item = expect_object(crm, "an MDOListItem") if crm is not None else None
    # Unmapped may come as a null CrmListItem or as Id 0 (docs/en/database/tables/erplistitemmapping.md
    # only says the column is nullable): both read as unmapped.
    crm_id = _int(crm_item, "Id") if crm_item is not None else 0
    return LiveListItem(
        erp_key=_str(o, "ErpListItemId"),
        erp_name=_str(o, "ErpListItemName"),
        crm_item_id=crm_id or None,
        crm_item_name=_str(crm_item, "Name") if crm_item is not None and crm_id else "",
    )


def list_mappings(obj: Json) -> tuple[LiveListMapping, ...]:
    o = expect_object(obj, "an ErpConnectionListMappingContainer")
    found = []
    for entry in expect_array(get(o, "ErpListItemMappings") or [], "ErpListItemMappings"):
        e = expect_object(entry, "an ErpConnectionListMapping")
        crm_list = get(e, "CrmList")
        found.append(LiveListMapping(
            field_id=_int(e, "ErpFieldId", required=True),
            erp_actor=_str(e, "ErpActorTypeName"),
            erp_list=_str(e, "ErpListName"),
            crm_list=_str(expect_object(crm_list, "an MDOListItem"), "Name") if crm_list is not None else "",
            items=tuple(_list_item(i) for i in expect_array(get(e, "ErpCrmListItemMappings") or [], "items")),
        ))
    return tuple(found)


def list_mappings_to_wire(connection_id: int, mappings: tuple[LiveListMapping, ...]) -> dict[str, Json]:
    """Unmapped is sent as a null CrmListItem, the reading the nullable column supports."""
    return {
        "ErpConnectionId": connection_id,
        "ErpListItemMappings": [
            {
                "ErpFieldId": m.field_id, "ErpActorTypeName": m.erp_actor, "ErpListName": m.erp_list,
                "ErpCrmListItemMappings": [
                    {"ErpListItemId": i.erp_key, "ErpListItemName": i.erp_name,
                     "CrmListItem": {"Id": i.crm_item_id} if i.crm_item_id else None}
                    for i in m.items
                ],
            }
            for m in mappings
        ],
    }


def default_value(obj: Json) -> LiveDefault:
    o = expect_object(obj, "an ErpSyncDefaultValue")
    return LiveDefault(
        field_id=_int(o, "ErpFieldId", required=True),
        key=_str(o, "ErpFieldKey"),
        preset=_bool(o, "HasFirstSyncDefaultValue"),
        value=_str(o, "FirstSyncDefaultValue"),
        ask_user=_bool(o, "PromptUser"),
        mandatory=_bool(o, "Mandatory"),
        access=_str(o, "Access") or "Normal",
    )


def default_value_to_wire(d: LiveDefault) -> dict[str, Json]:
    return {
        "ErpFieldId": d.field_id, "ErpFieldKey": d.key, "HasFirstSyncDefaultValue": d.preset,
        "FirstSyncDefaultValue": d.value, "PromptUser": d.ask_user, "Mandatory": d.mandatory,
    }


def priority_ranks(items: list[Mapping[str, Json]]) -> dict[str, int]:
    """Connection GUID (ExtraInfo) -> Rank from MDO list erpconnections; 0 = not known."""
    return {_str(i, "ExtraInfo"): _int(i, "Rank") for i in items if _str(i, "ExtraInfo")}


# ERP-tab rank through archive Dynamic: the dot syntax names database columns
# (docs/en/database/tables/erpfield.md); the rows are keyed by the selected names.
FIELD_ID_COLUMN = "erpfield.erpfield_id"
RANK_COLUMN = "erpfield.Rank"


def field_ranks(rows: list[Mapping[str, Json]]) -> dict[int, int | None]:
    """ErpFieldId -> Rank from rows of archive Dynamic on table ErpField; None = no rank.
    The id is the selected `erpfield.erpfield_id`, else the row's PrimaryKey (a string
    in the vendor's examples)."""
    ranks: dict[int, int | None] = {}
    for row in rows:
        field_id = _int(row, FIELD_ID_COLUMN) or _int(row, "PrimaryKey", required=True)
        ranks[field_id] = None if get(row, RANK_COLUMN) in (None, "") else _int(row, RANK_COLUMN)
    return ranks


def summary_actor_types(obj: Json) -> tuple[str, ...]:
    o = expect_object(obj, "an ErpSyncConnectionSummary")
    actors = expect_array(get(o, "Actors") or [], "Actors")
    return tuple(_str(expect_object(a, "an ErpSyncActorSummary"), "ActorType") for a in actors)
