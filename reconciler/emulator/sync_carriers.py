"""The sync configuration carriers as the ErpSync agent answers them
(docs/en/api/reference/restful/agent/ErpSync_Agent/: ErpSyncActorTypeMapping,
ErpSyncFieldMapping, ErpSyncDefaultValue, ErpConnectionListMappingContainer)."""

from __future__ import annotations

from typing import Any

from reconciler.emulator.lists import mdo_item
from reconciler.emulator.seed import CrmFieldSpec, Seed
from reconciler.emulator.sync_store import ActorRow, FieldRow
from reconciler.emulator.wire import carrier


def crm_field_of(seed: Seed, actor: ActorRow, field: FieldRow) -> CrmFieldSpec | None:
    return seed.crm_field(actor.crm, field.crm_field_key) if field.crm_field_key else None


def missing_in_crm(seed: Seed, actor: ActorRow, field: FieldRow) -> bool:
    """A mapped CRM field the CRM does not know (only where it lists its fields)."""
    known = seed.crm_fields.get(actor.crm)  # type: ignore[call-overload]
    return bool(field.crm_field_key) and known is not None and crm_field_of(seed, actor, field) is None


def list_reference(seed: Seed, actor: ActorRow, field: FieldRow) -> str:
    crm = crm_field_of(seed, actor, field)
    return f"table={crm.list_name}" if crm and crm.list_name else ""


def field_mapping(seed: Seed, actor: ActorRow, field: FieldRow, mapped_elsewhere: set[str]) -> dict[str, Any]:
    crm = crm_field_of(seed, actor, field)
    return carrier({
        "ErpFieldId": field.id,
        "CrmFieldKey": field.crm_field_key,
        "CrmDisplayName": crm.display_name if crm else "",
        "CrmDisplayTooltip": "",
        "ErpFieldKey": field.key,
        "FieldType": field.field_type,
        "ErpDisplayName": field.display_name,
        "ErpDisplayTooltip": field.description,
        "SyncToCrm": field.sync_to_crm,
        "SyncToErp": field.sync_to_erp,
        "ShowInGui": field.show_in_gui,
        "ShowInSearch": field.show_in_search,
        "AlreadyMapped": bool(field.crm_field_key) and field.crm_field_key in mapped_elsewhere,
        "MissingInERP": field.missing_in_erp,
        "MissingInCRM": missing_in_crm(seed, actor, field),
        "Access": field.access,
        "ListReference": list_reference(seed, actor, field),
    })


def actor_type_mapping(
    seed: Seed, actor: ActorRow, fields: list[FieldRow], mapped_elsewhere: set[str]
) -> dict[str, Any]:
    """`mapped_elsewhere`: the CRM fields of the actor's CRM type that other connections map."""
    # Field order is not documented; it is id order here, not rank order, so a client
    # cannot take the ERP-tab order from it (reference reading: docs/en/database/tables/erpfield.md
    # keeps Rank off ErpSyncFieldMapping).
    return carrier({
        "ErpConnectionId": actor.connection_id,
        "IsActive": actor.is_active,
        "FieldMappings": [field_mapping(seed, actor, f, mapped_elsewhere) for f in fields],
        "ActorTypeErp": actor.erp,
        "ActorTypeCrm": actor.crm or "Unknown",
    })


def default_value(field: FieldRow) -> dict[str, Any]:
    return carrier({
        "ErpFieldId": field.id,
        "ErpFieldKey": field.key,
        "FieldType": field.field_type,
        "ListName": field.list_name,
        "Access": field.access,
        "DefaultValue": field.default_value,
        "HasFirstSyncDefaultValue": field.has_first_sync_default,
        "FirstSyncDefaultValue": field.first_sync_default,
        "PromptUser": field.prompt_user,
        # The connector's Mandatory access forces the flag on
        # (docs/api/netserver/erp-connectors/setup-defaults.md).
        "Mandatory": field.mandatory or field.access == "Mandatory",
    })


def list_item(item_id: int, name: str) -> dict[str, Any]:
    return mdo_item(item_id, name)
