"""tests/_crm_fake.py answers as the emulator does: the client tests that use the fake
test against the same contract as the rest of the suite.

The same client calls run against `small_tenant()` and against the emulator seeded
with the same tenant (tests/data/fake_tenant_seed.yaml); what the client makes of the
answers must be equal. When this fails, fix the fake (or, if the fake follows the
vendor documents and the emulator does not, the emulator, with its reading recorded
in docs/crm-client.md).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from _crm_fake import small_tenant
from reconciler.crm.client import CrmClient
from reconciler.crm.live import LiveErpConnection, LiveQuoteConnection
from reconciler.crm.snapshot import snapshot
from reconciler.emulator.app import create_app
from reconciler.emulator.embedded import EMBEDDED_BASE_URL

SEED = Path(__file__).parent / "data" / "fake_tenant_seed.yaml"


@asynccontextmanager
async def fake_client(_: Path) -> AsyncIterator[CrmClient]:
    async with small_tenant().client() as client:
        yield client


@asynccontextmanager
async def emulator_client(tmp_path: Path) -> AsyncIterator[CrmClient]:
    app = create_app(tmp_path / "emulator.sqlite", seed_path=SEED)
    headers = app.state.emulator.credentials.default_headers()
    async with CrmClient(EMBEDDED_BASE_URL, headers=headers, transport=httpx.ASGITransport(app=app)) as client:
        yield client


def _without_new_guids(value: Any) -> Any:
    """GUIDs of connections made during the run are random on both sides."""
    if isinstance(value, LiveErpConnection) and value.id > 10:
        return dataclasses.replace(value, guid="(new)")
    if isinstance(value, tuple):
        return tuple(_without_new_guids(v) for v in value)
    return value


async def _reads(client: CrmClient) -> dict[str, Any]:
    live = await snapshot(client, target_description="tenant")
    return {f.name: _without_new_guids(getattr(live, f.name)) for f in dataclasses.fields(live)}


async def _session(client: CrmClient) -> list[tuple[str, Any]]:
    """Reads, tests, and the writes the fake supports, each followed by a fresh read."""
    seen: list[tuple[str, Any]] = [("snapshot", await _reads(client))]

    async def step(name: str, call: Callable[[], Awaitable[Any]]) -> None:
        seen.append((name, _without_new_guids(await call())))

    await step("erp test, right", lambda: client.test_erp_by_config(connector_id=1, config={"CompanyId": "7", "Password": "right"}))
    await step("erp test, wrong", lambda: client.test_erp_by_config(connector_id=1, config={"CompanyId": "7", "Password": "wrong"}))
    await step("quote test, right", lambda: _ok(client.test_quote_connection("Visma.Quote", {"Currency": "NOK", "Password": "right"})))
    await step("quote test, wrong", lambda: _ok(client.test_quote_connection("Visma.Quote", {"Password": "nope"})))
    await step("one connection", lambda: client.get_connection(10))
    await step("its config", lambda: client.get_erp_connection_config(10, connector_id=1))
    (current,) = [c for c in await client.get_all_connections() if c.id == 10]
    await step("update", lambda: client.save_connection(dataclasses.replace(
        current, description="changed", config={"CompanyId": "8", "Password": "right", "Since": "", "Country": "Norway"})))
    new = LiveErpConnection(
        id=0, connector_id=1, name="Visma Test", description="", active=False, guid="", deleted=False,
        all_access=False, group_ids=(1,), associate_ids=(5,), config={"CompanyId": "9", "Password": "x"},
    )
    await step("create", lambda: client.save_connection(new))
    await step("delete", lambda: client.delete_connection(10))
    seen.append(("snapshot after writes", await _reads(client)))
    quotes: tuple[LiveQuoteConnection, ...] = await client.get_all_quote_connections()
    seen.append(("quote connections", quotes))
    return seen


async def _ok(outcome: Awaitable[Any]) -> bool:
    return (await outcome).ok


def _run(opened: Callable[[Path], Any], tmp_path: Path) -> list[tuple[str, Any]]:
    async def go() -> list[tuple[str, Any]]:
        async with opened(tmp_path) as client:
            return await _session(client)

    return asyncio.run(go())


def test_the_fake_and_the_emulator_give_the_client_the_same_answers(tmp_path: Path) -> None:
    fake = _run(fake_client, tmp_path)
    emulator = _run(emulator_client, tmp_path)
    assert [name for name, _ in fake] == [name for name, _ in emulator]
    for (name, from_fake), (_, from_emulator) in zip(fake, emulator):
        assert from_fake == from_emulator, name


@pytest.mark.parametrize("opened", [fake_client, emulator_client], ids=["fake", "emulator"])
def test_the_session_sees_its_own_writes(opened: Callable[[Path], Any], tmp_path: Path) -> None:
    """Guards the comparison above against comparing two empty answers."""
    seen = dict(_run(opened, tmp_path))
    after = seen["snapshot after writes"]["erp_connections"]
    assert [(c.name, c.deleted, c.description) for c in after] == [
        ("Visma Production", True, "changed"), ("Visma Test", False, "")]
    assert seen["erp test, right"] is True and seen["erp test, wrong"] is False
