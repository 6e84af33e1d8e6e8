"""The HTTP policy of every request to the CRM, in one place.

`CrmHttp` owns the httpx client and decides how a request is sent and what its
answer means: the credentials' headers, bounded concurrency, timeouts (a
connector test has its own), retries with backoff and Retry-After pauses
(which requests may be retried is `retry.py`), JSON decoding, and mapping a
status to a `CrmError` that names the endpoint and never includes a request
body. Endpoint methods (`client.py`) only say which agent method to call with
what, and parse the answer with `wire.py`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

import httpx

from reconciler.crm import retry
from reconciler.crm.errors import (
    CREDENTIAL_VARIABLES,
    CrmAuthError,
    CrmMovedError,
    CrmNotFoundError,
    CrmProtocolError,
    CrmRequestError,
    CrmServerError,
    CrmUnavailableError,
    CrmWriteUncertainError,
    is_error_body,
    server_message,
)
from reconciler.crm.tenant import TenantLocator, current_base_url
from reconciler.crm.wire import Json, WireError

Sleep = Callable[[float], Awaitable[None]]
log = logging.getLogger("reconciler.crm")
NO_BODY: Any = object()  # a request without a body (None would send JSON null)
# A tenant that moved host: the old one answers 421 (or a gateway redirects with 307).
MOVED_STATUSES = frozenset({307, 421})


@dataclass(frozen=True)
class ProbeAnswer:
    """What a server answered to one request, as it is (see CrmHttp.probe)."""

    status: int
    location: str | None  # the Location header (a redirect's target)
    body: Json  # the JSON body; None when empty or not JSON


@dataclass(frozen=True)
class _Request:
    """One request as `CrmHttp.send` sends it, on every attempt."""

    verb: str
    url: str
    logged_as: str  # the path (or, for an absolute URL, the endpoint) the debug log shows
    content: bytes | None
    params: Mapping[str, Any] | None
    headers: dict[str, str] | None
    timeout: float
    read: bool


class HttpOptions(TypedDict, total=False):
    """The knobs of `CrmHttp` a `CrmClient` passes on."""

    headers: Mapping[str, str]
    transport: httpx.AsyncBaseTransport | None
    parallelism: int
    timeout: float
    test_timeout: float
    max_retries: int
    backoff_base: float
    backoff_max: float
    retry_after_max: float
    sleep: Sleep
    rng: random.Random | None
    auth_hint: str | None
    clock: Callable[[], float]
    auth: httpx.Auth | None
    locator: TenantLocator | None


class CrmHttp:
    """One per client: `open()` before the first request, `aclose()` after the last."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] = {},
        transport: httpx.AsyncBaseTransport | None = None,
        parallelism: int = 8,
        timeout: float = 30.0,
        test_timeout: float = 60.0,
        max_retries: int = 5,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        retry_after_max: float = 60.0,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        auth_hint: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        auth: httpx.Auth | None = None,
        locator: TenantLocator | None = None,
    ) -> None:
        if parallelism < 1:
            raise ValueError("parallelism must be at least 1")
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._headers = {"Accept": "application/json", **dict(headers)}
        self._transport = transport
        self._timeout = timeout
        self._test_timeout = test_timeout
        self._clock = clock
        # A Retry-After pauses every request of this client, not only the refused one.
        self._paused_until = 0.0
        self._semaphore = asyncio.Semaphore(parallelism)
        self._max_retries = max_retries
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._retry_after_max = retry_after_max
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._auth_hint = auth_hint or f"set {CREDENTIAL_VARIABLES}"
        self._auth = auth  # e.g. the system user flow's ticket handling
        self._locator = locator  # where to ask for the tenant's current host
        self._http: httpx.AsyncClient | None = None
        self.request_count = 0  # requests actually sent, retries included

    def open(self) -> None:
        self._http = httpx.AsyncClient(
            headers=self._headers,
            auth=self._auth,
            transport=self._transport,
            timeout=httpx.Timeout(self._timeout),
            verify=True,  # always; there is deliberately no way to turn it off
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # --- sending --------------------------------------------------------------

    async def agent(
        self, agent: str, method: str, body: Json = NO_BODY, *, params: Mapping[str, Any] | None = None
    ) -> Json:
        return await self.send(
            "POST",
            f"Agents/{agent}/{method}",
            endpoint=f"{agent}/{method}",
            read=retry.is_read(method),
            body=body,
            params=params,
            connector_test=retry.is_connector_test(method),
        )

    async def get(self, path: str, *, params: Mapping[str, Any] | None = None) -> Json:
        return await self.send("GET", path, endpoint=f"GET {path}", read=True, params=params)

    async def send(
        self,
        verb: str,
        path: str,
        *,
        endpoint: str,
        read: bool,
        body: Json = NO_BODY,
        params: Mapping[str, Any] | None = None,
        absolute: bool = False,
        connector_test: bool = False,
    ) -> Json:
        if self._http is None:
            raise RuntimeError("CrmClient must be used as 'async with CrmClient(...)'")
        content = None if body is NO_BODY else json.dumps(body).encode("utf-8")
        request = _Request(
            verb=verb,
            url=path if absolute else self.base_url + "api/v1/" + path,
            logged_as=endpoint if absolute else path,
            content=content,
            params=params,
            headers={"Content-Type": "application/json"} if content is not None else None,
            # A connector test waits for the ERP behind it: its own timeout, and a slow ERP
            # is not retried (the next attempt would be as slow).
            timeout=self._test_timeout if connector_test else self._timeout,
            read=read,
        )
        attempt = 0
        while True:
            response, attempt = await self._send_in_one_slot(request, attempt)
            if isinstance(response, httpx.Response):
                if response.status_code in MOVED_STATUSES:
                    raise await self._moved(response, endpoint)
                return self._decode(response, endpoint, read=read, attempts=attempt + 1)
            self._raise_unless_retryable(response, request, endpoint, attempt=attempt, connector_test=connector_test)
            await self._sleep(self._delay(attempt, None))
            attempt += 1

    async def _send_in_one_slot(
        self, request: _Request, attempt: int
    ) -> tuple[httpx.Response | httpx.TransportError, int]:
        """The answer (or the transport error) of `request` and the number of the last
        attempt, retrying a refused status (429/503...) without leaving the slot."""
        async with self._semaphore:
            # A refused request waits and tries again in its own slot: queueing behind
            # every other request could starve it behind a rate limiter.
            just_waited = False
            while True:
                if not just_waited:
                    await self._wait_out_pause()
                answer = await self._request_once(request, attempt)
                if isinstance(answer, httpx.TransportError):
                    return answer, attempt
                if not (retry.may_retry_status(answer.status_code, read=request.read) and attempt < self._max_retries):
                    return answer, attempt
                delay = self._delay(attempt, answer)
                if answer.headers.get("Retry-After"):
                    # The server asked this client to wait: every request of it waits too.
                    self._paused_until = max(self._paused_until, self._clock() + delay)
                await self._sleep(delay)
                attempt += 1
                just_waited = True

    async def _request_once(self, request: _Request, attempt: int) -> httpx.Response | httpx.TransportError:
        assert self._http is not None
        self.request_count += 1
        started = time.perf_counter()
        answer: httpx.Response | httpx.TransportError
        try:
            answer = await self._http.request(
                request.verb, request.url, content=request.content, params=request.params,
                headers=request.headers, timeout=request.timeout,
            )
        except httpx.TransportError as exc:
            answer = exc
        if log.isEnabledFor(logging.DEBUG):
            outcome = answer.status_code if isinstance(answer, httpx.Response) else type(answer).__name__
            log.debug("%s %s -> %s in %.1f ms (attempt %d)", request.verb, request.logged_as, outcome,
                      (time.perf_counter() - started) * 1000, attempt + 1)
        return answer

    def _raise_unless_retryable(
        self, error: httpx.TransportError, request: _Request, endpoint: str, *, attempt: int, connector_test: bool
    ) -> None:
        """Raise the CrmError for a request that failed to get an answer, unless another attempt may follow."""
        if connector_test and isinstance(error, httpx.TimeoutException):
            raise CrmUnavailableError(
                endpoint,
                f"the connector did not answer within {request.timeout:g} s",
                hint="check the connector and the ERP behind it, or raise --test-timeout",
            ) from None
        if not retry.may_retry_error(error, read=request.read):
            raise CrmWriteUncertainError(
                endpoint,
                f"lost its connection after the request was sent ({type(error).__name__}); "
                "the change may or may not have been made",
                hint="run plan again to see the current state, then apply what is left",
            ) from None
        if attempt >= self._max_retries:
            raise CrmUnavailableError(
                endpoint,
                f"failed after {attempt + 1} attempts: {type(error).__name__} "
                f"reaching {self.base_url}",
                hint="check the URL and network, or try again later",
            ) from None

    async def _wait_out_pause(self) -> None:
        """Wait while a Retry-After of any request pauses the client."""
        remaining = self._paused_until - self._clock()
        if remaining > 0:
            await self._sleep(remaining)

    async def probe(
        self, verb: str, path: str, *, params: Mapping[str, Any] | None = None, body: Json = NO_BODY
    ) -> ProbeAnswer:
        """One request to `api/v1/<path>`, answered exactly as the server answers it: no
        retries, no error mapping, redirects not followed. For `reconcile doctor`, which
        reports what a server says. Raises CrmUnavailableError when nothing answers."""
        if self._http is None:
            raise RuntimeError("CrmClient must be used as 'async with CrmClient(...)'")
        content = None if body is NO_BODY else json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json"} if content is not None else None
        async with self._semaphore:
            self.request_count += 1
            started = time.perf_counter()
            try:
                response = await self._http.request(
                    verb, self.base_url + "api/v1/" + path, content=content, params=params, headers=headers
                )
            except httpx.TransportError as error:
                log.debug("%s %s -> %s (probe)", verb, path, type(error).__name__)
                raise CrmUnavailableError(
                    f"{verb} {path}", f"could not reach {self.base_url} ({type(error).__name__})",
                    hint="check the URL and the network",
                ) from None
            log.debug("%s %s -> %s in %.1f ms (probe)", verb, path, response.status_code,
                      (time.perf_counter() - started) * 1000)
        try:
            parsed: Json = response.json() if response.content.strip() else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            parsed = None
        return ProbeAnswer(response.status_code, response.headers.get("Location"), parsed)

    async def _moved(self, response: httpx.Response, endpoint: str) -> CrmMovedError:
        """The error for a tenant that moved, naming its current URL when the status API knows it."""
        current = None
        if self._locator is not None:
            # A bare client: the state API is public and must not see our credentials.
            async with httpx.AsyncClient(transport=self._transport, timeout=httpx.Timeout(self._timeout)) as plain:
                current = await current_base_url(plain, self._locator)
        status = response.status_code
        if current is not None and not str(response.request.url).startswith(current):
            return CrmMovedError(
                endpoint, f"went to a host that no longer serves this tenant; it is now at {current}",
                status=status, hint=f"set SUPEROFFICE_URL (or the target's url) to {current}",
            )
        location = response.headers.get("Location") if status == 307 else None
        if location:
            return CrmMovedError(
                endpoint, f"was redirected to {location.split('?', 1)[0]}: the tenant may have moved host",
                status=status, hint="set SUPEROFFICE_URL (or the target's url) to the tenant's current URL",
            )
        where = (
            self._locator.state_url if self._locator is not None
            else "https://{env}.superoffice.com/api/state/CustNNNNN"
        )
        return CrmMovedError(
            endpoint, "went to a host that no longer serves this tenant",
            status=status,
            hint=f"its current URL is the 'Api' field of {where}; set SUPEROFFICE_URL (or the target's url) to it",
        )

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None:
            after = retry.retry_after_seconds(response.headers.get("Retry-After"))
            if after is not None:
                return min(after, self._retry_after_max)
        return retry.backoff_delay(
            attempt, base=self._backoff_base, cap=self._backoff_max, rng=self._rng
        )

    def _decode(self, response: httpx.Response, endpoint: str, *, read: bool, attempts: int) -> Json:
        status = response.status_code
        if 200 <= status < 300:
            if status == 204 or not response.content.strip():
                return None
            try:
                body = response.json()
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise CrmProtocolError(
                    endpoint,
                    "returned a body that is not JSON "
                    f"(Content-Type {response.headers.get('Content-Type', 'not given')!r})",
                    status=status,
                ) from None
            if is_error_body(body):
                raise CrmServerError(
                    endpoint, "failed (the CRM answered success with an error body)",
                    status=status, server_message=server_message(body),
                )
            return body
        try:
            detail = server_message(response.json())
        except (json.JSONDecodeError, UnicodeDecodeError):
            detail = None
        if status == 401:
            raise CrmAuthError(
                endpoint,
                "was refused: the credentials are missing, wrong or expired",
                status=status,
                server_message=detail,
                hint=self._auth_hint,
            )
        if status == 403:
            raise CrmAuthError(
                endpoint,
                "was forbidden: these credentials lack the right to call it",
                status=status,
                server_message=detail,
                hint="the ErpSync agent is Online-restricted: the app or user needs "
                "ERP administration rights; " + self._auth_hint,
            )
        if status == 400:
            raise CrmRequestError(endpoint, "was rejected as invalid", status=status, server_message=detail)
        if status == 404:
            # The endpoint may be missing, or (REST "Errors") the entity it names.
            raise CrmNotFoundError(
                endpoint, "found no such endpoint or entity on this server", status=status, server_message=detail
            )
        if status in retry.RETRYABLE_STATUSES:
            if not read and status not in retry.REFUSED_STATUSES:
                raise CrmWriteUncertainError(
                    endpoint,
                    "got a gateway error; the change may or may not have been made",
                    status=status,
                    server_message=detail,
                    hint="run plan again to see the current state, then apply what is left",
                )
            raise CrmUnavailableError(
                endpoint,
                f"gave up after {attempts} attempts",
                status=status,
                server_message=detail,
                hint="the CRM is busy or down; try again later (or lower --parallelism)",
            )
        raise CrmServerError(endpoint, "failed on the server", status=status, server_message=detail)

    @staticmethod
    def parse(endpoint: str, parse: Callable[[], Any]) -> Any:
        """What `parse` makes of a body; a body of the wrong shape is a CrmProtocolError naming the endpoint."""
        try:
            return parse()
        except WireError as exc:
            raise CrmProtocolError(endpoint, f"returned an unexpected shape: {exc}") from None
