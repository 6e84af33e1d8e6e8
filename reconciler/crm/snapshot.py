"""Read everything a plan needs from the CRM, concurrently, in as few requests as the API allows.

Requests (n = objects of a kind):
  1 MDOList/erpconnectors, 1 GetAllConnections, 1 GetAllInstalledQuoteConnections,
  1 MDOList/quoteconnectors, 1 MDOList/associate, 1 List/UserGroup/Items;
  1 GetConfigurationFields per sync connector (live, in use or needed) and per
  quote connector name; 1 MDO list per distinct ListName of List-type fields;
  1 GetConnectionConfigFields per quote connection (the API has no list call
  for quote config values); ERP config values come with GetAllConnections, and
  only connections whose ConfigFields are left out cost a request each (§7.11).
Each request starts as soon as what it depends on is known.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass

from reconciler.crm.client import CrmClient
from reconciler.crm.errors import CrmError, CrmNotFoundError, CrmRequestError, CrmServerError
from reconciler.crm.live import FieldMeta, ListItem, Live, LiveConnector

log = logging.getLogger("reconciler.crm")


@dataclass(frozen=True)
class SnapshotNeeds:
    """Extra things the manifests mention that no live object uses yet."""

    erp_connector_ids: frozenset[int] = frozenset()
    quote_connector_names: frozenset[str] = frozenset()
    list_names: frozenset[str] = frozenset()


async def snapshot(
    client: CrmClient, *, target_description: str, needs: SnapshotNeeds | None = None
) -> Live:
    """A consistent read of the tenant. Raises the first `CrmError` any request hit
    (the other requests are cancelled)."""
    try:
        return await _snapshot(client, target_description, needs or SnapshotNeeds())
    except BaseExceptionGroup as group:
        raise _first_crm_error(group) from None


def _first_crm_error(group: BaseExceptionGroup) -> BaseException:
    for exc in group.exceptions:
        found = _first_crm_error(exc) if isinstance(exc, BaseExceptionGroup) else exc
        if isinstance(found, CrmError):
            return found
    return group


async def _snapshot(client: CrmClient, target_description: str, needs: SnapshotNeeds) -> Live:
    erp_fields: dict[int, tuple[FieldMeta, ...]] = {}
    quote_fields: dict[str, tuple[FieldMeta, ...]] = {}
    lists: dict[str, asyncio.Task[tuple[ListItem, ...] | None]] = {}
    started_erp: set[int] = set()
    started_quote: set[str] = set()

    async with asyncio.TaskGroup() as tg:

        def want_lists(fields: Iterable[FieldMeta]) -> None:
            for f in fields:
                if f.field_type == "List" and f.list_name and f.list_name not in lists:
                    lists[f.list_name] = tg.create_task(_list_or_none(client, f.list_name))

        async def read_erp_fields(connector_id: int) -> None:
            fields = await _tolerant(
                client.get_erp_config_fields(connector_id), f"sync connector id {connector_id}"
            )
            if fields is not None:
                erp_fields[connector_id] = fields
                want_lists(fields)

        async def read_quote_fields(name: str) -> None:
            fields = await _tolerant(client.get_quote_config_fields(name), f"quote connector {name!r}")
            if fields is not None:
                quote_fields[name] = fields
                want_lists(fields)

        def want_erp_fields(ids: Iterable[int]) -> None:
            for i in ids:
                if i not in started_erp:
                    started_erp.add(i)
                    tg.create_task(read_erp_fields(i))

        def want_quote_fields(names: Iterable[str]) -> None:
            for name in names:
                if name and name not in started_quote:
                    started_quote.add(name)
                    tg.create_task(read_quote_fields(name))

        async def read_connectors() -> tuple[LiveConnector, ...]:
            connectors = await client.get_connectors_with_urls()
            want_erp_fields(c.id for c in connectors if not c.deleted)
            return connectors

        async def read_installed() -> tuple[str, ...]:
            names = await client.get_installed_quote_connectors()
            want_quote_fields(names)
            return names

        want_erp_fields(sorted(needs.erp_connector_ids))
        want_quote_fields(sorted(needs.quote_connector_names))
        for name in sorted(needs.list_names):
            lists[name] = tg.create_task(_list_or_none(client, name))
        connectors_t = tg.create_task(read_connectors())
        installed_t = tg.create_task(read_installed())
        # These two fetch the metadata of the connectors they use themselves (shared
        # with the tasks above through the client's cache) to protect Password values.
        erp_t = tg.create_task(client.get_all_connections(include_deleted=True))
        quote_t = tg.create_task(client.get_all_quote_connections(with_config=True))
        users_t = tg.create_task(client.get_users())
        groups_t = tg.create_task(client.get_user_groups())

        async def referenced() -> None:
            want_erp_fields(c.connector_id for c in await erp_t)
            want_quote_fields(c.connector_name for c in await quote_t)

        tg.create_task(referenced())

    return Live(
        target=target_description,
        connectors=tuple(sorted(connectors_t.result(), key=lambda c: c.id)),
        erp_connections=tuple(sorted(erp_t.result(), key=lambda c: c.id)),
        quote_connections=tuple(sorted(quote_t.result(), key=lambda c: c.id)),
        erp_fields=dict(sorted(erp_fields.items())),
        quote_fields=dict(sorted(quote_fields.items())),
        quote_connectors=tuple(sorted(installed_t.result())),
        lists={
            name: items
            for name, task in sorted(lists.items())
            if (items := task.result()) is not None
        },
        users=tuple(sorted(users_t.result(), key=lambda u: u.id)),
        groups=tuple(sorted(groups_t.result(), key=lambda g: g.id)),
    )


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
