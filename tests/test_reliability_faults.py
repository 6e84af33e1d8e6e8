"""Fault soak: ~300 changes applied while the emulator answers 20% of requests 503
and some 429 (issue 7); and 429 bursts with Retry-After during plan.

The emulator is served over loopback HTTP (uvicorn in a thread) and `reconcile`
runs in-process through the CLI. Retry-After is 0 so the client's retries cost no
waiting (it honours Retry-After instead of its exponential backoff).

The emulator's `error_rate` answers 500 or 503 by default. A 500 is not retried
by the client (neither for reads nor writes: it is not a "busy" answer), so the
soak sets `error_statuses: [503]`: this test is about the 503/429 retry path,
which the client promises to survive.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _reliability import ManifestSet, census
from conftest import Cli, EmulatorServer

pytestmark = pytest.mark.slow  # see docs/development.md

SOAK_FAULTS = {"error_rate": 0.2, "error_statuses": [503], "rate_limit_rate": 0.05, "retry_after_s": 0, "fault_seed": 1234}
# Before: 100 ERP connections, 50 quote connections (applied without faults).
BEFORE = ManifestSet(erp=100, quotes=50, version=1)
# After: ERP 000-009 dropped (10 soft-deletes), ERP 010-099 updated (90), ERP 100-209
# created (110); the 50 quote connections updated (moved to other ERP connections,
# new config) and 50 more created. 310 changes in all.
AFTER = ManifestSet(erp=200, quotes=100, version=2, erp_start=10)
MAX_RUNS = 3


@pytest.fixture
def served(http_cli: Cli) -> Cli:
    """The CLI against an emulator served over loopback HTTP (conftest.py)."""
    return http_cli


def stats(server: EmulatorServer) -> dict:  # type: ignore[type-arg]
    return server.control("GET", "_emulator/requests")  # type: ignore[no-any-return]


def assert_only_exhausted_retries(output: str, report: Path) -> None:
    """The one acceptable reason for another run: some request met a fault more times
    in a row than the client's retry budget (6 attempts) allows. A change that failed
    for any other reason, or a skip not caused by such a failure, is a bug."""
    if not report.exists():  # the plan's reads gave up: nothing was applied
        assert "gave up after 6 attempts" in output, output
        return
    data = json.loads(report.read_text())
    failed = [c for c in data["changes"] if c["status"] == "failed"]
    assert failed, output
    for change in failed:
        assert "gave up after 6 attempts" in change["message"], change
    refs = {f"{c['kind']}/{c['name']}" for c in failed}
    for change in data["changes"]:
        if change["status"] == "skipped":
            assert change["message"].startswith("skipped:"), change
    skipped = {f"{c['kind']}/{c['name']}" for c in data["changes"] if c["status"] == "skipped"}
    assert {ref.rsplit(" (", 1)[0] for ref in data["notConverged"]} <= refs | skipped, data["notConverged"]


def test_300_changes_under_503_and_429_converge_with_no_duplicates_and_nothing_lost(
    served: Cli, workdir: Path
) -> None:
    server = served.server
    assert server is not None
    before = BEFORE.write(workdir / "before")
    after = AFTER.write(workdir / "after")
    result = served("apply", "-f", str(before), "--auto-approve")
    assert result.exit_code == 0, result.output

    planned = served("plan", "-f", str(after), "--max-deletes", "10")
    assert "Plan: 160 to create, 140 to update, 0 to restore, 10 to soft-delete" in planned.output, planned.output

    server.set_faults(**SOAK_FAULTS)
    server.reset_requests()
    runs: list[dict] = []  # type: ignore[type-arg]
    for attempt in range(1, MAX_RUNS + 1):
        report = workdir / f"report-{attempt}.json"
        result = served("apply", "-f", str(after), "--auto-approve", "--max-deletes", "10", "--report", str(report))
        assert "Traceback" not in result.output
        runs.append({"exit": result.exit_code, "output": result.output})
        if result.exit_code == 0:
            break
        assert_only_exhausted_retries(result.output, report)
    assert runs[-1]["exit"] == 0, f"not converged after {MAX_RUNS} runs:\n{runs[-1]['output']}"
    counts = stats(server)
    assert counts["faults"]["errors"] > 0 and counts["faults"]["rate_limited"] > 0
    print(f"\nsoak: {len(runs)} run(s), {counts['total']} requests, {counts['faults']['errors']} x 503, "
          f"{counts['faults']['rate_limited']} x 429")

    server.set_faults()
    check = served("plan", "-f", str(after), "--detailed-exitcode")
    assert check.exit_code == 0, check.output
    assert "No changes" in check.output
    census(server.url).assert_one_copy_of(AFTER)


def test_429_bursts_during_plan_are_retried_and_the_plan_is_unchanged(served: Cli, workdir: Path) -> None:
    """With one request at a time, every 3rd request answered 429 costs exactly one
    more request, and the plan (including 150 connection tests) is the same."""
    server = served.server
    assert server is not None
    manifests = BEFORE.write(workdir / "before")
    assert served("apply", "-f", str(manifests), "--auto-approve").exit_code == 0
    changed = AFTER.write(workdir / "after")
    args = ("plan", "-f", str(changed), "--test", "all", "--parallelism", "1", "--max-deletes", "10")

    server.reset_requests()
    calm = served(*args)
    assert calm.exit_code == 0, calm.output
    calm_requests = stats(server)["total"]

    server.set_faults(rate_limit_every=3, retry_after_s=0, fault_seed=5)
    server.reset_requests()
    bursty = served(*args)
    assert bursty.exit_code == 0, bursty.output
    counts = stats(server)
    rate_limited = counts["faults"]["rate_limited"]
    assert rate_limited == counts["total"] // 3
    assert counts["total"] == calm_requests + rate_limited
    assert bursty.output == calm.output
    print(f"\nplan: {calm_requests} requests without faults, {counts['total']} with every 3rd answered 429")
