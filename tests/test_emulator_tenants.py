"""One emulator, many tenants: each under its context path with its own state, from one seed with
per-tenant overrides; `reconcile emulator serve --tenants N` as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from _tenants import served_tenants
from conftest import DEMO_TOKEN
from reconciler.cli import main

BEARER = {"Authorization": f"Bearer {DEMO_TOKEN}"}
CREATE = {"ErpSyncConnectorId": 0, "DisplayName": "Only here", "URL": "https://connectors.example.com/visma",
          "Deleted": False}


def _connectors(url: str, headers: dict[str, str] = BEARER) -> httpx.Response:
    return httpx.post(url + "api/v1/Agents/ErpSync/GetAllConnectors", json={}, headers=headers, timeout=10)


def test_each_tenant_keeps_its_own_state_and_counts_its_own_requests(tmp_path: Path) -> None:
    with served_tenants(tmp_path / "t", 2) as tenants:
        first, second = (tenants.tenant_url(c) for c in tenants.contexts)
        saved = httpx.post(first + "api/v1/Agents/ErpSync/SaveErpSyncConnectorEntity", json=CREATE, headers=BEARER,
                           timeout=10)
        assert saved.status_code == 200, saved.text

        assert [c["Name"] for c in _connectors(first).json()] == ["Only here"]
        assert _connectors(second).json() == []
        assert (tenants.requests("Cust10001"), tenants.requests("Cust10002")) == (2, 1)
        assert sorted(p.name for p in (tmp_path / "t").glob("*.sqlite")) == ["Cust10001.sqlite", "Cust10002.sqlite"]


def test_a_tenant_override_replaces_that_seed_key_for_that_tenant_only(tmp_path: Path) -> None:
    overrides = {"Cust10002": {"credentials": {"bearer": ["second-tenant-token"]}}}
    with served_tenants(tmp_path / "t", 2, overrides) as tenants:
        first, second = (tenants.tenant_url(c) for c in tenants.contexts)
        assert _connectors(first).status_code == 200
        assert _connectors(second).status_code == 401
        assert _connectors(second, {"Authorization": "Bearer second-tenant-token"}).status_code == 200


def test_an_unknown_context_answers_404_like_the_api_and_the_root_lists_the_tenants(tmp_path: Path) -> None:
    with served_tenants(tmp_path / "t", 2) as tenants:
        missing = _connectors(tenants.url + "Cust99999/")
        assert missing.status_code == 404 and "No HTTP resource was found" in missing.json()["Message"]
        assert httpx.get(tenants.url, timeout=10).json()["Tenants"] == ["/Cust10001/", "/Cust10002/"]


@pytest.mark.parametrize("text, message", [
    ("tenants: {Customer1: {}}\n", "tenant 'Customer1': a context identifier is 'Cust' and digits"),
    ("tenants: {Cust1: {credentials: {bearer: 7}}}\n", "with the overrides of tenant Cust1"),
    ("tenants: [Cust1]\n", "a tenants file is a mapping with one key, tenants:"),
])
def test_a_bad_tenants_file_is_one_clear_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "tenants.yaml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["emulator", "serve", "--port", "0", "--tenants-file", str(path),
                                       "--state-dir", str(tmp_path / "state")])
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output


@pytest.mark.slow
def test_serve_with_tenants_answers_each_under_its_context_path(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "emulator", "serve", "--port", "0", "--tenants", "3",
         "--state-dir", str(tmp_path / "state")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path, env=os.environ.copy())
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("SuperOffice emulator listening on ")
        url = first.split()[-1]
        lines = [process.stdout.readline() for _ in range(4)]
        assert f"Tenants: Cust10001, Cust10002, Cust10003, each at {url}CONTEXT/\n" in lines
        assert f"SUPEROFFICE_URL={url}Cust10001/" in "".join(lines)
        deadline = time.monotonic() + 10
        while True:
            try:
                answer = _connectors(url + "Cust10003/")
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert answer.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)
