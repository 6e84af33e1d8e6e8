"""Fault knobs: added latency, 500/503 errors, 429 rate limiting, slow connector tests,
and two tenant situations: agents an Online app was not granted, and a moved tenant.

Every random choice is made from the request's ordinal number and `fault_seed`
(not from a shared random stream), so "the n-th request since the knobs were
set" always gets the same fate, whatever the concurrency. Delays use
asyncio.sleep, so concurrent requests wait in parallel.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any


ERROR_STATUSES = (500, 502, 503, 504)
DENIED_STATUSES = (401, 403)
MOVED_STATUSES = (421, 307)


@dataclass(frozen=True)
class Faults:
    latency_ms: float = 0.0  # added to every /api/ request
    jitter_ms: float = 0.0  # plus a uniform 0..jitter_ms
    error_rate: float = 0.0  # fraction of /api/ requests answered with one of error_statuses
    error_statuses: tuple[int, ...] = (500, 503)  # which server errors error_rate picks from
    rate_limit_every: int = 0  # every Nth /api/ request is answered 429 (0 = off)
    rate_limit_rate: float = 0.0  # and/or this fraction of requests
    retry_after_s: int = 1  # Retry-After (whole seconds, may be 0) on 429 and 503
    connector_test_latency_ms: float = 0.0  # added to every call that tests a connector
    fault_seed: int = 0
    # Agents answered as an Online tenant answers an app that was not granted them
    # ("Online Restricted": ErpSync must be requested at app registration).
    denied_agents: tuple[str, ...] = ()
    denied_status: int = 403  # the docs do not say which; 401 is the other reading
    # A tenant that moved host: every /api/ request answers moved_status (421
    # Misdirected Request; 307 redirects to moved_to + the same path).
    moved_to: str = ""
    moved_status: int = 421
    # "Agent/Method" names answered 200 with null: how a failed agent call answers
    # (docs/api/webapi/agents/index.md), e.g. "ErpSync/UpdateConnectionFields".
    null_methods: tuple[str, ...] = ()
    # "Agent/Method" names this server lacks (404), as an older server lacks the
    # methods added in Services88, e.g. "ErpSync/GetAllConnections".
    missing_methods: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("error_statuses", "denied_agents", "null_methods", "missing_methods"):
            if isinstance(getattr(self, name), list):  # from JSON/YAML
                object.__setattr__(self, name, tuple(getattr(self, name)))
        self._check_names()
        self._check_statuses()
        self._check_numbers()

    def _check_names(self) -> None:
        agents = self.denied_agents
        if not isinstance(agents, tuple) or any(not isinstance(a, str) or not a for a in agents):
            raise ValueError(f"denied_agents must be a list of agent names such as ErpSync, got {agents!r}")
        for name in ("null_methods", "missing_methods"):
            methods = getattr(self, name)
            if not isinstance(methods, tuple) or any(not isinstance(m, str) or m.count("/") != 1 for m in methods):
                raise ValueError(f"{name} must be a list of Agent/Method names, got {methods!r}")

    def _check_statuses(self) -> None:
        if self.denied_status not in DENIED_STATUSES or isinstance(self.denied_status, bool):
            raise ValueError(f"denied_status must be 401 or 403, got {self.denied_status!r}")
        if self.moved_status not in MOVED_STATUSES or isinstance(self.moved_status, bool):
            raise ValueError(f"moved_status must be 421 or 307, got {self.moved_status!r}")
        if not isinstance(self.moved_to, str) or (self.moved_to and not self.moved_to.startswith(("http://", "https://"))):
            raise ValueError(f"moved_to must be empty or an http(s) base URL, got {self.moved_to!r}")
        statuses = self.error_statuses
        if (
            not isinstance(statuses, tuple)
            or not statuses
            or any(isinstance(c, bool) or c not in ERROR_STATUSES for c in statuses)
        ):
            raise ValueError(
                f"error_statuses must be a non-empty list of {', '.join(map(str, ERROR_STATUSES))}, got {statuses!r}"
            )

    def _check_numbers(self) -> None:
        for name in ("latency_ms", "jitter_ms", "connector_test_latency_ms"):
            value = getattr(self, name)
            if not _is_number(value) or value < 0:
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
        for name in ("error_rate", "rate_limit_rate"):
            value = getattr(self, name)
            if not _is_number(value) or not 0 <= value <= 1:
                raise ValueError(f"{name} must be a fraction between 0 and 1, got {value!r}")
        for name in ("rate_limit_every", "retry_after_s", "fault_seed"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{name} must be a whole number, got {value!r}")
        if self.rate_limit_every < 0 or self.retry_after_s < 0:
            raise ValueError("rate_limit_every and retry_after_s must be >= 0")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> "Faults":
        """Knobs from JSON/YAML; unknown names and wrong types raise ValueError."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"unknown fault knob(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        return cls(**dict(data))

    def merged(self, overrides: Mapping[str, Any]) -> "Faults":
        """These knobs with the given ones (None values ignored) replaced."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def denies(self, agent: str) -> bool:
        return agent.lower() in {a.lower() for a in self.denied_agents}

    def answers_null(self, agent: str, method: str) -> bool:
        return f"{agent}/{method}".lower() in {m.lower() for m in self.null_methods}

    def lacks(self, agent: str, method: str) -> bool:
        return f"{agent}/{method}".lower() in {m.lower() for m in self.missing_methods}


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class Verdict:
    """What the fault layer decided for one request."""

    delay_s: float = 0.0
    status: int | None = None  # 429, 500 or 503; None = let it through


@dataclass
class FaultStats:
    delayed_requests: int = 0
    delay_ms_total: float = 0.0
    errors: int = 0
    rate_limited: int = 0
    connector_tests: int = 0
    connector_test_delay_ms_total: float = 0.0


Sleep = Callable[[float], Awaitable[None]]


@dataclass
class FaultInjector:
    faults: Faults = field(default_factory=Faults)
    stats: FaultStats = field(default_factory=FaultStats)
    # Replaceable so tests can observe delays without timing anything.
    sleep: Sleep = asyncio.sleep
    _ordinal: int = 0

    def set(self, faults: Faults) -> None:
        """New knobs; the deterministic sequence starts again from request 1."""
        self.faults = faults
        self._ordinal = 0
        self.stats = FaultStats()

    def decide(self) -> Verdict:
        """The fate of the next /api/ request (called once per request, in arrival order)."""
        self._ordinal += 1
        n = self._ordinal
        f = self.faults
        rng = random.Random(f"{f.fault_seed}:{n}")
        delay_ms = f.latency_ms + (rng.uniform(0, f.jitter_ms) if f.jitter_ms else 0.0)
        limited = (f.rate_limit_every > 0 and n % f.rate_limit_every == 0) or (
            rng.random() < f.rate_limit_rate
        )
        status: int | None = None
        if limited:
            status = 429
        elif rng.random() < f.error_rate:
            status = rng.choice(f.error_statuses)
        return Verdict(delay_s=delay_ms / 1000.0, status=status)

    async def apply_delay(self, verdict: Verdict) -> None:
        if verdict.delay_s > 0:
            self.stats.delayed_requests += 1
            self.stats.delay_ms_total += verdict.delay_s * 1000.0
            await self.sleep(verdict.delay_s)

    def count_outcome(self, verdict: Verdict) -> None:
        if verdict.status == 429:
            self.stats.rate_limited += 1
        elif verdict.status is not None:
            self.stats.errors += 1

    async def connector_test_delay(self) -> None:
        """Called by every handler that tests a connector (the connector's round trip)."""
        self.stats.connector_tests += 1
        delay_ms = self.faults.connector_test_latency_ms
        if delay_ms > 0:
            self.stats.connector_test_delay_ms_total += delay_ms
            await self.sleep(delay_ms / 1000.0)
