"""Sync configuration under kills and concurrency: an apply of sync changes SIGKILLed at
random points (also halfway through the ERP-tab moves) and run again finishes the job;
two applies of sync changes at once leave a CRM that the next apply brings to the
manifests ("No changes" after it)."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from _reliability import Runner, runner_on_a_served_emulator

pytestmark = pytest.mark.slow  # see docs/development.md

SLOW = {"latency_ms": 30, "jitter_ms": 50, "fault_seed": 3}
CONNECTIONS = 6
MOVE = "/api/v1/Agents/ErpSync/MoveErpFieldItem"
# The Customer fields of the Visma.net connector, in the connector's rank order.
CUSTOMER_FIELDS = ("NUMBER", "NAME", "VATNO", "PHONE", "EMAIL", "POSTALZIP", "POSTALCITY", "COUNTRY",
                   "CATEGORY", "PAYTERMS", "CREDITLIMIT", "BALANCE")


def sync_manifests(directory: Path, version: int, tab_order: Sequence[str] = ()) -> Path:
    docs = ["apiVersion: erp-reconciler/v1\nkind: SyncConnector\nmetadata:\n  name: Visma.net\n"
            "spec:\n  url: https://connectors.example.com/visma\n"]
    for n in range(CONNECTIONS):
        # Every connection maps the same CRM fields, so none is one way to the CRM
        # (the CRM refuses toCrm on a field another connection maps: AlreadyMapped).
        vat, email = ("both", "both") if version == 1 else ("toErp", "none")
        category = '{"A": Key account}' if version == 1 else '{"A": Customer, "B": Key account}'
        payterms = '{value: "30"}' if version == 1 else '{value: "10", askUser: true}'
        priority = n + 1 if version == 1 else CONNECTIONS - n
        docs.append(f"""apiVersion: erp-reconciler/v1
kind: ErpConnection
metadata:
  name: Sync {n:02d}
spec:
  connector: Visma.net
  active: {"true" if n % 2 == 0 else "false"}
  scope:
    everyone: true
  config:
    CompanyId: {100 + n}
    ApiKey: demo-key-{n}
  sync:
    priority: {priority}
    actors:
      Customer:
        fields:
          NAME: {{crmField: contact/name, direction: both}}
          VATNO: {{crmField: contact/orgnr, direction: {vat}}}
          EMAIL: {{crmField: contact/email, direction: {email}}}
          PHONE: {{crmField: contact/phone, direction: {"toErp" if version == 2 else "none"}}}
          CATEGORY: {{crmField: contact/category, direction: both}}
          BALANCE: {{erpTab: true}}
        {f"erpTabOrder: [{', '.join(tab_order)}]" if tab_order else ""}
        defaults:
          PAYTERMS: {payterms}
        lists:
          CATEGORY: {category}
      Person:
        enabled: {"true" if version == 2 else "false"}
        fields:
          FIRSTNAME: {{crmField: person/firstname, direction: both}}
          LASTNAME: {{crmField: person/lastname, direction: both}}
""")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sync.yaml").write_text("---\n".join(docs), encoding="utf-8")
    return directory


@pytest.fixture()
def runner(tmp_path: Path) -> Iterator[Runner]:
    with runner_on_a_served_emulator(tmp_path) as r:
        yield r


@pytest.mark.parametrize("seed", [1, 2])
def test_sync_changes_killed_at_random_points_then_rerun_converges(runner: Runner, seed: int) -> None:
    v1 = sync_manifests(runner.work / "v1", 1)
    v2 = sync_manifests(runner.work / "v2", 2)
    code, output = runner.run("apply", "-f", str(v1), "--auto-approve")
    assert code == 0, output
    runner.apply_killed_repeatedly(v2, seed=seed, delays=(0.5, 3.0), faults=SLOW)
    runner.assert_a_clean_apply_converges(v2)


def test_two_applies_of_sync_changes_at_once_then_the_next_apply_converges(runner: Runner) -> None:
    # Version 2 also reverses the ERP tab: both applies move the same fields at once.
    v1 = sync_manifests(runner.work / "v1", 1, CUSTOMER_FIELDS)
    v2 = sync_manifests(runner.work / "v2", 2, CUSTOMER_FIELDS[::-1])
    code, output = runner.run("apply", "-f", str(v1), "--auto-approve")
    assert code == 0, output
    runner.emulator.set_faults(**SLOW)
    # Both start from v1 and write the same sync changes, interleaved; the moves of one
    # can spoil the other's (each checks its result and may give up: not a traceback).
    started = [runner.start("apply", "-f", str(v2), "--auto-approve") for _ in range(2)]
    for process, log in started:
        code, output = runner.finish(process, log)
        assert "Traceback" not in output, output
    runner.assert_a_clean_apply_converges(v2)


@pytest.mark.parametrize("seed", [1, 2])
def test_an_apply_killed_halfway_through_the_erp_tab_moves_then_rerun_converges(runner: Runner, seed: int) -> None:
    v1 = sync_manifests(runner.work / "v1", 1, CUSTOMER_FIELDS)
    reversed_order = sync_manifests(runner.work / "v2", 1, CUSTOMER_FIELDS[::-1])  # 66 one-place moves each
    code, output = runner.run("apply", "-f", str(v1), "--auto-approve")
    assert code == 0, output
    rng = random.Random(seed)
    runner.emulator.set_faults(**SLOW)
    for _ in range(2):
        runner.apply_killed(reversed_order, after_requests=(MOVE, rng.randint(5, 120)))
    assert runner.kills >= 1, "no apply was killed during the moves"
    runner.emulator.set_faults()
    code, output = runner.run("plan", "-f", str(reversed_order), "--detailed-exitcode")
    assert code == 2 and "erpTabOrder" in output, output  # the kills left a partial order
    runner.assert_a_clean_apply_converges(reversed_order)
