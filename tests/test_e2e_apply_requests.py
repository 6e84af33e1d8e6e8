"""Apply's cost follows the changes: after applying one change, the convergence check
reads again what was written, not the whole tenant (measured with the request counter)."""

from __future__ import annotations

from pathlib import Path

import pytest

from _manifest_texts import SYNC_FLOW, manifest_document
from conftest import Cli

CONNECTOR = SYNC_FLOW + "---\n" + manifest_document(
    "ErpConnection", "Visma Production",
    "  connector: Visma.net\n  description: %(description)s\n  scope: {everyone: true}\n"
    "  config: {CompanyId: 1, ApiKey: demo-key}",
)
QUOTE = "---\n" + manifest_document(
    "QuoteConnection", "Quotes %(i)03d",
    "  connector: Visma.Quote\n  erpConnection: Visma Production\n  scope: {everyone: true}\n"
    "  config: {PriceListCurrency: NOK}",
)


def _write(directory: Path, quotes: int, description: str) -> str:
    directory.mkdir(exist_ok=True)
    text = CONNECTOR % {"description": description} + "".join(QUOTE % {"i": i} for i in range(quotes))
    (directory / "set.yaml").write_text(text)
    return str(directory)


def _requests(cli: Cli, *args: str) -> int:
    assert cli.server is not None
    cli.server.reset_requests()
    result = cli(*args)
    assert result.exit_code == 0, result.output
    return cli.server.request_total()


def _costs(cli: Cli, directory: Path, quotes: int) -> tuple[int, int]:
    """Requests of a plan and of an apply of one changed description, in a tenant of `quotes` quote connections."""
    flags = ("--test", "none", "--allow-deletes", "--allow-empty")
    manifests = _write(directory, quotes, "first")
    assert cli("apply", "-f", manifests, "--auto-approve", *flags).exit_code == 0
    manifests = _write(directory, quotes, "second")
    plan = _requests(cli, "plan", "-f", manifests, *flags)
    apply = _requests(cli, "apply", "-f", manifests, "--auto-approve", *flags)
    return plan, apply


@pytest.mark.slow
def test_the_convergence_check_reads_what_apply_wrote_not_the_tenant(http_cli: Cli, workdir: Path):
    plan_few, apply_few = _costs(http_cli, workdir / "few", 2)
    plan_many, apply_many = _costs(http_cli, workdir / "many", 30)
    # Planning reads every quote connection's config (the API has no list call for it);
    # apply plans once, so it grows with the tenant once, not twice.
    assert plan_many > plan_few
    assert apply_many - apply_few == plan_many - plan_few
    assert apply_many - plan_many <= 12  # the write, and re-reading what it wrote
