"""plan(desired, live) -> Plan. Pure: no I/O, no clock, deterministic order."""

from __future__ import annotations

import fnmatch
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TypeVar

from reconciler.collector import builds_acyclic_data
from reconciler.crm.live import (
    FieldMeta,
    Live,
    LiveConnector,
    LiveErpConnection,
    LiveQuoteConnection,
)
from reconciler.diagnostics import Diagnostic, DiagnosticError, did_you_mean
from reconciler.manifest.models import (
    KINDS,
    ConfigValue,
    Desired,
    DesiredResource,
    ErpConnection,
    Kind,
    QuoteConnection,
    Scope,
    SyncConnector,
)
from reconciler.plan.model import (
    Change,
    ConfigWire,
    ConnectorState,
    ErpConnectionState,
    FieldChange,
    LiveObject,
    Plan,
    QuoteConnectionState,
    State,
    flatten_state,
)
from reconciler.plan.values import desired_config, normalise_live_value
from reconciler.secrets import Sensitive

T = TypeVar("T", LiveConnector, LiveErpConnection, LiveQuoteConnection)
KIND_ORDER = {kind: i for i, kind in enumerate(KINDS)}


@dataclass(frozen=True)
class PlanOptions:
    max_deletes: int = 5
    allow_deletes: bool = False  # more soft-deletes than max_deletes
    allow_empty: bool = False  # no manifests of a kind that has live objects
    ignore: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # kind -> name globs


@builds_acyclic_data
def make_plan(desired: Desired, live: Live, options: PlanOptions = PlanOptions()) -> Plan:
    """The changes that make `live` look like `desired`; DiagnosticError if it cannot be planned."""
    return _Planner(desired, live, options).run()


def _pick(candidates: Sequence[T]) -> tuple[T | None, list[T]]:
    """The live object a desired one maps to: the one not deleted, else the newest deleted.
    Also returns the other non-deleted objects with the same name (an ambiguity)."""
    alive = [c for c in candidates if not c.deleted]
    if alive:
        return alive[0], alive[1:]
    deleted = sorted((c for c in candidates if c.deleted), key=lambda c: c.id)
    return (deleted[-1] if deleted else None), []


def _by_name(objects: Iterable[T]) -> dict[str, list[T]]:
    index: dict[str, list[T]] = defaultdict(list)
    for obj in sorted(objects, key=lambda o: o.id):
        index[obj.name].append(obj)
    return index


def _unchecked(value: ConfigValue) -> ConfigWire:
    """A written value whose field type is not known yet. Any of them could be a
    password, so every one is kept sensitive until the connector's fields say otherwise."""
    if isinstance(value, Sensitive):
        return value
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (date, datetime)):
        text = value.isoformat()
    else:
        text = "" if value is None else str(value)
    return Sensitive(text)


@dataclass(frozen=True)
class _Names:
    """User logins or group names of the CRM, for matching scope entries (built once per plan)."""

    deleted: Mapping[str, bool]  # name -> deleted
    by_lower: Mapping[str, str]
    alive: tuple[str, ...]

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, bool]]) -> "_Names":
        deleted = dict(pairs)
        return cls(
            deleted=deleted,
            by_lower={name.lower(): name for name in deleted},
            alive=tuple(sorted(name for name, gone in deleted.items() if not gone)),
        )


class _Planner:
    def __init__(self, desired: Desired, live: Live, options: PlanOptions) -> None:
        self.desired = desired
        self.live = live
        self.options = options
        self.problems: list[Diagnostic] = []
        self.warnings: list[str] = []
        self.connectors = _by_name(live.connectors)
        self.erp = _by_name(live.erp_connections)
        self.quote = _by_name(live.quote_connections)
        self.connector_by_id = {c.id: c for c in live.connectors}
        self.erp_by_id = {c.id: c for c in live.erp_connections}
        self.user_by_id = {u.id: u for u in live.users}
        self.group_by_id = {g.id: g for g in live.groups}
        self.user_names = _Names.of((u.login, u.deleted) for u in live.users)
        self.group_names = _Names.of((g.name, g.deleted) for g in live.groups)
        self.changes: dict[str, Change] = {}

    # -- entry ---------------------------------------------------------------
    def run(self) -> Plan:
        upserts: list[Change] = []
        for resource in self.desired.of_kind("SyncConnector"):
            upserts.append(self._connector(resource))
        for resource in self.desired.of_kind("ErpConnection"):
            upserts.append(self._erp_connection(resource))
        for resource in self.desired.of_kind("QuoteConnection"):
            upserts.append(self._quote_connection(resource))
        deletes = self._soft_deletes()
        self._check_prune_budget(deletes)
        if self.problems:
            raise DiagnosticError(self.problems)
        ordered = sorted(upserts, key=lambda c: (KIND_ORDER[c.kind], c.name)) + sorted(
            deletes, key=lambda c: (-KIND_ORDER[c.kind], c.name, c.live_id or 0)
        )
        return Plan(
            target=self.live.target,
            manifest_digest=self.desired.digest,
            changes=tuple(ordered),
            warnings=tuple(self.warnings),
        )

    # -- helpers -------------------------------------------------------------
    def _problem(self, resource: DesiredResource, path: tuple[str | int, ...], message: str, hint: str | None = None) -> None:
        self.problems.append(
            Diagnostic(message=message, location=resource.locate(*path), resource=resource.ref, hint=hint)
        )

    def _ignored(self, kind: str, name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, glob) for glob in self.options.ignore.get(kind, ()))

    def _match(self, resource: DesiredResource, index: Mapping[str, list[T]]) -> T | None:
        if self._ignored(resource.kind, resource.name):
            self._problem(
                resource, ("metadata", "name"),
                f"'{resource.name}' is in the ignore list of reconcile.yaml, so it cannot be managed",
                "remove the manifest or the ignore entry",
            )
        chosen, others = _pick(index.get(resource.name, []))
        if others:
            ids = ", ".join(str(o.id) for o in [chosen, *others] if o is not None)
            self._problem(
                resource, ("metadata", "name"),
                f"the CRM has {len(others) + 1} {resource.kind} objects named '{resource.name}' (ids {ids})",
                "rename or delete the extra ones in the CRM, then plan again",
            )
        return chosen

    def _change(
        self,
        resource: DesiredResource,
        desired: State,
        live_obj: LiveObject | None,
        live_state: State | None,
        depends_on: Iterable[str] = (),
    ) -> Change:
        if live_obj is None or live_state is None:
            action = "create"
            field_changes = self._diff(None, desired)
        else:
            field_changes = self._diff(live_state, desired)
            if live_obj.deleted:
                action = "restore"
            else:
                action = "update" if field_changes else "no-op"
        change = Change(
            kind=resource.kind,
            name=resource.name,
            action=action,
            live_id=live_obj.id if live_obj is not None else None,
            live=live_obj,
            fields=field_changes,
            depends_on=tuple(
                dep for dep in depends_on
                if dep in self.changes and self.changes[dep].action in ("create", "restore")
            ),
            location=resource.location,
            desired=desired,
        )
        self.changes[change.ref] = change
        return change

    @staticmethod
    def _diff(before: State | None, after: State) -> tuple[FieldChange, ...]:
        if before is not None and before == after:
            # Equal states (Sensitive compares by value) have no field that differs below;
            # most objects of a plan are unchanged, so this is the common case.
            return ()
        old = flatten_state(before) if before is not None else {}
        new = flatten_state(after)
        changes: list[FieldChange] = []
        for path in list(new) + [p for p in old if p not in new]:
            a, b = old.get(path), new.get(path)
            plain_a = a.reveal() if isinstance(a, Sensitive) else a
            plain_b = b.reveal() if isinstance(b, Sensitive) else b
            if before is not None and plain_a == plain_b:
                continue
            if path == "name":
                continue  # the name is the identity; it is shown as the change's title
            sensitive = isinstance(a, Sensitive) or isinstance(b, Sensitive)
            reference = b.reference if isinstance(b, Sensitive) else None
            changes.append(FieldChange(path=path, before=a, after=b, sensitive=sensitive, reference=reference))
        return tuple(changes)

    # -- scope -------------------------------------------------------------
    def _scope(self, resource: DesiredResource, scope: Scope) -> tuple[bool, tuple[str, ...], tuple[str, ...]]:
        if scope.everyone:
            return True, (), ()
        users = self._resolve_names(resource, "users", scope.users or [], self.user_names, "user", "is retired (deleted)")
        groups = self._resolve_names(resource, "groups", scope.groups or [], self.group_names, "user group", "is deleted")
        return False, users, groups

    def _resolve_names(
        self, resource: DesiredResource, key: str, wanted: Sequence[str], names: _Names, what: str, gone: str
    ) -> tuple[str, ...]:
        """CRM spellings of `wanted` names (matched case-insensitively), reporting unknown and deleted ones."""
        found: set[str] = set()
        for i, name in enumerate(wanted):
            match = name if name in names.deleted else names.by_lower.get(name.lower())
            path = ("spec", "scope", key, i)
            if match is None:
                self._problem(resource, path, f"unknown {what} '{name}'", did_you_mean(name, names.alive))
            elif names.deleted[match]:
                self._problem(resource, path, f"{what} '{match}' {gone} in the CRM", "remove it from the scope")
            else:
                found.add(match)
        return tuple(sorted(found))

    def _live_scope(self, obj: LiveErpConnection | LiveQuoteConnection) -> tuple[bool, tuple[str, ...], tuple[str, ...]]:
        if obj.all_access:
            return True, (), ()
        users = sorted({self.user_by_id[i].login if i in self.user_by_id else f"#{i}" for i in obj.associate_ids})
        groups = sorted({self.group_by_id[i].name if i in self.group_by_id else f"#{i}" for i in obj.group_ids})
        return False, tuple(users), tuple(groups)

    # -- config ------------------------------------------------------------
    def _config(
        self,
        resource: DesiredResource,
        fields: Sequence[FieldMeta] | None,
        written: Mapping[str, ConfigValue],
        live_config: Mapping[str, ConfigWire] | None,
        pending_reason: str,
    ) -> dict[str, ConfigWire]:
        if fields is None:
            self.warnings.append(
                f"{resource.ref}: config not checked yet and its values not shown (any could be a password): "
                f"{pending_reason}; apply checks it against the connector's fields"
            )
            return {key: _unchecked(value) for key, value in written.items()}
        result = desired_config(fields, written, live_config, self.live.lists)
        for key, message, hint in result.problems:
            path: tuple[str | int, ...] = ("spec", "config", key) if key else ("spec", "config")
            self._problem(resource, path, message, hint)
        return result.values

    @staticmethod
    def _live_config(fields: Sequence[FieldMeta] | None, config: Mapping[str, ConfigWire]) -> dict[str, ConfigWire]:
        by_key = {f.key: f for f in fields or ()}
        return {key: normalise_live_value(by_key.get(key), value) for key, value in config.items()}

    # -- kinds -------------------------------------------------------------
    def _connector(self, resource: DesiredResource) -> Change:
        manifest = resource.manifest
        assert isinstance(manifest, SyncConnector)
        desired = ConnectorState(name=resource.name, url=manifest.spec.url)
        live_obj = self._match(resource, self.connectors)
        live_state = ConnectorState(name=live_obj.name, url=live_obj.url) if live_obj else None
        return self._change(resource, desired, live_obj, live_state)

    def _erp_connection(self, resource: DesiredResource) -> Change:
        manifest = resource.manifest
        assert isinstance(manifest, ErpConnection)
        spec = manifest.spec
        connector, _ = _pick(self.connectors.get(spec.connector, []))
        connector_change = self.changes.get(f"SyncConnector/{spec.connector}")
        fields = self.live.erp_fields.get(connector.id) if connector is not None else None
        if connector_change is not None and connector_change.action == "create":
            fields = None
        live_obj = self._match(resource, self.erp)
        live_state = None
        if live_obj is not None:
            live_connector = self.connector_by_id.get(live_obj.connector_id)
            everyone, users, groups = self._live_scope(live_obj)
            live_state = ErpConnectionState(
                name=live_obj.name,
                connector=live_connector.name if live_connector else f"#{live_obj.connector_id}",
                description=live_obj.description,
                active=live_obj.active,
                everyone=everyone,
                users=users,
                groups=groups,
                config=self._live_config(self.live.erp_fields.get(live_obj.connector_id), live_obj.config),
            )
        everyone, users, groups = self._scope(resource, spec.scope)
        config = self._config(
            resource, fields, resource.config, live_state.config if live_state else None,
            f"connector '{spec.connector}' is registered by this plan",
        )
        desired = ErpConnectionState(
            name=resource.name,
            connector=spec.connector,
            description=spec.description,
            active=spec.active,
            everyone=everyone,
            users=users,
            groups=groups,
            config=config,
        )
        return self._change(resource, desired, live_obj, live_state, [f"SyncConnector/{spec.connector}"])

    def _quote_connection(self, resource: DesiredResource) -> Change:
        manifest = resource.manifest
        assert isinstance(manifest, QuoteConnection)
        spec = manifest.spec
        installed = self.live.quote_connectors
        if spec.connector not in installed:
            self._problem(
                resource, ("spec", "connector"),
                f"quote connector '{spec.connector}' is not installed in the CRM",
                did_you_mean(spec.connector, installed)
                or (f"installed: {', '.join(installed)}" if installed else "no quote connectors are installed"),
            )
        fields = self.live.quote_fields.get(spec.connector)
        live_obj = self._match(resource, self.quote)
        live_state = None
        if live_obj is not None:
            erp = self.erp_by_id.get(live_obj.erp_connection_id)
            everyone, users, groups = self._live_scope(live_obj)
            live_state = QuoteConnectionState(
                name=live_obj.name,
                connector=live_obj.connector_name,
                erp_connection=erp.name if erp else (f"#{live_obj.erp_connection_id}" if live_obj.erp_connection_id else ""),
                description=live_obj.description,
                everyone=everyone,
                users=users,
                groups=groups,
                config=self._live_config(self.live.quote_fields.get(live_obj.connector_name), live_obj.config),
            )
        everyone, users, groups = self._scope(resource, spec.scope)
        config = (
            self._config(
                resource, fields, resource.config, live_state.config if live_state else None,
                f"the fields of quote connector '{spec.connector}' could not be read",
            )
            if spec.connector in installed
            else {}  # already an error above
        )
        desired = QuoteConnectionState(
            name=resource.name,
            connector=spec.connector,
            erp_connection=spec.erpConnection,
            description=spec.description,
            everyone=everyone,
            users=users,
            groups=groups,
            config=config,
        )
        return self._change(resource, desired, live_obj, live_state, [f"ErpConnection/{spec.erpConnection}"])

    # -- pruning -----------------------------------------------------------
    def _soft_deletes(self) -> list[Change]:
        wanted = {kind: {r.name for r in self.desired.of_kind(kind)} for kind in KINDS}
        live_objects: dict[Kind, Sequence[LiveObject]] = {
            "SyncConnector": self.live.connectors,
            "ErpConnection": self.live.erp_connections,
            "QuoteConnection": self.live.quote_connections,
        }
        deletes: list[Change] = []
        for kind, objects in live_objects.items():
            for obj in objects:
                if obj.deleted or obj.name in wanted[kind] or self._ignored(kind, obj.name):
                    continue
                deletes.append(
                    Change(kind=kind, name=obj.name, action="soft-delete", live_id=obj.id, live=obj)
                )
        # A connector goes after its connections, an ERP connection after its quote connections.
        deleted_ids = {(c.kind, c.live_id) for c in deletes}
        with_deps: list[Change] = []
        for change in deletes:
            deps: list[str] = []
            if change.kind == "SyncConnector":
                deps = [
                    f"ErpConnection/{e.name}" for e in self.live.erp_connections
                    if e.connector_id == change.live_id and ("ErpConnection", e.id) in deleted_ids
                ]
            elif change.kind == "ErpConnection":
                deps = [
                    f"QuoteConnection/{q.name}" for q in self.live.quote_connections
                    if q.erp_connection_id == change.live_id and ("QuoteConnection", q.id) in deleted_ids
                ]
            with_deps.append(replace(change, depends_on=tuple(sorted(set(deps)))))
        return with_deps

    def _check_prune_budget(self, deletes: list[Change]) -> None:
        if len(deletes) > self.options.max_deletes and not self.options.allow_deletes:
            names = ", ".join(c.ref for c in deletes[:10]) + (" …" if len(deletes) > 10 else "")
            self.problems.append(
                Diagnostic(
                    message=(
                        f"this plan would soft-delete {len(deletes)} objects ({names}), more than the "
                        f"limit of {self.options.max_deletes}"
                    ),
                    hint="check that -f names all your manifests; if the deletions are intended, "
                    "pass --allow-deletes or raise --max-deletes",
                )
            )
        if self.options.allow_empty:
            return
        for kind in KINDS:
            doomed = [c for c in deletes if c.kind == kind]
            if doomed and not self.desired.of_kind(kind):
                self.problems.append(
                    Diagnostic(
                        message=(
                            f"the manifests have no {kind} but the CRM has {len(doomed)}; this plan would "
                            f"soft-delete all of them"
                        ),
                        hint="check that -f names all your manifests; to really empty it, pass --allow-empty",
                    )
                )
