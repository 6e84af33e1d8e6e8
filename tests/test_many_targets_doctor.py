"""`reconcile doctor` on several targets against the multi-tenant emulator over real HTTP."""

from __future__ import annotations

import json

import pytest

from _tenants import Tenants, reconcile, token_env

pytestmark = pytest.mark.slow

NAMES = {"customer-a": "Cust10001", "customer-b": "Cust10002"}


def test_doctor_checks_every_target_and_names_the_one_that_is_not_ready(tenants: Tenants) -> None:
    env = {**token_env(*NAMES), "TOKEN_CUSTOMER_B": "not-the-token"}

    result = reconcile("doctor", "--all-targets", env=env)

    assert result.exit_code == 1
    a = result.output[result.output.index("━━ target customer-a ━━"):result.output.index("━━ target customer-b ━━")]
    assert "This target is ready for reconcile plan." in a
    rows = {line.split()[0]: line.split()[1] for line in result.output.splitlines()
            if line.strip().startswith("customer-")}
    assert rows == {"customer-a": "ready", "customer-b": "not"}
    # A fresh tenant has no ERP connection: its three sync rows are notes, and it is still ready.
    counts = next(line.split()[2:6] for line in result.output.splitlines() if line.strip().startswith("customer-a"))
    assert counts == ["8", "3", "0", "0"]
    header = next(line for line in result.output.splitlines() if line.strip().startswith("Target "))
    assert header.split()[:7] == ["Target", "Result", "passed", "notes", "failed", "not", "checked"]
    assert "Exit 1: not ready: customer-b." in result.output
    assert "not-the-token" not in result.output


def test_doctor_json_has_each_targets_report(tenants: Tenants) -> None:
    result = reconcile("doctor", "--target", "customer-*", "--output", "json", env=token_env(*NAMES))

    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["passed"] is True
    assert [(t["name"], t["report"]["passed"]) for t in document["targets"]] == [("customer-a", True), ("customer-b", True)]
