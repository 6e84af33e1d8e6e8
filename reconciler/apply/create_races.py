"""Two applies at once can both find a name free and both create it: the CRM has no unique
names and no lock. So once a create has its id, the run reads the names again; where an
older object (a lower id, so created earlier) has the name, the run removes its own copy
and fails that change. Every run follows the same rule, so the oldest copy, and only it,
survives: whoever created later reads after the earlier copy existed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from reconciler.crm.live import LiveConnector, LiveErpConnection, LiveQuoteConnection

LiveObject = LiveConnector | LiveErpConnection | LiveQuoteConnection


class ReadsAfter:
    """Reads of one kind's objects, each one started after whoever waits for it: creates
    that finish while a read is under way share the next read, so a phase of many creates
    costs a few list reads, not one each."""

    def __init__(self, read: Callable[[], Awaitable[Sequence[LiveObject]]]) -> None:
        self._read = read
        self._running: asyncio.Task[Sequence[LiveObject]] | None = None
        self._waiting: asyncio.Task[Sequence[LiveObject]] | None = None

    async def after_now(self) -> Sequence[LiveObject]:
        if self._waiting is None:
            self._waiting = asyncio.ensure_future(self._read_after(self._running))
        # Shielded: one caller given up on must not cancel the read the others share.
        return await asyncio.shield(self._waiting)

    async def _read_after(self, previous: asyncio.Task[Sequence[LiveObject]] | None) -> Sequence[LiveObject]:
        if previous is not None:
            await asyncio.wait([previous])
        # From here on, whoever asks needs a read that starts later than this one.
        self._running, self._waiting = self._waiting, None
        return await self._read()


def older_copy(objects: Sequence[LiveObject], name: str, own_id: int) -> int | None:
    """The id of the oldest object with the name, when it is older than this run's own copy."""
    oldest = min((o.id for o in objects if not o.deleted and o.name == name), default=own_id)
    return oldest if oldest < own_id else None
