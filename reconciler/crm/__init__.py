"""Talking to the CRM: target and auth, the async client, and the live snapshot."""

from reconciler.crm.client import CrmClient
from reconciler.crm.errors import (
    CrmAuthError,
    CrmError,
    CrmNotFoundError,
    CrmProtocolError,
    CrmRequestError,
    CrmServerError,
    CrmUnavailableError,
    CrmWriteUncertainError,
)
from reconciler.crm.snapshot import SnapshotNeeds, snapshot
from reconciler.crm.target import Target, resolve_target
from reconciler.crm.wire import TestOutcome

__all__ = [
    "CrmAuthError",
    "CrmClient",
    "CrmError",
    "CrmNotFoundError",
    "CrmProtocolError",
    "CrmRequestError",
    "CrmServerError",
    "CrmUnavailableError",
    "CrmWriteUncertainError",
    "SnapshotNeeds",
    "Target",
    "TestOutcome",
    "resolve_target",
    "snapshot",
]
