"""Fixtures shared by the end-to-end tests: a work dir, the CLI, and the emulator
both embedded (in-process) and served over real loopback HTTP by uvicorn."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from click.testing import CliRunner, Result
from hypothesis import settings

from reconciler.cli import main
from reconciler.crm.client import CrmClient
from reconciler.emulator.app import create_app
from reconciler.emulator.embedded import open_embedded

ROOT = Path(__file__).resolve().parents[1]
DEMO_TOKEN = "demo-token"



def hypothesis_profile(env: Mapping[str, str]) -> str:
    """Property tests search deep in CI and briefly on a developer's machine
    (docs/development.md); tests ask for their depth with tests/_fuzz_depth.py."""
    return env.get("HYPOTHESIS_PROFILE") or ("deep" if env.get("CI") else "quick")


settings.register_profile("deep", deadline=None)
settings.register_profile("quick", max_examples=25, deadline=None)
settings.load_profile(hypothesis_profile(os.environ))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class EmulatorServer:
    """uvicorn serving the emulator on 127.0.0.1 in a background thread."""

    url: str
    state_path: Path
    server: uvicorn.Server = field(repr=False)

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(method, self.url + path.lstrip("/"), headers={"Authorization": f"Bearer {DEMO_TOKEN}"}, timeout=10, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def set_faults(self, **knobs: Any) -> None:
        self.control("PUT", "_emulator/faults", json=knobs)

    def request_total(self) -> int:
        return int(self.control("GET", "_emulator/requests")["total"])

    def reset_requests(self) -> None:
        self.control("POST", "_emulator/requests/reset")


def serve_in_thread(app: Any) -> tuple[uvicorn.Server, threading.Thread, int]:
    """Serve an ASGI app on a free loopback port from a daemon thread; returns once it listens."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the emulator did not start")
        time.sleep(0.02)
    return server, thread, port


def start_server(state_path: Path, wrap: Callable[[Any], Any] | None = None, **app_options: Any) -> EmulatorServer:
    """Serve the emulator; `wrap` puts an ASGI layer in front of it (a recorder, an interceptor)."""
    app = create_app(state_path, **app_options)
    server, thread, port = serve_in_thread(wrap(app) if wrap is not None else app)
    running = EmulatorServer(url=f"http://127.0.0.1:{port}/", state_path=state_path, server=server)
    running._thread = thread  # type: ignore[attr-defined]
    return running


def stop_server(running: EmulatorServer) -> None:
    running.server.should_exit = True
    running._thread.join(timeout=10)  # type: ignore[attr-defined]


@contextmanager
def served_cli(state_path: Path, wrap: Callable[[Any], Any] | None = None) -> Iterator[Cli]:
    """The CLI against an emulator served over loopback HTTP (behind `wrap`, if given)."""
    running = start_server(state_path, wrap)
    try:
        yield Cli(env={"SUPEROFFICE_URL": running.url, "SUPEROFFICE_TOKEN": DEMO_TOKEN}, server=running)
    finally:
        stop_server(running)


@pytest.fixture(autouse=True)
def laptop_environment(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts as on a developer's laptop, whether the suite runs in CI (CI=true) or not:
    without CI the embedded emulator is the default target. Tests of the CI guard set CI themselves.
    Internal-error tracebacks and debug logs go to a temporary file, not the checkout."""
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("RECONCILE_DEBUG", raising=False)
    monkeypatch.setenv("RECONCILE_DEBUG_LOG", str(tmp_path_factory.mktemp("log") / "debug.log"))


@pytest.fixture
def emulator_server(tmp_path: Path) -> Iterator[EmulatorServer]:
    running = start_server(tmp_path / "served.sqlite")
    yield running
    stop_server(running)


@pytest.fixture
def tenants(request: pytest.FixtureRequest, workdir: Path, tmp_path: Path) -> Iterator[Any]:
    """One served tenant per entry of the test module's NAMES (target name -> context),
    and a reconcile.yaml in workdir naming them (`_tenants.Tenants`)."""
    from _tenants import tenants_with_project  # _tenants imports this module

    with tenants_with_project(workdir, tmp_path, request.module.NAMES) as served:
        yield served


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working directory holding a copy of examples/, with no CRM variables set."""
    work = tmp_path / "work"
    work.mkdir()
    shutil.copytree(ROOT / "examples", work / "examples")
    monkeypatch.chdir(work)
    for name in ("SUPEROFFICE_URL", "SUPEROFFICE_TOKEN", "SUPEROFFICE_TICKET", "SUPEROFFICE_APP_TOKEN",
                 "SUPEROFFICE_USER", "SUPEROFFICE_PASSWORD", "RECONCILE_EMULATOR_STATE", "NO_COLOR",
                 "SUPEROFFICE_SYSTEM_USER_TOKEN", "SUPEROFFICE_PRIVATE_KEY", "SUPEROFFICE_PRIVATE_KEY_FILE",
                 "SUPEROFFICE_CONTEXT_ID", "SUPEROFFICE_ENV", "SUPEROFFICE_LOGIN_URL"):
        monkeypatch.delenv(name, raising=False)
    return work


@dataclass
class Cli:
    """Runs `reconcile …` in-process against one target: the embedded emulator or a served one."""

    env: dict[str, str]
    server: EmulatorServer | None = None

    def __call__(self, *args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(main, list(args), env=self.env, input=input, catch_exceptions=False)

    @asynccontextmanager
    async def crm(self) -> AsyncIterator[CrmClient]:
        """A client on the same CRM, to look at it or change it behind the tool's back."""
        if self.server is not None:
            client = CrmClient(self.server.url, headers={"Authorization": f"Bearer {DEMO_TOKEN}"})
        else:
            embedded = open_embedded(Path(".reconcile/emulator.sqlite"))
            client = CrmClient(embedded.base_url, headers=embedded.headers, transport=embedded.transport)
        async with client:
            yield client

    def run_crm(self, action: Any) -> Any:
        async def go() -> Any:
            async with self.crm() as client:
                return await action(client)

        return asyncio.run(go())


@pytest.fixture(params=["embedded", "http"])
def cli(request: pytest.FixtureRequest, workdir: Path, tmp_path: Path) -> Iterator[Cli]:
    """The CLI against the embedded emulator, and against one served over loopback HTTP."""
    if request.param == "embedded":
        yield Cli(env={})
        return
    with served_cli(tmp_path / "served.sqlite") as served:
        yield served


@pytest.fixture
def embedded_cli(workdir: Path) -> Cli:
    return Cli(env={})


@pytest.fixture
def http_cli(workdir: Path, tmp_path: Path) -> Iterator[Cli]:
    with served_cli(tmp_path / "served.sqlite") as served:
        yield served
