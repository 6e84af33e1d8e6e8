"""The client's sync configuration endpoints against the emulator: read, change, save,
read again - the two sides agree on the contract."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from reconciler.crm.sync_endpoints import (
    get_priority_ranks,
    read_sync_config,
    save_actor_mapping,
    save_default,
    save_list_mappings,
    save_priorities,
)
from reconciler.crm.sync_live import LiveFieldMapping
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
