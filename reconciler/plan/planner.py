"""plan(desired, live) -> Plan. Pure: no I/O, no clock, deterministic order."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TypedDict, TypeVar

from reconciler.crm.live import (
    FieldMeta,
    Live,
    LiveConnector,
    LiveErpConnection,
    LiveQuoteConnection,
)
from reconciler.diagnostics import Diagnostic, DiagnosticError, did_you_mean
from reconciler.plan.ignored import ignored_manifests, is_ignored
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
from reconciler.manifest.sync_models import SyncSpec
from reconciler.plan.model import (
    NO_INPUTS,
    Access,
    ApplyInputs,
    Change,
    ConfigWire,
    ConnectorState,
    ErpConnectionState,
    FieldChange,
    LateConfig,
    LiveObject,
    Plan,
    QuoteConnectionState,
    StayingConnection,
    State,
    UrlSwitch,
    appears,
    flatten_state,
    moves_url,
    writes,
)
from reconciler.plan.sync_priority import Priorities
from reconciler.plan.sync_state import desired_sync, live_sync
from reconciler.plan.sync_validation import check_priorities, check_shared_crm_fields, check_sync
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


class _ScopeNames(TypedDict):
    """A connection's scope as a state holds it: users by login, groups by name."""

    everyone: bool
    users: tuple[str, ...]
    groups: tuple[str, ...]


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
        self.user_ids = {u.login: u.id for u in live.users}
        self.group_ids = {g.name: g.id for g in live.groups}
        self.resources = {r.ref: r for r in desired.resources}
        self.changes: dict[str, Change] = {}
        # Newer live copies of a managed name (a killed concurrent apply leaves them): soft-deleted.
        self.extra_copies: dict[tuple[Kind, int], LiveObject] = {}
        self._priorities = Priorities(desired, live)

    # -- entry ---------------------------------------------------------------
    def run(self) -> Plan:
        self.problems.extend(ignored_manifests(self.desired, self.options.ignore))
        upserts: list[Change] = []
        for resource in self.desired.of_kind("SyncConnector"):
            upserts.append(self._connector(resource))
        for resource in self.desired.of_kind("ErpConnection"):
            upserts.append(self._erp_connection(resource))
        for resource in self.desired.of_kind("QuoteConnection"):
            upserts.append(self._quote_connection(resource))
        check_priorities(self.desired, self._problem)
        check_shared_crm_fields(self.desired, self.live, self._problem)
        self._url_change_notes()
        upserts = [self._with_url_switch(c) for c in upserts]
        if (note := self._priorities.note()) is not None:
            self.warnings.append(note)
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
        return is_ignored(self.options.ignore, kind, name)

    def _match(self, resource: DesiredResource, index: Mapping[str, list[T]]) -> T | None:
        chosen, others = _pick(index.get(resource.name, []))
        if others and chosen is not None:
            ids = ", ".join(str(o.id) for o in others)
            self.warnings.append(
                f"the CRM has {len(others) + 1} {resource.kind} objects named '{resource.name}': this plan keeps "
                f"the oldest (id {chosen.id}) and soft-deletes the newer {'copy' if len(others) == 1 else 'copies'} "
                f"(id {ids}), e.g. left by an apply that was stopped while creating"
            )
            for other in others:
                self.extra_copies[(resource.kind, other.id)] = other
        return chosen

    def _parent_name(self, kind: Kind, obj: LiveObject | None, missing_id: int) -> str:
        """How a live object's parent is named in a state; an extra copy that this plan
        removes is told apart from the copy that is kept, so its children move over."""
        if obj is None:
            return f"#{missing_id}" if missing_id else ""
        return f"{obj.name} (id {obj.id})" if (kind, obj.id) in self.extra_copies else obj.name

    def _change(
        self,
        resource: DesiredResource,
        desired: State,
        live_obj: LiveObject | None,
        live_state: State | None,
        depends_on: Iterable[str] = (),
        inputs: ApplyInputs = NO_INPUTS,
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
                if dep in self.changes and (appears(self.changes[dep].action) or moves_url(self.changes[dep]))
            ),
            location=resource.location,
            desired=desired,
            inputs=self._with_access(inputs, desired) if writes(action) else inputs,
        )
        self.changes[change.ref] = change
        return change

    def _with_access(self, inputs: ApplyInputs, desired: State) -> ApplyInputs:
        if not isinstance(desired, (ErpConnectionState, QuoteConnectionState)):
            return inputs
        access = Access(
            all_access=desired.everyone,
            associate_ids=tuple(sorted(self.user_ids[u] for u in desired.users)),
            group_ids=tuple(sorted(self.group_ids[g] for g in desired.groups)),
        )
        return replace(inputs, access=access)

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
    def _scope(self, resource: DesiredResource, scope: Scope) -> _ScopeNames:
        if scope.everyone:
            return _ScopeNames(everyone=True, users=(), groups=())
        users = self._resolve_names(resource, "users", scope.users or [], self.user_names, "user", "is retired (deleted)")
        groups = self._resolve_names(resource, "groups", scope.groups or [], self.group_names, "user group", "is deleted")
        return _ScopeNames(everyone=False, users=users, groups=groups)

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

    def _live_scope(self, obj: LiveErpConnection | LiveQuoteConnection) -> _ScopeNames:
        if obj.all_access:
            return _ScopeNames(everyone=True, users=(), groups=())
        users = sorted({self.user_by_id[i].login if i in self.user_by_id else f"#{i}" for i in obj.associate_ids})
        groups = sorted({self.group_by_id[i].name if i in self.group_by_id else f"#{i}" for i in obj.group_ids})
        return _ScopeNames(everyone=False, users=tuple(users), groups=tuple(groups))

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
            live_state = ErpConnectionState(
                name=live_obj.name,
                connector=self._parent_name("SyncConnector", live_connector, live_obj.connector_id),
                description=live_obj.description,
                active=live_obj.active,
                **self._live_scope(live_obj),
                config=self._live_config(self.live.erp_fields.get(live_obj.connector_id), live_obj.config),
            )
        scope = self._scope(resource, spec.scope)
        config = self._config(
            resource, fields, resource.config, live_state.config if live_state else None,
            f"connector '{spec.connector}' is registered by this plan",
        )
        desired = ErpConnectionState(
            name=resource.name,
            connector=spec.connector,
            description=spec.description,
            active=spec.active,
            **scope,
            config=config,
        )
        if spec.sync is not None:
            desired, live_state = self._with_sync(resource, spec.sync, desired, live_obj, live_state)
        late = LateConfig(written=resource.config, lists=self.live.lists) if fields is None else None
        return self._change(resource, desired, live_obj, live_state, [f"SyncConnector/{spec.connector}"],
                            ApplyInputs(late_config=late))

    def _with_sync(
        self, resource: DesiredResource, sync: SyncSpec, desired: ErpConnectionState,
        live_obj: LiveErpConnection | None, live_state: ErpConnectionState | None,
    ) -> tuple[ErpConnectionState, ErpConnectionState | None]:
        live_sync_config = self.live.sync.get(live_obj.id) if live_obj is not None and not live_obj.deleted else None
        check_sync(sync, live_sync_config, lambda path, message, hint: self._problem(resource, path, message, hint))
        wanted_rank, live_rank = self._priorities.positions(resource.name, live_obj)
        desired = replace(desired, sync=desired_sync(sync, live_sync_config, wanted_rank), sync_spec=sync)
        if live_state is not None:
            live_state = replace(live_state, sync=live_sync(sync, live_sync_config, self.live.lists, live_rank))
        if live_sync_config is not None and live_sync_config.ranks_unreadable:
            self.warnings.append(
                f"ErpConnection/{resource.name}: sync erpTabOrder is not compared and apply leaves the ERP-tab "
                f"order as it is: the CRM refused to read the rank ({live_sync_config.ranks_unreadable}); "
                "reconcile doctor shows whether this user may read archive Dynamic")
        return desired, live_state

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
            live_state = QuoteConnectionState(
                name=live_obj.name,
                connector=live_obj.connector_name,
                erp_connection=self._parent_name("ErpConnection", erp, live_obj.erp_connection_id),
                description=live_obj.description,
                **self._live_scope(live_obj),
                config=self._live_config(self.live.quote_fields.get(live_obj.connector_name), live_obj.config),
            )
        scope = self._scope(resource, spec.scope)
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
            **scope,
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
        waits: dict[tuple[Kind, int], list[str]] = {}
        # Children first, so that a parent is kept when a child of it is kept.
        for kind in reversed(KINDS):
            for obj in live_objects[kind]:
                extra = (kind, obj.id) in self.extra_copies
                if obj.deleted or (obj.name in wanted[kind] and not extra) or self._ignored(kind, obj.name):
                    continue
                kept, waits[(kind, obj.id)] = self._kept_children(kind, obj.id, {(c.kind, c.live_id) for c in deletes})
                if kept:
                    what = (f"the newer copy (id {obj.id}) of {kind}/{obj.name} is" if extra
                            else f"{kind}/{obj.name} is not in the manifests but is")
                    self.warnings.append(
                        f"{what} not soft-deleted: "
                        f"{', '.join(kept)} under it stays (not managed here, e.g. in ignore: of reconcile.yaml), "
                        "and the CRM does not delete a parent of live objects"
                    )
                    continue
                deletes.append(
                    Change(kind=kind, name=obj.name, action="soft-delete", live_id=obj.id, live=obj, extra_copy=extra)
                )
        # A connector goes after its connections, an ERP connection after its quote connections.
        deleted_ids = {(c.kind, c.live_id) for c in deletes}
        with_deps: list[Change] = []
        for change in deletes:
            assert change.live_id is not None
            deps: list[str] = list(waits.get((change.kind, change.live_id), ()))
            if change.kind == "SyncConnector":
                deps += [
                    f"ErpConnection/{e.name}" for e in self.live.erp_connections
                    if e.connector_id == change.live_id and ("ErpConnection", e.id) in deleted_ids
                ]
            elif change.kind == "ErpConnection":
                deps += [
                    f"QuoteConnection/{q.name}" for q in self.live.quote_connections
                    if q.erp_connection_id == change.live_id and ("QuoteConnection", q.id) in deleted_ids
                ]
            with_deps.append(replace(change, depends_on=tuple(sorted(set(deps)))))
        return with_deps

    def _url_change_notes(self) -> None:
        """What a sync connector's new URL affects: every connection that uses it."""
        for change in self.changes.values():
            if not moves_url(change):
                continue
            users = [c for c in self.live.erp_connections if c.connector_id == change.live_id and not c.deleted]
            if not users:
                continue
            names = ", ".join(sorted(
                c.name + ("" if f"ErpConnection/{c.name}" in self.changes else " (not in the manifests)") for c in users
            ))
            self.warnings.append(
                f"{change.ref}: the new URL affects {len(users)} ERP connection{'s' if len(users) != 1 else ''} "
                f"({names}); apply first checks their config against the fields of the connector at the new URL "
                "and tests every active one there, and does not switch if any check fails"
            )

    def _with_url_switch(self, change: Change) -> Change:
        """A connector that gets a new URL carries every connection that stays on it, for
        apply to check at the new URL first (connections this plan moves elsewhere are left out)."""
        if not moves_url(change):
            return change
        staying: list[StayingConnection] = []
        for connection in self.live.erp_connections:
            if connection.connector_id != change.live_id or connection.deleted:
                continue
            resource = self.resources.get(f"ErpConnection/{connection.name}")
            manifest = resource.manifest if resource is not None else None
            if isinstance(manifest, ErpConnection) and manifest.spec.connector != change.name:
                continue
            staying.append(StayingConnection(
                name=connection.name,
                active=manifest.spec.active if isinstance(manifest, ErpConnection) else connection.active,
                written=resource.config if resource is not None and isinstance(manifest, ErpConnection) else None,
                stored=connection.config,
            ))
        switch = UrlSwitch(connections=tuple(staying), lists=self.live.lists)
        return replace(change, inputs=replace(change.inputs, url_switch=switch))

    def _children(self, kind: Kind, live_id: int) -> list[tuple[Kind, LiveObject]]:
        if kind == "SyncConnector":
            return [("ErpConnection", e) for e in self.live.erp_connections if e.connector_id == live_id and not e.deleted]
        if kind == "ErpConnection":
            return [("QuoteConnection", q) for q in self.live.quote_connections if q.erp_connection_id == live_id and not q.deleted]
        return []

    def _moved_away(self, kind: Kind, child: LiveObject) -> str | None:
        """The ref of this plan's change that moves `child` to another parent, if any."""
        ref = f"{kind}/{child.name}"
        change = self.changes.get(ref)
        parent_field = "connector" if kind == "ErpConnection" else "erp_connection"
        if change is None or change.live_id != child.id or not any(f.path == parent_field for f in change.fields):
            return None
        return ref

    def _kept_children(self, kind: Kind, live_id: int, deleted: set[tuple[str, int | None]]) -> tuple[list[str], list[str]]:
        """Live children of a parent that this plan does not soft-delete, and the refs of
        the changes that move the other ones to another parent (the delete waits for them)."""
        kept: list[str] = []
        moved: list[str] = []
        for child_kind, child in self._children(kind, live_id):
            if (child_kind, child.id) in deleted:
                continue
            move = self._moved_away(child_kind, child)
            if move is not None:
                moved.append(move)
            else:
                kept.append(f"{child_kind}/{child.name}")
        return sorted(kept), sorted(moved)

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
