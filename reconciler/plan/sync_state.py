"""An ERP connection's sync configuration in comparable form: both the manifest's `sync`
block and what the CRM has become flat `path -> value` maps (e.g.
`Customer.VATNO.direction -> "toCrm"`; `Customer.erpTabOrder -> ("CREDITLIMIT", "BALANCE")`,
the listed fields in the order the CRM ranks them), limited to what the manifest manages, so the
plan diffs them field by field. A field that is unmapped, hidden or has no default
has no entries at all."""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.crm.live import ListItem
from reconciler.crm.sync_live import LiveActorMapping, LiveDefault, LiveSyncConfig, tab_order
from reconciler.manifest.sync_models import SyncActor, SyncDefault, SyncSpec

Flat = dict[str, object]


def desired_sync(spec: SyncSpec, live: LiveSyncConfig | None, priority: int | None) -> Flat:
    flat: Flat = {}
    if priority is not None:
        flat["priority"] = priority
    for actor_name, actor in spec.actors.items():
        mapping = live.actors.get(actor_name) if live else None
        flat.update(_desired_actor(actor_name, actor, mapping))
        # Compared only where the rank could be read (a new connection has none to read yet).
        if actor.erpTabOrder and (live is None or live.ranks is not None):
            flat[f"{actor_name}.erpTabOrder"] = tuple(actor.erpTabOrder)
    return flat


def _desired_actor(name: str, actor: SyncActor, mapping: LiveActorMapping | None) -> Flat:
    flat: Flat = {f"{name}.enabled": actor.enabled}
    if actor.crmActor is not None:
        flat[f"{name}.crmActor"] = actor.crmActor
    for key, f in actor.fields.items():
        flat.update(_field_entries(f"{name}.{key}", f.crmField or "", f.direction, f.search, f.erpTab))
    for field_key, items in (actor.lists or {}).items():
        for erp_key, crm_name in items.items():
            if crm_name is not None:
                flat[f"{name}.lists.{field_key}.{erp_key}"] = crm_name
    for key, default in (actor.defaults or {}).items():
        access = (mapping.field(key).access if mapping and mapping.field(key) else "Normal")  # type: ignore[union-attr]
        flat.update(_default_entries(f"{name}.defaults.{key}", _desired_default(default, access)))
    return flat


def _desired_default(d: SyncDefault, access: str) -> tuple[str | None, bool, bool]:
    value = None if d.value is None else str(d.value)
    set_up = value is not None or d.askUser
    # A field the connector makes Mandatory is mandatory whenever it has a default.
    return value, d.askUser, d.mandatory or (access == "Mandatory" and set_up)


def live_sync(spec: SyncSpec, live: LiveSyncConfig | None, crm_lists: Mapping[str, tuple[ListItem, ...]],
              priority: int | None) -> Flat:
    flat: Flat = {}
    if priority is not None:
        flat["priority"] = priority
    if live is None:
        return flat
    for name, actor in spec.actors.items():
        mapping = live.actors.get(name)
        if mapping is None:
            continue
        flat[f"{name}.enabled"] = mapping.enabled
        if actor.crmActor is not None:
            flat[f"{name}.crmActor"] = mapping.crm_actor
        for f in mapping.fields:
            flat.update(_field_entries(f"{name}.{f.key}", f.crm_field, f.direction, f.search, f.erp_tab))
        if actor.lists is not None:
            flat.update(_live_lists(name, mapping, live, crm_lists))
        if actor.defaults is not None:
            for key, default in sorted(live.defaults.get(name, {}).items()):
                flat.update(_default_entries(f"{name}.defaults.{key}", _live_default(default)))
        if actor.erpTabOrder and live.ranks is not None:
            listed = set(actor.erpTabOrder)
            flat[f"{name}.erpTabOrder"] = tuple(k for k in tab_order(mapping, live.ranks) if k in listed)
    return flat


def _live_lists(name: str, mapping: LiveActorMapping, live: LiveSyncConfig,
                crm_lists: Mapping[str, tuple[ListItem, ...]]) -> Flat:
    keys = {f.id: f.key for f in mapping.fields}
    flat: Flat = {}
    for lm in live.lists:
        if lm.erp_actor != name or lm.field_id not in keys:
            continue
        names = {i.id: i.name for i in crm_lists.get(lm.crm_list, ())}
        for item in lm.items:
            if item.crm_item_id is not None:
                flat[f"{name}.lists.{keys[lm.field_id]}.{item.erp_key}"] = (
                    item.crm_item_name or names.get(item.crm_item_id, f"#{item.crm_item_id}"))
    return flat


def _live_default(d: LiveDefault) -> tuple[str | None, bool, bool]:
    if not (d.preset or d.ask_user):
        return None, False, False  # no default; a connector-forced Mandatory alone means nothing
    return (d.value if d.preset else None), d.ask_user, d.mandatory


def _field_entries(path: str, crm_field: str, direction: str, search: bool, erp_tab: bool) -> Flat:
    flat: Flat = {}
    if crm_field:
        flat[f"{path}.crmField"] = crm_field
    if direction != "none":
        flat[f"{path}.direction"] = direction
    if search:
        flat[f"{path}.search"] = True
    if erp_tab:
        flat[f"{path}.erpTab"] = True
    return flat


def _default_entries(path: str, default: tuple[str | None, bool, bool]) -> Flat:
    value, ask, mandatory = default
    flat: Flat = {}
    if value is not None:
        flat[f"{path}.value"] = value
    if ask:
        flat[f"{path}.askUser"] = True
    if mandatory:
        flat[f"{path}.mandatory"] = True
    return flat
