"""When a failed request may be sent again, and how long to wait first.

Every agent call is a POST, so the HTTP verb says nothing about safety; the
method name does:

* reads (Get*, Test*, CanDelete*, and GET list endpoints) change nothing and
  are retried on 429/502/503/504 and on any transport error or timeout;
* writes (Save*, Delete*, Toggle*, Restore*, Create*, anything else) are
  retried only when the server cannot have acted: 429/503 (refused before
  doing anything) and errors while connecting (nothing was sent). After a
  502/504, a read timeout or a dropped connection the write may have happened,
  so the client raises `CrmWriteUncertainError` and apply re-reads the state
  instead of risking a double toggle or a duplicate. `Create*` counts as a
  write because the docs do not say whether CreateConnectionFromConnectorName
  persists anything.
"""

from __future__ import annotations

import random
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import httpx

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
# Statuses that mean "not processed", so even a write may be sent again.
REFUSED_STATUSES = frozenset({429, 503})
# Transport errors raised before any byte of the request left.
NOT_SENT_ERRORS: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)
READ_PREFIXES = ("Get", "Test", "CanDelete")


CONNECTOR_TEST_METHODS = frozenset({"TestConnectionByConfig", "TestConnectionById", "TestConnection", "TestConnectorUrl"})


def is_connector_test(method_name: str) -> bool:
    """Calls that make the CRM wait for a connector (and the ERP behind it)."""
    return method_name in CONNECTOR_TEST_METHODS


def is_read(method_name: str) -> bool:
    """True for agent methods that change nothing (see module docstring)."""
    return method_name.startswith(READ_PREFIXES)


def may_retry_status(status: int, *, read: bool) -> bool:
    return status in (RETRYABLE_STATUSES if read else REFUSED_STATUSES)


def may_retry_error(error: httpx.TransportError, *, read: bool) -> bool:
    return read or isinstance(error, NOT_SENT_ERRORS)


def retry_after_seconds(header: str | None, *, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP-date; None if absent or garbled."""
    if not header:
        return None
    header = header.strip()
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def backoff_delay(attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with full jitter: uniform(0, min(cap, base * 2**attempt))."""
    return rng.uniform(0.0, min(cap, base * (2**attempt)))
