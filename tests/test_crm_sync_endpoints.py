"""The client's sync configuration endpoints against the emulator: read, change, save,
read again - the two sides agree on the contract."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from reconciler.crm import sync_endpoints, sync_wire
from reconciler.crm.errors import CrmAuthError
from reconciler.crm.sync_endpoints import (
    RanksUnreadable,
    get_actor_mapping,
    get_field_ranks,
    get_priority_ranks,
    move_field,
    read_sync_config,
    save_actor_mapping,
    save_default,
    save_list_mappings,
    save_priorities,
)
from reconciler.crm.sync_live import LiveFieldMapping, tab_order
from test_crm_against_emulator import client_for, visma_connection


def test_read_change_and_save_sync_configuration(tmp_path: Path) -> None:
    async def go() -> None:
        async with client_for(tmp_path / "emu.sqlite") as crm:
            connector = await crm.save_connector(0, "Visma.net", "https://connectors.example.com/visma")
            conn = await crm.save_connection(visma_connection(connector.id, "demo-key"))
            before = crm.request_count
            live = await read_sync_config(crm, conn.id, ["Customer", "Sale"], ["Customer"])
            customer = live.actors["Customer"]
            assert live.actors["Sale"] is None and customer is not None
            # 2 mapping reads + 1 list read + one default read per Customer field
            assert crm.request_count - before == 3 + len(customer.fields)
            assert customer.field("NAME").crm_field == "contact/name" and customer.field("NAME").direction == "none"

            def changed(f: LiveFieldMapping) -> LiveFieldMapping:
                if f.key == "NAME":
                    return replace(f, direction="both")
                if f.key == "CATEGORY":
                    return replace(f, crm_field="contact/category", direction="toCrm")
                return f

            saved = await save_actor_mapping(crm, replace(customer, enabled=True, fields=tuple(map(changed, customer.fields))))
            assert saved.enabled and saved.field("NAME").direction == "both"
            again = await read_sync_config(crm, conn.id, ["Customer"], [])
            [lists] = again.lists
            mapped = replace(lists, items=tuple(replace(i, crm_item_id=1) if i.erp_key == "A" else i for i in lists.items))
            [stored] = await save_list_mappings(crm, conn.id, (mapped,))
            assert [(i.erp_key, i.crm_item_name) for i in stored.items] == [("A", "Key account"), ("B", ""), ("C", "")]
            payterms = live.defaults["Customer"]["PAYTERMS"]
            assert (await save_default(crm, replace(payterms, preset=True, value="10"))).value == "10"
            await save_priorities(crm, [conn.id])
            assert (await get_priority_ranks(crm)) == {conn.guid: 1}

    asyncio.run(go())


def test_the_erp_tab_rank_is_read_in_chunks_and_follows_a_move(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sync_endpoints, "RANK_IDS_PER_REQUEST", 5)

    async def go() -> None:
        async with client_for(tmp_path / "emu.sqlite") as crm:
            connector = await crm.save_connector(0, "Visma.net", "https://connectors.example.com/visma")
            conn = await crm.save_connection(visma_connection(connector.id, "demo-key"))
            customer = await get_actor_mapping(crm, conn.id, "Customer")
            ids = [f.id for f in customer.fields]
            before = crm.request_count
            ranks = await get_field_ranks(crm, [*ids, *ids])  # asked twice: read once
            assert crm.request_count - before == -(-len(ids) // 5)  # 12 fields: 3 requests of at most 5 ids
            assert set(ranks) == set(ids) and all(isinstance(r, int) for r in ranks.values())
            order = tab_order(customer, ranks)
            assert order[-2:] == ("CREDITLIMIT", "BALANCE")
            await move_field(crm, conn.id, "Customer", customer.field("BALANCE").id, -1)
            assert tab_order(customer, await get_field_ranks(crm, ids))[-2:] == ("BALANCE", "CREDITLIMIT")

    asyncio.run(go())


def test_a_refused_rank_read_is_reported_as_unreadable_with_the_crms_words(tmp_path: Path) -> None:
    async def go() -> None:
        async with client_for(tmp_path / "emu.sqlite") as crm:
            async def refused(*args: object, **kwargs: object) -> object:
                raise CrmAuthError("GET archive/dynamic", "was refused", status=403, server_message="No access")

            crm.get_archive = refused  # type: ignore[method-assign]
            with pytest.raises(RanksUnreadable, match=r"\(HTTP 403\): No access"):
                await get_field_ranks(crm, [1, 2])
            assert await get_field_ranks(crm, []) == {}  # nothing to read: no request

    asyncio.run(go())


def test_rank_rows_are_read_whichever_way_a_server_spells_them() -> None:
    rows = [
        {"PrimaryKey": "301", "EntityName": "erpfield", "erpfield.erpfield_id": 301, "erpfield.Rank": 2},
        {"PrimaryKey": 302, "EntityName": "ErpField", "ERPFIELD.RANK": "0"},  # no id column; other case
        {"PrimaryKey": "303", "erpfield.Rank": None},  # a field without a rank
    ]
    assert sync_wire.field_ranks(rows) == {301: 2, 302: 0, 303: None}
