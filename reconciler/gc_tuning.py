"""All of the tool's tuning of Python's cyclic garbage collector, in one place.

A run builds large trees of objects (manifests, snapshots, plans) that form no
reference cycles and live until the process exits soon after, so the cyclic
collector mostly rescans live data. Two measures (see also docs/benchmarks.md):

- `tune_for_one_run()`, once at start-up: objects from the imports are frozen out
  of the collector's reach and it runs less often (cycles are still collected, in
  larger batches). With the defaults it took 1.7 s of the 3.6 s of loading 10,000
  manifests; after this, loading takes 2.0 s.
- `builds_acyclic_data`, around a builder: the collector is paused while it runs
  (0.1-0.15 s of loading 10,000 manifests and ~0.05 s of planning them). Reference
  counting still frees everything else as usual; the collector runs again as soon
  as the builder returns (and on any exception).

The pure core (`plan/`) knows nothing of this: callers wrap it (reconciler/planning.py).
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def tune_for_one_run() -> None:
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def builds_acyclic_data(function: Callable[P, R]) -> Callable[P, R]:
    """Run `function` with the cyclic collector paused (if it was running)."""

    @functools.wraps(function)
    def paused(*args: P.args, **kwargs: P.kwargs) -> R:
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return function(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()

    return paused
