"""What the emulator refuses in a saved field mapping or list mapping. Each rule is
the strictest documented reading (docs/emulator.md lists them with their sources)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from reconciler.emulator.seed import Seed, SyncConnectorProfile
from reconciler.emulator.sync_store import ActorRow, FieldRow
from reconciler.emulator.wire import BadRequest, Field, read_entity


def check_field_mapping(
    seed: Seed, actor: ActorRow, row: FieldRow, entry: dict[str, Any], mapped_elsewhere: set[str]
) -> FieldRow:
    """`mapped_elsewhere`: the CRM fields of the actor's CRM type that other connections map."""
    where = f"Mapping.FieldMappings: {actor.erp}.{row.key}"
    if entry["ErpFieldKey"] is not None and entry["ErpFieldKey"] != row.key:
        raise BadRequest(f"{where}: ErpFieldId {row.id} is {row.key}, not {entry['ErpFieldKey']}")
    crm_key = entry["CrmFieldKey"] or ""
    to_crm, to_erp = bool(entry["SyncToCrm"]), bool(entry["SyncToErp"])
    show_in_gui = bool(entry["ShowInGui"])
    # Directions need a SuperOffice field first (docs/en/erp/admin/configure.md, "Mappings").
    if (to_crm or to_erp) and not crm_key:
        raise BadRequest(f"{where}: a sync direction needs a CrmFieldKey")
    if to_erp and row.access == "ReadOnly":
        raise BadRequest(f"{where}: the field is ReadOnly in the ERP system; it cannot sync to the ERP")
    # "Mapping a field disables showing it and vice versa"
    # (docs/api/netserver/erp-connectors/search/show-fields.md).
    if (to_crm or to_erp) and show_in_gui:
        raise BadRequest(f"{where}: a synchronised field cannot also be shown on the ERP tab")
    # "Is this ERPField already mapped in some other connection? If so, then it cannot be
    # one-way mapped TO SuperOffice here"
    # (docs/automation/crmscript/api-reference/classes/NSErpSyncFieldMapping/GetAlreadyMapped.md). A field
    # mapped with no direction counts: the engine's auto-mapping calls that mapped
    # (docs/api/netserver/erp-connectors/automatic-field-mapping.md).
    if to_crm and not to_erp and crm_key in mapped_elsewhere:
        raise BadRequest(
            f"{where}: {crm_key} of {actor.crm} is already mapped by another connection; "
            "it cannot be mapped one way to SuperOffice here (sync both ways, or unmap it on the other connection)"
        )
    known = seed.crm_fields.get(actor.crm)  # type: ignore[call-overload]
    if crm_key and known is not None and crm_key != row.crm_field_key and all(f.key != crm_key for f in known):
        raise BadRequest(f"{where}: {actor.crm or 'Unknown'} has no field {crm_key!r}")
    return replace(
        row, crm_field_key=crm_key, sync_to_crm=to_crm, sync_to_erp=to_erp,
        show_in_gui=show_in_gui, show_in_search=bool(entry["ShowInSearch"]),
    )


ListFields = dict[int, tuple[ActorRow, FieldRow]]


def check_list_mappings(
    seed: Seed, profile: SyncConnectorProfile | None, fields: ListFields, container: dict[str, Any]
) -> dict[int, dict[str, int | None]]:
    """Field id -> ERP item key -> CRM item id (None = unmapped), from a sent container."""
    entries = container.get("ErpListItemMappings") or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise BadRequest("'ListMapping.ErpListItemMappings' must be an array of ErpConnectionListMapping objects")
    wanted: dict[int, dict[str, int | None]] = {}
    for entry in entries:
        field_id = read_entity("ErpListItemMappings[]", entry, (Field("ErpFieldId", "int"),))["ErpFieldId"] or 0
        if field_id not in fields:
            raise BadRequest(f"ErpListItemMappings: ErpFieldId {field_id} is not a mapped list field of this connection")
        if field_id in wanted:
            raise BadRequest(f"ErpListItemMappings: ErpFieldId {field_id} appears twice")
        wanted[field_id] = _item_pairs(seed, profile, *fields[field_id], entry.get("ErpCrmListItemMappings") or [])
    return wanted


def _item_pairs(
    seed: Seed, profile: SyncConnectorProfile | None, actor: ActorRow, row: FieldRow, items: Any
) -> dict[str, int | None]:
    where = f"ErpListItemMappings: {actor.erp}.{row.key}"
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise BadRequest(f"{where}: ErpCrmListItemMappings must be an array of objects")
    erp_keys = {i.key for i in (profile.lists.get(row.list_name, []) if profile else [])}
    crm_list = seed.crm_field(actor.crm, row.crm_field_key)
    crm_ids = {i.id for i in seed.list_items(crm_list.list_name if crm_list else "") or [] if not i.deleted}
    pairs: dict[str, int | None] = {}
    for item in items:
        erp_key = read_entity(where, item, (Field("ErpListItemId", "str"),))["ErpListItemId"]
        if erp_key is None or erp_key not in erp_keys:
            raise BadRequest(f"{where}: {erp_key!r} is not an item of the ERP list {row.list_name}")
        if erp_key in pairs:
            raise BadRequest(f"{where}: ERP item {erp_key!r} appears twice; it maps to one CRM item at most")
        crm_item = item.get("CrmListItem")
        # Unmapped is a null CrmListItem: the column is nullable
        # (docs/en/database/tables/erplistitemmapping.md); an Id of 0 is no item.
        crm_id = None if crm_item is None else read_entity(where, crm_item, (Field("Id", "int"),))["Id"]
        if crm_item is not None and crm_id not in crm_ids:
            raise BadRequest(f"{where}: {crm_id!r} is not an item of the CRM list for {row.crm_field_key}")
        pairs[erp_key] = crm_id
    # Several ERP items on one CRM item are marked as duplicates in red
    # (docs/en/erp/admin/configure.md, "List mapping"); refused here.
    taken = [c for c in pairs.values() if c is not None]
    doubled = sorted({c for c in taken if taken.count(c) > 1})
    if doubled:
        raise BadRequest(f"{where}: CRM item id(s) {', '.join(map(str, doubled))} are mapped from more than one ERP item")
    return pairs
