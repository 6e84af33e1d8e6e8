"""A Plan is plain data: what would change, field by field, and why it is safe.

Both sides of a diff are first put in the same comparable form (the *State*
classes below), with references by name (connector, ERP connection, users,
groups), so the diff is a field-by-field comparison and the renderers and the
applier never need the raw API shapes.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Literal, Union

from reconciler.crm.live import ListItem, LiveConnector, LiveErpConnection, LiveQuoteConnection
from reconciler.diagnostics import Location
from reconciler.manifest.models import ConfigValue, KindAndName
from reconciler.manifest.sync_models import SyncSpec
from reconciler.plan.fingerprint import fingerprint
from reconciler.secrets import Sensitive

Action = Literal["create", "update", "soft-delete", "restore", "no-op"]
ACTIONS: tuple[Action, ...] = ("create", "update", "restore", "soft-delete", "no-op")
_WRITES: frozenset[Action] = frozenset({"create", "update", "restore"})
_APPEARS: frozenset[Action] = frozenset({"create", "restore"})


def writes(action: Action) -> bool:
    """The change saves the desired object: create, update or restore."""
    return action in _WRITES


def appears(action: Action) -> bool:
    """The object is not in use until apply runs: created, or restored from soft-deleted.
    Whatever refers to it waits for it, and cannot be tested before apply."""
    return action in _APPEARS


def deletes(action: Action) -> bool:
    return action == "soft-delete"


def changes_anything(action: Action) -> bool:
    return action != "no-op"

TestStatus = Literal["passed", "failed", "deferred", "not-run"]
ConfigWire = Union[str, Sensitive]  # config values as the CRM stores them
LiveObject = Union[LiveConnector, LiveErpConnection, LiveQuoteConnection]


@dataclass(frozen=True)
class ConnectorState:
    name: str
    url: str


@dataclass(frozen=True)
class ErpConnectionState:
    name: str
    connector: str
    description: str
    active: bool
    everyone: bool
    users: tuple[str, ...]  # logins, sorted
    groups: tuple[str, ...]  # group names, sorted
    config: Mapping[str, ConfigWire] = field(default_factory=dict)
    # The managed sync configuration, flat (plan/sync_state.py), shown as `sync.<path>`.
    sync: Mapping[str, object] = field(default_factory=dict)
    # The manifest's sync block, for apply (None: not managed); its diff is `sync`.
    sync_spec: SyncSpec | None = field(default=None, compare=False)


@dataclass(frozen=True)
class QuoteConnectionState:
    name: str
    connector: str
    erp_connection: str
    description: str
    everyone: bool
    users: tuple[str, ...]
    groups: tuple[str, ...]
    config: Mapping[str, ConfigWire] = field(default_factory=dict)


State = Union[ConnectorState, ErpConnectionState, QuoteConnectionState]


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def flatten_state(state: State) -> dict[str, object]:
    """Field path -> value, with config keys as `config.<FieldKey>`."""
    flat: dict[str, object] = {}
    for name in _field_names(type(state)):
        value = getattr(state, name)
        if name in ("config", "sync"):
            for key, item in sorted(value.items()):
                flat[f"{name}.{key}"] = item
        elif name == "sync_spec":
            continue
        else:
            flat[name] = value
    return flat


@dataclass(frozen=True)
class FieldChange:
    path: str  # "url", "description", "users", "config.ApiKey", …
    before: object  # None when absent
    after: object  # None when removed
    sensitive: bool = False
    # What the manifest said for a sensitive value ("${env:NAME}"); safe to show.
    reference: str | None = None


@dataclass(frozen=True)
class TestResult:
    __test__ = False  # not a pytest class

    status: TestStatus
    explanation: str = ""  # from the connector, or why the test did not run
    seconds: float = field(default=0.0, compare=False)  # how long the test took (JUnit time)


@dataclass(frozen=True)
class Access:
    """Who may use a connection, as the CRM stores it: the manifest's logins and group
    names resolved to the ids the CRM had when the plan was made."""

    all_access: bool
    associate_ids: tuple[int, ...]
    group_ids: tuple[int, ...]


@dataclass(frozen=True)
class LateConfig:
    """An ERP connection's config whose connector fields are unknown while planning (the
    connector is registered by this apply): apply checks the manifest's values against
    the fields it reads then."""

    written: Mapping[str, ConfigValue]  # as the manifest gives them; secrets stay Sensitive
    lists: Mapping[str, tuple[ListItem, ...]]  # MDO lists read while planning; apply reads any other


@dataclass(frozen=True)
class StayingConnection:
    """An ERP connection that keeps its sync connector when the connector's URL changes."""

    name: str
    active: bool  # is, or will be, active: only those are tested at the new URL
    written: Mapping[str, ConfigValue] | None  # the manifest's config; None when not in the manifests
    stored: Mapping[str, ConfigWire]  # its config in the CRM, checked when it is not in the manifests


@dataclass(frozen=True)
class UrlSwitch:
    """What apply checks before a sync connector moves to a new URL: every connection that stays on it."""

    connections: tuple[StayingConnection, ...]
    lists: Mapping[str, tuple[ListItem, ...]]  # MDO lists read while planning


@dataclass(frozen=True)
class ApplyInputs:
    """What apply needs beyond the desired state, resolved while planning, so that
    `apply.executor.execute(client, plan)` reads nothing but the plan. In memory only:
    a saved plan holds none of it (apply plans again from the manifests)."""

    access: Access | None = None  # ERP and quote connections
    late_config: LateConfig | None = None  # an ERP connection whose connector is registered by this apply
    url_switch: UrlSwitch | None = None  # a sync connector that gets a new URL


NO_INPUTS = ApplyInputs()


@dataclass(frozen=True)
class Change(KindAndName):
    action: Action
    live_id: int | None = None
    fields: tuple[FieldChange, ...] = ()
    depends_on: tuple[str, ...] = ()  # refs "Kind/name" of changes that must succeed first
    location: Location | None = None  # the manifest document, when there is one
    desired: State | None = None  # what to write (None for soft-delete)
    test: TestResult | None = None
    live: LiveObject | None = field(default=None, repr=False)  # the live object this change relies on
    extra_copy: bool = False  # a soft-delete of a newer live copy of a managed name
    inputs: ApplyInputs = field(default=NO_INPUTS, repr=False, compare=False)

    @functools.cached_property
    def fingerprint(self) -> str | None:
        """Of `live`, for apply and saved plans to tell that it changed meanwhile.
        Made when first asked for: a plan shown as text never needs it (hashing
        10,000 live objects took 0.12 s)."""
        if self.live is None:
            return None
        config = getattr(self.desired, "config", None) or {}
        return fingerprint(self.live, [key for key, value in config.items() if isinstance(value, Sensitive)])

    @property
    def is_change(self) -> bool:
        return changes_anything(self.action)


def moves_url(change: Change) -> bool:
    """An existing sync connector gets a new URL: every connection using it moves along."""
    return change.kind == "SyncConnector" and change.live_id is not None and writes(change.action) \
        and any(f.path == "url" for f in change.fields)


@dataclass(frozen=True)
class Plan:
    target: str
    manifest_digest: str
    changes: tuple[Change, ...]  # in execution order
    warnings: tuple[str, ...] = ()

    @property
    def has_changes(self) -> bool:
        return any(c.is_change for c in self.changes)

    @property
    def failed_tests(self) -> list[Change]:
        return [c for c in self.changes if c.test is not None and c.test.status == "failed"]

    def counts(self) -> dict[str, int]:
        counts = {action: 0 for action in ACTIONS}
        for change in self.changes:
            counts[change.action] += 1
        return counts

    def test_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {"passed": 0, "failed": 0, "deferred": 0, "not-run": 0}
        for change in self.changes:
            if change.test is not None:
                counts[change.test.status] += 1
        return counts

    def with_tests(self, results: Mapping[str, TestResult]) -> "Plan":
        """The same plan with test results attached, by change ref."""
        from dataclasses import replace

        changes = tuple(
            replace(c, test=results[c.ref]) if c.ref in results else c for c in self.changes
        )
        return replace(self, changes=changes)
