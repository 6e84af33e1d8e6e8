"""Many tenants with system user credentials: one login service for every tenant of the
multi-tenant emulator, each target exchanging its own ticket for its own context id."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from _tenants import Tenants, served_tenants
from reconciler.cli import main
from reconciler.emulator.seed import load_seed

pytestmark = pytest.mark.slow

SEED = load_seed(None).system_user
assert SEED is not None


@pytest.fixture
def tenants(workdir: Path, tmp_path: Path) -> Iterator[Tenants]:
    with served_tenants(tmp_path / "tenants", 2) as served:
        (workdir / "demo-key.pem").write_text(SEED.app_private_key)
        lines = ["targets:"]
        for name, context_variable in (("customer-a", "CTX_A"), ("customer-b", "CTX_B")):
            lines += [f"  {name}:", f"    loginUrl: {served.url}",
                      f"    credentials: {{systemUserToken: SO_SUT, privateKeyFile: SO_KEY, appToken: SO_SECRET, "
                      f"contextId: {context_variable}}}"]
        (workdir / "reconcile.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
        yield served


def reconcile(*args: str, env: dict[str, str]) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_each_target_logs_in_to_its_own_tenant_through_the_shared_login_service(tenants: Tenants, workdir: Path) -> None:
    env = {"SO_SUT": SEED.system_user_token, "SO_KEY": str(workdir / "demo-key.pem"), "SO_SECRET": SEED.app_token,
           "CTX_A": "Cust10001", "CTX_B": "Cust10002"}
    applied = reconcile("apply", "-f", "examples/", "--target", "customer-a", "--auto-approve", env=env)
    assert applied.exit_code == 0, applied.output

    result = reconcile("plan", "-f", "examples/", "--all-targets", "--detailed-exitcode", env=env)

    assert result.exit_code == 2, result.output
    assert "Exit 2: 1 target(s) with changes: customer-b." in result.output
    exchanges = [httpx.get(tenants.tenant_url(c) + "_emulator/login", timeout=10).json()["exchanges"]
                 for c in ("Cust10001", "Cust10002")]
    assert exchanges == [2, 1]  # customer-a: the apply and the plan; customer-b: the plan
    wrong = reconcile("plan", "-f", "examples/", "--all-targets", env={**env, "CTX_B": "Cust99999"})
    assert wrong.exit_code == 1 and "Exit 1: 1 target(s) failed: customer-b." in wrong.output
