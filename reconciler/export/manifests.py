"""Live -> manifest documents: everything the CRM has (not deleted), as users would write it.

Pure: no I/O. The documents plan back to "No changes" against the same CRM,
given the listed environment variables set to the live secret values:
- scope by user login and group name; config values as the CRM stores them
  (strings; the planner normalises, so they compare equal);
- values of Password-type fields (and any value the client could not classify,
  which it hands over as Sensitive) become `${env:NAME}` references; their values
  are never revealed here;
- Label and ReadOnly fields are left out (the connector owns them);
- a literal `${` in a stored value is written as `$${`;
- objects that could not be planned back (a connection whose connector or ERP
  connection is deleted, a scope naming nobody, a duplicate name) are left out
  with a note saying why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from reconciler.export.sync_block import sync_block
from reconciler.crm.live import FieldMeta, Live, LiveConnector, LiveErpConnection, LiveQuoteConnection, WireValue
from reconciler.export.env_names import EnvNames
from reconciler.manifest.models import API_VERSION, Kind, KindAndName
from reconciler.secrets import Sensitive

_EMPTY_SECRET = Sensitive("")


@dataclass(frozen=True)
class ExportedResource(KindAndName):
    document: dict[str, Any]  # apiVersion, kind, metadata, spec: plain YAML data


@dataclass(frozen=True)
class SecretVariable:
    """An environment variable the user must set for the export to plan back cleanly."""

    name: str
    resource: str  # "Kind/name"
    field: str  # the config FieldKey


@dataclass(frozen=True)
class Export:
    resources: tuple[ExportedResource, ...]
    secrets: tuple[SecretVariable, ...] = ()
    notes: tuple[str, ...] = ()  # what was left out and why; never a value

    def of_kind(self, kind: Kind) -> list[ExportedResource]:
        return [r for r in self.resources if r.kind == kind]


def export_live(live: Live, *, ignore: Mapping[str, Sequence[str]] | None = None) -> Export:
    return _Exporter(live, ignore or {}).run()


class _Exporter:
    def __init__(self, live: Live, ignore: Mapping[str, Sequence[str]]) -> None:
        self.live = live
        self.ignore = ignore
        self.notes: list[str] = []
        self.secrets: list[SecretVariable] = []
        self.env_names = EnvNames()
        # id -> (name, deleted): what a scope may name
        self.user_logins = {u.id: (u.login, u.deleted) for u in live.users}
        self.group_names = {g.id: (g.name, g.deleted) for g in live.groups}

    def run(self) -> Export:
        connectors = self._unique("SyncConnector", self.live.connectors)
        connector_names = {c.id: c.name for c in connectors}
        resources = [self._connector(c) for c in connectors]

        erp_names: dict[int, str] = {}
        for conn in self._unique("ErpConnection", self.live.erp_connections):
            exported = self._erp(conn, connector_names)
            if exported is not None:
                erp_names[conn.id] = conn.name
                resources.append(exported)
        for quote in self._unique("QuoteConnection", self.live.quote_connections):
            exported = self._quote(quote, erp_names)
            if exported is not None:
                resources.append(exported)
        return Export(tuple(resources), tuple(self.secrets), tuple(self.notes))

    def _unique(self, kind: Kind, objects: Sequence[Any]) -> list[Any]:
        """Live, not ignored, one per name (the lowest id), sorted by name."""
        chosen: dict[str, Any] = {}
        for obj in sorted(objects, key=lambda o: o.id):
            if obj.deleted or any(fnmatchcase(obj.name, g) for g in self.ignore.get(kind, ())):
                continue
            if obj.name in chosen:
                self.notes.append(
                    f"{kind}/{obj.name}: the CRM has more than one with this name; exported id "
                    f"{chosen[obj.name].id}, left out id {obj.id} (rename or delete it in the CRM)"
                )
                continue
            chosen[obj.name] = obj
        return [chosen[name] for name in sorted(chosen)]

    @staticmethod
    def _document(kind: Kind, name: str, spec: dict[str, Any]) -> ExportedResource:
        return ExportedResource(
            kind, name, {"apiVersion": API_VERSION, "kind": kind, "metadata": {"name": name}, "spec": spec}
        )

    def _connector(self, connector: LiveConnector) -> ExportedResource:
        return self._document("SyncConnector", connector.name, {"url": connector.url})

    def _erp(self, conn: LiveErpConnection, connector_names: Mapping[int, str]) -> ExportedResource | None:
        ref = f"ErpConnection/{conn.name}"
        connector = connector_names.get(conn.connector_id)
        if connector is None:
            self.notes.append(f"{ref}: left out: its sync connector (id {conn.connector_id}) is deleted, ignored or unknown")
            return None
        scope = self._scope(ref, conn)
        if scope is None:
            return None
        spec: dict[str, Any] = {"connector": connector}
        if conn.description:
            spec["description"] = conn.description
        spec["active"] = conn.active
        spec["scope"] = scope
        config = self._config(ref, self.live.erp_fields.get(conn.connector_id), conn.config)
        if config:
            spec["config"] = config
        sync = self.live.sync.get(conn.id)
        if sync is not None:
            spec["sync"] = sync_block(sync, self.live.lists, self.live.sync_priority.get(conn.id))
            if sync.ranks_unreadable:
                self.notes.append(f"{ref}: no erpTabOrder exported: the CRM refused to read the rank "
                                  f"({sync.ranks_unreadable})")
        return self._document("ErpConnection", conn.name, spec)

    def _quote(self, conn: LiveQuoteConnection, erp_names: Mapping[int, str]) -> ExportedResource | None:
        ref = f"QuoteConnection/{conn.name}"
        erp = erp_names.get(conn.erp_connection_id)
        if erp is None:
            self.notes.append(
                f"{ref}: left out: its ERP connection (id {conn.erp_connection_id}) is deleted, ignored or not exported"
            )
            return None
        scope = self._scope(ref, conn)
        if scope is None:
            return None
        spec: dict[str, Any] = {"connector": conn.connector_name, "erpConnection": erp}
        if conn.description:
            spec["description"] = conn.description
        spec["scope"] = scope
        config = self._config(ref, self.live.quote_fields.get(conn.connector_name), conn.config)
        if config:
            spec["config"] = config
        return self._document("QuoteConnection", conn.name, spec)

    def _scope(self, ref: str, conn: LiveErpConnection | LiveQuoteConnection) -> dict[str, Any] | None:
        if conn.all_access:
            return {"everyone": True}
        users = self._scope_names(ref, "user", "retired", conn.associate_ids, self.user_logins)
        groups = self._scope_names(ref, "group", "deleted", conn.group_ids, self.group_names)
        scope: dict[str, Any] = {}
        if users:
            scope["users"] = sorted(set(users))
        if groups:
            scope["groups"] = sorted(set(groups))
        if not scope:
            self.notes.append(f"{ref}: left out: its scope names no current user or group (give it one in the CRM)")
            return None
        return scope

    def _scope_names(
        self, ref: str, what: str, gone: str, ids: Sequence[int], known: Mapping[int, tuple[str, bool]]
    ) -> list[str]:
        """The names of the ids that are known and not deleted; a note for each one left out."""
        names: list[str] = []
        for i in ids:
            found = known.get(i)
            if found is None or found[1]:
                self.notes.append(f"{ref}: scope: left out {what} id {i} ({gone if found else 'unknown'})")
            else:
                names.append(found[0])
        return names

    def _config(
        self, ref: str, fields: Sequence[FieldMeta] | None, config: Mapping[str, WireValue]
    ) -> dict[str, str]:
        if fields is None:
            self.notes.append(
                f"{ref}: the connector's config fields could not be read, so every config value is "
                "exported as an ${env:…} reference"
            )
            order = {key: (0, key) for key in config}
            by_key: dict[str, FieldMeta] = {}
        else:
            by_key = {f.key: f for f in fields}
            order = {f.key: (f.rank, f.key) for f in fields}
        result: dict[str, str] = {}
        for key in sorted(config, key=lambda k: order.get(k, (1 << 30, k))):
            meta = by_key.get(key)
            if fields is not None and meta is None:
                self.notes.append(f"{ref}: config key '{key}' is stored but the connector no longer defines it; left out")
                continue
            if meta is not None and (meta.field_type == "Label" or meta.access == "ReadOnly"):
                continue
            value = config[key]
            if isinstance(value, Sensitive) or (meta is not None and meta.field_type == "Password"):
                result[key] = self._secret(ref, key, value)
            else:
                result[key] = value.replace("${", "$${")
        return result

    def _secret(self, ref: str, key: str, value: WireValue) -> str:
        # Compared, never revealed: an empty secret needs no variable (an empty one is refused).
        if value == _EMPTY_SECRET or value == "":
            return ""
        name = self.env_names.allocate(ref.split("/", 1)[1], key)
        self.secrets.append(SecretVariable(name=name, resource=ref, field=key))
        return "${env:" + name + "}"
