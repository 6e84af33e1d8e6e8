"""From manifests and a CRM to a tested Plan: snapshot, plan, connection tests."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.connection_tests import TestMode, run_connection_tests
from reconciler.crm.client import CrmClient
from reconciler.crm.live import Live
from reconciler.crm.snapshot import SnapshotNeeds, snapshot
from reconciler.gc_tuning import builds_acyclic_data
from reconciler.crm.sync_snapshot import SyncNeeds
from reconciler.manifest.models import Desired, ErpConnection, QuoteConnection
from reconciler.plan.model import Plan
from reconciler.plan.planner import PlanOptions, make_plan


# A plan is a large acyclic tree: made with the cyclic collector paused.
plan_changes = builds_acyclic_data(make_plan)


@dataclass(frozen=True)
class PlannedRun:
    plan: Plan
    live: Live


def snapshot_needs(desired: Desired) -> SnapshotNeeds:
    syncs = {
        r.name: r.manifest.spec.sync for r in desired.resources
        if isinstance(r.manifest, ErpConnection) and r.manifest.spec.sync is not None
    }
    return SnapshotNeeds(
        quote_connector_names=frozenset(
            r.manifest.spec.connector for r in desired.resources if isinstance(r.manifest, QuoteConnection)
        ),
        sync={
            name: SyncNeeds(
                tuple(sync.actors),
                tuple(a for a, spec in sync.actors.items() if spec.defaults is not None),
                tuple(a for a, spec in sync.actors.items() if spec.erpTabOrder),
            )
            for name, sync in syncs.items()
        },
        sync_priority=any(sync.priority is not None for sync in syncs.values()),
    )


async def read_live(client: CrmClient, desired: Desired, target: str) -> Live:
    return await snapshot(client, target_description=target, needs=snapshot_needs(desired))


async def build_plan(
    client: CrmClient, desired: Desired, *, target: str, options: PlanOptions, test_mode: TestMode
) -> PlannedRun:
    live = await read_live(client, desired, target)
    plan = plan_changes(desired, live, options)
    results = await run_connection_tests(client, plan, live, test_mode)
    return PlannedRun(plan=plan.with_tests(results), live=live)
