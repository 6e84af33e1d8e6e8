"""httpx authentication for the tenant API with a system user ticket.

Keeps one ticket in memory for the run; on a 401 gets a new one and sends the
request again once; on a 421/307 (the tenant moved host) asks the tenant status
API where it lives now, says so, and sends the request there once. Later
requests go to the new host too. The ticket and the client secret only ever
travel in the `Authorization` / `SO-AppToken` headers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable
from types import TracebackType

import httpx

from reconciler.crm.systemuser.credentials import SystemUserCredentials
from reconciler.crm.systemuser.exchange import TICKET_LIFE_S, Clock, Ticket, exchange, utc_now
from reconciler.crm.tenant import TenantLocator, current_base_url, tenant_base

MOVED_STATUSES = frozenset({307, 421})


class SystemUserAuth(httpx.Auth):
    def __init__(
        self,
        credentials: SystemUserCredentials,
        *,
        notify: Callable[[str], None] = lambda message: None,
        clock: Clock = utc_now,
        timeout: float = 30.0,
    ) -> None:
        self.credentials = credentials
        self.locator = TenantLocator(login_url=credentials.login_url, context_id=credentials.context_id)
        self._notify = notify
        self._clock = clock
        self._timeout = timeout
        self._ticket: Ticket | None = None
        self._lock = asyncio.Lock()
        self._login: httpx.AsyncClient | None = None
        self.exchanges = 0
        # Set once the tenant was found on another host: (old base, new base).
        self.moved: tuple[str, str] | None = None

    async def __aenter__(self) -> SystemUserAuth:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._login is not None:
            await self._login.aclose()
            self._login = None

    @property
    def login_http(self) -> httpx.AsyncClient:
        if self._login is None:
            self._login = httpx.AsyncClient(timeout=httpx.Timeout(self._timeout), follow_redirects=False, verify=True)
        return self._login

    async def ticket(self) -> Ticket:
        """The ticket of this run, exchanged on first use."""
        if self._ticket is None:
            return await self._renew(None)
        return self._ticket

    def remaining_life_s(self) -> float | None:
        """Documented life (6 h, sliding) minus the time since the exchange; None before one."""
        if self._ticket is None:
            return None
        return max(0.0, TICKET_LIFE_S - (time.monotonic() - self._ticket.obtained_at))

    async def tenant_base_url(self) -> str | None:
        """Where the tenant is served: the status API first, else the JWT's webapi_url."""
        ticket = await self.ticket()
        found = await current_base_url(self.login_http, self.locator)
        if found is None and ticket.webapi_url:
            found = tenant_base(ticket.webapi_url)
        return found

    async def _renew(self, stale: Ticket | None) -> Ticket:
        async with self._lock:
            # Concurrent requests that all saw a 401 share one new ticket.
            if self._ticket is not None and self._ticket is not stale:
                return self._ticket
            self._ticket = await exchange(self.login_http, self.credentials, self._clock)
            self.exchanges += 1
            return self._ticket

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if self.moved is not None:
            request = _rebased(request, *self.moved)
        ticket = await self.ticket()
        self._sign(request, ticket)
        response = yield request
        if response.status_code == 401:
            ticket = await self._renew(ticket)
            self._sign(request, ticket)
            response = yield request
        if response.status_code in MOVED_STATUSES:
            moved = await self._relocate(request)
            if moved is not None and str(request.url).startswith(moved[0]):
                request = _rebased(request, *moved)
                self._sign(request, ticket)
                yield request

    async def _relocate(self, request: httpx.Request) -> tuple[str, str] | None:
        async with self._lock:
            if self.moved is not None:
                # Re-resolved once already (by this or a concurrent request): no second lookup.
                return self.moved
            found = await current_base_url(self.login_http, self.locator)
            old = _base_of(str(request.url))
            if found is None or old is None or found == old:
                return None
            self.moved = (old, found)
        self._notify(f"tenant {self.credentials.context_id} has moved: now using {found} (from {self.locator.state_url})")
        return self.moved

    def _sign(self, request: httpx.Request, ticket: Ticket) -> None:
        request.headers["Authorization"] = f"SOTicket {ticket.value}"
        request.headers["SO-AppToken"] = self.credentials.app_token


def _base_of(url: str) -> str | None:
    marker = url.lower().find("/api/")
    return url[: marker + 1] if marker >= 0 else None


def _rebased(request: httpx.Request, old: str, new: str) -> httpx.Request:
    url = str(request.url)
    if not url.startswith(old):
        return request
    headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
    return httpx.Request(request.method, new + url[len(old):], headers=headers, content=request.content)
