"""Over real loopback HTTP (uvicorn), the CLI, persistence and concurrency."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import uvicorn
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.emulator.app import create_app
from reconciler.emulator.embedded import EMBEDDED_BASE_URL, open_embedded
from test_emulator_support import BEARER, agent, ok, rich_app, rich_seed_text, write_seed

NEW = {"ErpConnectionId": 0, "ErpConnectorId": 1, "DisplayName": "C", "ConfigFields": {"CompanyId": "1"},
       "AllAccess": True}


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[str]:
    """The rich emulator served by uvicorn on a free loopback port, in a thread."""
    app = rich_app(tmp_path)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}/"
    srv.should_exit = True
    thread.join(timeout=10)
    sock.close()


def test_over_loopback_http(server: str) -> None:
    with httpx.Client(base_url=server, headers=BEARER, timeout=10) as client:
        assert [c["Name"] for c in ok(agent(client, "ErpSync/GetAllConnectors"))][:2] == ["Visma.net", "Tripletex"]
        saved = ok(agent(client, "ErpSync/SaveConnection", {"Connection": NEW}))
        assert ok(agent(client, "ErpSync/GetConnection", {"ErpConnectionId": saved["ErpConnectionId"]})) == saved
        deleted = agent(client, "ErpSync/DeleteConnection", {"ErpConnectionId": saved["ErpConnectionId"]})
        assert deleted.status_code == 204
        assert agent(client, "ErpSync/GetConnection", {"ErpConnectionId": 1}, headers={"Authorization": ""}).status_code == 401
        assert agent(client, "ErpSync/GetConnection", {"ErpConnectionId": "1"}).status_code == 400
        assert ok(client.get("api/v1/MDOList/associate"))[0]["Name"] == "System Administrator"
        assert ok(client.get("_emulator/requests"))["total"] == 7


@pytest.mark.slow
def test_concurrent_creates_over_http_get_distinct_ids(server: str) -> None:
    def create(i: int) -> dict:
        with httpx.Client(base_url=server, headers=BEARER, timeout=30) as client:
            return ok(agent(client, "ErpSync/SaveConnection", {"Connection": {**NEW, "DisplayName": f"C{i}"}}))

    with ThreadPoolExecutor(max_workers=16) as pool:
        saved = list(pool.map(create, range(48)))
    assert len({s["ErpConnectionId"] for s in saved}) == 48
    assert len({s["ConnectionId"] for s in saved}) == 48
    with httpx.Client(base_url=server, headers=BEARER, timeout=10) as client:
        names = {c["DisplayName"] for c in ok(agent(client, "ErpSync/GetAllConnections", {"IncludeDeleted": True}))}
    assert {f"C{i}" for i in range(48)} <= names


def test_concurrent_creates_in_process_get_distinct_ids(tmp_path: Path) -> None:
    app = rich_app(tmp_path)

    async def many() -> list[dict]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://e/", headers=BEARER) as c:
            responses = await asyncio.gather(*(
                agent_async(c, {"Connection": {**NEW, "DisplayName": f"C{i}"}}) for i in range(64)))
        return [ok(r) for r in responses]

    async def agent_async(c: httpx.AsyncClient, body: dict) -> httpx.Response:
        return await c.post("api/v1/Agents/ErpSync/SaveConnection", json=body)

    saved = asyncio.run(many())
    assert len({s["ErpConnectionId"] for s in saved}) == 64
    assert len({s["ConnectionId"] for s in saved}) == 64


def test_state_persists_across_app_instances_and_reuses_existing_state(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    first = embedded_client(state)
    saved = ok(first.post("api/v1/Agents/ErpSync/SaveErpSyncConnectorEntity",
                          json={"ErpConnectorId": 0, "DisplayName": "Visma.net",
                                "URL": "https://connectors.example.com/visma"}))
    # A seed given for an existing state is ignored: the state is used as it is.
    other_seed = write_seed(tmp_path, rich_seed_text())
    app = create_app(state, seed_path=other_seed)

    async def read() -> list[dict]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://e/", headers=BEARER) as c:
            return (await c.post("api/v1/Agents/ErpSync/GetAllConnectors")).json()

    assert asyncio.run(read()) == [{"Id": saved["ErpConnectorId"], "Name": "Visma.net",
                                    "ToolTip": "https://connectors.example.com/visma"}]


def embedded_client(state: Path) -> httpx.Client:
    """A sync client over the embedded target (runs each request on a private loop)."""
    target = open_embedded(state)
    assert target.base_url == EMBEDDED_BASE_URL
    runner = asyncio.Runner()
    client = httpx.AsyncClient(transport=target.transport, base_url=target.base_url, headers=target.headers)

    class Sync:
        def post(self, url: str, **kwargs: object) -> httpx.Response:
            return runner.run(client.post(url, **kwargs))

    return Sync()  # type: ignore[return-value]


def test_open_embedded_creates_state_dir_and_default_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    target = open_embedded()
    assert (tmp_path / ".reconcile" / "emulator.sqlite").exists()
    assert target.headers == {"Authorization": "Bearer demo-token"}
    assert isinstance(target.transport, httpx.ASGITransport)

    async def users() -> list[str]:
        async with httpx.AsyncClient(transport=target.transport, base_url=target.base_url, headers=target.headers) as c:
            body = (await c.get("api/v1/archive/AllUsers",
                                params={"$select": "assocName", "$entities": "all,expired"})).json()
            return [r["assocName"] for r in body["value"]]

    assert asyncio.run(users()) == ["ADM", "AHO", "BKL", "CNO", "DLA", "ESV", "FRE"]


# --- CLI -------------------------------------------------------------------------


def test_cli_serve_prints_url_and_credentials_and_serves(tmp_path: Path) -> None:
    state = tmp_path / "served.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "emulator", "serve", "--port", "0", "--state", str(state),
         "--rate-limit-every", "2", "--retry-after", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        lines = [_readline(proc) for _ in range(4)]
        url = re.search(r"listening on (http://127\.0\.0\.1:\d+/)", lines[0]).group(1)  # type: ignore[union-attr]
        assert "Bearer demo-token" in lines[2] and "SOTicket 7T:demo-ticket + SO-AppToken demo-app-token" in lines[2]
        assert lines[3] == f"Hint: export SUPEROFFICE_URL={url} SUPEROFFICE_TOKEN=demo-token"
        with httpx.Client(base_url=url, headers=BEARER, timeout=10) as client:
            first = _wait_for(client)
            assert first.status_code == 200 and first.json() == []
            limited = agent(client, "ErpSync/GetAllConnectors")
            assert limited.status_code == 429 and limited.headers["Retry-After"] == "0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert state.exists()


def _readline(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, proc.stderr.read() if proc.stderr else "no output"
    return line.rstrip("\n")


def _wait_for(client: httpx.Client) -> httpx.Response:
    deadline = time.monotonic() + 15
    while True:
        try:
            return agent(client, "ErpSync/GetAllConnectors")
        except httpx.ConnectError:
            assert time.monotonic() < deadline, "server did not come up"
            time.sleep(0.05)


def test_cli_serve_refuses_remote_hosts(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["emulator", "serve", "--host", "0.0.0.0", "--state", str(tmp_path / "s")])
    assert result.exit_code == 1  # a usage error: 1, never 2
    assert "not a loopback address" in result.output and "--allow-remote" in result.output
    assert not (tmp_path / "s").exists()


def test_cli_reset_starts_again_from_the_seed(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    client = embedded_client(state)
    ok(client.post("api/v1/Agents/ErpSync/SaveErpSyncConnectorEntity",
                   json={"ErpConnectorId": 0, "DisplayName": "x", "URL": "https://connectors.example.com/visma"}))
    result = CliRunner().invoke(main, ["emulator", "reset", "--state", str(state)])
    assert result.exit_code == 0, result.output
    assert "7 users, 6 groups" in result.output and "0 sync connectors" in result.output
    assert ok(embedded_client(state).post("api/v1/Agents/ErpSync/GetAllConnectors")) == []
    seeded = CliRunner().invoke(main, ["emulator", "reset", "--state", str(state),
                                       "--seed", str(write_seed(tmp_path, rich_seed_text()))])
    assert seeded.exit_code == 0 and "5 sync connectors, 5 ERP connections" in seeded.output
    # New ids start again at 1 after a reset, and seeded explicit ids are kept.
    ids = [c["Id"] for c in ok(embedded_client(state).post("api/v1/Agents/ErpSync/GetAllConnectors"))]
    assert ids == [1, 2, 3, 411]


def test_cli_reports_bad_seed_and_state_without_traceback(tmp_path: Path) -> None:
    bad = write_seed(tmp_path, "users:\n  - {login: ADM, fullname: Admin}\n", "bad.yaml")
    result = CliRunner().invoke(main, ["emulator", "reset", "--state", str(tmp_path / "s.sqlite"), "--seed", str(bad)])
    assert result.exit_code == 1
    assert "bad.yaml: users[0].fullname: unknown key (did you mean 'full_name'?)" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "s.sqlite").exists()
    junk = tmp_path / "junk.sqlite"
    junk.write_text("this is not sqlite")
    result = CliRunner().invoke(main, ["emulator", "reset", "--state", str(junk)])
    assert result.exit_code == 1 and "is corrupted or not an emulator state file" in result.output
