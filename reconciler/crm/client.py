"""The async SuperOffice client: the only code that speaks HTTP to the CRM.

One typed method per endpoint the tool uses; bodies are mapped to and from the
dataclasses in `live.py` by `wire.py`. Every request goes through `_send`:
bounded concurrency, timeouts, retries (policy in `retry.py`) and errors that
name the endpoint and never include a request body.

Config values of Password-type fields come back wrapped in `Sensitive`, and
`Sensitive` values are revealed only when a body is built. For that the client
keeps each connector's field metadata (fetched once per client, shared by
concurrent callers).
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import replace
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from reconciler.crm import retry, wire
from reconciler.crm.errors import (
    CREDENTIAL_VARIABLES,
    CrmAuthError,
    CrmError,
    CrmNotFoundError,
    CrmProtocolError,
    CrmRequestError,
    CrmServerError,
    CrmUnavailableError,
    CrmWriteUncertainError,
    server_message,
)
from reconciler.crm.live import (
    FieldMeta,
    Group,
    ListItem,
    LiveConnector,
    LiveErpConnection,
    LiveQuoteConnection,
    User,
    WireValue,
)
from reconciler.crm.wire import Json, TestOutcome, WireError

Sleep = Callable[[float], Awaitable[None]]
_T = TypeVar("_T")
_Conn = TypeVar("_Conn", LiveErpConnection, LiveQuoteConnection)
_NO_BODY = object()


class CrmClient:
    """Async context manager: `async with CrmClient(url, headers=...) as crm: ...`."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] = {},
        transport: httpx.AsyncBaseTransport | None = None,
        parallelism: int = 8,
        timeout: float = 30.0,
        max_retries: int = 5,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        retry_after_max: float = 60.0,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        auth_hint: str | None = None,
    ) -> None:
        if parallelism < 1:
            raise ValueError("parallelism must be at least 1")
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._headers = {"Accept": "application/json", **dict(headers)}
        self._transport = transport
        self._timeout = timeout
        self._semaphore = asyncio.Semaphore(parallelism)
        self._max_retries = max_retries
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._retry_after_max = retry_after_max
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._auth_hint = auth_hint or f"set {CREDENTIAL_VARIABLES}"
        self._http: httpx.AsyncClient | None = None
        self.request_count = 0  # requests actually sent, retries included
        # Field metadata, one shared task per connector (concurrent callers wait on it).
        self._erp_fields: dict[int, asyncio.Task[tuple[FieldMeta, ...]]] = {}
        self._quote_fields: dict[str, asyncio.Task[tuple[FieldMeta, ...]]] = {}
        # Which connector a connection uses, learnt from every read, to protect config reads.
        self._erp_connector_of: dict[int, int] = {}
        self._quote_connector_of: dict[int, str] = {}

    async def __aenter__(self) -> CrmClient:
        self._http = httpx.AsyncClient(
            headers=self._headers,
            transport=self._transport,
            timeout=httpx.Timeout(self._timeout),
            verify=True,  # always; there is deliberately no way to turn it off
            follow_redirects=False,
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for task in [*self._erp_fields.values(), *self._quote_fields.values()]:
            if not task.done():
                task.cancel()
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # --- transport -------------------------------------------------------------

    async def _agent(
        self, agent: str, method: str, body: Json = _NO_BODY, *, params: Mapping[str, Any] | None = None
    ) -> Json:
        return await self._send(
            "POST",
            f"Agents/{agent}/{method}",
            endpoint=f"{agent}/{method}",
            read=retry.is_read(method),
            body=body,
            params=params,
        )

    async def _get(self, path: str, *, params: Mapping[str, Any] | None = None) -> Json:
        return await self._send("GET", path, endpoint=f"GET {path}", read=True, params=params)

    async def _send(
        self,
        verb: str,
        path: str,
        *,
        endpoint: str,
        read: bool,
        body: Json = _NO_BODY,
        params: Mapping[str, Any] | None = None,
    ) -> Json:
        if self._http is None:
            raise RuntimeError("CrmClient must be used as 'async with CrmClient(...)'")
        url = self.base_url + "api/v1/" + path
        content = None if body is _NO_BODY else json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json"} if content is not None else None
        attempt = 0
        while True:
            error: httpx.TransportError | None = None
            response: httpx.Response | None = None
            async with self._semaphore:
                self.request_count += 1
                try:
                    response = await self._http.request(
                        verb, url, content=content, params=params, headers=headers
                    )
                except httpx.TransportError as exc:
                    error = exc
            if response is not None:
                status = response.status_code
                if retry.may_retry_status(status, read=read) and attempt < self._max_retries:
                    await self._sleep(self._delay(attempt, response))
                    attempt += 1
                    continue
                return self._decode(response, endpoint, read=read, attempts=attempt + 1)
            assert error is not None
            if not retry.may_retry_error(error, read=read):
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
            await self._sleep(self._delay(attempt, None))
            attempt += 1

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
                return response.json()
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise CrmProtocolError(
                    endpoint,
                    "returned a body that is not JSON "
                    f"(Content-Type {response.headers.get('Content-Type', 'not given')!r})",
                    status=status,
                ) from None
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
            raise CrmNotFoundError(endpoint, "does not exist on this server", status=status, server_message=detail)
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

    def _parse(self, endpoint: str, parse: Callable[[], Any]) -> Any:
        try:
            return parse()
        except WireError as exc:
            raise CrmProtocolError(endpoint, f"returned an unexpected shape: {exc}") from None

    # --- ErpSync: connectors ---------------------------------------------------

    async def get_all_connectors(self) -> tuple[ListItem, ...]:
        body = await self._agent("ErpSync", "GetAllConnectors")
        return self._parse(
            "ErpSync/GetAllConnectors",
            lambda: tuple(
                wire.list_item(wire.expect_object(i, "a ListItem"))
                for i in wire.expect_array(body, "connectors")
            ),
        )

    async def get_connector(self, connector_id: int) -> LiveConnector | None:
        # The id goes in the query string here (lower-case first letter, as documented).
        body = await self._agent(
            "ErpSync", "GetErpSyncConnectorEntity", params={"erpSyncConnectorEntityId": connector_id}
        )
        if body is None:
            return None
        return self._parse(
            "ErpSync/GetErpSyncConnectorEntity", lambda: wire.connector_from_entity(body)
        )

    async def save_connector(
        self, connector_id: int, name: str, url: str, deleted: bool = False
    ) -> LiveConnector:
        # The body is the entity itself, not wrapped; id 0 creates.
        body = await self._agent(
            "ErpSync", "SaveErpSyncConnectorEntity", wire.connector_to_wire(connector_id, name, url, deleted)
        )
        return self._parse(
            "ErpSync/SaveErpSyncConnectorEntity", lambda: wire.connector_from_entity(body)
        )

    async def can_delete_connector(self, connector_id: int) -> str:
        """"NoError", "ErrorConnectorHasConnections" or "ErrorNotFound" (§7.6: a JSON string)."""
        body = await self._agent(
            "ErpSync", "CanDeleteErpSyncConnectorEntity", {"ErpSyncConnectorId": connector_id}
        )
        if not isinstance(body, (str, int)) or isinstance(body, bool):
            raise CrmProtocolError(
                "ErpSync/CanDeleteErpSyncConnectorEntity", "did not return an ErpSyncResponseCode"
            )
        return str(body)

    async def delete_connector(self, connector_id: int) -> None:
        await self._agent(
            "ErpSync", "DeleteErpSyncConnectorEntity", params={"ErpSyncConnectorEntityId": connector_id}
        )

    async def get_connectors_with_urls(self) -> tuple[LiveConnector, ...]:
        """All sync connectors with URL and Deleted, from MDO list `erpconnectors`.

        Fallback when that list is unavailable: GetAllConnectors (no URL, no
        Deleted flag) plus one GetErpSyncConnectorEntity per connector.
        """
        try:
            body = await self._get("MDOList/erpconnectors", params={"flat": "true"})
        except (CrmNotFoundError, CrmRequestError, CrmServerError):
            body = None
        if body is not None:
            return self._parse(
                "GET MDOList/erpconnectors",
                lambda: tuple(
                    wire.connector_from_mdo(i) for i in wire.mdo_items(body, "erpconnectors")
                ),
            )
        items = await self.get_all_connectors()
        entities = await asyncio.gather(*(self.get_connector(i.id) for i in items))
        return tuple(
            entity or LiveConnector(id=item.id, name=item.name, url="")
            for item, entity in zip(items, entities)
        )

    # --- ErpSync: connections -----------------------------------------------------

    async def get_all_connections(self, include_deleted: bool = True) -> tuple[LiveErpConnection, ...]:
        endpoint = "ErpSync/GetAllConnections"
        body = await self._agent("ErpSync", "GetAllConnections", {"IncludeDeleted": include_deleted})
        raw = self._parse(
            endpoint,
            lambda: [wire.expect_object(c, "an ErpConnection") for c in wire.expect_array(body, "connections")],
        )
        carriers = [(obj, self._erp_carrier(endpoint, obj)) for obj in raw]
        # One metadata read per connector, not one wait per connection: thousands of
        # connections share a handful of connectors.
        connector_ids = sorted({conn.connector_id for _, conn in carriers})
        metadata = await asyncio.gather(*(self._erp_fields_or_none(i) for i in connector_ids))
        fields_of = dict(zip(connector_ids, metadata))
        connections: list[LiveErpConnection] = []
        left_out: list[tuple[int, LiveErpConnection]] = []
        for obj, conn in carriers:
            config = self._carried_config(endpoint, obj, fields_of[conn.connector_id])
            if config is None:
                left_out.append((len(connections), conn))
            else:
                conn = _with_config(conn, config)
            connections.append(conn)
        fetched = await asyncio.gather(
            *(self.get_erp_connection_config(conn.id, connector_id=conn.connector_id) for _, conn in left_out)
        )
        for (index, conn), config in zip(left_out, fetched):
            connections[index] = _with_config(conn, config)
        return tuple(connections)

    async def get_connection(self, connection_id: int) -> LiveErpConnection | None:
        body = await self._agent("ErpSync", "GetConnection", {"ErpConnectionId": connection_id})
        if body is None:
            return None
        obj = self._parse("ErpSync/GetConnection", lambda: wire.expect_object(body, "an ErpConnection"))
        return await self._complete_erp("ErpSync/GetConnection", obj)

    async def _complete_erp(self, endpoint: str, obj: Mapping[str, Json]) -> LiveErpConnection:
        """Parse a carrier, fetch its config if left out, protect Password values."""
        conn = self._erp_carrier(endpoint, obj)
        config = self._carried_config(endpoint, obj, await self._erp_fields_or_none(conn.connector_id))
        if config is None:
            config = await self.get_erp_connection_config(conn.id, connector_id=conn.connector_id)
        return _with_config(conn, config)

    def _erp_carrier(self, endpoint: str, obj: Mapping[str, Json]) -> LiveErpConnection:
        """A connection without its config; remembers its connector for later config reads."""
        conn: LiveErpConnection = self._parse(endpoint, lambda: wire.erp_connection(obj, config={}))
        self._erp_connector_of[conn.id] = conn.connector_id
        return conn

    def _carried_config(
        self, endpoint: str, obj: Mapping[str, Json], fields: tuple[FieldMeta, ...] | None
    ) -> dict[str, WireValue] | None:
        """The config values a carrier holds, Password values protected; None when
        they must be asked for. §7.11: GetAllConnections is documented "without
        config field data", yet the samples carry ConfigFields. Trust values when
        present; when null/missing (or empty although the connector defines
        fields) ask for them per connection."""
        config = self._parse(endpoint, lambda: wire.config_from_wire(wire.get(obj, "ConfigFields")))
        if config is None or (not config and any(f.field_type != "Label" for f in fields or ())):
            return None
        return wire.protect(config, fields)

    async def save_connection(self, connection: LiveErpConnection) -> LiveErpConnection:
        """Create (id 0, guid "") or update; returns the saved connection with its GUID."""
        body = await self._agent("ErpSync", "SaveConnection", {"Connection": wire.erp_connection_to_wire(connection)})
        endpoint = "ErpSync/SaveConnection"
        obj = self._parse(endpoint, lambda: wire.expect_object(body, "the saved ErpConnection"))
        if wire.get(obj, "ConfigFields") is None:
            # The saved carrier should echo the values; if a server leaves them out,
            # report what was sent (it was accepted) rather than spend a request.
            obj = {**obj, "ConfigFields": wire.config_to_wire(connection.config)}
        return await self._complete_erp(endpoint, obj)

    async def delete_connection(self, connection_id: int) -> None:
        await self._agent("ErpSync", "DeleteConnection", {"ErpConnectionId": connection_id})

    async def toggle_connection_active(self, connection_id: int) -> list[str]:
        """Flip Active. Returns the reasons it failed; an empty list means it worked."""
        body = await self._agent("ErpSync", "ToggleErpConnectionActive", {"ErpConnectionId": connection_id})
        if body is None:
            return []
        if not isinstance(body, list):
            raise CrmProtocolError("ErpSync/ToggleErpConnectionActive", "did not return an array of reasons")
        return [str(reason) for reason in body if reason]

    async def get_erp_config_fields(self, connector_id: int) -> tuple[FieldMeta, ...]:
        """Config field metadata of a sync connector (fetched once per client)."""
        task = self._erp_fields.get(connector_id)
        if task is None:
            task = _background(self._fetch_erp_fields(connector_id))
            self._erp_fields[connector_id] = task
        return await _shared(task, self._erp_fields, connector_id)

    async def _fetch_erp_fields(self, connector_id: int) -> tuple[FieldMeta, ...]:
        body = await self._agent("ErpSync", "GetConfigurationFields", {"ErpConnectorId": connector_id})
        return self._parse("ErpSync/GetConfigurationFields", lambda: wire.field_metas(body))

    async def _erp_fields_or_none(self, connector_id: int) -> tuple[FieldMeta, ...] | None:
        """Metadata to protect config values with; None means "protect every value":
        the connector is unknown (null) or down (the CRM answers 500 when it
        cannot reach the connector; that should not stop reading connections)."""
        try:
            fields = await self.get_erp_config_fields(connector_id)
        except CrmServerError:
            return None
        return fields or None

    async def get_erp_connection_config(
        self, connection_id: int, *, connector_id: int | None = None
    ) -> dict[str, WireValue]:
        """Stored config values. Without a known connector every value counts as sensitive."""
        body = await self._agent("ErpSync", "GetErpConnectionConfigFields", {"ErpConnectionId": connection_id})
        config = self._parse("ErpSync/GetErpConnectionConfigFields", lambda: wire.config_from_wire(body))
        connector_id = connector_id if connector_id is not None else self._erp_connector_of.get(connection_id)
        fields = None if connector_id is None else await self._erp_fields_or_none(connector_id)
        return wire.protect(config or {}, fields)

    async def test_erp_by_config(
        self, *, connector_id: int, connection_id: int = 0, config: Mapping[str, object]
    ) -> bool:
        # §7.3: the .NET client docs call ErpConnectionId "the id of the connector we
        # try to connect to", the REST docs a connection id. We send the saved
        # connection's id when there is one and the connector id for a new connection,
        # and always name the connector explicitly in ErpConnectorId as well (servers
        # ignore unknown keys), so either reading of the server works.
        body = await self._agent(
            "ErpSync",
            "TestConnectionByConfig",
            {
                "ErpConnectionId": connection_id or connector_id,
                "ErpConnectorId": connector_id,
                "ConfigFields": wire.config_to_wire(config),
            },
        )
        return _bool_result("ErpSync/TestConnectionByConfig", body)

    async def test_erp_by_id(self, connection_id: int) -> bool:
        body = await self._agent("ErpSync", "TestConnectionById", {"ErpConnectionId": connection_id})
        return _bool_result("ErpSync/TestConnectionById", body)

    # --- Quote ---------------------------------------------------------------------

    async def get_all_quote_connections(self, *, with_config: bool = True) -> tuple[LiveQuoteConnection, ...]:
        """All quote connections, deleted ones included.

        GetAllInstalledQuoteConnections has no IncludeDeleted argument; we read
        "installed" as every row of the table, with Deleted telling them apart.
        Config values are not on the carrier: one GetConnectionConfigFields per
        connection, concurrently (no list call serves them).
        """
        endpoint = "Quote/GetAllInstalledQuoteConnections"
        body = await self._agent("Quote", "GetAllInstalledQuoteConnections")
        conns = self._parse(
            endpoint, lambda: [wire.quote_connection(c) for c in wire.expect_array(body, "quote connections")]
        )
        if with_config:
            conns = await asyncio.gather(*(self._with_quote_config(c) for c in conns))
        for c in conns:
            self._quote_connector_of[c.id] = c.connector_name
        return tuple(conns)

    async def _with_quote_config(self, conn: LiveQuoteConnection) -> LiveQuoteConnection:
        config = await self.get_quote_connection_config(conn.id, connector_name=conn.connector_name)
        return _with_config(conn, config)

    async def get_quote_connection(self, connection_id: int, *, with_config: bool = True) -> LiveQuoteConnection | None:
        body = await self._agent("Quote", "GetConnection", {"QuoteConnectionId": connection_id})
        if body is None:
            return None
        conn = self._parse("Quote/GetConnection", lambda: wire.quote_connection(body))
        self._quote_connector_of[conn.id] = conn.connector_name
        return await self._with_quote_config(conn) if with_config else conn

    async def create_quote_connection_from_connector(self, connector_name: str) -> LiveQuoteConnection:
        """The defaults carrier for a new connection. Not assumed to be persisted:
        its id may be 0 (docs are silent); save it with save_quote_connection."""
        body = await self._agent("Quote", "CreateConnectionFromConnectorName", {"ConnectorName": connector_name})
        return self._parse("Quote/CreateConnectionFromConnectorName", lambda: wire.quote_connection(body))

    async def save_quote_connection(self, connection: LiveQuoteConnection) -> LiveQuoteConnection:
        """Save the carrier (wrapped in {"Connection": ...}). Config values are not
        part of it: save them with save_quote_connection_config. The returned
        connection has an empty config."""
        body = await self._agent("Quote", "SaveConnection", {"Connection": wire.quote_connection_to_wire(connection)})
        conn = self._parse("Quote/SaveConnection", lambda: wire.quote_connection(body))
        self._quote_connector_of[conn.id] = conn.connector_name
        return conn

    async def delete_quote_connection(self, connection_id: int) -> None:
        await self._agent("Quote", "DeleteConnection", {"QuoteConnectionId": connection_id})

    async def restore_quote_connection(self, connection_id: int) -> None:
        await self._agent("Quote", "RestoreConnection", {"QuoteConnectionId": connection_id})

    async def get_quote_config_fields(self, connector_name: str, connection_id: int = 0) -> tuple[FieldMeta, ...]:
        """Config field metadata of a quote connector, sorted by Rank.

        With connection_id 0 the result is cached per connector name. (A non-zero
        id makes the server initialise that connection first, so it is not cached.)
        """
        if connection_id:
            return await self._fetch_quote_fields(connector_name, connection_id)
        task = self._quote_fields.get(connector_name)
        if task is None:
            task = _background(self._fetch_quote_fields(connector_name, 0))
            self._quote_fields[connector_name] = task
        return await _shared(task, self._quote_fields, connector_name)

    async def _fetch_quote_fields(self, connector_name: str, connection_id: int) -> tuple[FieldMeta, ...]:
        body = await self._agent(
            "Quote", "GetConfigurationFields", {"ConnectionId": connection_id, "ConnectorName": connector_name}
        )
        # §7.8: a dictionary keyed by FieldKey here (ErpSync sends an array); both parse.
        return self._parse("Quote/GetConfigurationFields", lambda: wire.field_metas(body))

    async def get_quote_connection_config(
        self, connection_id: int, *, connector_name: str | None = None
    ) -> dict[str, WireValue]:
        body = await self._agent("Quote", "GetConnectionConfigFields", {"QuoteConnectionId": connection_id})
        config = self._parse("Quote/GetConnectionConfigFields", lambda: wire.config_from_wire(body))
        return await self._protect_quote(config or {}, connection_id, connector_name)

    async def save_quote_connection_config(
        self, connection_id: int, config: Mapping[str, object], *, connector_name: str | None = None
    ) -> dict[str, WireValue]:
        body = await self._agent(
            "Quote",
            "SaveConnectionConfigFields",
            {"QuoteConnectionId": connection_id, "ConnectionConfigFields": wire.config_to_wire(config)},
        )
        saved = self._parse("Quote/SaveConnectionConfigFields", lambda: wire.config_from_wire(body))
        if saved is None:  # void-style answer: what was sent is what is stored
            saved = wire.config_to_wire(config)
        return await self._protect_quote(saved, connection_id, connector_name)

    async def _protect_quote(
        self, config: Mapping[str, str], connection_id: int, connector_name: str | None
    ) -> dict[str, WireValue]:
        name = connector_name or self._quote_connector_of.get(connection_id)
        fields = None
        if name:
            try:
                fields = await self.get_quote_config_fields(name) or None
            except CrmServerError:  # as in _erp_fields_or_none: protect every value
                fields = None
        return wire.protect(config, fields)

    async def test_quote_connection(self, connector_name: str, config: Mapping[str, object]) -> TestOutcome:
        body = await self._agent(
            "Quote", "TestConnection", {"ConnectorName": connector_name, "ConnectionData": wire.config_to_wire(config)}
        )
        if body is None:
            raise CrmProtocolError("Quote/TestConnection", "returned null instead of a PluginResponse")
        return self._parse("Quote/TestConnection", lambda: wire.parse_test_outcome(body))

    # --- lists -------------------------------------------------------------------------

    async def get_user_groups(self) -> tuple[Group, ...]:
        body = await self._get("List/UserGroup/Items", params={"includeDeleted": "true"})
        return self._parse(
            "GET List/UserGroup/Items",
            lambda: tuple(wire.group(g) for g in wire.expect_array(body, "user groups")),
        )

    async def get_users(self) -> tuple[User, ...]:
        body = await self._get("MDOList/associate", params={"flat": "true"})
        return self._parse(
            "GET MDOList/associate", lambda: tuple(wire.user(i) for i in wire.mdo_items(body, "associates"))
        )

    async def get_installed_quote_connectors(self) -> tuple[str, ...]:
        items = await self.get_mdo_list("quoteconnectors")
        return tuple(i.name for i in items if i.name)

    async def get_mdo_list(self, name: str) -> tuple[ListItem, ...]:
        path = f"MDOList/{quote(name, safe='')}"
        body = await self._get(path, params={"flat": "true"})
        if body is None:
            return ()
        return self._parse(
            f"GET {path}", lambda: tuple(wire.list_item(i) for i in wire.mdo_items(body, f"list {name}"))
        )


def _background(coro: Coroutine[Any, Any, _T]) -> asyncio.Task[_T]:
    task = asyncio.ensure_future(coro)
    # Mark the outcome as seen even if every waiter was cancelled meanwhile.
    task.add_done_callback(lambda t: t.cancelled() or t.exception())
    return task


async def _shared(task: asyncio.Task[Any], cache: dict[Any, Any], key: object) -> Any:
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


def _with_config(conn: _Conn, config: Mapping[str, WireValue]) -> _Conn:
    return replace(conn, config=dict(config))


def _bool_result(endpoint: str, body: Json) -> bool:
    if isinstance(body, bool):
        return body
    raise CrmProtocolError(endpoint, "did not return true or false")
