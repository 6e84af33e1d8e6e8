"""Read everything a plan needs from the CRM, concurrently, in as few requests as the API allows.

Requests (n = objects of a kind):
  1 archive ErpConnector (deleted ones included), 1 GetAllConnections,
  1 GetAllInstalledQuoteConnections, 1 archive QuoteConnection (to find the
  deleted ones), 1 MDOList/quoteconnectors, 1 archive AllUsers, 1 List/UserGroup/Items;
  1 GetErpConnectionConfigFields per ERP connection (GetAllConnections carries no
  config data); 1 Quote/GetConnection per deleted quote connection;
  1 GetConfigurationFields per sync connector (live, in use or needed) and per
  quote connector name; 1 MDO list per distinct ListName of List-type fields;
  1 GetConnectionConfigFields per quote connection (the API has no list call
  for quote config values).
Sync configuration, only for connections whose manifest has a `sync` block: see
sync_snapshot.py.
Each request starts as soon as what it depends on is known.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from reconciler.crm.client import CrmClient
from reconciler.crm.errors import CrmError, CrmNotFoundError, CrmRequestError, CrmServerError
from reconciler.crm.live import FieldMeta, ListItem, Live, LiveConnector
from reconciler.crm.sync_snapshot import SyncNeeds, read_sync

log = logging.getLogger("reconciler.crm")
_T = TypeVar("_T")


@dataclass(frozen=True)
class SnapshotNeeds:
    """Extra things the manifests mention that no live object uses yet."""

    erp_connector_ids: frozenset[int] = frozenset()
    quote_connector_names: frozenset[str] = frozenset()
    list_names: frozenset[str] = frozenset()
    # ERP connection name -> what its `sync` block manages; read only for these.
    sync: Mapping[str, SyncNeeds] = field(default_factory=dict)
    sync_priority: bool = False  # some connection manages its sync priority


async def snapshot(
    client: CrmClient, *, target_description: str, needs: SnapshotNeeds | None = None
) -> Live:
    """A consistent read of the tenant. Raises the first `CrmError` any request hit
    (the other requests are cancelled)."""
    needs = needs or SnapshotNeeds()
    try:
        live = await _snapshot(client, target_description, needs)
        return await read_sync(client, live, needs.sync, needs.sync_priority)
    except BaseExceptionGroup as group:
        raise _first_crm_error(group) from None


def _first_crm_error(group: BaseExceptionGroup) -> BaseException:
    for exc in group.exceptions:
        found = _first_crm_error(exc) if isinstance(exc, BaseExceptionGroup) else exc
        if isinstance(found, CrmError):
            return found
    return group


async def _snapshot(client: CrmClient, target_description: str, needs: SnapshotNeeds) -> Live:
    reader = _MetadataReader(client)
    async with asyncio.TaskGroup() as tg:
        reader.group = tg
        reader.want_erp_fields(sorted(needs.erp_connector_ids))
        reader.want_quote_fields(sorted(needs.quote_connector_names))
        reader.want_list_names(sorted(needs.list_names))
        connectors_t = tg.create_task(reader.read_connectors())
        installed_t = tg.create_task(reader.read_installed())
        # These two fetch the metadata of the connectors they use themselves (shared
        # with the tasks above through the client's cache) to protect Password values.
        erp_t = tg.create_task(client.get_all_connections(include_deleted=True))
        quote_t = tg.create_task(client.get_all_quote_connections(with_config=True))
        users_t = tg.create_task(client.get_users())
        groups_t = tg.create_task(client.get_user_groups())

        async def referenced() -> None:
            reader.want_erp_fields(c.connector_id for c in await erp_t)
            reader.want_quote_fields(c.connector_name for c in await quote_t)

        tg.create_task(referenced())

    return Live(
        target=target_description,
        connectors=tuple(sorted(connectors_t.result(), key=lambda c: c.id)),
        erp_connections=tuple(sorted(erp_t.result(), key=lambda c: c.id)),
        quote_connections=tuple(sorted(quote_t.result(), key=lambda c: c.id)),
        erp_fields=dict(sorted(reader.erp_fields.items())),
        quote_fields=dict(sorted(reader.quote_fields.items())),
        quote_connectors=tuple(sorted(installed_t.result())),
        lists=reader.lists_read(),
        users=tuple(sorted(users_t.result(), key=lambda u: u.id)),
        groups=tuple(sorted(groups_t.result(), key=lambda g: g.id)),
    )


class _MetadataReader:
    """Config field metadata and the MDO lists its List fields name: each read once,
    started as soon as something asks for it, within the snapshot's task group."""

    def __init__(self, client: CrmClient) -> None:
        self.client = client
        self.group: asyncio.TaskGroup | None = None
        self.erp_fields: dict[int, tuple[FieldMeta, ...]] = {}
        self.quote_fields: dict[str, tuple[FieldMeta, ...]] = {}
        self.lists: dict[str, asyncio.Task[tuple[ListItem, ...] | None]] = {}
        self.started_erp: set[int] = set()
        self.started_quote: set[str] = set()

    def _start(self, coro: Coroutine[Any, Any, _T]) -> asyncio.Task[_T]:
        assert self.group is not None
        return self.group.create_task(coro)

    def want_list_names(self, names: Iterable[str]) -> None:
        for name in names:
            if name not in self.lists:
                self.lists[name] = self._start(_list_or_none(self.client, name))

    def _want_lists(self, fields: Iterable[FieldMeta]) -> None:
        self.want_list_names(f.list_name for f in fields if f.field_type == "List" and f.list_name)

    def want_erp_fields(self, ids: Iterable[int]) -> None:
        for i in ids:
            if i not in self.started_erp:
                self.started_erp.add(i)
                self._start(self._read_erp_fields(i))

    def want_quote_fields(self, names: Iterable[str]) -> None:
        for name in names:
            if name and name not in self.started_quote:
                self.started_quote.add(name)
                self._start(self._read_quote_fields(name))

    async def _read_erp_fields(self, connector_id: int) -> None:
        fields = await _tolerant(self.client.get_erp_config_fields(connector_id), f"sync connector id {connector_id}")
        if fields is not None:
            self.erp_fields[connector_id] = fields
            self._want_lists(fields)

    async def _read_quote_fields(self, name: str) -> None:
        fields = await _tolerant(self.client.get_quote_config_fields(name), f"quote connector {name!r}")
        if fields is not None:
            self.quote_fields[name] = fields
            self._want_lists(fields)

    async def read_connectors(self) -> tuple[LiveConnector, ...]:
        connectors = await self.client.get_connectors_with_urls()
        self.want_erp_fields(c.id for c in connectors if not c.deleted)
        return connectors

    async def read_installed(self) -> tuple[str, ...]:
        names = await self.client.get_installed_quote_connectors()
        self.want_quote_fields(names)
        return names

    def lists_read(self) -> dict[str, tuple[ListItem, ...]]:
        return {name: items for name, task in sorted(self.lists.items()) if (items := task.result()) is not None}


async def _tolerant(fetch: Awaitable[tuple[FieldMeta, ...]], what: str) -> tuple[FieldMeta, ...] | None:
    """Field metadata, or None when the server failed to read it.

    GetConfigurationFields makes the CRM call the connector; a connector that is
    down gives a 500 that should not stop the whole snapshot. Its connections
    keep every config value as sensitive, and a plan that needs the metadata
    reports it missing.
    """
    try:
        return await fetch
    except CrmServerError as exc:
        log.warning("could not read config field metadata of %s: %s", what, exc)
        return None


async def _list_or_none(client: CrmClient, name: str) -> tuple[ListItem, ...] | None:
    """An MDO list, or None when the server has no such list.

    A connector may name a ListName this tenant does not provide (a 400/404, or a
    500 from a failing list provider). The list is left out of the snapshot and
    a plan that needs it says so, instead of the whole read failing.
    """
    try:
        return await client.get_mdo_list(name)
    except (CrmRequestError, CrmNotFoundError, CrmServerError) as exc:
        log.warning("could not read list %r: %s", name, exc)
        return None
