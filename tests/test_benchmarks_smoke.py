"""The benchmark scripts still work: a tiny run end to end, and the generator's promises.

No timing is asserted (figures live in docs/benchmarks.md); what is checked is
that the scripts run, that their own correctness checks pass (no-change plans
say so, the apply converges, every test passes) and that the report is written.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import generate  # noqa: E402

pytestmark = pytest.mark.slow  # see docs/development.md


def test_the_generator_is_deterministic_and_consistent(tmp_path: Path):
    spec = generate.TenantSpec.for_connections(30)
    assert (spec.erp_connections, spec.quote_connections) == (24, 6)
    first = generate.write_seed(spec, tmp_path / "a" / "seed.yaml").read_text()
    again = generate.write_seed(spec, tmp_path / "b" / "seed.yaml").read_text()
    assert first == again
    same = generate.manifest_documents(spec, "same")
    changed = generate.manifest_documents(spec, "changed")
    names = [d["metadata"]["name"] for d in same]
    assert names == [d["metadata"]["name"] for d in changed]
    assert len(names) == spec.sync_connectors + spec.connections
    connections = [(a, b) for a, b in zip(same, changed) if a["kind"] != "SyncConnector"]
    assert all(a["spec"] != b["spec"] for a, b in connections)
    assert "bench-secret" not in "".join(str(d) for d in same)  # secrets come from ${env:…}


def test_a_tiny_benchmark_run_writes_its_report(tmp_path: Path):
    out = tmp_path / "benchmarks.md"
    command = [
        sys.executable, str(ROOT / "benchmarks" / "run.py"),
        "--sizes", "20", "--apply-size", "20", "--test-count", "20", "--test-latency-ms", "0",
        "--parallelism", "1,4", "--repeat", "1", "--out", str(out), "--workdir", str(tmp_path / "work"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    report = out.read_text(encoding="utf-8")
    for heading in ("## Plan", "## Apply", "## Connection tests", "## Targets", "## How it is measured"):
        assert heading in report
    assert "| 20 |" in report  # the plan row of the size that ran
    assert "--sizes 20" in report  # the command that made it
    assert "bench-secret" not in report + result.stdout


def test_the_launcher_reports_the_commands_own_peak_memory(tmp_path: Path):
    ballast = bytearray(200 * 1024 * 1024)  # the runner holds tenants; that must not count
    ballast[:: 4096] = b"x" * len(ballast[:: 4096])
    result_path = tmp_path / "result.json"
    allocate = "import sys; block = bytearray(60 * 1024 * 1024); block[::4096] = b'x' * len(block[::4096]); sys.exit(3)"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "launch.py"), str(result_path),
                    sys.executable, "-c", allocate], check=True, timeout=60)
    measured = json.loads(result_path.read_text(encoding="utf-8"))
    assert measured["exit_code"] == 3
    assert 60 * 1024 <= measured["peak_rss_kb"] < 150 * 1024
    del ballast


def test_a_tiny_fleet_benchmark_compares_one_process_with_one_per_tenant(tmp_path: Path):
    command = [sys.executable, str(ROOT / "benchmarks" / "fleet.py"), "--tenants", "2", "--connections", "4",
               "--latency-ms", "0", "--at-once", "2"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("| 0 ms |")]
    assert [row.split(" | ")[1] for row in rows] == ["one process, all targets, 2 at a time", "2 processes, 2 at a time"]
    assert all(row.endswith("| 19 |") for row in rows), rows  # 15 + one config read per connection, either way
    assert "bench-secret" not in result.stdout + result.stderr
