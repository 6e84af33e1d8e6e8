"""The `sync` block checked at plan time against what the CRM has cached for the
connection (its actor types and fields): every problem at once, each with the
manifest path it is about, so the plan reports file:line and did-you-mean.
`validate` runs the rules that need no CRM data (`offline_problems`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reconciler.crm.live import Live
from reconciler.crm.sync_live import LiveActorMapping, LiveFieldMapping, LiveSyncConfig
from reconciler.diagnostics import Diagnostic, did_you_mean
from reconciler.manifest.models import Desired, DesiredResource, ErpConnection
from reconciler.manifest.sync_models import DirectionName, SyncActor, SyncSpec

Report = Callable[[tuple[str | int, ...], str, str | None], None]
ResourceReport = Callable[[DesiredResource, tuple[str | int, ...], str, str | None], None]


def offline_problems(desired: Desired) -> list[Diagnostic]:
    """What can be checked without the CRM: the rules of `check_sync` that need no CRM
    data, `check_priorities` and `check_shared_crm_fields`, each reported as plan reports it."""
    problems: list[Diagnostic] = []

    def report(resource: DesiredResource, path: tuple[str | int, ...], message: str, hint: str | None) -> None:
        problems.append(Diagnostic(message=message, location=resource.locate(*path), resource=resource.ref, hint=hint))

    for resource, sync in _sync_blocks(desired):
        check_sync(sync, None, lambda path, message, hint, r=resource: report(r, path, message, hint))
    check_priorities(desired, report)
    check_shared_crm_fields(desired, None, report)
    return problems


def check_priorities(desired: Desired, report: ResourceReport) -> None:
    """The CRM keeps one order of all connections (SaveErpConnectionSyncPriorities), so
    two connections with the same priority have no order between them."""
    first: dict[int, DesiredResource] = {}
    for resource, sync in _sync_blocks(desired):
        if sync.priority is None:
            continue
        earlier = first.setdefault(sync.priority, resource)
        if earlier is not resource:
            report(resource, ("spec", "sync", "priority"),
                   f"priority {sync.priority} is also set by {earlier.ref} (at {earlier.locate('spec', 'sync', 'priority')}); "
                   "the CRM keeps one order of all connections", "give each connection its own priority")


# The CRM actor type an ERP actor type is usually paired with when neither the manifest
# (crmActor) nor the CRM says (docs/en/erp/learn/connect.md); Employee pairs with none.
USUAL_CRM_ACTOR: dict[str, str] = {
    "Customer": "Contact", "Supplier": "Contact", "Partner": "Contact",
    "Person": "Person", "Project": "Project", "Sale": "Sale",
}


@dataclass(frozen=True)
class _CrmFieldUse:
    resource: DesiredResource
    actor: str
    key: str
    direction: DirectionName
    live: LiveFieldMapping | None

    @property
    def path(self) -> tuple[str | int, ...]:
        return ("spec", "sync", "actors", self.actor, "fields", self.key)


def check_shared_crm_fields(desired: Desired, live: Live | None, report: ResourceReport) -> None:
    """The CRM refuses a one-way ERP→CRM mapping (toCrm) of a CRM field that another
    connection maps, with or without a direction (ErpSyncFieldMapping.AlreadyMapped).
    Between the manifests' connections this is decided from the manifests; a field the
    CRM reports as AlreadyMapped counts too when no other connection in the manifests
    manages the sync of that CRM actor type (so the mapping is outside them)."""
    uses: dict[tuple[str, str], list[_CrmFieldUse]] = {}
    managed: dict[str, set[str]] = {}  # CRM actor type -> the refs whose manifests manage it
    for resource, sync in _sync_blocks(desired):
        config = _live_sync(live, resource.name)
        for name, actor in sync.actors.items():
            mapping = config.actors.get(name) if config is not None else None
            crm_actor = actor.crmActor or (mapping.crm_actor if mapping is not None else USUAL_CRM_ACTOR.get(name))
            if crm_actor is None:
                continue
            managed.setdefault(crm_actor, set()).add(resource.ref)
            for key, f in actor.fields.items():
                if f.crmField:
                    live_field = mapping.field(key) if mapping is not None else None
                    use = _CrmFieldUse(resource, name, key, f.direction, live_field)
                    uses.setdefault((crm_actor, f.crmField), []).append(use)
    for (crm_actor, crm_field), group in uses.items():
        for use in group:
            if use.direction != "toCrm":
                continue
            others = [o for o in group if o.resource is not use.resource]
            if others:
                named = " and ".join(
                    f"{o.resource.ref} ({o.actor}.{o.key}, at {o.resource.locate(*o.path)})" for o in others
                )
                report(use.resource, (*use.path, "direction"),
                       f"{use.key}: {crm_field} of {crm_actor} is also mapped by {named}; the CRM refuses a "
                       "one-way toCrm mapping of a CRM field another connection maps",
                       f"use direction: both on {use.key}, or map {crm_field} on one connection only")
            elif (use.live is not None and use.live.already_mapped and use.live.crm_field == crm_field
                  and managed[crm_actor] == {use.resource.ref}):
                report(use.resource, (*use.path, "direction"),
                       f"{use.key}: the CRM reports {crm_field} of {crm_actor} as already mapped by another connection "
                       "whose sync these manifests do not manage; it refuses a one-way toCrm mapping of it here",
                       f"use direction: both on {use.key}, or unmap {crm_field} on the other connection")


def _live_sync(live: Live | None, name: str) -> LiveSyncConfig | None:
    if live is None:
        return None
    found = next((c for c in live.erp_connections if c.name == name and not c.deleted), None)
    return live.sync.get(found.id) if found is not None else None


def _sync_blocks(desired: Desired) -> list[tuple[DesiredResource, SyncSpec]]:
    return [(r, r.manifest.spec.sync) for r in desired.of_kind("ErpConnection")
            if isinstance(r.manifest, ErpConnection) and r.manifest.spec.sync is not None]


def check_sync(spec: SyncSpec, live: LiveSyncConfig | None, report: Report) -> None:
    """`live` is None for a connection the plan creates: only the rules that need no
    CRM data are checked; the rest are the CRM's to enforce when apply saves."""
    for name, actor in spec.actors.items():
        path = ("spec", "sync", "actors", name)
        _check_alone(path, actor, report)
        if live is None:
            continue
        mapping = live.actors.get(name)
        if mapping is None:
            offered = [a for a, m in live.actors.items() if m is not None]
            report(path, f"the connection's connector does not offer the ERP actor type {name}",
                   did_you_mean(name, offered) or None)
            continue
        _check_against(path, actor, mapping, report)


def _check_alone(path: tuple[str | int, ...], actor: SyncActor, report: Report) -> None:
    for key, f in actor.fields.items():
        if f.direction != "none" and not f.crmField:
            report((*path, "fields", key, "direction"), f"{key}: a direction needs a crmField",
                   "add crmField, or remove the direction")
        if f.direction != "none" and f.erpTab:
            report((*path, "fields", key, "erpTab"),
                   f"{key}: a synchronised field cannot also be shown on the ERP tab",
                   "choose one: remove erpTab, or set direction: none")
    for key, d in (actor.defaults or {}).items():
        if d.mandatory and d.value is None and not d.askUser:
            report((*path, "defaults", key, "mandatory"), f"{key}: a mandatory default needs a value or askUser: true",
                   None)
    seen: set[str] = set()
    for index, key in enumerate(actor.erpTabOrder or []):
        if key in seen:
            report((*path, "erpTabOrder", index), f"erpTabOrder lists {key} twice", "list each field once")
        seen.add(key)
    for field_key in actor.lists or {}:
        f = actor.fields.get(field_key)
        if f is None or not f.crmField:
            report((*path, "lists", field_key), f"{field_key}: list mappings need the field mapped to a CRM field",
                   f"map it under fields: {field_key}: {{crmField: …}}")


def _check_against(path: tuple[str | int, ...], actor: SyncActor, mapping: LiveActorMapping, report: Report) -> None:
    known = {f.key: f for f in mapping.fields if not f.missing_in_erp}
    if actor.crmActor is not None and actor.crmActor != mapping.crm_actor:
        report((*path, "crmActor"), f"the connector pairs {mapping.erp_actor} with {mapping.crm_actor}, "
               f"not {actor.crmActor}", f"use crmActor: {mapping.crm_actor}, or leave it out")

    def unknown(where: tuple[str | int, ...], key: str) -> bool:
        if key in known:
            return False
        report(where, f"{mapping.erp_actor} has no ERP field {key!r}", did_you_mean(key, sorted(known)) or None)
        return True

    for key, f in actor.fields.items():
        if unknown((*path, "fields", key), key):
            continue
        if f.direction in ("toErp", "both") and known[key].access == "ReadOnly":
            report((*path, "fields", key, "direction"), f"{key} is ReadOnly in the ERP system; it cannot sync to the ERP",
                   "use direction: toCrm")
        if actor.lists and key in actor.lists and known[key].field_type != "List":
            report((*path, "lists", key), f"{key} is not a List field; it has no list to map", None)
    for key in actor.erpTabOrder or []:
        unknown((*path, "erpTabOrder"), key)
    for key in actor.defaults or {}:
        unknown((*path, "defaults", key), key)
    if actor.enabled:
        for key, f in sorted(known.items()):
            wanted = actor.fields.get(key)
            if f.access == "Mandatory" and (wanted is None or wanted.direction == "none"):
                report((*path, "fields"), f"{mapping.erp_actor} is enabled, but its Mandatory field {key} has no direction; "
                       "the CRM refuses to activate the connection", f"add {key}: {{crmField: …, direction: toCrm}}")
