"""Shared by the reliability tests: generated manifest sets larger than examples/,
and a duplicate check that reads the CRM through the real client."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from _manifest_texts import manifest_document
from reconciler.crm.client import CrmClient

DEMO_TOKEN = "demo-token"
HEADERS = {"Authorization": f"Bearer {DEMO_TOKEN}"}
# Agent methods that change the CRM (reconciler.crm.retry: everything but Get*/Test*/CanDelete*).
WRITE_PREFIXES = ("Save", "Delete", "Toggle", "Restore", "Create")
PROGRESS_MARKS = ("✓", "✗", "–")  # apply's line per finished change, without a terminal


@dataclass(frozen=True)
class ManifestSet:
    """Two connectors, `erp` ERP connections numbered from `erp_start` (even numbers on
    Visma.net, odd on Tripletex), and `quotes` quote connections on the first of them.
    `version` changes descriptions and config, so a later version updates every object
    an earlier one made; a later `erp_start` drops (soft-deletes) the first ones."""

    erp: int
    quotes: int
    version: int = 1
    active_every: int = 2  # every Nth ERP connection is active (tested + activated)
    erp_start: int = 0

    def erp_numbers(self) -> range:
        return range(self.erp_start, self.erp_start + self.erp)

    def erp_names(self) -> list[str]:
        return [f"ERP {n:03d}" for n in self.erp_numbers()]

    def quote_names(self) -> list[str]:
        return [f"Quote {i:03d}" for i in range(self.quotes)]

    def render(self) -> str:
        docs = [
            manifest_document("SyncConnector", "Visma.net", "  url: https://connectors.example.com/visma"),
            manifest_document("SyncConnector", "Tripletex", "  url: https://connectors.example.com/tripletex"),
        ]
        v = self.version
        for n in self.erp_numbers():
            active = "true" if n % self.active_every == 0 else "false"
            if n % 2 == 0:
                config = (f"    CompanyId: {1000 + n + v}\n    ApiKey: demo-key-{n}-v{v}\n"
                          f"    Environment: {'production' if v % 2 else 'sandbox'}\n    BatchSize: {10 * v}")
                connector = "Visma.net"
            else:
                config = (f'    CompanyNumber: "{900000000 + n}"\n    ConsumerToken: demo-consumer-{n}-v{v}\n'
                          f"    EmployeeToken: demo-employee-{n}")
                connector = "Tripletex"
            scope = "    everyone: true" if n % 3 == 0 else "    users: [ADM, AHO]\n    groups: [Finance]"
            docs.append(manifest_document("ErpConnection", f"ERP {n:03d}", (
                f"  connector: {connector}\n  description: generated v{v}\n  active: {active}\n"
                f"  scope:\n{scope}\n  config:\n{config}"
            )))
        numbers = list(self.erp_numbers())
        for i, name in enumerate(self.quote_names()):
            n = numbers[i % len(numbers)]
            if n % 2 == 0:
                connector, config = "Visma.Quote", f"    PriceListCurrency: NOK\n    DiscountLimitPercent: {5 + v}"
            else:
                connector, config = "Tripletex.Quote", f"    Currency: NOK\n    ApiToken: demo-quote-{i}-v{v}"
            docs.append(manifest_document("QuoteConnection", name, (
                f"  connector: {connector}\n  erpConnection: ERP {n:03d}\n  description: quotes v{v}\n"
                f"  scope:\n    groups: [Sales Norway]\n  config:\n{config}"
            )))
        return "---\n".join(docs)

    def write(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "generated.yaml"
        path.write_text(self.render(), encoding="utf-8")
        return directory

    @property
    def object_count(self) -> int:
        return 2 + self.erp + self.quotes


@dataclass(frozen=True)
class CrmCensus:
    """What is in the CRM, by kind: names of objects not deleted, and the problems found."""

    connectors: Counter[str]
    erp: Counter[str]
    quotes: Counter[str]
    quote_erp_ids_missing: tuple[str, ...]

    @property
    def duplicates(self) -> dict[str, list[str]]:
        found = {
            kind: sorted(name for name, n in names.items() if n > 1)
            for kind, names in (("SyncConnector", self.connectors), ("ErpConnection", self.erp),
                                ("QuoteConnection", self.quotes))
        }
        return {kind: names for kind, names in found.items() if names}

    def assert_one_copy_of(self, expected: ManifestSet) -> None:
        """Exactly the objects of `expected` (and both connectors), once each, no stray quote connection."""
        assert self.duplicates == {}
        assert sorted(self.connectors) == ["Tripletex", "Visma.net"]
        assert sorted(self.erp) == expected.erp_names()
        assert sorted(self.quotes) == expected.quote_names()
        assert self.quote_erp_ids_missing == ()


async def census_async(client: CrmClient) -> CrmCensus:
    connectors = await client.get_connectors_with_urls()
    erp = await client.get_all_connections(include_deleted=False)
    quotes = await client.get_all_quote_connections(with_config=False)
    erp_ids = {c.id for c in erp if not c.deleted}
    live_quotes = [q for q in quotes if not q.deleted]
    return CrmCensus(
        connectors=Counter(c.name for c in connectors if not c.deleted),
        erp=Counter(c.name for c in erp if not c.deleted),
        quotes=Counter(q.name for q in live_quotes),
        # A quote connection pointing at no live ERP connection is a stray.
        quote_erp_ids_missing=tuple(sorted(q.name for q in live_quotes if q.erp_connection_id not in erp_ids)),
    )


def census(url: str) -> CrmCensus:
    async def go() -> CrmCensus:
        async with CrmClient(url, headers=HEADERS, backoff_base=0.01) as client:
            return await census_async(client)

    return asyncio.run(go())


def write_requests(by_path: dict[str, int]) -> dict[str, int]:
    """The write endpoints among GET /_emulator/requests' by_path."""
    return {
        path: n for path, n in by_path.items()
        if path.rstrip("/").rsplit("/", 1)[-1].startswith(WRITE_PREFIXES)
    }


# --- the emulator and reconcile as separate processes ------------------------------

@dataclass
class ServedEmulator:
    url: str
    process: subprocess.Popen[bytes]

    def set_faults(self, **knobs: object) -> None:
        httpx.put(self.url + "_emulator/faults", json=knobs, timeout=10).raise_for_status()


def kill_group(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait(timeout=10)


@contextmanager
def emulator_process(tmp_path: Path, *serve_options: str) -> Iterator[ServedEmulator]:
    """`reconcile emulator serve --port 0 [OPTIONS]` as its own process group, killed on exit."""
    log = tmp_path / "emulator.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "emulator", "serve", "--port", "0",
             "--state", str(tmp_path / "emulator.sqlite"), *serve_options],
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
        kill_group(process)


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

    def start(self, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
        """Start `reconcile ARGS` without waiting; the caller must `finish` it."""
        self.runs += 1
        log = self.work / f"run-{self.runs}.log"
        return self._start(list(args), log), log

    def finish(self, process: subprocess.Popen[bytes], log: Path) -> tuple[int, str]:
        try:
            code = process.wait(timeout=120)
        finally:
            kill_group(process)
        return code, log.read_text(encoding="utf-8", errors="replace")

    def _start(self, args: list[str], log: Path) -> subprocess.Popen[bytes]:
        with log.open("wb") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "reconciler", *args], cwd=self.work, env=self.env,
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )

    def run(self, *args: str) -> tuple[int, str]:
        return self.finish(*self.start(*args))

    def requests_to(self, path: str) -> int:
        """How many requests the emulator has had for `path` (e.g. /api/v1/Agents/ErpSync/MoveErpFieldItem)."""
        counts = httpx.get(self.emulator.url + "_emulator/requests", timeout=10).json()["by_path"]
        return int(counts.get(path, 0))

    def apply_killed(
        self, manifests: Path, *, after_lines: int | None = None, after_s: float | None = None,
        after_requests: tuple[str, int] | None = None,
    ) -> bool:
        """Start an apply and SIGKILL it once it has printed its plan and then
        `after_lines` progress lines, or after `after_s` seconds, or once the emulator
        has had `n` more requests to `path` (`after_requests=(path, n)`); True if it was
        still running when killed."""
        if after_requests is not None:
            path, more = after_requests
            after_requests = (path, self.requests_to(path) + more)
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
                elif after_requests is not None and self.requests_to(after_requests[0]) >= after_requests[1]:
                    break
                if time.monotonic() - started > 120:
                    raise AssertionError("apply did not finish within 120 s")
                time.sleep(0.005)
            killed = process.poll() is None
        finally:
            kill_group(process)
        if killed:
            self.kills += 1
        else:
            text = log.read_text(encoding="utf-8", errors="replace")
            assert process.returncode == 0, text
        return killed

    def assert_a_clean_apply_converges(self, manifests: Path) -> None:
        """Without faults, an apply of `manifests` succeeds and a plan after it has nothing to change."""
        self.emulator.set_faults()
        code, output = self.run("apply", "-f", str(manifests), "--auto-approve")
        assert code == 0, output
        assert "Traceback" not in output
        code, output = self.run("plan", "-f", str(manifests), "--detailed-exitcode")
        assert code == 0, output
        assert "No changes" in output

    def apply_killed_repeatedly(
        self, manifests: Path, *, seed: int, delays: tuple[float, float], faults: Mapping[str, object], times: int = 3
    ) -> None:
        """With the emulator slowed by `faults`, start applying `manifests` `times` times in a
        row and kill each after a random delay in `delays` (drawn with `seed`); each rerun
        resumes what the previous one left. At least one must have been killed mid-way."""
        rng = random.Random(seed)
        self.emulator.set_faults(**faults)
        for _ in range(times):
            self.apply_killed(manifests, after_s=rng.uniform(*delays))
        assert self.kills >= 1, "no apply was killed mid-way: the kill points are too late"


@contextmanager
def runner_on_a_served_emulator(tmp_path: Path) -> Iterator[Runner]:
    """A Runner in tmp_path/work against `reconcile emulator serve` in its own process."""
    work = tmp_path / "work"
    work.mkdir()
    with emulator_process(tmp_path) as emulator:
        yield Runner(emulator, work)
