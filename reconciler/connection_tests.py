"""Test every connection a plan would create, update or restore, with its desired config.

ERP connections: ErpSync `TestConnectionByConfig`, which answers only true/false
(the connector's explanation does not reach REST callers:
docs/en/api/reference/restful/agent/ErpSync_Agent/v1ErpSyncAgent_TestConnectionByConfig.md).
Quote connections: Quote `TestConnection`, whose PluginResponse explains a failure.
Sync connectors with a new or changed URL: ErpSync `TestConnectorUrl`, as the admin
UI does before it saves a URL (apply checks it again just before saving).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Mapping
from typing import Literal

from reconciler.crm.client import CrmClient
from reconciler.crm.errors import CrmError
from reconciler.crm.live import Live
from reconciler.crm.wire import TestOutcome
from reconciler.plan.model import (
    Change,
    ConnectorState,
    ErpConnectionState,
    Plan,
    QuoteConnectionState,
    TestResult,
    appears,
    deletes,
    moves_url,
    writes,
)
from reconciler.secrets import mask_echoed

TestMode = Literal["all", "changed", "none"]
ERP_FAILED = "the connector rejected this configuration (the ErpSync API gives no reason; check the values and the connector's log)"


def _wanted(change: Change, mode: TestMode) -> bool:
    if mode == "none" or change.desired is None:
        return False
    if change.kind == "SyncConnector":
        return change.action == "create" or moves_url(change)
    return mode == "all" or writes(change.action)


def _deferred_reason(change: Change, connectors: Mapping[str, Change], live: Live) -> str | None:
    """Why a connection cannot be tested before apply, or None if it can."""
    desired = change.desired
    if isinstance(desired, ErpConnectionState):
        connector_change = connectors.get(desired.connector)
        if connector_change is None or appears(connector_change.action):
            return f"connector '{desired.connector}' is registered by this plan; apply tests the connection after that"
        if moves_url(connector_change):
            return (f"the URL of connector '{desired.connector}' changes in this plan; apply tests this connection "
                    "at the new URL before it switches")
        if connector_change.live_id not in live.erp_fields:
            return f"the config fields of connector '{desired.connector}' could not be read"
    return None


async def _test_one(client: CrmClient, change: Change, connectors: Mapping[str, Change], live: Live) -> TestResult:
    reason = _deferred_reason(change, connectors, live)
    if reason is not None:
        return TestResult("deferred", reason)
    started = time.perf_counter()
    result = await _run_test(client, change, connectors)
    return dataclasses.replace(result, seconds=time.perf_counter() - started)


async def _run_test(client: CrmClient, change: Change, connectors: Mapping[str, Change]) -> TestResult:
    desired = change.desired
    if isinstance(desired, ConnectorState):
        return await _test_url(client, desired.url)
    try:
        if isinstance(desired, ErpConnectionState):
            connector_id = connectors[desired.connector].live_id
            assert connector_id is not None
            ok = await client.test_erp_by_config(connector_id=connector_id, config=desired.config)
            return TestResult("passed") if ok else TestResult("failed", ERP_FAILED)
        assert isinstance(desired, QuoteConnectionState)
        outcome = await client.test_quote_connection(desired.connector, desired.config)
    except CrmError as error:
        return TestResult("failed", mask_echoed(f"the test could not run: {error}", desired.config.values()))
    return TestResult("passed" if outcome.ok else "failed", explain(outcome, desired.config))


async def _test_url(client: CrmClient, url: str) -> TestResult:
    try:
        code = await client.test_connector_url(url)
    except CrmError as error:
        return TestResult("failed", f"the test could not run: {error}")
    if code == "NoError":
        return TestResult("passed")
    return TestResult("failed", f"no connector answers at the new URL (TestConnectorUrl: {code})")


def explain(outcome: TestOutcome, config: Mapping[str, object]) -> str:
    """A connector's explanation, with any secret of `config` it echoes masked."""
    text = " — ".join(part for part in (outcome.user_explanation, outcome.tech_explanation) if part)
    return mask_echoed(text, config.values())


async def run_connection_tests(client: CrmClient, plan: Plan, live: Live, mode: TestMode) -> Mapping[str, TestResult]:
    """Test results by change ref; concurrency is bounded by the client."""
    changes = [c for c in plan.changes if _wanted(c, mode)]
    connectors = {c.name: c for c in plan.changes if c.kind == "SyncConnector" and not deletes(c.action)}
    results = await asyncio.gather(*(_test_one(client, c, connectors, live) for c in changes))
    return {change.ref: result for change, result in zip(changes, results)}
