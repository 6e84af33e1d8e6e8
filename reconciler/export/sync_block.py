"""The complete `sync` block of an exported ERP connection, from what the CRM has, so
that exporting and planning again says No changes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.crm.live import ListItem
from reconciler.crm.sync_live import LiveActorMapping, LiveDefault, LiveSyncConfig, tab_order


def sync_block(config: LiveSyncConfig, crm_lists: Mapping[str, tuple[ListItem, ...]], priority: int | None) -> dict[str, Any]:
    block: dict[str, Any] = {}
    if priority:
        block["priority"] = priority
    actors: dict[str, Any] = {}
    for name, mapping in config.actors.items():
        if mapping is not None:
            actors[name] = _actor(name, mapping, config, crm_lists)
    block["actors"] = actors
    return block


def _actor(name: str, mapping: LiveActorMapping, config: LiveSyncConfig,
           crm_lists: Mapping[str, tuple[ListItem, ...]]) -> dict[str, Any]:
    actor: dict[str, Any] = {"enabled": mapping.enabled, "fields": _fields(mapping)}
    lists = _lists(name, mapping, config, crm_lists)
    if lists:
        actor["lists"] = lists
    defaults = _defaults(config.defaults.get(name, {}))
    if defaults:
        actor["defaults"] = defaults
    if config.ranks is not None:
        # Only the fields the ERP tab shows: the rank of the others matters nowhere.
        shown = [key for key in tab_order(mapping, config.ranks) if mapping.field(key).erp_tab]  # type: ignore[union-attr]
        if len(shown) > 1:
            actor["erpTabOrder"] = shown
    return actor


def _fields(mapping: LiveActorMapping) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for f in mapping.fields:
        entry: dict[str, Any] = {}
        if f.crm_field:
            entry["crmField"] = f.crm_field
        if f.direction != "none":
            entry["direction"] = f.direction
        if f.search:
            entry["search"] = True
        if f.erp_tab:
            entry["erpTab"] = True
        if entry:
            fields[f.key] = entry
    return fields


def _lists(name: str, mapping: LiveActorMapping, config: LiveSyncConfig,
           crm_lists: Mapping[str, tuple[ListItem, ...]]) -> dict[str, Any]:
    keys = {f.id: f.key for f in mapping.fields}
    lists: dict[str, Any] = {}
    for lm in config.lists:
        if lm.erp_actor == name and lm.field_id in keys:
            names = {i.id: i.name for i in crm_lists.get(lm.crm_list, ())}
            lists[keys[lm.field_id]] = {
                i.erp_key: (i.crm_item_name or names.get(i.crm_item_id)) if i.crm_item_id else None for i in lm.items
            }
    return lists


def _defaults(found: Mapping[str, LiveDefault]) -> dict[str, Any]:
    defaults: dict[str, Any] = {}
    for key, d in sorted(found.items()):
        if not (d.preset or d.ask_user):
            continue
        entry: dict[str, Any] = {}
        if d.preset:
            entry["value"] = d.value
        if d.ask_user:
            entry["askUser"] = True
        if d.mandatory:
            entry["mandatory"] = True
        defaults[key] = entry
    return defaults
