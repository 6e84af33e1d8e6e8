"""`reconcile apply` on several targets, end to end against the multi-tenant emulator over real HTTP:
one question for all, one tenant failing never stops the others, --max-deletes per target."""

from __future__ import annotations

from pathlib import Path

import pytest

from _tenants import Tenants, reconcile, token_env
from test_e2e_tty import run_on_terminal

pytestmark = pytest.mark.slow

NAMES = {"customer-a": "Cust10001", "customer-b": "Cust10002", "customer-c": "Cust10003"}


def without_quote_connections(workdir: Path) -> None:
    """fewer/: the examples without their two Quote connections."""
    fewer = workdir / "fewer"
    fewer.mkdir()
    documents = (workdir / "examples" / "connections.yaml").read_text(encoding="utf-8").split("\n---\n")
    (fewer / "connections.yaml").write_text("\n---\n".join(d for d in documents if "kind: QuoteConnection" not in d),
                                            encoding="utf-8")
    (fewer / "secrets").symlink_to(workdir / "examples" / "secrets")


def test_apply_to_all_targets_goes_on_past_a_tenant_that_refuses_the_credentials(tenants: Tenants) -> None:
    env = {**token_env(*NAMES), "TOKEN_CUSTOMER_B": "not-the-token"}

    result = reconcile("apply", "-f", "examples/", "--all-targets", "--auto-approve", env=env)

    assert result.exit_code == 1
    assert "━━ applied to customer-a ━━" in result.output and "━━ applied to customer-c ━━" in result.output
    assert "applied to customer-b" not in result.output
    assert "Exit 1: not planned (see above): customer-b." in result.output
    after = reconcile("plan", "-f", "examples/", "--target", "customer-a", "--target", "customer-c",
                      "--detailed-exitcode", env=env)
    assert after.exit_code == 0, after.output


def test_apply_to_several_targets_asks_once_and_a_no_writes_nothing(
    tenants: Tenants, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = token_env(*NAMES)
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    code, output = run_on_terminal(["apply", "-f", "examples/", "--target", "customer-*"], "n", workdir)

    assert output.count("Apply these changes to the CRM?") == 1
    assert "3 target(s) to change: customer-a, customer-b, customer-c." in output
    assert output.index("Summary of 3 target(s)") < output.index("Apply these changes")
    assert code == 1 and "Nothing was applied." in output
    assert reconcile("plan", "-f", "examples/", "--all-targets", "--detailed-exitcode", env=env).exit_code == 2


def test_without_a_terminal_apply_to_several_targets_needs_auto_approve(tenants: Tenants) -> None:
    result = reconcile("apply", "-f", "examples/", "--all-targets", env=token_env(*NAMES))
    assert result.exit_code == 1
    assert "pass --auto-approve" in result.output


def test_max_deletes_holds_per_target_not_for_the_whole_run(tenants: Tenants, workdir: Path) -> None:
    env = token_env(*NAMES)
    both = ("--target", "customer-a", "--target", "customer-c")
    assert reconcile("apply", "-f", "examples/", *both, "--auto-approve", env=env).exit_code == 0
    without_quote_connections(workdir)

    # Two soft-deletes in each target: four in the run, within a budget of two per target.
    result = reconcile("apply", "-f", "fewer/", *both, "--max-deletes", "2", "--allow-empty", "--auto-approve", env=env)

    assert result.exit_code == 0, result.output
    assert result.output.count("Apply: 2 done, 0 failed, 0 skipped. The CRM matches the manifests.") == 2


def test_a_target_over_its_deletion_budget_is_refused_and_the_others_are_applied(tenants: Tenants, workdir: Path) -> None:
    env = token_env(*NAMES)
    assert reconcile("apply", "-f", "examples/", "--target", "customer-a", "--auto-approve", env=env).exit_code == 0
    without_quote_connections(workdir)

    result = reconcile("apply", "-f", "fewer/", "--target", "customer-a", "--target", "customer-b",
                       "--max-deletes", "1", "--allow-empty", "--auto-approve", env=env)

    assert result.exit_code == 1
    a = result.output[result.output.index("━━ target customer-a"):result.output.index("━━ target customer-b")]
    assert "would soft-delete 2" in a or "limit of 1" in a, a
    assert "━━ applied to customer-b ━━" in result.output
    assert "Exit 1: not planned (see above): customer-a." in result.output
