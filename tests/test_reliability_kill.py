"""Kill-and-rerun: `reconcile apply` SIGKILLed at many points, then run again, converges
with no duplicates (issue 5 "resumable", issue 7 "kill-and-rerun").

The emulator runs as its own process (`reconcile emulator serve`), slowed down with
latency so that an apply takes a few seconds; apply runs as a subprocess and is
killed after a given number of its progress lines, or after a seeded random delay.
A final apply without faults must finish the job: exit 0, a following plan says
"No changes", and the CRM holds exactly the manifests' objects, once each.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from _reliability import ManifestSet, Runner, census, runner_on_a_served_emulator

pytestmark = pytest.mark.slow  # see docs/development.md

SLOW = {"latency_ms": 30, "jitter_ms": 50, "fault_seed": 7}
V1 = ManifestSet(erp=15, quotes=10, version=1)
# v2 updates everything v1 made (active ERP connections: deactivate, save, test, activate)
# and drops ERP 013-014 and Quote 008-009 (4 soft-deletes, within the default budget).
V2 = ManifestSet(erp=13, quotes=8, version=2)


def _assert_converged(runner: Runner, manifests: Path, expected: ManifestSet) -> None:
    print(f"\nkill: {runner.kills} apply run(s) killed mid-way, then a clean apply")
    runner.assert_a_clean_apply_converges(manifests)  # the last apply runs without faults
    census(runner.emulator.url).assert_one_copy_of(expected)


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[Runner]:
    with runner_on_a_served_emulator(tmp_path) as running:
        yield running


# Progress lines after which to kill: 0 = right after the plan, while connectors are
# saved; 5 = within the ERP phase (some created inactive, not yet tested or activated);
# 20 = within the quote phase (created, maybe without their config yet).
@pytest.mark.parametrize("after_lines", [0, 5, 20])
def test_create_killed_after_progress_lines_then_rerun_converges(runner: Runner, after_lines: int) -> None:
    manifests = V1.write(runner.work / "v1")
    runner.emulator.set_faults(**SLOW)
    assert runner.apply_killed(manifests, after_lines=after_lines), "apply finished before the kill point"
    _assert_converged(runner, manifests, V1)


@pytest.mark.parametrize("seed", [1, 2])
def test_update_and_delete_killed_repeatedly_at_random_points_then_rerun_converges(runner: Runner, seed: int) -> None:
    v1 = V1.write(runner.work / "v1")
    v2 = V2.write(runner.work / "v2")
    code, output = runner.run("apply", "-f", str(v1), "--auto-approve")
    assert code == 0, output
    runner.apply_killed_repeatedly(v2, seed=seed, delays=(0.3, 2.5), faults=SLOW)
    _assert_converged(runner, v2, V2)


@pytest.mark.parametrize("seed", [11])
def test_create_killed_at_random_delays_under_seeds_then_rerun_converges(runner: Runner, seed: int) -> None:
    manifests = V1.write(runner.work / "v1")
    runner.apply_killed_repeatedly(manifests, seed=seed, delays=(0.3, 2.0), faults={**SLOW, "fault_seed": seed})
    _assert_converged(runner, manifests, V1)
