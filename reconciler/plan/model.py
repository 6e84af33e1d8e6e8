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

from reconciler.crm.live import LiveConnector, LiveErpConnection, LiveQuoteConnection
from reconciler.diagnostics import Location
from reconciler.manifest.models import Kind
from reconciler.plan.fingerprint import fingerprint
from reconciler.secrets import Sensitive

Action = Literal["create", "update", "soft-delete", "restore", "no-op"]
ACTIONS: tuple[Action, ...] = ("create", "update", "restore", "soft-delete", "no-op")
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
        if name == "config":
            for key, item in sorted(value.items()):
                flat[f"config.{key}"] = item
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


@dataclass(frozen=True)
class Change:
    kind: Kind
    name: str
    action: Action
    live_id: int | None = None
    fields: tuple[FieldChange, ...] = ()
    depends_on: tuple[str, ...] = ()  # refs "Kind/name" of changes that must succeed first
    location: Location | None = None  # the manifest document, when there is one
    desired: State | None = None  # what to write (None for soft-delete)
    test: TestResult | None = None
    live: LiveObject | None = field(default=None, repr=False)  # the live object this change relies on

    @functools.cached_property
    def fingerprint(self) -> str | None:
        """Of `live`, for apply and saved plans to tell that it changed meanwhile.
        Made when first asked for: a plan shown as text never needs it (hashing
        10,000 live objects took 0.12 s)."""
        return fingerprint(self.live) if self.live is not None else None

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def is_change(self) -> bool:
        return self.action != "no-op"


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
