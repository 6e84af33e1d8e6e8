"""Kill-and-rerun: `reconcile apply` SIGKILLed at many points, then run again, converges
with no duplicates (issue 5 "resumable", issue 7 "kill-and-rerun").

The emulator runs as its own process (`reconcile emulator serve`), slowed down with
latency so that an apply takes a few seconds; apply runs as a subprocess and is
killed after a given number of its progress lines, or after a seeded random delay.
A final apply without faults must finish the job: exit 0, a following plan says
"No changes", and the CRM holds exactly the manifests' objects, once each.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from _reliability import DEMO_TOKEN, CrmCensus, ManifestSet, census

PROGRESS_MARKS = ("✓", "✗", "–")
SLOW = {"latency_ms": 30, "jitter_ms": 50, "fault_seed": 7}
V1 = ManifestSet(erp=15, quotes=10, version=1)
# v2 updates everything v1 made (active ERP connections: deactivate, save, test, activate)
# and drops ERP 013-014 and Quote 008-009 (4 soft-deletes, within the default budget).
V2 = ManifestSet(erp=13, quotes=8, version=2)


@dataclass
class ServedEmulator:
    url: str
    process: subprocess.Popen[bytes]

    def set_faults(self, **knobs: object) -> None:
        httpx.put(self.url + "_emulator/faults", json=knobs, timeout=10).raise_for_status()


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait(timeout=10)


@pytest.fixture
def emulator_process(tmp_path: Path) -> Iterator[ServedEmulator]:
    log = tmp_path / "emulator.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "emulator", "serve", "--port", "0",
             "--state", str(tmp_path / "emulator.sqlite")],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        deadline = time.monotonic() + 20
        url = None
        while url is None:
            for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
                if "listening on " in line:
                    url = line.split("listening on ", 1)[1].strip()
            if url is None:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the emulator did not start:\n" + log.read_text(errors="replace"))
                time.sleep(0.05)
        yield ServedEmulator(url=url, process=process)
    finally:
        _kill_group(process)


class Runner:
    """Runs `reconcile …` as a subprocess against the served emulator."""

    def __init__(self, emulator: ServedEmulator, work: Path) -> None:
        self.emulator = emulator
        self.work = work
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SUPEROFFICE_")},
            "SUPEROFFICE_URL": emulator.url, "SUPEROFFICE_TOKEN": DEMO_TOKEN,
            "PYTHONUNBUFFERED": "1", "NO_COLOR": "1", "COLUMNS": "200",
        }
        self.runs = 0
        self.kills = 0

    def _start(self, args: list[str], log: Path) -> subprocess.Popen[bytes]:
        with log.open("wb") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "reconciler", *args], cwd=self.work, env=self.env,
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )

    def run(self, *args: str) -> tuple[int, str]:
        self.runs += 1
        log = self.work / f"run-{self.runs}.log"
        process = self._start(list(args), log)
        try:
            code = process.wait(timeout=120)
        finally:
            _kill_group(process)
        return code, log.read_text(encoding="utf-8", errors="replace")

    def apply_killed(self, manifests: Path, *, after_lines: int | None = None, after_s: float | None = None) -> bool:
        """Start an apply and SIGKILL it once it has printed its plan and then
        `after_lines` progress lines, or after `after_s` seconds; True if it was
        still running when killed."""
        self.runs += 1
        log = self.work / f"run-{self.runs}.log"
        process = self._start(["apply", "-f", str(manifests), "--auto-approve"], log)
        started = time.monotonic()
        try:
            while process.poll() is None:
                if after_lines is not None:
                    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
                    planned = any(line.startswith("Plan: ") for line in lines)
                    if planned and sum(1 for line in lines if line.lstrip()[:1] in PROGRESS_MARKS) >= after_lines:
                        break
                elif after_s is not None and time.monotonic() - started >= after_s:
                    break
                if time.monotonic() - started > 120:
                    raise AssertionError("apply did not finish within 120 s")
                time.sleep(0.005)
            killed = process.poll() is None
        finally:
            _kill_group(process)
        if killed:
            self.kills += 1
        else:
            text = log.read_text(encoding="utf-8", errors="replace")
            assert process.returncode == 0, text
        return killed


def _assert_converged(runner: Runner, manifests: Path, expected: ManifestSet) -> CrmCensus:
    runner.emulator.set_faults()  # the last apply runs without faults
    code, output = runner.run("apply", "-f", str(manifests), "--auto-approve")
    assert code == 0, output
    assert "Traceback" not in output
    code, output = runner.run("plan", "-f", str(manifests), "--detailed-exitcode")
    assert code == 0, output
    assert "No changes" in output
    found = census(runner.emulator.url)
    assert found.duplicates == {}
    assert sorted(found.connectors) == ["Tripletex", "Visma.net"]
    assert sorted(found.erp) == expected.erp_names()
    assert sorted(found.quotes) == expected.quote_names()
    assert found.quote_erp_ids_missing == ()
    return found


@pytest.fixture
def runner(emulator_process: ServedEmulator, tmp_path: Path) -> Runner:
    work = tmp_path / "work"
    work.mkdir()
    return Runner(emulator_process, work)


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
    rng = random.Random(seed)
    runner.emulator.set_faults(**SLOW)
    # Three kills in a row, each rerun resuming what the previous one left.
    for _ in range(3):
        runner.apply_killed(v2, after_s=rng.uniform(0.3, 2.5))
    assert runner.kills >= 1, "no apply was killed mid-way: the kill points are too late"
    _assert_converged(runner, v2, V2)


@pytest.mark.parametrize("seed", [11])
def test_create_killed_at_random_delays_under_seeds_then_rerun_converges(runner: Runner, seed: int) -> None:
    manifests = V1.write(runner.work / "v1")
    rng = random.Random(seed)
    runner.emulator.set_faults(**{**SLOW, "fault_seed": seed})
    for _ in range(3):
        runner.apply_killed(manifests, after_s=rng.uniform(0.3, 2.0))
    assert runner.kills >= 1, "no apply was killed mid-way: the kill points are too late"
    _assert_converged(runner, manifests, V1)
