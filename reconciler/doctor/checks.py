"""`reconcile doctor`: a read-only self-check of a CRM target, one row per check.

Every request is a read (GET lists and archives, Get*/Test* agent calls); nothing
is written. Each row says what was found and, when the check fails, what to do; a
note is not a failure, and says what the tenant means for plan and apply.
Rows never hold a credential: the target is described by its URL, its scheme and
the names of the variables the credentials came from.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from reconciler.crm.client import CrmClient
from reconciler.crm.http import ProbeAnswer
from reconciler.crm.errors import CrmError, CrmUnavailableError
from reconciler.doctor.row import Check, refusal
from reconciler.doctor.sync_rows import (
    ERP_TAB_ORDER,
    SYNC_ENDPOINTS,
    SYNC_PRIORITY,
    erp_tab_order_row,
    sync_endpoints_row,
    sync_priority_row,
)

ENDPOINT = "Endpoint is current (no redirect)"
CREDENTIALS = "Credentials accepted"
ERPSYNC = "ErpSync agent reachable"
QUOTE = "Quote agent reachable"
USERS = "User lookup returns logins"
ARCHIVES = "Archives readable with deleted rows"
GET_ALL_CONNECTIONS = "GetAllConnections present"
CONNECTOR_URLS = "Connectors answer TestConnectorUrl"

ERPSYNC_FIX = (
    "the ErpSync agent is Online-restricted: the app must be granted it (register it from the "
    "Developer Portal's 'ERP sync and quote' template, or ask SuperOffice to add ErpSync to the "
    "app's agent access); onsite, the user needs ERP administration rights"
)


async def run_checks(client: CrmClient, *, description: str, auth_hint: str) -> list[Check]:
    endpoint, credentials = await _first_contact(client, description, auth_hint)
    rows = [endpoint, credentials]
    later: list[tuple[str, str]] = [
        ("erpsync", ERPSYNC), ("quote", QUOTE), ("users", USERS), ("archives", ARCHIVES),
        ("get_all_connections", GET_ALL_CONNECTIONS), ("connector_urls", CONNECTOR_URLS),
        ("sync_priority", SYNC_PRIORITY), ("sync_endpoints", SYNC_ENDPOINTS), ("erp_tab_order", ERP_TAB_ORDER),
    ]
    if endpoint.status != "pass" or credentials.status != "pass":
        why = "the endpoint is not current" if endpoint.status != "pass" else "the credentials were not accepted"
        return rows + [Check(key, title, "skip", f"not checked: {why}") for key, title in later]
    erpsync, quote, users, archives, priority = await asyncio.gather(
        _agent_reachable(client, "erpsync", ERPSYNC, ERPSYNC_FIX, lambda: client.get_connector(0)),
        _agent_reachable(
            client, "quote", QUOTE,
            "the user behind the credentials needs the right to administer quote connections",
            lambda: client.get_quote_connection(0, with_config=False),
        ),
        _users(client),
        _archives(client),
        sync_priority_row(client),
    )
    rows += [erpsync, quote, users, archives]
    if erpsync.status != "pass":
        skipped = "not checked: the ErpSync agent is not reachable"
        return rows + [
            Check("get_all_connections", GET_ALL_CONNECTIONS, "skip", skipped),
            Check("connector_urls", CONNECTOR_URLS, "skip", skipped),
            priority,
            Check("sync_endpoints", SYNC_ENDPOINTS, "skip", skipped),
            Check("erp_tab_order", ERP_TAB_ORDER, "skip", skipped),
        ]
    rows += await asyncio.gather(_get_all_connections(client), _connector_urls(client))
    return rows + [priority, *await asyncio.gather(sync_endpoints_row(client), erp_tab_order_row(client))]


# -- endpoint and credentials ----------------------------------------------------


async def _first_contact(client: CrmClient, description: str, auth_hint: str) -> tuple[Check, Check]:
    try:
        answer = await client.probe("GET", "MDOList/associate", params={"flat": "true"})
    except CrmUnavailableError as error:
        return (
            Check("endpoint", ENDPOINT, "fail", _unreachable(error),
                  "check the URL (--url, SUPEROFFICE_URL or the target's url in reconcile.yaml) and the network"),
            Check("credentials", CREDENTIALS, "skip", "not checked: the CRM could not be reached"),
        )
    status = answer.status
    if status == 421 or 300 <= status < 400:
        return _moved(client.base_url, answer), Check(
            "credentials", CREDENTIALS, "skip", "not checked: the endpoint is not current"
        )
    endpoint = Check("endpoint", ENDPOINT, "pass", f"{client.base_url} answers for the tenant (HTTP {status})")
    if status == 401:
        return endpoint, Check("credentials", CREDENTIALS, "fail", f"refused (HTTP 401): {description}", auth_hint)
    if status >= 500:
        return endpoint, Check(
            "credentials", CREDENTIALS, "fail", f"could not be checked: the CRM answered HTTP {status}",
            "the CRM is busy or down; try again later",
        )
    return endpoint, Check("credentials", CREDENTIALS, "pass", f"accepted: {description}")


def _unreachable(error: CrmUnavailableError) -> str:
    """"could not reach URL (ConnectError)", without the request's name."""
    message = error.diagnostics[0].message
    return message[message.index("could not reach"):] if "could not reach" in message else message


def _moved(base_url: str, answer: ProbeAnswer) -> Check:
    """421 (the tenant moved host) or a redirect (307 from a gateway, or any other 3xx)."""
    if answer.status != 421:
        location = answer.location or ""
        current = location.split("/api/")[0] + "/" if "/api/" in location else location
        return Check(
            "endpoint", ENDPOINT, "fail",
            f"HTTP {answer.status}: the tenant has moved; the CRM redirects to {current or '(no Location given)'}",
            f"use the current URL{' ' + current if current else ''} (--url, SUPEROFFICE_URL or the target's url in reconcile.yaml)",
        )
    return Check(
        "endpoint", ENDPOINT, "fail",
        f"HTTP 421 Misdirected Request: {base_url} no longer serves this tenant (it moved to another host)",
        f"find its current URL with {_state_api(base_url)} (the Api field) and use it "
        "(--url, SUPEROFFICE_URL or the target's url in reconcile.yaml)",
    )


def _state_api(base_url: str) -> str:
    """The tenant status request that names a moved tenant's current host
    (docs/en/apps/tenant-status/status-page.md)."""
    parts = urlsplit(base_url)
    host = (parts.hostname or "").lower()
    context = parts.path.strip("/").split("/")[0] if parts.path.strip("/") else "{ContextIdentifier}"
    if host.endswith(".superoffice.com"):
        environment = host.split(".")[0].rstrip("0123456789") or "sod"
        return f"GET https://{environment}.superoffice.com/api/state/{context}"
    return f"GET https://{{env}}.superoffice.com/api/state/{context}"


# -- agents ----------------------------------------------------------------------


async def _agent_reachable(
    client: CrmClient, key: str, title: str, fix: str, call: Callable[[], Awaitable[Any]]
) -> Check:
    try:
        await call()
    except CrmError as error:
        return Check(key, title, "fail", refusal(error), fix if error.status in (401, 403, 404) else "")
    return Check(key, title, "pass", "answers")


async def _get_json(client: CrmClient, verb: str, path: str, **kwargs: Any) -> tuple[int | None, Any, str]:
    """(status, JSON body or None, a short description of what went wrong)."""
    try:
        answer = await client.probe(verb, path, **kwargs)
    except CrmUnavailableError as error:
        return None, None, f"{path}: {_unreachable(error)}"
    return answer.status, answer.body, f"{path}: HTTP {answer.status}"


def _rows(body: Any) -> list[Mapping[str, Any]] | None:
    """The `value` rows of an archive answer, or None if it is not one."""
    if isinstance(body, dict) and isinstance(body.get("value"), list):
        return [row for row in body["value"] if isinstance(row, dict)]
    return None


async def _users(client: CrmClient) -> Check:
    """Logins (initials) come from archive AllUsers (assocName) or Associate/GetAssociateList
    (Name); MDOList/associate only has display names."""
    status, body, problem = await _get_json(
        client, "GET", "archive/AllUsers",
        params={"$select": "associateDbId,assocName", "$entities": "all,expired", "$top": "50"},
    )
    rows = _rows(body) if status == 200 else None
    logins = [str(r["assocName"]) for r in rows or () if r.get("assocName")]
    if logins:
        return Check("users", USERS, "pass", f"archive AllUsers gives logins ({_examples(logins)})")
    problems = [problem if rows is None else "archive AllUsers: no assocName in its rows"]
    ids_status, ids_body, ids_problem = await _get_json(client, "GET", "MDOList/associate", params={"flat": "true"})
    ids = _associate_ids(ids_body) if ids_status == 200 else []
    if ids:
        list_status, listed, list_problem = await _get_json(
            client, "POST", "Agents/Associate/GetAssociateList", body=ids[:50]
        )
        names = [str(a["Name"]) for a in listed or () if isinstance(a, dict) and a.get("Name")] if list_status == 200 else []
        if names:
            return Check("users", USERS, "pass", f"Associate/GetAssociateList gives logins ({_examples(names)})")
        problems.append(list_problem if list_status != 200 else "Associate/GetAssociateList: no Name in its answer")
    else:
        problems.append(ids_problem if ids_status != 200 else "MDOList/associate: no users listed")
    return Check(
        "users", USERS, "fail", "; ".join(problems),
        "manifests name users by login; the user behind the credentials must be allowed to read "
        "archive AllUsers or call Associate/GetAssociateList",
    )


def _associate_ids(body: Any) -> list[int]:
    items = body if isinstance(body, list) else []
    found: list[int] = []
    while items:
        item = items.pop(0)
        if isinstance(item, dict):
            if isinstance(item.get("Id"), int) and item["Id"] > 0:
                found.append(item["Id"])
            children = item.get("ChildItems")
            if isinstance(children, list):
                items.extend(children)
    return found


def _examples(names: list[str]) -> str:
    shown = ", ".join(names[:3])
    return f"{len(names)} users, e.g. {shown}" if len(names) > 3 else shown


async def _archives(client: CrmClient) -> Check:
    """Deleted sync connectors and quote connections are rows of entity `deleted` in these
    archives (docs/en/api/archive-providers/reference/erpconnector.md, quoteconnection.md)."""
    wanted = {
        "ErpConnector": {"$select": "id,name", "$entities": "erpConnector,deleted"},
        "QuoteConnection": {"$select": "quoteConnectionId,displayName", "$entities": "quoteConnection,deleted"},
    }
    answers = await asyncio.gather(
        *(_get_json(client, "GET", f"archive/{name}", params=params) for name, params in wanted.items())
    )
    found: list[str] = []
    problems: list[str] = []
    for name, (status, body, problem) in zip(wanted, answers):
        rows = _rows(body) if status == 200 else None
        if rows is None:
            problems.append(problem)
            continue
        deleted = sum(1 for r in rows if str(r.get("EntityName", "")).lower() == "deleted")
        found.append(f"{name}: {len(rows)} rows ({deleted} deleted)")
    if problems:
        return Check(
            "archives", ARCHIVES, "fail", "; ".join(problems + found),
            "reconcile reads these archives to restore deleted connectors and quote connections instead "
            "of creating duplicates; the user behind the credentials must be allowed to read them",
        )
    return Check("archives", ARCHIVES, "pass", "; ".join(found))


async def _get_all_connections(client: CrmClient) -> Check:
    status, body, problem = await _get_json(
        client, "POST", "Agents/ErpSync/GetAllConnections",
        params={"$select": "ErpConnectionId"}, body={"IncludeDeleted": True},
    )
    if status == 200 and isinstance(body, list):
        return Check(
            "get_all_connections", GET_ALL_CONNECTIONS, "pass",
            f"present ({len(body)} ERP connections, deleted ones included); no fallback needed",
        )
    if status == 404:
        return Check(
            "get_all_connections", GET_ALL_CONNECTIONS, "fail",
            "missing: this server is older than Services88, which added GetAllConnections",
            "reconcile lists ERP connections with GetAllConnections and has no fallback for it "
            "(MDOList/erpconnections carries neither config nor scope); upgrade the server",
        )
    return Check("get_all_connections", GET_ALL_CONNECTIONS, "fail", problem, "")


async def _connector_urls(client: CrmClient) -> Check:
    try:
        connectors = [c for c in await client.get_connectors_with_urls() if not c.deleted]
        codes = await asyncio.gather(*(client.test_connector_url(c.url) for c in connectors))
    except CrmError as error:
        return Check("connector_urls", CONNECTOR_URLS, "fail", refusal(error), "")
    if not connectors:
        return Check("connector_urls", CONNECTOR_URLS, "pass", "no sync connectors registered yet; nothing to test")
    failing = [f"{c.name} ({c.url}): {code}" for c, code in zip(connectors, codes) if code != "NoError"]
    if failing:
        return Check(
            "connector_urls", CONNECTOR_URLS, "fail", "no answer from " + "; ".join(failing),
            "check that each connector service runs and its URL is right (in Online: app://<applicationId>)",
        )
    return Check(
        "connector_urls", CONNECTOR_URLS, "pass",
        f"{len(connectors)} answer: " + ", ".join(sorted(c.name for c in connectors)),
    )
