"""The client against the real emulator, in-process: the two sides agree on the contract."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from reconciler.crm import CrmAuthError, CrmClient
from reconciler.crm.live import LiveErpConnection
from reconciler.crm.snapshot import snapshot
from reconciler.emulator.app import create_app
from reconciler.emulator.embedded import open_embedded
from reconciler.emulator.faults import Faults
from reconciler.secrets import Sensitive

VISMA_URL = "https://connectors.example.com/visma"
CANARY = "demo-canary-93e1c7"  # passes the seed's "demo-.*" API key rule


class Sleeps(list):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client_for(state: Path, **kwargs) -> CrmClient:
    target = open_embedded(state)
    kwargs.setdefault("sleep", Sleeps())
    return CrmClient(target.base_url, headers=target.headers, transport=target.transport, **kwargs)


def visma_connection(connector_id: int, api_key: str) -> LiveErpConnection:
    return LiveErpConnection(
        id=0, connector_id=connector_id, name="Visma Production", description="Customers",
        active=False, guid="", deleted=False, all_access=False, group_ids=(1,), associate_ids=(2,),
        config={"CompanyId": "12345", "ApiKey": Sensitive(api_key), "Environment": "production",
                "SyncInvoices": "1", "BatchSize": "100"},
    )


def test_fresh_tenant_snapshot(tmp_path):
    async def go():
        async with client_for(tmp_path / "emu.sqlite") as crm:
            return await snapshot(crm, target_description="embedded"), crm.request_count

    live, count = asyncio.run(go())
    assert live.target == "embedded"
    assert live.connectors == () and live.erp_connections == () and live.quote_connections == ()
    assert set(live.quote_connectors) == {"Visma.Quote", "Tripletex.Quote", "SuperOffice.Excel"}
    assert set(live.quote_fields) == set(live.quote_connectors)
    assert {u.login for u in live.users} >= {"ADM", "AHO"}
    assert any(g.deleted for g in live.groups) and "Sales Norway" in {g.name for g in live.groups}
    assert count == 7 + 3  # seven list and archive reads + one field metadata read per quote connector


def test_create_and_read_back_round_trip(tmp_path):
    state = tmp_path / "emu.sqlite"

    async def create():
        async with client_for(state) as crm:
            connector = await crm.save_connector(0, "Visma.net", VISMA_URL)
            fields = await crm.get_erp_config_fields(connector.id)
            draft = visma_connection(connector.id, CANARY)
            assert await crm.test_erp_by_config(connector_id=connector.id, config=draft.config)
            assert not await crm.test_erp_by_config(
                connector_id=connector.id, config={**draft.config, "ApiKey": "wrong"})
            erp = await crm.save_connection(draft)
            assert await crm.test_erp_by_id(erp.id)
            quote = await crm.create_quote_connection_from_connector("Visma.Quote")
            quote = await crm.save_quote_connection(
                replace(quote, name="Visma Quotes", erp_connection_id=erp.id, all_access=True))
            await crm.save_quote_connection_config(quote.id, {"PriceListCurrency": "NOK"}, connector_name="Visma.Quote")
            outcome = await crm.test_quote_connection("Visma.Quote", {"PriceListCurrency": "kroner"})
            return connector, fields, erp, quote, outcome

    connector, fields, erp, quote, outcome = asyncio.run(create())
    assert {f.key: f.field_type for f in fields}["ApiKey"] == "Password"
    assert erp.id > 0 and len(erp.guid) >= 32 and isinstance(erp.config["ApiKey"], Sensitive)
    assert outcome.ok is False and "kroner" in outcome.user_explanation

    async def read():
        async with client_for(state) as crm:  # a new client: nothing cached
            return await snapshot(crm, target_description="embedded"), crm.request_count

    live, count = asyncio.run(read())
    assert [(c.id, c.name, c.url) for c in live.connectors] == [(connector.id, "Visma.net", VISMA_URL)]
    (read_erp,) = live.erp_connections
    assert read_erp == erp and read_erp.guid == erp.guid
    assert read_erp.config["ApiKey"] == Sensitive(CANARY) and isinstance(read_erp.config["ApiKey"], Sensitive)
    assert CANARY not in repr(live)
    (read_quote,) = live.quote_connections
    assert (read_quote.name, read_quote.erp_connection_id, read_quote.connector_name) == (
        "Visma Quotes", erp.id, "Visma.Quote")
    assert read_quote.config["PriceListCurrency"] == "NOK"
    assert [i.name for i in live.lists["VismaEnvironments"]] == ["production", "sandbox"]
    # lists 7 + connector metadata 1 + quote metadata 3 + VismaEnvironments 1 + ERP config 1 + quote config 1
    assert count == 14


def test_soft_delete_and_restore(tmp_path):
    state = tmp_path / "emu.sqlite"

    async def go():
        async with client_for(state) as crm:
            connector = await crm.save_connector(0, "Visma.net", VISMA_URL)
            erp = await crm.save_connection(visma_connection(connector.id, CANARY))
            await crm.delete_connection(erp.id)
            deleted = (await crm.get_all_connections(include_deleted=True))[0]
            hidden = await crm.get_all_connections(include_deleted=False)
            # The ErpSync agent has no restore method; saving Deleted=false restores.
            restored = await crm.save_connection(replace(deleted, deleted=False))
            return deleted, hidden, restored

    deleted, hidden, restored = asyncio.run(go())
    assert deleted.deleted and hidden == () and not restored.deleted and restored.guid == deleted.guid


def test_config_values_left_out_of_the_list_are_fetched(tmp_path):
    state = tmp_path / "emu.sqlite"

    async def seed():
        async with client_for(state) as crm:
            connector = await crm.save_connector(0, "Visma.net", VISMA_URL)
            for i in range(3):
                await crm.save_connection(replace(visma_connection(connector.id, CANARY), name=f"C{i}"))

    asyncio.run(seed())
    app = create_app(state, list_config_fields=False)

    async def read():
        async with CrmClient(
            "http://emulator/", headers=app.state.emulator.credentials.default_headers(),
            transport=httpx.ASGITransport(app=app),
        ) as crm:
            return await crm.get_all_connections(), crm.request_count

    conns, count = asyncio.run(read())
    assert [c.config["CompanyId"] for c in conns] == ["12345"] * 3
    assert all(isinstance(c.config["ApiKey"], Sensitive) for c in conns)
    assert count == 1 + 1 + 3  # list, metadata, one config read per connection


def test_retries_through_the_emulator_rate_limit(tmp_path):
    app = create_app(tmp_path / "emu.sqlite", faults=Faults(rate_limit_every=3, retry_after_s=2))
    sleeps = Sleeps()

    async def go():
        async with CrmClient(
            "http://emulator/", headers=app.state.emulator.credentials.default_headers(),
            transport=httpx.ASGITransport(app=app), sleep=sleeps, parallelism=2,
        ) as crm:
            return await snapshot(crm, target_description="embedded"), crm.request_count

    live, count = asyncio.run(go())
    assert len(live.quote_connectors) == 3
    refused = app.state.emulator.injector.stats.rate_limited
    # Each refused request waits Retry-After; the others wait out what is left of the pause.
    assert refused and sleeps.count(2.0) >= refused and max(sleeps) == 2.0
    assert count == 10 + refused


def test_wrong_credentials_are_refused(tmp_path):
    target = open_embedded(tmp_path / "emu.sqlite")

    async def go():
        async with CrmClient(target.base_url, headers={"Authorization": "Bearer nope"},
                             transport=target.transport) as crm:
            await crm.get_users()

    with pytest.raises(CrmAuthError, match="credentials"):
        asyncio.run(go())


def test_archive_pages_are_followed(tmp_path, monkeypatch):
    from reconciler.emulator import archives

    monkeypatch.setattr(archives, "PAGE_SIZE", 2)
    state = tmp_path / "emu.sqlite"

    async def go():
        async with client_for(state) as crm:
            ids = [(await crm.save_connector(0, f"C{i}", f"{VISMA_URL}/{i}")).id for i in range(5)]
            await crm.delete_connector(ids[1])
            before = crm.request_count
            connectors = await crm.get_connectors_with_urls()
            return ids, connectors, crm.request_count - before

    ids, connectors, requests = asyncio.run(go())
    assert [(c.id, c.deleted) for c in connectors] == [(i, i == ids[1]) for i in ids]
    assert requests == 3  # five rows, two per page
