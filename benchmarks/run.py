"""Benchmarks: plan, apply and connection tests against the emulator over loopback HTTP.

The emulator runs in its own process (`reconcile emulator serve --port 0`), and so
does every `reconcile` command measured, exactly as a user runs it. Measured:

* plan with no changes at each --sizes (wall time, peak RSS, HTTP requests), and
  the fetch floor (benchmarks/floor.py: the same requests with raw httpx);
* plan with every connection changed (same sizes);
* apply of --apply-size creates;
* connection tests of --test-count connections at --test-latency-ms connector
  latency, for each --parallelism.

Every run is checked (no-change plans must say so, applies must converge, tests
must pass), so a broken generator or a regression fails loudly instead of
producing a fast but meaningless figure.

Usage:
  .venv/bin/python benchmarks/run.py                 # the full set (~6 minutes)
  .venv/bin/python benchmarks/run.py --quick         # a smaller set (~1 minute)
  .venv/bin/python benchmarks/run.py --sizes 1000 --test-count 100 --out /tmp/bench.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate  # noqa: E402  (a sibling script, not a package)

ROOT = Path(__file__).resolve().parents[1]
RECONCILE = [sys.executable, "-m", "reconciler"]
CONFIG_READS = ("Agents/ErpSync/GetErpConnectionConfigFields", "Agents/Quote/GetConnectionConfigFields")
LAUNCHER = Path(__file__).resolve().parent / "launch.py"
NOTES_BEGIN = "<!-- notes: kept when run.py rewrites this file -->"
NOTES_END = "<!-- end of notes -->"
TARGETS = {
    "plan_s": 5.0,  # plan of 10,000 connections, no changes
    "plan_rss_mb": 300.0,
    "floor_ratio": 2.0,
    "tests_s": 10.0,  # 1,000 tests at 200 ms, parallelism 32
}


# --- running processes -------------------------------------------------------------------


@dataclass
class Run:
    """One finished process: wall time, peak RSS (from wait4), exit code, output."""

    wall_s: float
    peak_rss_mb: float
    exit_code: int
    stdout: str
    stderr: str
    requests: int = 0
    by_path: dict[str, int] = field(default_factory=dict)
    faults: dict[str, Any] = field(default_factory=dict)


def run_process(argv: Sequence[str], env: dict[str, str], workdir: Path) -> Run:
    """Run to completion through benchmarks/launch.py, which times the command and
    reads its peak RSS (ru_maxrss from os.wait4) as its direct parent: earlier or
    concurrent children (the emulator) and this runner's own memory never leak
    into the figure."""
    out_path, err_path, result_path = workdir / "last.stdout", workdir / "last.stderr", workdir / "last.json"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        subprocess.run(
            [sys.executable, str(LAUNCHER), str(result_path), *argv],
            stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, cwd=workdir, check=True,
        )
    measured = json.loads(result_path.read_text(encoding="utf-8"))
    return Run(
        wall_s=measured["wall_s"],
        peak_rss_mb=measured["peak_rss_kb"] / 1024,  # kilobytes on Linux
        exit_code=measured["exit_code"],
        stdout=out_path.read_text(encoding="utf-8", errors="replace"),
        stderr=err_path.read_text(encoding="utf-8", errors="replace"),
    )


class Emulator:
    """`reconcile emulator serve --port 0` in its own process."""

    def __init__(self, workdir: Path, seed: Path, extra: Sequence[str] = ()) -> None:
        self.workdir = workdir
        state = workdir / f"state-{time.monotonic_ns()}.sqlite"
        argv = [*RECONCILE, "emulator", "serve", "--port", "0", "--state", str(state), "--seed", str(seed), *extra]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.log = open(workdir / "emulator.log", "ab")
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.log, stdin=subprocess.DEVNULL, env=env)
        self.url = self._wait_for_url()
        self.http = httpx.Client(base_url=self.url, timeout=60)

    def _wait_for_url(self) -> str:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:  # serve prints the URL once the socket is bound
            line = raw.decode("utf-8", "replace")
            found = re.search(r"listening on (http://\S+)", line)
            if found:
                return found.group(1)
        self.stop()
        raise RuntimeError(f"the emulator did not start; see {self.workdir / 'emulator.log'}")

    def reset_requests(self) -> None:
        self.http.post("_emulator/requests/reset").raise_for_status()

    def requests(self) -> dict[str, Any]:
        response = self.http.get("_emulator/requests")
        response.raise_for_status()
        return dict(response.json())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.log.close()
        if hasattr(self, "http"):
            self.http.close()


@contextmanager
def emulator(workdir: Path, seed: Path, extra: Sequence[str] = ()) -> Iterator[Emulator]:
    emu = Emulator(workdir, seed, extra)
    try:
        yield emu
    finally:
        emu.stop()


def counted(emu: Emulator, argv: Sequence[str], env: dict[str, str], workdir: Path) -> Run:
    """Run a command and attach the requests the emulator saw meanwhile."""
    emu.reset_requests()
    before = emu.requests().get("faults", {})  # fault statistics are not reset with the counter
    result = run_process(argv, env, workdir)
    seen = emu.requests()
    result.requests = int(seen["total"])
    result.by_path = {k.removeprefix("/api/v1/"): v for k, v in seen["by_path"].items()}
    result.faults = {k: v - before.get(k, 0) for k, v in seen.get("faults", {}).items()}
    return result


def expect(result: Run, codes: Sequence[int], what: str, needle: str | None = None) -> Run:
    if result.exit_code not in codes or (needle is not None and needle not in result.stdout):
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-15:])
        raise SystemExit(f"benchmark check failed: {what} exited {result.exit_code}\n{tail}")
    return result


def target_env(emu: Emulator) -> dict[str, str]:
    # Measure with compiled bytecode cached, as an installed reconcile runs: without
    # this, a sandbox's PYTHONDONTWRITEBYTECODE=1 would recompile every module of an
    # editable install on every start (~0.05 s). The warm-up run writes the cache.
    inherited = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {
        **inherited,
        "SUPEROFFICE_URL": emu.url,
        "SUPEROFFICE_TOKEN": generate.TOKEN,
        generate.SECRET_VARIABLE: generate.SECRET_VALUE,
        "NO_COLOR": "1",
    }


# --- scenarios ---------------------------------------------------------------------------


@dataclass
class Tenant:
    spec: generate.TenantSpec
    directory: Path

    @property
    def seed(self) -> Path:
        return self.directory / "seed.yaml"

    @property
    def new_seed(self) -> Path:
        return self.directory / "seed-connectors-only.yaml"

    @property
    def same(self) -> Path:
        return self.directory / "manifests-same"

    @property
    def changed(self) -> Path:
        return self.directory / "manifests-changed"


def make_tenant(workdir: Path, connections: int) -> Tenant:
    spec = generate.TenantSpec.for_connections(connections)
    tenant = Tenant(spec, workdir / f"tenant-{connections}")
    generate.write_seed(spec, tenant.seed, "all")
    generate.write_seed(spec, tenant.new_seed, "connectors")
    generate.write_manifests(spec, tenant.same, "same")
    generate.write_manifests(spec, tenant.changed, "changed")
    return tenant


@dataclass
class PlanFigures:
    size: int
    spec: generate.TenantSpec
    runs: list[Run]
    floors: list[Run]
    floor_fetch_s: list[float]
    floor_requests: int
    changed: Run
    startup_s: float

    @property
    def wall_s(self) -> float:
        return statistics.median(r.wall_s for r in self.runs)

    @property
    def wall_range(self) -> str:
        walls = [r.wall_s for r in self.runs]
        return f"{min(walls):.2f}–{max(walls):.2f}"

    @property
    def ratio(self) -> float:
        """Median of plan / floor over the pairs (each floor runs right after its plan),
        so that the machine speeding up or slowing down moves both sides of a pair."""
        return statistics.median(plan.wall_s / floor.wall_s for plan, floor in zip(self.runs, self.floors))

    @property
    def rss_mb(self) -> float:
        return max(r.peak_rss_mb for r in self.runs)

    @property
    def requests(self) -> int:
        return self.runs[-1].requests

    @property
    def floor_s(self) -> float:
        return statistics.median(r.wall_s for r in self.floors)

    @property
    def floor_fetch(self) -> float:
        return statistics.median(self.floor_fetch_s)

    @property
    def per_object_requests(self) -> int:
        """Requests that exist once per connection: its config read (the documented lists
        carry no config: GetAllConnections is "without config field data")."""
        by_path = self.runs[-1].by_path
        return sum(by_path.get(path, 0) for path in CONFIG_READS)

    @property
    def further_pages(self) -> int:
        """Archive reads beyond each provider's first page (archives are paged by the CRM)."""
        return sum(n - 1 for path, n in self.runs[-1].by_path.items() if path.startswith("archive/") and n > 1)


def bench_plan(workdir: Path, size: int, repeat: int, log: Any) -> PlanFigures:
    tenant = make_tenant(workdir, size)
    log(f"plan: {size} connections ({tenant.spec.erp_connections} ERP + {tenant.spec.quote_connections} quote)")
    plan = [*RECONCILE, "plan", "--test", "none", "--detailed-exitcode"]
    with emulator(workdir, tenant.seed) as emu:
        env = target_env(emu)
        startup = statistics.median(run_process([*RECONCILE, "--help"], env, workdir).wall_s for _ in range(3))
        expect(run_process([*plan, "-f", str(tenant.same)], env, workdir), [0], "warm-up plan", "No changes")
        runs, floors, fetches = [], [], []
        for _ in range(repeat):
            runs.append(expect(counted(emu, [*plan, "-f", str(tenant.same)], env, workdir), [0], "no-change plan", "No changes"))
            floor = expect(counted(emu, [sys.executable, str(ROOT / "benchmarks" / "floor.py")], env, workdir), [0], "floor")
            floors.append(floor)
            fetches.append(float(json.loads(floor.stdout)["fetch_s"]))
            log(f"  plan {runs[-1].wall_s:.2f} s, {runs[-1].peak_rss_mb:.0f} MB, {runs[-1].requests} requests; "
                f"floor {floor.wall_s:.2f} s ({fetches[-1]:.2f} s fetching, {floor.requests} requests)")
        changed = expect(counted(emu, [*plan, "-f", str(tenant.changed)], env, workdir), [2], "changed plan")
        log(f"  every connection changed: {changed.wall_s:.2f} s, {changed.peak_rss_mb:.0f} MB")
    return PlanFigures(size, tenant.spec, runs, floors, fetches, floors[-1].requests, changed, startup)


@dataclass
class ApplyFigures:
    size: int
    spec: generate.TenantSpec
    apply: Run
    replan: Run


def bench_apply(workdir: Path, size: int, log: Any) -> ApplyFigures:
    tenant = make_tenant(workdir, size)
    log(f"apply: {size} creates")
    with emulator(workdir, tenant.new_seed) as emu:
        env = target_env(emu)
        applied = expect(
            counted(emu, [*RECONCILE, "apply", "-f", str(tenant.same), "--auto-approve"], env, workdir), [0], "apply"
        )
        replan = expect(
            counted(emu, [*RECONCILE, "plan", "-f", str(tenant.same), "--test", "none", "--detailed-exitcode"], env, workdir),
            [0], "plan after apply", "No changes",
        )
    log(f"  {applied.wall_s:.2f} s, {applied.peak_rss_mb:.0f} MB, {applied.requests} requests; converged")
    return ApplyFigures(size, tenant.spec, applied, replan)


@dataclass
class TestFigures:
    count: int
    latency_ms: float
    parallelism: int
    run: Run

    @property
    def bound_s(self) -> float:
        """The least time the connector latency allows: count x latency / parallelism."""
        return self.count * self.latency_ms / 1000 / self.parallelism


def bench_tests(workdir: Path, count: int, latency_ms: float, parallelisms: Sequence[int], log: Any) -> list[TestFigures]:
    tenant = make_tenant(workdir, count)
    figures = []
    with emulator(workdir, tenant.seed, ["--test-latency-ms", str(latency_ms)]) as emu:
        env = target_env(emu)
        for p in parallelisms:
            log(f"tests: {count} connections, {latency_ms:g} ms connector latency, --parallelism {p}")
            run = expect(
                counted(emu, [*RECONCILE, "plan", "-f", str(tenant.same), "--test", "all", "--parallelism", str(p),
                              "--detailed-exitcode"], env, workdir),
                [0], f"plan --test all --parallelism {p}", f"{count} passed",
            )
            tested = run.faults.get("connector_tests", 0)
            if tested != count:
                raise SystemExit(f"benchmark check failed: expected {count} connector tests, the emulator saw {tested}")
            figures.append(TestFigures(count, latency_ms, p, run))
            log(f"  {run.wall_s:.2f} s (bound {figures[-1].bound_s:.2f} s), {run.requests} requests")
    return figures


# --- the report --------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return {
        "nproc": str(usable),
        "cpu": cpu or platform.processor() or "unknown",
        "memory": memory or "unknown",
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "commit": commit or "unknown",
    }


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def report(
    args: argparse.Namespace, command: str, plans: list[PlanFigures], applied: ApplyFigures | None,
    tests: list[TestFigures], started: datetime, elapsed_s: float, notes: str,
) -> str:
    info = machine()
    lines = [
        "# Benchmarks",
        "",
        "Generated by `benchmarks/run.py`; every figure below comes from the run described here.",
        "Re-run it to refresh this file (the notes section at the end is kept).",
        "",
        f"- Date: {started:%Y-%m-%d %H:%M} UTC; the run took {elapsed_s / 60:.1f} minutes",
        f"- Command: `{command}`",
        f"- Machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory']} RAM, {info['os']}",
        f"- Python {info['python']}; commit {info['commit']}",
        f"- Sizes run: plan {', '.join(f'{s:,}' for s in args.sizes) or 'none'}; "
        f"apply {args.apply_size:,} creates" + ("" if applied else " (skipped)") + "; "
        f"tests {args.test_count:,} connections at parallelism {', '.join(map(str, args.parallelism))}"
        + ("" if tests else " (skipped)"),
        "",
    ]
    if plans:
        shape = plans[0].spec
        lines += [
            "Tenants: N connections = 80% ERP + 20% quote connections (each quote connection points at its",
            f"own ERP connection), {shape.sync_connectors} sync connectors with {8 + shape.extra_fields} config "
            f"fields each (every field type, Mandatory, ReadOnly, a Label, a List), {shape.quote_connectors} quote "
            f"connectors, {shape.users} users, {shape.groups} groups; half the connections are scoped to users and",
            "groups. Password fields come from `${env:…}`. Generated by `benchmarks/generate.py` (seeded).",
            "",
            "## Plan",
            "",
            f"`reconcile plan -f manifests/ --test none --detailed-exitcode`, median of {args.repeat} runs after one "
            "warm-up run (in brackets: the fastest and the slowest); peak RSS is the largest of those runs. "
            "Each run is followed by a fetch-floor run; plan / floor is the median of those pairs' ratios.",
            "",
            "| connections | no changes: wall | peak RSS | HTTP requests | of which config reads (one per connection) | "
            "fetch floor: process | floor: fetching only | plan / floor | every connection changed: wall | peak RSS |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for p in plans:
            lines.append(
                f"| {p.size:,} | {p.wall_s:.2f} s ({p.wall_range}) | {p.rss_mb:.0f} MB | {p.requests} | "
                f"{p.per_object_requests} | {p.floor_s:.2f} s | {p.floor_fetch:.2f} s | {p.ratio:.2f}× | "
                f"{p.changed.wall_s:.2f} s | {p.changed.peak_rss_mb:.0f} MB |"
            )
        lines += [
            "",
            f"CLI start-up alone (`reconcile --help`: interpreter and imports): {plans[0].startup_s:.2f} s.",
            "",
            "Requests of the last no-change plan at each size, by endpoint:",
            "",
            "| endpoint | " + " | ".join(f"{p.size:,}" for p in plans) + " |",
            "|---|" + "---:|" * len(plans),
        ]
        paths = sorted({k for p in plans for k in p.runs[-1].by_path})
        for path in paths:
            lines.append(f"| {path} | " + " | ".join(str(p.runs[-1].by_path.get(path, 0)) for p in plans) + " |")
        lines.append("")
        for p in plans:
            if p.floor_requests != p.requests:
                lines.append(f"Note: at {p.size:,} the floor made {p.floor_requests} requests, the plan {p.requests}.")
    if applied:
        a = applied
        lines += [
            "## Apply",
            "",
            f"`reconcile apply -f manifests/ --auto-approve` (default `--test changed`, parallelism 8) against a tenant "
            f"with the connectors registered and no connections: {a.size:,} creates "
            f"({a.spec.erp_connections:,} ERP, {a.spec.quote_connections:,} quote). The run plans, tests, applies, "
            "and re-reads the tenant to check it converged; a plan afterwards said No changes.",
            "",
            "| creates | wall | peak RSS | HTTP requests | plan afterwards: wall |",
            "|---:|---:|---:|---:|---:|",
            f"| {a.size:,} | {a.apply.wall_s:.2f} s | {a.apply.peak_rss_mb:.0f} MB | {a.apply.requests} | "
            f"{a.replan.wall_s:.2f} s |",
            "",
        ]
    if tests:
        t0 = tests[0]
        lines += [
            "## Connection tests",
            "",
            f"`reconcile plan -f manifests/ --test all --parallelism P` with {t0.count:,} connections, no changes, "
            f"and the emulator adding {t0.latency_ms:g} ms to every connector test (`serve --test-latency-ms`). "
            "Bound = connections × latency / parallelism, the least time the latency allows.",
            "",
            "| parallelism | wall | bound | wall − bound | HTTP requests |",
            "|---:|---:|---:|---:|---:|",
        ]
        for t in tests:
            lines.append(
                f"| {t.parallelism} | {t.run.wall_s:.2f} s | {t.bound_s:.2f} s | {t.run.wall_s - t.bound_s:.2f} s | "
                f"{t.run.requests} |"
            )
        lines.append("")
    lines += ["## Targets", "", "| target | result | status |", "|---|---|---|"]
    biggest = max(plans, key=lambda p: p.size) if plans else None
    if biggest is not None:
        size_note = "" if biggest.size == 10_000 else f" (run at {biggest.size:,}, not 10,000)"
        lines += [
            f"| plan of 10,000 connections, no changes ≤ {TARGETS['plan_s']:g} s{size_note} | {biggest.wall_s:.2f} s | "
            f"{verdict(biggest.wall_s <= TARGETS['plan_s'])} |",
            f"| … and ≤ {TARGETS['plan_rss_mb']:g} MB peak RSS{size_note} | {biggest.rss_mb:.0f} MB | "
            f"{verdict(biggest.rss_mb <= TARGETS['plan_rss_mb'])} |",
        ]
        for p in plans:
            ratio = p.ratio
            lines.append(
                f"| plan time ≤ {TARGETS['floor_ratio']:g}× the fetch floor ({p.size:,}) | {ratio:.2f}× | "
                f"{verdict(ratio <= TARGETS['floor_ratio'])} |"
            )
        if len(plans) > 1:
            fixed = {p.size: p.requests - p.per_object_requests - p.further_pages for p in plans}
            same = len(set(fixed.values())) == 1
            lines.append(
                "| requests per plan independent of unchanged objects where lists carry the data | "
                + ", ".join(f"{v} at {k:,}" for k, v in fixed.items())
                + " (not counting the one config read per connection, nor further pages of an archive) | "
                + verdict(same) + " |"
            )
    for t in tests:
        if t.parallelism == 32:
            size_note = "" if (t.count == 1000 and t.latency_ms == 200) else f" (run with {t.count:,} at {t.latency_ms:g} ms)"
            lines.append(
                f"| 1,000 tests at 200 ms latency, parallelism 32 ≤ {TARGETS['tests_s']:g} s{size_note} | "
                f"{t.run.wall_s:.2f} s | {verdict(t.run.wall_s <= TARGETS['tests_s'])} |"
            )
    lines += [
        "",
        "## How it is measured",
        "",
        "- The emulator runs in its own process: `reconcile emulator serve --port 0 --state … --seed …` (uvicorn, "
        "loopback HTTP), on a fresh state per tenant. Its request counter (`GET /_emulator/requests`) is reset "
        "before each measured command and read after it.",
        "- Each measured command is its own process (`python -m reconciler …` with `SUPEROFFICE_URL` / "
        "`SUPEROFFICE_TOKEN` set), so wall time includes interpreter start-up, imports, loading and validating the "
        "manifests, the snapshot, planning and rendering the text output (to a file). Bytecode is cached as for "
        "an installed package (`PYTHONDONTWRITEBYTECODE` is dropped from the children's environment; the warm-up "
        "run writes the cache).",
        "- Wall time and peak RSS come from `benchmarks/launch.py`, a small process that starts the command and "
        "reads `ru_maxrss` from `os.wait4()` on its pid — the kernel's high-water mark of its resident memory, for "
        "exactly that child (not the emulator, not earlier runs). The launcher is there because a child's "
        "`ru_maxrss` starts from the size of the process that spawned it, and this runner holds the generated "
        "tenants.",
        "- Fetch floor: `benchmarks/floor.py`, also its own process, sends the requests the snapshot sends (same "
        "endpoints and bodies, same dependency order, same concurrency limit of 8) with raw httpx and no parsing "
        "beyond `.json()`. \"Process\" is its wall time including start-up (what the plan / floor ratio uses, so "
        "both sides pay for a Python start); \"fetching only\" is the time from the first request to the last answer. "
        "The ratio is taken per pair (a plan and the floor run right after it) and the median of those is reported, "
        "so that a shared machine slowing down or speeding up during the run moves both sides alike.",
        "- Every run is checked: no-change plans must exit 0 and say \"No changes\", changed plans exit 2, the "
        "apply must exit 0 and converge, every test must pass and the emulator must have seen one connector test "
        "per connection.",
        "",
    ]
    lines += [NOTES_BEGIN, notes.strip("\n"), NOTES_END, ""]
    return "\n".join(lines)


def existing_notes(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return ""
    if NOTES_BEGIN in text and NOTES_END in text:
        return text.split(NOTES_BEGIN, 1)[1].split(NOTES_END, 1)[0]
    return ""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    def ints(text: str) -> list[int]:
        return [int(part) for part in text.split(",") if part.strip()]

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=ints, default=[1000, 10000], help="plan sizes, comma-separated [1000,10000]")
    parser.add_argument("--apply-size", type=int, default=1000, help="creates to apply (0 skips) [1000]")
    parser.add_argument("--test-count", type=int, default=1000, help="connections to test (0 skips) [1000]")
    parser.add_argument("--test-latency-ms", type=float, default=200, help="connector test latency [200]")
    parser.add_argument("--parallelism", type=ints, default=[1, 8, 32], help="test parallelisms [1,8,32]")
    parser.add_argument("--repeat", type=int, default=3, help="measured plan runs per size [3]")
    parser.add_argument("--quick", action="store_true",
                        help="smaller set: plan 1,000; apply 1,000; 200 tests; one measured run")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md", help="results file [docs/benchmarks.md]")
    parser.add_argument("--workdir", type=Path, default=None, help="keep generated tenants here (default: a temp dir)")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.test_count, args.repeat = [1000], 200, 1
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    command = "python benchmarks/run.py " + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    started = datetime.now(timezone.utc)
    clock = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - clock:6.1f} s] {message}", flush=True)

    with tempfile.TemporaryDirectory(prefix="reconcile-bench-") as temp:
        workdir = args.workdir or Path(temp)
        workdir.mkdir(parents=True, exist_ok=True)
        plans = [bench_plan(workdir, size, args.repeat, log) for size in args.sizes]
        applied = bench_apply(workdir, args.apply_size, log) if args.apply_size > 0 else None
        tests = (
            bench_tests(workdir, args.test_count, args.test_latency_ms, args.parallelism, log)
            if args.test_count > 0 else []
        )
    text = report(args, command.strip(), plans, applied, tests, started, time.perf_counter() - clock,
                  existing_notes(args.out))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
