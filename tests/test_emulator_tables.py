"""The emulator's tables are described once; the SQL and the rows follow from the description."""

from __future__ import annotations

import sqlite3

import pytest

from reconciler.emulator.store import ERP_CONNECTIONS, TABLES, ErpRow


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_every_row_field_has_one_column(table) -> None:
    table.check_matches_row_type()


def test_a_row_survives_insert_update_and_read() -> None:
    conn = sqlite3.connect(":memory:")
    for table in TABLES:
        conn.execute(table.ddl())
    row = ErpRow(
        id=0, connector_id=1, name="Visma", description="d", active=True, guid="g-1",
        most_recent_timestamp=None, all_access=False, deleted=False,
        group_ids=(2, 3), associate_ids=(5,), config={"url": "https://x"},
    )
    new_id = ERP_CONNECTIONS.insert(conn, row)
    stored = ERP_CONNECTIONS.get(conn, new_id)
    assert stored == ErpRow(**{**row.__dict__, "id": new_id})
    ERP_CONNECTIONS.update(conn, ErpRow(**{**stored.__dict__, "active": False, "config": {}}))
    assert ERP_CONNECTIONS.select(conn, "active = ?", (0,))[0].config == {}
    assert ERP_CONNECTIONS.get(conn, new_id + 1) is None
