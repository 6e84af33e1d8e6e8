"""Talking to the CRM: target and auth, the async client, and the live snapshot.

Nothing is imported eagerly: the planner reads `reconciler.crm.live` (plain data)
and must not pull in httpx with it. The names below load their module when first
used; the snapshot function is `reconciler.crm.snapshot.snapshot` (a name here
would be shadowed by its module).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reconciler.crm.client import CrmClient
    from reconciler.crm.errors import CrmAuthError, CrmError, CrmNotFoundError, CrmProtocolError
    from reconciler.crm.errors import CrmRequestError, CrmServerError, CrmUnavailableError, CrmWriteUncertainError
    from reconciler.crm.snapshot import SnapshotNeeds
    from reconciler.crm.endpoint import CrmEndpoint, resolve_endpoint
    from reconciler.crm.wire import TestOutcome

_HOMES = {
    "CrmClient": "client",
    "CrmAuthError": "errors",
    "CrmError": "errors",
    "CrmNotFoundError": "errors",
    "CrmProtocolError": "errors",
    "CrmRequestError": "errors",
    "CrmServerError": "errors",
    "CrmUnavailableError": "errors",
    "CrmWriteUncertainError": "errors",
    "SnapshotNeeds": "snapshot",
    "CrmEndpoint": "endpoint",
    "resolve_endpoint": "endpoint",
    "TestOutcome": "wire",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
