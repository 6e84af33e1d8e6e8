"""The async SuperOffice client: one typed method per endpoint the tool uses.

Endpoints are thin: each says which agent method or REST path to call with what
(`self.http`, the HTTP policy in `http.py`) and maps the answer to and from the
dataclasses in `live.py` with `wire.py`. Which config values are secret is
decided in one place, `masking.py`: values of Password-type fields come back
wrapped in `Sensitive`, and `Sensitive` values are revealed only when a body is
built (`wire.config_to_wire`).

A new group of endpoints (e.g. the sync configuration API) is a module of its
own whose functions take a `CrmHttp` (`client.http`) and use `http.agent(...)`
and `http.parse(...)` as the methods here do; see docs/architecture.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import replace
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote


from reconciler.crm import wire
from reconciler.crm.errors import CrmProtocolError, CrmServerError
from reconciler.crm.http import NO_BODY, CrmHttp, HttpOptions, ProbeAnswer
from reconciler.crm.live import FieldMeta, Group, ListItem, LiveConnector, LiveErpConnection, LiveQuoteConnection, User, WireValue
from reconciler.crm.masking import ConfigMasking
from reconciler.crm.wire import Json, TestOutcome

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack for **kwargs is Python 3.12

_Conn = TypeVar("_Conn", LiveErpConnection, LiveQuoteConnection)
_MAX_ARCHIVE_PAGES = 10_000


class CrmClient:
    """Async context manager: `async with CrmClient(url, headers=...) as crm: ...`."""

    def __init__(self, base_url: str, **options: Unpack[HttpOptions]) -> None:
        """`options` are the HTTP policy's knobs (`CrmHttp`): headers, transport, parallelism, timeouts, retries."""
        self.http = CrmHttp(base_url, **options)
        self.masking = ConfigMasking(self._fetch_erp_fields, lambda name: self._fetch_quote_fields(name, 0))

    @property
    def base_url(self) -> str:
        return self.http.base_url

    @property
    def request_count(self) -> int:
        """Requests actually sent, retries included."""
        return self.http.request_count

    async def __aenter__(self) -> CrmClient:
        self.http.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.masking.cancel()
        await self.http.aclose()

    async def probe(
        self, verb: str, path: str, *, params: Mapping[str, Any] | None = None, body: Json = NO_BODY
    ) -> ProbeAnswer:
        """One request answered exactly as the server answers it (`CrmHttp.probe`), for `reconcile doctor`."""
        return await self.http.probe(verb, path, params=params, body=body)

    # --- ErpSync: connectors ---------------------------------------------------

    async def get_connector(self, connector_id: int) -> LiveConnector | None:
        # The id goes in the query string here (lower-case first letter, as documented).
        body = await self.http.agent(
            "ErpSync", "GetErpSyncConnectorEntity", params={"erpSyncConnectorEntityId": connector_id}
        )
        if body is None:
            return None
        return self.http.parse(
            "ErpSync/GetErpSyncConnectorEntity", lambda: wire.connector_from_entity(body)
        )

    async def save_connector(
        self, connector_id: int, name: str, url: str, deleted: bool = False
    ) -> LiveConnector:
        # The body is the entity itself, not wrapped; id 0 creates.
        body = await self.http.agent(
            "ErpSync", "SaveErpSyncConnectorEntity", wire.connector_to_wire(connector_id, name, url, deleted)
        )
        endpoint = "ErpSync/SaveErpSyncConnectorEntity"
        return self.http.parse(endpoint, lambda: wire.connector_from_entity(_not_null(endpoint, body)))

    async def can_delete_connector(self, connector_id: int) -> str:
        """"NoError", "ErrorConnectorHasConnections" or "ErrorNotFound"; the server may
        send the enum as a string or as its integer value (both are read)."""
        body = await self.http.agent(
            "ErpSync", "CanDeleteErpSyncConnectorEntity", {"ErpSyncConnectorId": connector_id}
        )
        return self.http.parse(
            "ErpSync/CanDeleteErpSyncConnectorEntity", lambda: wire.erp_sync_response_code(body)
        )

    async def test_connector_url(self, url: str) -> str:
        """Whether a connector web service answers at `url`: an ErpSyncResponseCode,
        "NoError" when it does (anything else is a failure)."""
        body = await self.http.agent("ErpSync", "TestConnectorUrl", {"Url": url})
        return self.http.parse("ErpSync/TestConnectorUrl", lambda: wire.erp_sync_response_code(body))

    async def delete_connector(self, connector_id: int) -> None:
        """Soft-delete; a void answer proves nothing, so the connector is read again."""
        endpoint = "ErpSync/DeleteErpSyncConnectorEntity"
        await self.http.agent(
            "ErpSync", "DeleteErpSyncConnectorEntity", params={"ErpSyncConnectorEntityId": connector_id}
        )
        after = await self.get_connector(connector_id)
        _confirm(endpoint, after is not None and after.deleted, "the connector", after is not None, "deleted")

    async def get_connectors_with_urls(self) -> tuple[LiveConnector, ...]:
        """All sync connectors with URL, deleted ones included, from archive ErpConnector.

        MDO list `erpconnectors` and GetAllConnectors leave deleted connectors out, so
        they cannot find one to restore; there is deliberately no fallback to them
        (a failed read fails the run instead of turning a restore into a create).
        """
        rows = await self.get_archive(
            "ErpConnector", select=("id", "name", "url"), entities=("erpConnector", "deleted")
        )
        return self.http.parse("GET archive/ErpConnector", lambda: tuple(wire.connector_from_archive(r) for r in rows))

    async def get_archive(
        self, provider: str, *, select: tuple[str, ...], entities: tuple[str, ...] = (), where: str = ""
    ) -> list[Mapping[str, Json]]:
        """Every row of an archive provider, following `odata.nextLink` pages.
        `where` is the `$filter` restriction string; no `$entities` when none are named."""
        path = f"archive/{quote(provider, safe='')}"
        endpoint = f"GET {path}"
        rows: list[Mapping[str, Json]] = []
        params = {"$select": ",".join(select)}
        if entities:
            params["$entities"] = ",".join(entities)
        if where:
            params["$filter"] = where
        body = await self.http.get(path, params=params)
        for _ in range(_MAX_ARCHIVE_PAGES):
            page, next_link = self.http.parse(endpoint, lambda: wire.archive_page(body, provider))
            rows += page
            if next_link is None:
                return rows
            if not next_link.startswith(self.base_url):
                # Never send the credentials to a host the target did not name.
                raise CrmProtocolError(endpoint, "gave a next-page link outside the target URL")
            body = await self.http.send("GET", next_link, endpoint=endpoint, read=True, absolute=True)
        raise CrmProtocolError(endpoint, f"kept giving next pages (more than {_MAX_ARCHIVE_PAGES})")

    # --- ErpSync: connections -----------------------------------------------------

    async def get_all_connections(
        self, include_deleted: bool = True, *, with_config: bool = True
    ) -> tuple[LiveErpConnection, ...]:
        """All ERP connections. GetAllConnections is documented as returning them
        "without config field data" (docs/en/api/reference/restful/agent/ErpSync_Agent/
        v1ErpSyncAgent_GetAllConnections.md), so whatever ConfigFields it carries is
        ignored: with `with_config` each connection's values are read with
        GetErpConnectionConfigFields, concurrently within the parallelism bound."""
        endpoint = "ErpSync/GetAllConnections"
        body = await self.http.agent("ErpSync", "GetAllConnections", {"IncludeDeleted": include_deleted})
        raw = self.http.parse(
            endpoint,
            lambda: [wire.expect_object(c, "an ErpConnection") for c in wire.expect_array(body, "connections")],
        )
        carriers = [self._erp_carrier(endpoint, obj) for obj in raw]
        if not with_config:
            return tuple(carriers)
        configs = await asyncio.gather(
            *(self.get_erp_connection_config(conn.id, connector_id=conn.connector_id) for conn in carriers)
        )
        return tuple(_with_config(conn, config) for conn, config in zip(carriers, configs))

    async def get_connection(self, connection_id: int) -> LiveErpConnection | None:
        body = await self.http.agent("ErpSync", "GetConnection", {"ErpConnectionId": connection_id})
        if body is None:
            return None
        obj = self.http.parse("ErpSync/GetConnection", lambda: wire.expect_object(body, "an ErpConnection"))
        return await self._complete_erp("ErpSync/GetConnection", obj)

    async def _complete_erp(self, endpoint: str, obj: Mapping[str, Json]) -> LiveErpConnection:
        """Parse a carrier, fetch its config if left out, protect Password values."""
        conn = self._erp_carrier(endpoint, obj)
        carried = self._carried_config(endpoint, obj)
        if carried is None:
            return _with_config(conn, await self.get_erp_connection_config(conn.id, connector_id=conn.connector_id))
        return _with_config(conn, await self.masking.erp(carried, conn.connector_id))

    def _erp_carrier(self, endpoint: str, obj: Mapping[str, Json]) -> LiveErpConnection:
        """A connection without its config."""
        conn: LiveErpConnection = self.http.parse(endpoint, lambda: wire.erp_connection(obj, config={}))
        return conn

    def _carried_config(self, endpoint: str, obj: Mapping[str, Json]) -> dict[str, str] | None:
        """The config values a single carrier (GetConnection, SaveConnection) holds;
        None when they must be asked for: an empty or null ConfigFields is never
        trusted to mean "no values"."""
        config = self.http.parse(endpoint, lambda: wire.config_from_wire(wire.get(obj, "ConfigFields")))
        return config or None

    async def save_connection(self, connection: LiveErpConnection) -> LiveErpConnection:
        """Create (id 0, guid "") or update; returns the saved connection with its GUID."""
        body = await self.http.agent("ErpSync", "SaveConnection", {"Connection": wire.erp_connection_to_wire(connection)})
        endpoint = "ErpSync/SaveConnection"
        obj = self.http.parse(endpoint, lambda: wire.expect_object(_not_null(endpoint, body), "the saved ErpConnection"))
        if wire.get(obj, "ConfigFields") is None:
            # The saved carrier should echo the values; if a server leaves them out,
            # report what was sent (it was accepted) rather than spend a request.
            obj = {**obj, "ConfigFields": wire.config_to_wire(connection.config)}
        return await self._complete_erp(endpoint, obj)

    async def delete_connection(self, connection_id: int) -> None:
        """Soft-delete; a void answer proves nothing, so the connection is read again."""
        endpoint = "ErpSync/DeleteConnection"
        await self.http.agent("ErpSync", "DeleteConnection", {"ErpConnectionId": connection_id})
        after = await self._erp_carrier_by_id(connection_id)
        _confirm(endpoint, after is not None and after.deleted, "the connection", after is not None, "deleted")

    async def toggle_connection_active(self, connection_id: int, *, expect_active: bool | None = None) -> list[str]:
        """Flip Active. Returns the reasons it failed; an empty list means the CRM
        shows the connection as `expect_active` now (read before the toggle when not given).

        A failed agent call answers 200 with null (docs/api/webapi/agents/index.md), so
        null is a failure, and success is only believed once the connection is read again.
        """
        if expect_active is None:
            before = await self._erp_carrier_by_id(connection_id)
            if before is None:
                return [f"the CRM has no ERP connection with id {connection_id}"]
            expect_active = not before.active
        body = await self.http.agent("ErpSync", "ToggleErpConnectionActive", {"ErpConnectionId": connection_id})
        if body is None:
            return ["the CRM answered null: the call failed without saying why"]
        if not isinstance(body, list):
            raise CrmProtocolError("ErpSync/ToggleErpConnectionActive", "did not return an array of reasons")
        reasons = [str(reason) for reason in body if reason]
        if reasons:
            return reasons
        after = await self._erp_carrier_by_id(connection_id)
        if after is None:
            return ["the CRM answered success, but the connection no longer exists"]
        if after.active != expect_active:
            state = "inactive" if expect_active else "active"
            return [
                f"the CRM answered success, but the connection is still {state} (the toggle did not take "
                "effect, or it was changed by someone else meanwhile; run plan again)"
            ]
        return []

    async def _erp_carrier_by_id(self, connection_id: int) -> LiveErpConnection | None:
        """GetConnection without the config values (for checking a write)."""
        body = await self.http.agent("ErpSync", "GetConnection", {"ErpConnectionId": connection_id})
        if body is None:
            return None
        endpoint = "ErpSync/GetConnection"
        return self._erp_carrier(endpoint, self.http.parse(endpoint, lambda: wire.expect_object(body, "an ErpConnection")))

    async def update_connection_fields(self, connection_id: int) -> bool:
        """Have the CRM ask the connector for its actor types and their fields and store
        them. True when it did; false (or null: no such connection) when it did not."""
        body = await self.http.agent("ErpSync", "UpdateConnectionFields", {"ErpConnectionId": connection_id})
        if body is None:
            return False
        return _bool_result("ErpSync/UpdateConnectionFields", body)

    async def get_erp_config_fields(self, connector_id: int) -> tuple[FieldMeta, ...]:
        """Config field metadata of a sync connector (fetched once per client)."""
        return await self.masking.erp_fields(connector_id)

    async def _fetch_erp_fields(self, connector_id: int) -> tuple[FieldMeta, ...]:
        body = await self.http.agent("ErpSync", "GetConfigurationFields", {"ErpConnectorId": connector_id})
        return self.http.parse("ErpSync/GetConfigurationFields", lambda: wire.field_metas(body))

    async def get_erp_connection_config(self, connection_id: int, *, connector_id: int) -> dict[str, WireValue]:
        """Stored config values, Password values protected by the metadata of `connector_id`."""
        body = await self.http.agent("ErpSync", "GetErpConnectionConfigFields", {"ErpConnectionId": connection_id})
        config = self.http.parse("ErpSync/GetErpConnectionConfigFields", lambda: wire.config_from_wire(body))
        return await self.masking.erp(config or {}, connector_id)

    async def test_erp_by_config(self, *, connector_id: int, config: Mapping[str, object]) -> bool:
        # ErpConnectionId carries the *connector* id, for new and saved connections alike:
        # "the id of the connector we try to connect to" (the .NET client, SOAP and
        # CRMScript docs; docs/api/reference/restful/agent/ErpSync_Agent/
        # v1ErpSyncAgent_TestConnectionByConfig.md has no other key).
        body = await self.http.agent(
            "ErpSync",
            "TestConnectionByConfig",
            {"ErpConnectionId": connector_id, "ConfigFields": wire.config_to_wire(config)},
        )
        return _bool_result("ErpSync/TestConnectionByConfig", body)

    async def test_erp_by_id(self, connection_id: int) -> bool:
        body = await self.http.agent("ErpSync", "TestConnectionById", {"ErpConnectionId": connection_id})
        return _bool_result("ErpSync/TestConnectionById", body)

    # --- Quote ---------------------------------------------------------------------

    async def get_all_quote_connections(
        self, *, with_config: bool = True, include_deleted: bool = True
    ) -> tuple[LiveQuoteConnection, ...]:
        """All quote connections, deleted ones included unless told otherwise.

        GetAllInstalledQuoteConnections has no IncludeDeleted argument and leaves
        deleted ones out; they are found in archive QuoteConnection (entity
        `deleted`) and read one by one with GetConnection. Config values are not
        on the carrier: one GetConnectionConfigFields per connection, concurrently
        (no list call serves them).
        """
        endpoint = "Quote/GetAllInstalledQuoteConnections"
        body = await self.http.agent("Quote", "GetAllInstalledQuoteConnections")
        conns = self.http.parse(
            endpoint, lambda: [wire.quote_connection(c) for c in wire.expect_array(body, "quote connections")]
        )
        if include_deleted:
            conns += await self._deleted_quote_connections({c.id for c in conns})
        if with_config:
            conns = await asyncio.gather(*(self._with_quote_config(c) for c in conns))
        return tuple(conns)

    async def _deleted_quote_connections(self, known: set[int]) -> list[LiveQuoteConnection]:
        rows = await self.get_archive(
            "QuoteConnection", select=("quoteConnectionId", "displayName", "deleted"),
            entities=("quoteConnection", "deleted"),
        )
        found = self.http.parse("GET archive/QuoteConnection", lambda: [wire.quote_archive_row(r) for r in rows])
        wanted = sorted({i for i, deleted in found if deleted and i not in known})
        conns = await asyncio.gather(*(self.get_quote_connection(i, with_config=False) for i in wanted))
        # One deleted since the archive was read is gone from GetConnection too: nothing to restore.
        return [c for c in conns if c is not None]

    async def _with_quote_config(self, conn: LiveQuoteConnection) -> LiveQuoteConnection:
        config = await self.get_quote_connection_config(conn.id, connector_name=conn.connector_name)
        return _with_config(conn, config)

    async def get_quote_connection(self, connection_id: int, *, with_config: bool = True) -> LiveQuoteConnection | None:
        body = await self.http.agent("Quote", "GetConnection", {"QuoteConnectionId": connection_id})
        if body is None:
            return None
        conn = self.http.parse("Quote/GetConnection", lambda: wire.quote_connection(body))
        return await self._with_quote_config(conn) if with_config else conn

    async def create_quote_connection_from_connector(self, connector_name: str) -> LiveQuoteConnection:
        """The defaults carrier for a new connection. Not assumed to be persisted:
        its id may be 0 (docs are silent); save it with save_quote_connection."""
        body = await self.http.agent("Quote", "CreateConnectionFromConnectorName", {"ConnectorName": connector_name})
        return self.http.parse("Quote/CreateConnectionFromConnectorName", lambda: wire.quote_connection(body))

    async def save_quote_connection(self, connection: LiveQuoteConnection) -> LiveQuoteConnection:
        """Save the carrier (wrapped in {"Connection": ...}). Config values are not
        part of it: save them with save_quote_connection_config. The returned
        connection has an empty config."""
        body = await self.http.agent("Quote", "SaveConnection", {"Connection": wire.quote_connection_to_wire(connection)})
        conn: LiveQuoteConnection = self.http.parse(
            "Quote/SaveConnection", lambda: wire.quote_connection(_not_null("Quote/SaveConnection", body))
        )
        return conn

    async def delete_quote_connection(self, connection_id: int) -> None:
        await self._set_quote_deleted("DeleteConnection", connection_id, deleted=True)

    async def restore_quote_connection(self, connection_id: int) -> None:
        await self._set_quote_deleted("RestoreConnection", connection_id, deleted=False)

    async def _set_quote_deleted(self, method: str, connection_id: int, *, deleted: bool) -> None:
        """A void write; the connection is read again to see what the CRM actually did."""
        await self.http.agent("Quote", method, {"QuoteConnectionId": connection_id})
        after = await self.get_quote_connection(connection_id, with_config=False)
        _confirm(
            f"Quote/{method}", after is not None and after.deleted == deleted, "the quote connection",
            after is not None, "deleted" if deleted else "restored",
        )

    async def get_quote_config_fields(self, connector_name: str, connection_id: int = 0) -> tuple[FieldMeta, ...]:
        """Config field metadata of a quote connector, sorted by Rank.

        With connection_id 0 the result is cached per connector name. (A non-zero
        id makes the server initialise that connection first, so it is not cached.)
        """
        if connection_id:
            return await self._fetch_quote_fields(connector_name, connection_id)
        return await self.masking.quote_fields(connector_name)

    async def _fetch_quote_fields(self, connector_name: str, connection_id: int) -> tuple[FieldMeta, ...]:
        body = await self.http.agent(
            "Quote", "GetConfigurationFields", {"ConnectionId": connection_id, "ConnectorName": connector_name}
        )
        # A dictionary keyed by FieldKey here, where ErpSync sends an array; both parse.
        # (docs/en/api/reference/restful/agent/Quote_Agent/v1QuoteAgent_GetConfigurationFields.md)
        return self.http.parse("Quote/GetConfigurationFields", lambda: wire.field_metas(body))

    async def get_quote_connection_config(self, connection_id: int, *, connector_name: str) -> dict[str, WireValue]:
        body = await self.http.agent("Quote", "GetConnectionConfigFields", {"QuoteConnectionId": connection_id})
        config = self.http.parse("Quote/GetConnectionConfigFields", lambda: wire.config_from_wire(body))
        return await self.masking.quote(config or {}, connector_name)

    async def save_quote_connection_config(
        self, connection_id: int, config: Mapping[str, object], *, connector_name: str
    ) -> dict[str, WireValue]:
        body = await self.http.agent(
            "Quote",
            "SaveConnectionConfigFields",
            {"QuoteConnectionId": connection_id, "ConnectionConfigFields": wire.config_to_wire(config)},
        )
        endpoint = "Quote/SaveConnectionConfigFields"
        # Documented to return the stored dictionary; null is a failed agent call.
        saved = self.http.parse(endpoint, lambda: wire.config_from_wire(_not_null(endpoint, body)))
        assert saved is not None
        return await self.masking.quote(saved, connector_name)

    async def test_quote_connection(self, connector_name: str, config: Mapping[str, object]) -> TestOutcome:
        body = await self.http.agent(
            "Quote", "TestConnection", {"ConnectorName": connector_name, "ConnectionData": wire.config_to_wire(config)}
        )
        if body is None:
            raise CrmProtocolError("Quote/TestConnection", "returned null instead of a PluginResponse")
        return self.http.parse("Quote/TestConnection", lambda: wire.parse_test_outcome(body))

    # --- lists -------------------------------------------------------------------------

    async def get_user_groups(self) -> tuple[Group, ...]:
        body = await self.http.get("List/UserGroup/Items", params={"includeDeleted": "true"})
        return self.http.parse(
            "GET List/UserGroup/Items",
            lambda: tuple(wire.group(g) for g in wire.expect_array(body, "user groups")),
        )

    async def get_users(self) -> tuple[User, ...]:
        """Every user with its login, retired ones included, from archive AllUsers.

        MDOList/associate will not do: its Name is the display name and it leaves
        retired users out (docs/en/api/mdo-providers/reference/associate.md). A user
        listed under both entities counts as retired if either row says so.
        """
        rows = await self.get_archive(
            "AllUsers", select=("associateDbId", "assocName", "fullName", "isActive"), entities=("all", "expired")
        )
        users: dict[int, User] = {}
        for user in self.http.parse("GET archive/AllUsers", lambda: [wire.user_from_archive(r) for r in rows]):
            seen = users.get(user.id)
            users[user.id] = user if seen is None else replace(seen, deleted=seen.deleted or user.deleted)
        return tuple(users.values())

    async def get_installed_quote_connectors(self) -> tuple[str, ...]:
        items = await self.get_mdo_list("quoteconnectors")
        return tuple(i.name for i in items if i.name)

    async def get_mdo_list(self, name: str) -> tuple[ListItem, ...]:
        path = f"MDOList/{quote(name, safe='')}"
        body = await self.http.get(path, params={"flat": "true"})
        if body is None:
            return ()
        return self.http.parse(
            f"GET {path}", lambda: tuple(wire.list_item(i) for i in wire.mdo_items(body, f"list {name}"))
        )


def _with_config(conn: _Conn, config: Mapping[str, WireValue]) -> _Conn:
    return replace(conn, config=dict(config))


def _bool_result(endpoint: str, body: Json) -> bool:
    if isinstance(body, bool):
        return body
    raise CrmProtocolError(endpoint, "did not return true or false")


def _not_null(endpoint: str, body: Json) -> Json:
    """A write's documented result; null is how a failed agent call answers
    (docs/api/webapi/agents/index.md)."""
    if body is None:
        raise CrmServerError(
            endpoint, "answered null: the CRM did not make the change (a failed agent call)",
            hint="run plan again to see the current state; the CRM's log may say why",
        )
    return body


def _confirm(endpoint: str, ok: bool, what: str, found: bool, expected: str) -> None:
    """Fail a void write whose effect the CRM does not show when read again."""
    if ok:
        return
    shown = f"is not {expected}" if found else "does not exist"
    raise CrmServerError(
        endpoint, f"answered without an error, but reading it again shows {what} {shown}",
        hint="run plan again to see the current state",
    )
