"""Apply runs from the plan alone: once a plan is made, neither the manifests nor the
live snapshot it was made from is needed to carry it out."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import Cli
from reconciler.apply.executor import execute
from reconciler.manifest.loader import load_desired
from reconciler.plan.planner import make_plan
from reconciler.planning import read_live


def test_a_plan_is_applied_with_the_manifests_and_the_snapshot_gone(http_cli: Cli, workdir: Path):
    """The examples create their connectors in the same run, so the connections' config is
    checked only at apply time, and Visma Sandbox names its users and group."""

    async def plan_then_apply(crm):  # type: ignore[no-untyped-def]
        desired = load_desired(["examples/"])
        plan = make_plan(desired, await read_live(crm, desired, "t"))
        del desired
        shutil.rmtree(workdir / "examples")  # the secrets files go with them
        outcomes = await execute(crm, plan)
        users = {u.login: u.id for u in await crm.get_users()}
        groups = {g.name: g.id for g in await crm.get_user_groups()}
        sandbox = next(c for c in await crm.get_all_connections() if c.name == "Visma Sandbox")
        return outcomes, users, groups, sandbox

    outcomes, users, groups, sandbox = http_cli.run_crm(plan_then_apply)
    assert [(o.ref, o.status) for o in outcomes if o.status != "done"] == []
    assert len(outcomes) == 7
    assert sandbox.all_access is False
    assert sandbox.associate_ids == tuple(sorted((users["ADM"], users["AHO"])))
    assert sandbox.group_ids == (groups["Finance"],)
    assert set(sandbox.config) >= {"CompanyId", "ApiKey", "Environment", "SyncInvoices", "BatchSize"}
    assert sandbox.config["CompanyId"] == "99999"
