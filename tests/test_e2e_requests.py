"""How a plan talks to the CRM: one config read per ERP connection on top of a
fixed number of requests, and retries through 429 + Retry-After."""

from __future__ import annotations

from pathlib import Path

import pytest

from _manifest_texts import SYNC_FLOW, manifest_document
from conftest import Cli

CONNECTOR = SYNC_FLOW
CONNECTION = "---\n" + manifest_document(
    "ErpConnection", "Visma %(i)03d",
    "  connector: Visma.net\n  scope: {everyone: true}\n  config: {CompanyId: %(i)d, ApiKey: demo-key-%(i)d}",
)


def write_manifests(directory: Path, connections: int) -> str:
    directory.mkdir(exist_ok=True)
    (directory / "set.yaml").write_text(CONNECTOR + "".join(CONNECTION % {"i": i} for i in range(connections)))
    return str(directory)


def requests_for_a_plan(cli: Cli, manifests: str) -> int:
    assert cli.server is not None
    applied = cli("apply", "-f", manifests, "--auto-approve", "--allow-deletes", "--allow-empty")
    assert applied.exit_code == 0, applied.output
    cli.server.reset_requests()
    result = cli("plan", "-f", manifests, "--test", "none", "--detailed-exitcode", "--allow-deletes", "--allow-empty")
    assert result.exit_code == 0 and "No changes" in result.stdout, result.output
    return cli.server.request_total()


@pytest.mark.slow
def test_requests_per_plan_grow_by_one_config_read_per_erp_connection(http_cli: Cli, workdir: Path):
    # GetAllConnections carries no config data: each connection's values cost one
    # GetErpConnectionConfigFields; everything else is a fixed number of requests.
    few = requests_for_a_plan(http_cli, write_manifests(workdir / "few", 2))
    many = requests_for_a_plan(http_cli, write_manifests(workdir / "many", 25))
    assert many - few == 23
    assert few - 2 <= 12


def test_plan_retries_through_rate_limiting(http_cli: Cli, workdir: Path):
    assert http_cli.server is not None
    assert http_cli("apply", "-f", "examples/", "--auto-approve").exit_code == 0
    http_cli.server.reset_requests()
    baseline = http_cli("plan", "-f", "examples/", "--detailed-exitcode")
    assert baseline.exit_code == 0
    plain = http_cli.server.request_total()

    http_cli.server.set_faults(rate_limit_every=3, retry_after_s=0)
    http_cli.server.reset_requests()
    limited = http_cli("plan", "-f", "examples/", "--detailed-exitcode")
    assert limited.exit_code == 0, limited.output
    assert "No changes" in limited.stdout
    assert http_cli.server.request_total() > plain  # the refused requests were sent again
