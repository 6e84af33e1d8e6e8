"""Apply an ERP connection's `sync` block, in the admin UI's order after the connection
is saved and its fields are cached: mappings per actor type, then list mappings, then
defaults, then the ERP-tab order. Every step starts from a fresh read (the CRM auto-maps
fields on save) and writes only what differs, so a run killed halfway and run again
finishes the job."""

from __future__ import annotations

from dataclasses import replace

from reconciler.apply.tab_moves import moves_to, wanted_tab_order
from reconciler.crm.client import CrmClient
from reconciler.crm.live import ListItem
from reconciler.crm.sync_endpoints import (
    RanksUnreadable,
    get_actor_mapping,
    get_default,
    get_field_ranks,
    get_list_mappings,
    get_priority_ranks,
    move_field,
    ranks_by_connection,
    save_actor_mapping,
    save_default,
    save_list_mappings,
    save_priorities,
)
from reconciler.crm.sync_live import LiveActorMapping, LiveDefault, LiveFieldMapping, LiveListMapping, tab_order
from reconciler.manifest.sync_models import SyncActor, SyncDefault, SyncSpec


class SyncFailed(Exception):
    """A sync step the CRM refused or that did not take; the message says which."""


async def apply_sync(client: CrmClient, connection_id: int, spec: SyncSpec) -> list[str]:
    """What was written, one phrase per step ("mappings of Customer", …)."""
    done: list[str] = []
    mappings: dict[str, LiveActorMapping] = {}
    for name, actor in spec.actors.items():
        mapping = await get_actor_mapping(client, connection_id, name)
        if mapping is None:
            raise SyncFailed(f"the connection's connector does not offer the ERP actor type {name}")
        wanted = _wanted_mapping(mapping, actor)
        if wanted != mapping:
            saved = await save_actor_mapping(client, wanted)
            if _comparable(saved) != _comparable(wanted):
                raise SyncFailed(f"the CRM did not keep the mapping of {name} as sent")
            done.append(f"mappings of {name}")
            mapping = saved
        mappings[name] = mapping
    if any(actor.lists is not None for actor in spec.actors.values()):
        if await _apply_lists(client, connection_id, spec, mappings):
            done.append("list mappings")
    for name, actor in spec.actors.items():
        if actor.defaults is not None and await _apply_defaults(client, mappings[name], actor):
            done.append(f"defaults of {name}")
    for name, actor in spec.actors.items():
        if actor.erpTabOrder:
            done += await _apply_tab_order(client, mappings[name], actor.erpTabOrder)
    return done


# Rounds of read-move-read before giving up: one is enough when a move is the adjacent
# swap the admin UI's arrows make; more absorb another writer moving fields meanwhile.
TAB_ORDER_ROUNDS = 3


async def _apply_tab_order(client: CrmClient, mapping: LiveActorMapping, listed: list[str]) -> list[str]:
    """Moves computed from a fresh read of the rank, then checked by reading it again.
    ["ERP-tab order of X"] when fields moved."""
    name = mapping.erp_actor
    ids = {f.key: f.id for f in mapping.fields}
    moved = False
    for _ in range(TAB_ORDER_ROUNDS):
        try:
            ranks = await get_field_ranks(client, ids.values())
        except RanksUnreadable:
            if moved:
                raise SyncFailed(f"moved fields on the ERP tab of {name}, then could not read the order back") from None
            return []  # the plan says the order is not compared, and why
        current = list(tab_order(mapping, ranks))
        wanted = wanted_tab_order(current, listed)
        if current == wanted:
            return [f"ERP-tab order of {name}"] if moved else []
        for key in moves_to(current, wanted):
            await move_field(client, mapping.connection_id, name, ids[key], +1)
        moved = True
    raise SyncFailed(f"the ERP-tab order of {name} is still not as the manifest says after "
                     f"{TAB_ORDER_ROUNDS} rounds of moves (is something else moving fields?)")


def _wanted_mapping(mapping: LiveActorMapping, actor: SyncActor) -> LiveActorMapping:
    def wanted(f: LiveFieldMapping) -> LiveFieldMapping:
        spec = actor.fields.get(f.key)
        if spec is None:  # the manifest's list is complete: unmapped and hidden
            return replace(f, crm_field="", direction="none", erp_tab=False, search=False)
        return replace(f, crm_field=spec.crmField or "", direction=spec.direction, erp_tab=spec.erpTab, search=spec.search)

    return replace(mapping, enabled=actor.enabled, fields=tuple(wanted(f) for f in mapping.fields))


def _comparable(mapping: LiveActorMapping) -> tuple[object, ...]:
    return mapping.enabled, tuple((f.key, f.crm_field, f.direction, f.erp_tab, f.search) for f in mapping.fields)


async def _apply_lists(
    client: CrmClient, connection_id: int, spec: SyncSpec, mappings: dict[str, LiveActorMapping]
) -> bool:
    current = await get_list_mappings(client, connection_id)
    crm_lists: dict[str, tuple[ListItem, ...]] = {}
    for name in sorted({lm.crm_list for lm in current if lm.crm_list}):
        crm_lists[name] = await client.get_mdo_list(name)
    wanted = tuple(_wanted_list(lm, spec, mappings, crm_lists) for lm in current)
    if [_item_ids(lm) for lm in wanted] == [_item_ids(lm) for lm in current]:
        return False
    saved = await save_list_mappings(client, connection_id, wanted)
    if [_item_ids(lm) for lm in saved] != [_item_ids(lm) for lm in wanted]:
        raise SyncFailed("the CRM did not keep the list mappings as sent")
    return True


def _wanted_list(
    lm: LiveListMapping, spec: SyncSpec, mappings: dict[str, LiveActorMapping],
    crm_lists: dict[str, tuple[ListItem, ...]],
) -> LiveListMapping:
    actor = spec.actors.get(lm.erp_actor)
    mapping = mappings.get(lm.erp_actor)
    if actor is None or actor.lists is None or mapping is None:
        return lm  # not managed: sent back as read
    key = next((f.key for f in mapping.fields if f.id == lm.field_id), None)
    pairs = actor.lists.get(key or "", {})
    ids = {item.name: item.id for item in crm_lists.get(lm.crm_list, ()) if not item.deleted}
    unknown = [n for n in pairs.values() if n is not None and n not in ids]
    if unknown:
        raise SyncFailed(f"{lm.erp_actor}.{key}: the CRM list {lm.crm_list} has no item {unknown[0]!r}")
    return replace(lm, items=tuple(
        replace(i, crm_item_id=ids[pairs[i.erp_key]] if pairs.get(i.erp_key) else None, crm_item_name="")
        for i in lm.items
    ))


def _item_ids(lm: LiveListMapping) -> tuple[object, ...]:
    return lm.field_id, tuple((i.erp_key, i.crm_item_id) for i in lm.items)


async def _apply_defaults(client: CrmClient, mapping: LiveActorMapping, actor: SyncActor) -> bool:
    changed = False
    wanted_defaults = actor.defaults or {}
    for f in mapping.fields:
        current = await get_default(client, f.id)
        if current is None:
            continue
        wanted = _wanted_default(current, wanted_defaults.get(f.key))
        if _default_key(wanted) != _default_key(current):
            saved = await save_default(client, wanted)
            if _default_key(saved) != _default_key(wanted):
                raise SyncFailed(f"the CRM did not keep the default of {mapping.erp_actor}.{f.key} as sent")
            changed = True
    return changed


def _wanted_default(current: LiveDefault, spec: SyncDefault | None) -> LiveDefault:
    if spec is None:  # no default: every flag off
        return replace(current, preset=False, value="", ask_user=False, mandatory=False)
    value = None if spec.value is None else str(spec.value)
    set_up = value is not None or spec.askUser
    return replace(current, preset=value is not None, value=value or "", ask_user=spec.askUser,
                   mandatory=spec.mandatory or (current.access == "Mandatory" and set_up))


def _default_key(d: LiveDefault) -> tuple[object, ...]:
    if not (d.preset or d.ask_user):
        return (False, "", False, False)  # no default; a connector-forced Mandatory alone means nothing
    return d.preset, d.value if d.preset else "", d.ask_user, d.mandatory


async def apply_priorities(client: CrmClient, wanted: list[str]) -> bool:
    """Put the named connections first, in this order, and keep the others in their
    current order after them: SaveErpConnectionSyncPriorities takes the full order of
    every connection that is not deleted. False when the order was already so."""
    connections = sorted(await client.get_all_connections(include_deleted=False, with_config=False), key=lambda c: c.id)
    ranks = ranks_by_connection(await get_priority_ranks(client), {c.id: c.guid for c in connections})
    current = [c.id for c in sorted(connections, key=lambda c: (ranks.get(c.id, 0) == 0, ranks.get(c.id, 0), c.id))]
    by_name: dict[str, int] = {}
    for c in connections:
        by_name.setdefault(c.name, c.id)
    first = [by_name[name] for name in wanted if name in by_name]
    order = first + [cid for cid in current if cid not in first]
    if order == current and all(ranks.get(cid, 0) > 0 for cid in order):
        return False
    await save_priorities(client, order)
    return True
