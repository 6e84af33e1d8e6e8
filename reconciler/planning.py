"""From manifests and a CRM to a tested Plan: snapshot, plan, connection tests."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.connection_tests import TestMode, run_connection_tests
from reconciler.crm.client import CrmClient
from reconciler.crm.live import Live
from reconciler.crm.snapshot import SnapshotNeeds, snapshot
from reconciler.manifest.models import Desired, QuoteConnection
from reconciler.plan.model import Plan
from reconciler.plan.planner import PlanOptions, make_plan


@dataclass(frozen=True)
class PlannedRun:
    plan: Plan
    live: Live


def snapshot_needs(desired: Desired) -> SnapshotNeeds:
    return SnapshotNeeds(
        quote_connector_names=frozenset(
            r.manifest.spec.connector for r in desired.resources if isinstance(r.manifest, QuoteConnection)
        )
    )


async def read_live(client: CrmClient, desired: Desired, target: str) -> Live:
    return await snapshot(client, target_description=target, needs=snapshot_needs(desired))


async def build_plan(
    client: CrmClient, desired: Desired, *, target: str, options: PlanOptions, test_mode: TestMode
) -> PlannedRun:
    live = await read_live(client, desired, target)
    plan = make_plan(desired, live, options)
    results = await run_connection_tests(client, plan, live, test_mode)
    return PlannedRun(plan=plan.with_tests(results), live=live)
