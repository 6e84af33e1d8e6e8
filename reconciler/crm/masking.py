"""Which config values are secret: the one place that hides Password values.

A value read from the CRM is wrapped in `Sensitive` when its connector's field
metadata says the field is a Password, and every value is wrapped when the
metadata is unknown (the connector is unknown, or down: the CRM answers 500
when it cannot reach it). The metadata is fetched once per client and shared by
concurrent callers. `Sensitive` values are revealed only when a request body is
built (`wire.config_to_wire`); echoed secrets in messages are masked by
`secrets.mask_echoed`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Generic, TypeVar

from reconciler.crm.errors import CrmError, CrmServerError
from reconciler.crm.live import FieldMeta, WireValue
from reconciler.secrets import Sensitive

_T = TypeVar("_T")
_Key = TypeVar("_Key", int, str)
Fields = tuple[FieldMeta, ...]


def protect(config: Mapping[str, str], fields: Fields | None) -> dict[str, WireValue]:
    """Wrap values of Password fields in Sensitive.

    Without metadata (unknown connector) every value is wrapped: we cannot tell
    which ones are passwords, and showing too little beats leaking one.
    """
    if fields is None:
        return {key: Sensitive(value) for key, value in config.items()}
    passwords = {f.key for f in fields if f.field_type == "Password"}
    return {key: Sensitive(value) if key in passwords else value for key, value in config.items()}


class _FieldCache(Generic[_Key]):
    """Field metadata by connector: one shared task per connector (concurrent callers wait on it)."""

    def __init__(self, fetch: Callable[[_Key], Coroutine[Any, Any, Fields]]) -> None:
        self._fetch: Callable[[_Key], Coroutine[Any, Any, Fields]] = fetch
        self._tasks: dict[_Key, asyncio.Task[Fields]] = {}

    async def get(self, key: _Key) -> Fields:
        task = self._tasks.get(key)
        if task is None:
            task = _background(self._fetch(key))
            self._tasks[key] = task
        return await _shared(task, self._tasks, key)

    async def get_or_none(self, key: _Key) -> Fields | None:
        """Metadata to protect values with; None means "protect every value"."""
        try:
            fields = await self.get(key)
        except CrmServerError:
            return None
        return fields or None

    def cancel(self) -> None:
        for task in self._tasks.values():
            if not task.done():
                task.cancel()


class ConfigMasking:
    """Protects the config values a client reads, by the field metadata of their connector."""

    def __init__(
        self, fetch_erp_fields: Callable[[int], Coroutine[Any, Any, Fields]], fetch_quote_fields: Callable[[str], Coroutine[Any, Any, Fields]]
    ) -> None:
        self._erp = _FieldCache(fetch_erp_fields)
        self._quote = _FieldCache(fetch_quote_fields)

    async def erp_fields(self, connector_id: int) -> Fields:
        return await self._erp.get(connector_id)

    async def quote_fields(self, connector_name: str) -> Fields:
        return await self._quote.get(connector_name)

    async def erp(self, config: Mapping[str, str], connector_id: int) -> dict[str, WireValue]:
        return protect(config, await self._erp.get_or_none(connector_id))

    async def quote(self, config: Mapping[str, str], connector_name: str) -> dict[str, WireValue]:
        return protect(config, await self._quote.get_or_none(connector_name) if connector_name else None)

    def cancel(self) -> None:
        self._erp.cancel()
        self._quote.cancel()


def _background(coro: Coroutine[Any, Any, _T]) -> asyncio.Task[_T]:
    task = asyncio.ensure_future(coro)
    # Mark the outcome as seen even if every waiter was cancelled meanwhile.
    task.add_done_callback(lambda t: t.cancelled() or t.exception())
    return task


async def _shared(task: asyncio.Task[_T], cache: dict[Any, asyncio.Task[_T]], key: object) -> _T:
    """Await a cached task without letting one caller's cancellation cancel it for
    the others; a failed task is dropped so a later call tries again."""
    if task.done() and not task.cancelled() and task.exception() is None:
        return task.result()  # the usual case once read: no shield, no extra future
    try:
        return await asyncio.shield(task)
    except CrmError:
        if cache.get(key) is task:
            del cache[key]
        raise
