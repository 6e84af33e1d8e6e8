"""Fuzzed manifests through `reconcile apply --auto-approve` (issue 7): never a
traceback, and never a write to the CRM when the run is stopped by a manifest or
plan error.

Unlike tests/test_manifest_fuzz.py (bytes into the loader), the mutations here are
line-wise edits of examples/connections.yaml that mostly keep it YAML: a key
renamed or misspelt, a value replaced (wrong type, unknown name, bad reference,
too long), a line re-indented, dropped or doubled. So most cases get past YAML
parsing and exercise the schema, reference, scope, config-field and deletion-budget
checks, and some get through to a real apply. The CRM is served over loopback HTTP
and its request counter says whether any write endpoint was called.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _fuzz_depth import examples
from _reliability import write_requests
from conftest import DEMO_TOKEN, ROOT, EmulatorServer, start_server, stop_server
from reconciler.cli import main

pytestmark = pytest.mark.slow  # see docs/development.md

SOURCE = (ROOT / "examples" / "connections.yaml").read_text(encoding="utf-8").splitlines()
KEYS = [
    "apiVersion", "kind", "metadata", "name", "spec", "url", "connector", "erpConnection", "scope",
    "everyone", "users", "groups", "config", "active", "description", "CompanyId", "ApiKey", "Environment",
    "SyncInvoices", "BatchSize", "ConnectorVersion", "PriceListCurrency", "Currency", "StartDate",
    "Apikey", "companyid", "acitve", "Users", "spce", "labels", "", "x" * 70,
]
VALUES = [
    "", "~", "null", "true", "false", "0", "-1", "12345", "1.5", "1e400", "NaN", "2026-13-45", "2026-01-01",
    "[]", "{}", "[ADM, AHO]", "[NOBODY]", "[Finance, Nope]", "{a: 1}", '"987654321"', "'quoted'",
    "Visma.net", "Visma.net ", "visma.net", "Tripletex", "Offline", "Visma.Quote", "Excel", "SuperOffice.Excel",
    "Visma Production", "Visma Sandbox", "Nope Connection", "ErpConnection", "SyncConnector", "QuoteConnection",
    "erp-reconciler/v1", "erp-reconciler/v2", "https://connectors.example.com/visma",
    "https://connectors.example.com/offline", "http://", "not a url", "${env:RELIABILITY_NOPE}",
    "${file:secrets/visma-production-api-key.txt}", "${file:secrets/missing.txt}", "${file:../../../etc/passwd}",
    "$${literal}", "${", "demo-ok", "wrong-key", "NOK", "NOKK", "production", "staging", "x" * 80,
    "&anchor value", "*anchor", "!!str 5", "|", ">-",
]


@st.composite
def mutated(draw: st.DrawFn) -> str:
    lines = list(SOURCE)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(lines) - 1))
        line = lines[at]
        indent = len(line) - len(line.lstrip(" "))
        key, colon, value = line.strip().partition(":")
        how = draw(st.sampled_from(["key", "value", "value", "indent", "drop", "double", "text"]))
        if how == "key" and colon:
            lines[at] = " " * indent + draw(st.sampled_from(KEYS)) + ":" + value
        elif how == "value" and colon:
            lines[at] = " " * indent + key + ": " + draw(st.sampled_from(VALUES))
        elif how == "indent":
            lines[at] = " " * draw(st.integers(0, 8)) + line.lstrip(" ")
        elif how == "drop":
            del lines[at]
        elif how == "double":
            lines.insert(at, line)
        elif how == "text":
            lines.insert(at, draw(st.sampled_from(["---", "- item", "  - item", "? key", "kind: SyncConnector", "\t"])))
        if not lines:
            lines = [""]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmulatorServer, Path]]:
    base = tmp_path_factory.mktemp("fuzz")
    work = base / "work"
    work.mkdir()
    shutil.copytree(ROOT / "examples" / "secrets", work / "secrets")
    running = start_server(base / "fuzz.sqlite")
    try:
        yield running, work
    finally:
        stop_server(running)


counts = {"examples": 0, "stopped_before_writing": 0, "applied": 0}


# At least 100 even in the quick profile: about one run in nine gets through to applying,
# and test_the_fuzzing_reached_both_outcomes needs one (25 runs would miss it ~5% of the time).
@settings(max_examples=max(100, examples(300)), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=mutated())
def test_fuzzed_manifests_never_crash_and_never_write_when_refused(
    served: tuple[EmulatorServer, Path], text: str
) -> None:
    server, work = served
    manifest = work / "connections.yaml"
    manifest.write_text(text, encoding="utf-8")
    env = {"SUPEROFFICE_URL": server.url, "SUPEROFFICE_TOKEN": DEMO_TOKEN, "RELIABILITY_NOPE": ""}
    server.reset_requests()
    result = CliRunner().invoke(main, ["apply", "-f", str(manifest), "--auto-approve"], env=env)

    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output
    assert "internal error" not in result.output, text
    writes = write_requests(server.control("GET", "_emulator/requests")["by_path"])
    counts["examples"] += 1
    if result.exit_code == 1 and "Apply:" not in result.output:
        # Stopped by a manifest or plan error (or a refused budget): nothing may be written.
        assert "error:" in result.output, result.output
        assert writes == {}, (writes, result.output)
        counts["stopped_before_writing"] += 1
    else:
        counts["applied"] += 1


def test_the_fuzzing_reached_both_outcomes() -> None:
    """Guards the test above against degenerate input: some runs must be refused and
    some must get through to applying (runs after it in file order)."""
    if counts["examples"] == 0:
        pytest.skip("the fuzz test did not run in this session")
    print(f"\nfuzz: {counts}")
    assert counts["stopped_before_writing"] > 0
    assert counts["applied"] > 0
