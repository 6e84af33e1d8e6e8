"""The CRM's cache of a connector's actor types and fields, refreshed when a connection
is saved and by UpdateConnectionFields, with the engine's automatic field mapping.

Readings (vendor docs in SuperOfficeDocs/superoffice-docs):
- every field the connector offers is cached, not only the ones in use
  (docs/api/netserver/erp-connectors/setup-defaults.md);
- a field the connector no longer offers stays, flagged MissingInERP, and keeps its id;
- a field whose key matches a known CRM field name, compared without case, is mapped
  to it with no direction (docs/api/netserver/erp-connectors/automatic-field-mapping.md).
  The docs say this happens on create and update of a connection; whether
  UpdateConnectionFields also does it is not stated, so it does here too (the stricter
  reading: a client must read the mapping again after either call). Only a field with
  no CRM field is auto-mapped, so an admin's mapping is never replaced.
- a new actor type starts with IsActive false: nothing syncs until it is configured.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace

from reconciler.emulator.seed import FieldSpec, Seed, SyncConnectorProfile
from reconciler.emulator.sync_store import ACTORS, FIELDS, ActorRow, FieldRow, actor_of, fields_of


def refresh_field_cache(conn: sqlite3.Connection, seed: Seed, profile: SyncConnectorProfile, connection_id: int) -> None:
    for spec in profile.actor_types:
        actor = actor_of(conn, connection_id, spec.erp)
        if actor is None:
            new = ActorRow(id=0, connection_id=connection_id, erp=spec.erp, crm=spec.crm, is_active=False)
            actor = replace(new, id=ACTORS.insert(conn, new))
        auto_map = _auto_map_table(seed, actor.crm)
        stored = {f.key: f for f in fields_of(conn, actor.id)}
        for position, field in enumerate(spec.fields):
            old = stored.get(field.key)
            row = _with_metadata(old, actor.id, field, position)
            if not row.crm_field_key:
                row = replace(row, crm_field_key=auto_map.get(field.key.lower(), ""))
            if old is None:
                FIELDS.insert(conn, row)
            elif row != old:
                FIELDS.update(conn, row)
        offered = {f.key for f in spec.fields}
        for key, old in stored.items():
            if key not in offered and not old.missing_in_erp:
                FIELDS.update(conn, replace(old, missing_in_erp=True))


def _with_metadata(old: FieldRow | None, actor_id: int, field: FieldSpec, position: int) -> FieldRow:
    metadata = {
        "display_name": field.display_name or field.key,
        "description": field.description,
        "field_type": field.type,
        "access": field.access,
        "list_name": field.list_name,
        "default_value": field.default,
        "missing_in_erp": False,
    }
    if old is not None:
        return replace(old, **metadata)  # the rank is the admin's once the field is cached
    rank = field.rank if field.rank is not None else position
    return FieldRow(id=0, actor_id=actor_id, key=field.key, rank=rank, **metadata)  # type: ignore[arg-type]


def _auto_map_table(seed: Seed, crm_actor: str | None) -> dict[str, str]:
    """Lower-cased ERP key -> the CRM field the engine maps it to."""
    return {
        erp_key.lower(): crm_field.key
        for crm_field in seed.crm_fields.get(crm_actor, [])  # type: ignore[call-overload]
        for erp_key in crm_field.erp_keys
    }
