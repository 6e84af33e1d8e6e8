"""A tenant that moved host (421 Misdirected Request, or a 307) gets a clear message naming
its current URL when the tenant status API knows it, or how to find it - with any credentials."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import DEMO_TOKEN, Cli, EmulatorServer, start_server, stop_server
from reconciler.crm.client import CrmClient
from reconciler.crm.errors import CrmMovedError
from reconciler.crm.tenant import TenantLocator

CONTEXT = "Cust12345"


@pytest.fixture
def moved_server(tmp_path: Path) -> Iterator[EmulatorServer]:
    running = start_server(tmp_path / "served.sqlite")
    running.control("PUT", "_emulator/login", json={"tenant_host": "localhost"})
    yield running
    stop_server(running)


def test_bearer_on_the_old_host_is_told_the_current_url(moved_server: EmulatorServer, workdir: Path):
    port = httpx.URL(moved_server.url).port
    cli = Cli(env={"SUPEROFFICE_URL": f"{moved_server.url}{CONTEXT}/", "SUPEROFFICE_TOKEN": DEMO_TOKEN,
                   "SUPEROFFICE_LOGIN_URL": moved_server.url})
    result = cli("plan", "-f", "examples/")
    assert result.exit_code == 1
    assert "failed on the server" not in result.stderr
    assert "HTTP 421" in result.stderr
    assert f"it is now at http://localhost:{port}/{CONTEXT}/" in result.stderr
    assert f"set SUPEROFFICE_URL (or the target's url) to http://localhost:{port}/{CONTEXT}/" in result.stderr


def test_without_a_tenant_id_the_message_says_how_to_find_the_host(moved_server: EmulatorServer, workdir: Path):
    cli = Cli(env={"SUPEROFFICE_URL": moved_server.url, "SUPEROFFICE_TOKEN": DEMO_TOKEN})
    result = cli("plan", "-f", "examples/")
    assert result.exit_code == 1
    assert "went to a host that no longer serves this tenant (HTTP 421)" in result.stderr
    assert "'Api' field of https://{env}.superoffice.com/api/state/CustNNNNN" in result.stderr


def test_an_online_url_names_its_status_api():
    locator = TenantLocator.guess("https://sod2.superoffice.com/Cust26759/")
    assert locator == TenantLocator(login_url="https://sod.superoffice.com/", context_id="Cust26759")
    assert locator.state_url == "https://sod.superoffice.com/api/state/Cust26759"
    assert TenantLocator.guess("https://crm.example.com/") is None


def test_a_307_names_where_it_points_when_the_status_api_is_silent():
    def answer(request: httpx.Request) -> httpx.Response:
        if "/api/state/" in request.url.path:
            assert "Authorization" not in request.headers  # the public API never sees credentials
            return httpx.Response(503)
        return httpx.Response(307, headers={"Location": "https://online3.superoffice.com/Cust1/api/v1/x?y=1"})

    async def go() -> CrmMovedError:
        locator = TenantLocator(login_url="https://online.superoffice.com/", context_id="Cust1")
        async with CrmClient("https://online2.superoffice.com/Cust1/", transport=httpx.MockTransport(answer),
                             locator=locator, headers={"Authorization": "Bearer t"}) as crm:
            with pytest.raises(CrmMovedError) as caught:
                await crm.get_user_groups()
            return caught.value

    error = asyncio.run(go())
    text = str(error.diagnostics[0])
    assert "was redirected to https://online3.superoffice.com/Cust1/api/v1/x: the tenant may have moved host" in text
    assert "(HTTP 307)" in text
