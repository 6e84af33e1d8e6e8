"""Pausing Python's cyclic garbage collector while large acyclic data is built.

Loading manifests and planning allocate millions of dicts, lists and dataclass
instances that form no reference cycles and live until the command ends. The
cyclic collector can free none of them, yet it scans them as they are made:
0.1-0.15 s of loading 10,000 manifests and ~0.05 s of planning them. Reference
counting still frees everything else as usual; the collector runs again as
soon as the builder returns (and on any exception).
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


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
