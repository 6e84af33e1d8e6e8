"""Test every connection a plan would create, update or restore, with its desired config.

ERP connections: ErpSync `TestConnectionByConfig`, which answers only true/false
(reference §3: the connector's explanation does not reach REST callers).
Quote connections: Quote `TestConnection`, whose PluginResponse explains a failure.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Literal

from reconciler.crm.client import CrmClient
from reconciler.crm.errors import CrmError
from reconciler.crm.live import Live
from reconciler.crm.wire import TestOutcome
from reconciler.plan.model import Change, ErpConnectionState, Plan, QuoteConnectionState, TestResult
from reconciler.secrets import mask_echoed

TestMode = Literal["all", "changed", "none"]
ERP_FAILED = "the connector rejected this configuration (the ErpSync API gives no reason; check the values and the connector's log)"


def _wanted(change: Change, mode: TestMode) -> bool:
    if mode == "none" or change.desired is None or change.kind == "SyncConnector":
        return False
    return mode == "all" or change.action in ("create", "update", "restore")


def _deferred_reason(change: Change, connectors: Mapping[str, Change], live: Live) -> str | None:
    """Why a connection cannot be tested before apply, or None if it can."""
    desired = change.desired
    if isinstance(desired, ErpConnectionState):
        connector_change = connectors.get(desired.connector)
        if connector_change is None or connector_change.action in ("create", "restore"):
            return f"connector '{desired.connector}' is registered by this plan; apply tests the connection after that"
        if any(f.path == "url" for f in connector_change.fields):
            return f"the URL of connector '{desired.connector}' changes in this plan; apply tests the connection after that"
        if connector_change.live_id not in live.erp_fields:
            return f"the config fields of connector '{desired.connector}' could not be read"
    return None


async def _test_one(client: CrmClient, change: Change, connectors: Mapping[str, Change], live: Live) -> TestResult:
    reason = _deferred_reason(change, connectors, live)
    if reason is not None:
        return TestResult("deferred", reason)
    desired = change.desired
    try:
        if isinstance(desired, ErpConnectionState):
            connector_id = connectors[desired.connector].live_id
            assert connector_id is not None
            ok = await client.test_erp_by_config(
                connector_id=connector_id, connection_id=change.live_id or 0, config=desired.config
            )
            return TestResult("passed") if ok else TestResult("failed", ERP_FAILED)
        assert isinstance(desired, QuoteConnectionState)
        outcome = await client.test_quote_connection(desired.connector, desired.config)
    except CrmError as error:
        return TestResult("failed", f"the test could not run: {error}")
    return TestResult("passed" if outcome.ok else "failed", explain(outcome, desired.config))


def explain(outcome: TestOutcome, config: Mapping[str, object]) -> str:
    """A connector's explanation, with any secret of `config` it echoes masked."""
    text = " — ".join(part for part in (outcome.user_explanation, outcome.tech_explanation) if part)
    return mask_echoed(text, config.values())


async def run_connection_tests(client: CrmClient, plan: Plan, live: Live, mode: TestMode) -> Mapping[str, TestResult]:
    """Test results by change ref; concurrency is bounded by the client."""
    changes = [c for c in plan.changes if _wanted(c, mode)]
    connectors = {c.name: c for c in plan.changes if c.kind == "SyncConnector" and c.action != "soft-delete"}
    results = await asyncio.gather(*(_test_one(client, c, connectors, live) for c in changes))
    return {change.ref: result for change, result in zip(changes, results)}
