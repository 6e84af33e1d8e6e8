"""Many tenants: one multi-target plan against the same work as one process per tenant.

Serves N tenants from one emulator process (`reconcile emulator serve --tenants N`,
every tenant seeded alike: 20 connections, 5 of them quote connections, already in
step with the manifests), writes a reconcile.yaml with one target per tenant, and
measures, at each simulated latency:

- one process: `reconcile plan --all-targets --test none --detailed-exitcode`;
- N processes: `reconcile plan --target T --test none --detailed-exitcode`, as
  many at once as the multi-target run plans tenants at once (--target-parallelism).

Wall time, peak RSS (per process, from benchmarks/launch.py) and the requests each
tenant saw (its own counter under /CONTEXT/_emulator/requests) are printed as a
Markdown table for docs/benchmarks.md.

Usage:
  .venv/bin/python benchmarks/fleet.py                 # 100 tenants at 0 and 100 ms
  .venv/bin/python benchmarks/fleet.py --quick         # 20 tenants
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate  # noqa: E402
from run import LAUNCHER, RECONCILE, expect, run_process  # noqa: E402

TOKEN_VARIABLE = "BENCH_TOKEN"


@dataclass
class Measured:
    mode: str
    latency_ms: float
    wall_s: float
    peak_rss_mb: float  # of the largest single process
    requests_per_tenant: tuple[int, int]  # fewest, most


def start_emulator(workdir: Path, seed: Path, tenants: int, latency_ms: float) -> tuple[subprocess.Popen[bytes], str]:
    argv = [*RECONCILE, "emulator", "serve", "--port", "0", "--tenants", str(tenants), "--seed", str(seed),
            "--state-dir", str(workdir / f"state-{time.monotonic_ns()}"), "--latency-ms", str(latency_ms)]
    log = open(workdir / "emulator.log", "ab")
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.stdout is not None
    for raw in proc.stdout:
        found = re.search(r"listening on (http://\S+)", raw.decode("utf-8", "replace"))
        if found:
            return proc, found.group(1)
    raise SystemExit(f"the emulator did not start; see {workdir / 'emulator.log'}")


def per_tenant(url: str) -> dict[str, int]:
    return {k: int(v) for k, v in httpx.get(url + "_emulator/tenants", timeout=60).json().items()}


def write_project(workdir: Path, url: str, contexts: Sequence[str]) -> list[str]:
    names = [f"tenant-{i + 1:03}" for i in range(len(contexts))]
    lines = ["targets:"]
    for name, context in zip(names, contexts):
        lines += [f"  {name}:", f"    url: {url}{context}/", f"    credentials: {{token: {TOKEN_VARIABLE}}}"]
    (workdir / "reconcile.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return names


def environment() -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**inherited, TOKEN_VARIABLE: generate.TOKEN, generate.SECRET_VARIABLE: generate.SECRET_VALUE, "NO_COLOR": "1"}


def separate_processes(workdir: Path, names: Sequence[str], at_once: int) -> tuple[float, float]:
    """Each target in its own process, `at_once` of them running; (wall, largest peak RSS in MB)."""
    env = environment()
    pending = list(enumerate(names))
    running: list[tuple[subprocess.Popen[bytes], Path]] = []
    peaks: list[float] = []
    started = time.perf_counter()
    while pending or running:
        while pending and len(running) < at_once:
            i, name = pending.pop(0)
            result = workdir / f"separate-{i}.json"
            argv = [sys.executable, str(LAUNCHER), str(result), *RECONCILE, "plan", "-f", "manifests",
                    "--target", name, "--test", "none", "--detailed-exitcode"]
            running.append((subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                             stdin=subprocess.DEVNULL, env=env, cwd=workdir), result))
        for proc, result in list(running):
            if proc.poll() is not None:
                running.remove((proc, result))
                measured = json.loads(result.read_text(encoding="utf-8"))
                if measured["exit_code"] != 0:
                    raise SystemExit(f"benchmark check failed: a separate plan exited {measured['exit_code']}")
                peaks.append(measured["peak_rss_kb"] / 1024)
        time.sleep(0.01)
    return time.perf_counter() - started, max(peaks)


def measure(workdir: Path, tenants: int, latency_ms: float, at_once: int, separate: bool = True) -> list[Measured]:
    proc, url = start_emulator(workdir, workdir / "seed.yaml", tenants, latency_ms)
    try:
        contexts = list(per_tenant(url))
        names = write_project(workdir, url, contexts)
        figures = []
        # One warm-up run writes the bytecode cache, as for an installed reconcile.
        run_process([*RECONCILE, "--help"], environment(), workdir)
        before = per_tenant(url)
        one = expect(run_process([*RECONCILE, "plan", "-f", "manifests", "--all-targets", "--test", "none",
                                  "--target-parallelism", str(at_once), "--detailed-exitcode"], environment(), workdir),
                     [0], "the multi-target plan", f"Exit 0: no changes in {tenants} target(s).")
        after = per_tenant(url)
        counts = [after[c] - before[c] for c in contexts]
        figures.append(Measured(f"one process, all targets, {at_once} at a time", latency_ms, one.wall_s, one.peak_rss_mb,
                                (min(counts), max(counts))))
        print(f"  {latency_ms:g} ms, one process: {one.wall_s:.2f} s", file=sys.stderr)  # progress
        if not separate:
            return figures
        before = per_tenant(url)
        wall, peak = separate_processes(workdir, names, at_once)
        after = per_tenant(url)
        counts = [after[c] - before[c] for c in contexts]
        figures.append(Measured(f"{tenants} processes, {at_once} at a time", latency_ms, wall, peak,
                                (min(counts), max(counts))))
        print(f"  {latency_ms:g} ms, separate processes: {wall:.2f} s", file=sys.stderr)
        return figures
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def table(figures: Sequence[Measured]) -> str:
    lines = ["| latency | how | wall | peak RSS (largest process) | requests per tenant |", "|---:|---|---:|---:|---:|"]
    for f in figures:
        low, high = f.requests_per_tenant
        requests = str(low) if low == high else f"{low}–{high}"
        lines.append(f"| {f.latency_ms:g} ms | {f.mode} | {f.wall_s:.2f} s | {f.peak_rss_mb:.0f} MB | {requests} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, nargs="+", default=[0.0, 100.0])
    parser.add_argument("--at-once", type=int, default=4, help="tenants planned at once (both ways)")
    parser.add_argument("--quick", action="store_true", help="20 tenants")
    parser.add_argument("--one-process-only", action="store_true", help="leave out the separate processes")
    args = parser.parse_args(argv)
    tenants = 20 if args.quick else args.tenants
    spec = generate.TenantSpec.for_connections(args.connections, quote_share=0.25)
    with tempfile.TemporaryDirectory(prefix="fleet-bench-") as temporary:
        workdir = Path(temporary)
        generate.write_seed(spec, workdir / "seed.yaml", "all")
        generate.write_manifests(spec, workdir / "manifests", "same")
        started = time.perf_counter()
        figures = [f for latency in args.latency_ms for f in measure(workdir, tenants, latency, args.at_once, not args.one_process_only)]
    print(f"{tenants} tenants × {spec.connections} connections ({spec.quote_connections} quote), no changes; "
          f"took {time.perf_counter() - started:.0f} s\n")
    print(table(figures))


if __name__ == "__main__":
    main()
