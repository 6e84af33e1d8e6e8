"""Run one piece of work per target side by side, a bounded number at a time; one failing never stops the others."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from reconciler import debug_log
from reconciler.diagnostics import DiagnosticError

T = TypeVar("T")


@dataclass(frozen=True)
class Done(Generic[T]):
    """What one target's work gave: its result, or the errors that stopped it (safe to print)."""

    name: str
    result: T | None
    errors: tuple[str, ...] = ()


async def run_each(
    names: Sequence[str], work: Callable[[str], Awaitable[T]], *, at_once: int
) -> list[Done[T]]:
    """`work(name)` for every name, at most `at_once` running; results in the order of `names`."""
    gate = asyncio.Semaphore(at_once)

    async def one(name: str) -> Done[T]:
        async with gate:
            try:
                return Done(name, await work(name))
            except DiagnosticError as error:
                return Done(name, None, tuple(str(d) for d in error.diagnostics))
            except Exception as error:  # noqa: BLE001 - a bug: this target fails, the traceback goes to the log
                log = debug_log.write_traceback(error)
                where = f"the traceback is in {log}" if log is not None else "no log could be written"
                return Done(name, None, (f"internal error ({type(error).__name__}); this is a bug in reconcile; {where}",))

    return list(await asyncio.gather(*(one(name) for name in names)))
