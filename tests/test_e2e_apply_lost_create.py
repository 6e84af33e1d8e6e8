"""A create that loses the race to another apply is reported once, as failed, with the reason.

The race is staged deterministically: the emulator slows down the connector test that
apply makes before it creates an object, and while apply waits for it, "another apply"
(this test) creates an object of the same name. That copy is older (a lower id), so
the run under test soft-deletes its own copy and fails its change
(`reconciler/apply/create_races.py`): the change must appear once, in the progress
lines, the JSON report and the summary of several targets alike.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from _tenants import Tenants, reconcile, tenants_with_project, token_env
from conftest import DEMO_TOKEN, Cli
from reconciler.apply.executor import execute
from reconciler.crm.client import CrmClient
from reconciler.crm.errors import CrmError
from reconciler.crm.live import LiveConnector, LiveErpConnection
from reconciler.manifest.loader import load_desired
from reconciler.plan.outcome import Outcome
from reconciler.plan.planner import make_plan
from reconciler.planning import read_live

pytestmark = pytest.mark.slow  # the staged race waits for a slowed-down connector test

URL = "https://connectors.example.com/visma"
CONNECTOR = f"""apiVersion: erp-reconciler/v1
kind: SyncConnector
metadata: {{name: Visma.net}}
spec: {{url: {URL}}}
"""
ERP_CONNECTION = """---
apiVersion: erp-reconciler/v1
kind: ErpConnection
metadata: {name: Visma Production}
spec:
  connector: Visma.net
  active: true
  scope: {everyone: true}
  config: {CompanyId: 1, ApiKey: demo-key}
"""
REF = "SyncConnector/Visma.net"
LOST = "another apply created it at the same time (id "
OWN_COPY_REMOVED = "this run soft-deleted its own copy (id "


def _asked(tenant_url: str, method: str) -> int:
    counted = httpx.get(tenant_url + "_emulator/requests", timeout=10).json()["by_path"]
    return int(counted.get(f"/api/v1/Agents/ErpSync/{method}", 0))


async def _create_connector(client: CrmClient) -> None:
    await client.save_connector(0, "Visma.net", URL)


async def _create_erp_connection(client: CrmClient) -> None:
    [connector] = await client.get_connectors_with_urls()
    await client.save_connection(LiveErpConnection(
        id=0, connector_id=connector.id, name="Visma Production", description="", active=False, guid="",
        deleted=False, all_access=True, config={"CompanyId": "1", "ApiKey": "other-key"},
    ))


@contextmanager
def another_apply_creates(tenant_url: str, tested_by: str, create: Callable[[CrmClient], Awaitable[None]]) -> Iterator[None]:
    """While the run in the `with` block waits for the connector test (`tested_by`) it
    makes after its check that the name is free and before its create, `create` makes
    an object of the same name: the race two applies at once can run into. (The run
    plans with `--test none`, so that apply's connector test is the first.)"""
    httpx.put(tenant_url + "_emulator/faults", json={"connector_test_latency_ms": 1500}, timeout=10).raise_for_status()
    httpx.post(tenant_url + "_emulator/requests/reset", timeout=10).raise_for_status()
    problems: list[BaseException] = []

    async def create_as_another_apply() -> None:
        async with CrmClient(tenant_url, headers={"Authorization": f"Bearer {DEMO_TOKEN}"}) as client:
            await create(client)

    def create_once_tested() -> None:
        try:
            deadline = time.monotonic() + 30
            while not _asked(tenant_url, tested_by):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"apply never called {tested_by}")
                time.sleep(0.02)
            asyncio.run(create_as_another_apply())
        except BaseException as problem:  # reported by the test's thread below
            problems.append(problem)

    other = threading.Thread(target=create_once_tested, daemon=True)
    other.start()
    try:
        yield
    finally:
        other.join(timeout=30)
        httpx.put(tenant_url + "_emulator/faults", json={}, timeout=10).raise_for_status()
    assert not problems, problems


def _lines_naming(output: str, ref: str) -> list[str]:
    return [line.strip() for line in output.splitlines() if f" {ref}:" in line]


def test_a_lost_create_is_printed_and_reported_once_as_failed(http_cli: Cli, workdir: Path) -> None:
    assert http_cli.server is not None
    (workdir / "connector.yaml").write_text(CONNECTOR)

    with another_apply_creates(http_cli.server.url, "TestConnectorUrl", _create_connector):
        result = http_cli("apply", "-f", "connector.yaml", "--auto-approve", "--test", "none",
                          "--report", "report.json")

    assert result.exit_code == 1, result.output
    lines = _lines_naming(result.stdout, REF)
    assert len(lines) == 1, result.stdout
    assert lines[0].startswith(f"✗ + {REF}: {LOST}") and OWN_COPY_REMOVED in lines[0], lines[0]
    assert "Apply: 0 done, 1 failed, 0 skipped." in result.stdout
    report = json.loads((workdir / "report.json").read_text())
    assert report["summary"] == {"done": 0, "failed": 1, "skipped": 0}
    [change] = report["changes"]
    assert change["status"] == "failed" and change["message"].startswith(LOST), change


def test_an_erp_connection_that_lost_is_removed_before_it_is_activated_and_reported_once(
    http_cli: Cli, workdir: Path
) -> None:
    assert http_cli.server is not None
    (workdir / "connector.yaml").write_text(CONNECTOR)
    assert http_cli("apply", "-f", "connector.yaml", "--auto-approve").exit_code == 0
    (workdir / "connector.yaml").write_text(CONNECTOR + ERP_CONNECTION)

    with another_apply_creates(http_cli.server.url, "TestConnectionByConfig", _create_erp_connection):
        result = http_cli("apply", "-f", "connector.yaml", "--auto-approve", "--test", "none")

    assert result.exit_code == 1, result.output
    lines = _lines_naming(result.stdout, "ErpConnection/Visma Production")
    assert len(lines) == 1, result.stdout
    line = lines[0]
    assert line.startswith(f"✗ + ErpConnection/Visma Production: {LOST}") and OWN_COPY_REMOVED in line, line
    # Its copy was soft-deleted inactive: never tested by id nor switched on.
    assert _asked(http_cli.server.url, "TestConnectionById") == 0
    assert _asked(http_cli.server.url, "ToggleErpConnectionActive") == 0


@pytest.fixture
def tenants(workdir: Path, tmp_path: Path) -> Iterator[Tenants]:
    with tenants_with_project(workdir, tmp_path, {"customer-a": "Cust10001", "customer-b": "Cust10002"}) as served:
        yield served


def test_a_lost_create_is_listed_once_as_failed_in_the_report_of_several_targets(
    tenants: Tenants, workdir: Path
) -> None:
    (workdir / "connector.yaml").write_text(CONNECTOR)
    env = token_env("customer-a", "customer-b")

    with another_apply_creates(tenants.tenant_url("Cust10001"), "TestConnectorUrl", _create_connector):
        result = reconcile("apply", "-f", "connector.yaml", "--all-targets", "--auto-approve", "--test", "none",
                           env=env)

    assert result.exit_code == 1, result.output
    applied_to_a = result.output[result.output.index("━━ applied to customer-a ━━"):
                                 result.output.index("━━ applied to customer-b ━━")]
    lines = _lines_naming(applied_to_a, REF)
    assert len(lines) == 1, applied_to_a
    assert lines[0].startswith(f"✗ + {REF}: {LOST}") and OWN_COPY_REMOVED in lines[0], lines[0]
    assert "Apply: 0 done, 1 failed, 0 skipped." in applied_to_a
    applied_to_b = result.output[result.output.index("━━ applied to customer-b ━━"):]
    [created] = _lines_naming(applied_to_b, REF)
    assert created.startswith(f"✓ + {REF}: created"), applied_to_b
    assert "Exit 1: apply failed on customer-a." in result.output


def test_a_create_whose_names_cannot_be_read_again_fails_and_says_why(embedded_cli: Cli, workdir: Path) -> None:
    (workdir / "connector.yaml").write_text(CONNECTOR)

    async def plan_then_apply(client: CrmClient) -> list[Outcome]:
        desired = load_desired(["connector.yaml"])
        plan = make_plan(desired, await read_live(client, desired, "t"))
        read_names = client.get_connectors_with_urls
        reads = 0

        async def names_once() -> list[LiveConnector]:
            nonlocal reads
            reads += 1
            if reads > 1:  # the read after the create
                raise CrmError("ErpSync/GetAllConnectors", "the CRM did not answer")
            return await read_names()

        client.get_connectors_with_urls = names_once  # type: ignore[method-assign]
        heard: list[Outcome] = []
        outcomes = await execute(client, plan, heard.append)
        assert heard == outcomes
        return outcomes

    [outcome] = embedded_cli.run_crm(plan_then_apply)
    assert outcome.status == "failed"
    assert outcome.message.startswith("created (id ")
    assert ("but whether another apply created it at the same time could not be checked: "
            "CRM request ErpSync/GetAllConnectors the CRM did not answer; run plan again") in outcome.message
