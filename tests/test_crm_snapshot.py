"""snapshot(): everything a plan needs, concurrently, in as few requests as the API allows."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest

from _crm_fake import FakeTenant, erp_carrier, meta, quote_carrier, run, small_tenant
from reconciler.crm import CrmAuthError, SnapshotNeeds
from reconciler.crm.live import ListItem, Live
from reconciler.crm.snapshot import snapshot
from reconciler.secrets import Sensitive

CANARY = "canary-0c4d2e-do-not-print"


def take(tenant: FakeTenant, needs: SnapshotNeeds | None = None, **client_kwargs) -> tuple[Live, int]:
    async def go():
        async with tenant.client(**client_kwargs) as client:
            live = await snapshot(client, target_description="test tenant", needs=needs)
            return live, client.request_count

    return run(go())


def test_snapshot_of_a_small_tenant():
    tenant = small_tenant()
    tenant.erp_config[10]["Password"] = CANARY
    live, count = take(tenant)
    assert live.target == "test tenant"
    assert [(c.id, c.deleted) for c in live.connectors] == [(1, False), (2, True)]
    (erp,) = live.erp_connections
    assert erp.config == {"CompanyId": "7", "Password": Sensitive(CANARY)}
    assert [(q.id, q.deleted, q.config.get("Currency")) for q in live.quote_connections] == [
        (20, False, "NOK"), (21, True, None)]
    assert isinstance(live.quote_connections[0].config["Password"], Sensitive)
    assert list(live.erp_fields) == [1]  # the deleted, unused connector 2 is not asked
    assert [f.field_type for f in live.erp_fields[1]] == ["Integer", "Password", "Date", "List"]
    assert set(live.quote_fields) == {"Visma.Quote", "Other.Quote"}
    assert live.quote_fields["Other.Quote"] == ()
    assert live.quote_connectors == ("Other.Quote", "Visma.Quote")
    assert live.lists == {"country": (ListItem(47, "Norway"),)}
    assert [u.login for u in live.users] == ["ANNA"] and [g.name for g in live.groups] == ["Sales Norway"]
    assert CANARY not in repr(live)
    calls = Counter(tenant.calls)
    per_object = {"Quote/GetConnectionConfigFields", "Quote/GetConfigurationFields"}
    assert all(n == 1 for e, n in calls.items() if e not in per_object), calls
    assert calls["Quote/GetConnectionConfigFields"] == 2  # one per quote connection
    assert calls["Quote/GetConfigurationFields"] == 2  # one per installed connector name
    assert calls["Quote/GetConnection"] == 1  # the deleted one, found in archive QuoteConnection
    assert calls["ErpSync/GetErpConnectionConfigFields"] == 1  # GetAllConnections carries no config
    assert count == len(tenant.calls) == 15


def big_tenant(erp_count: int, quote_count: int = 2, *, config_in_list: bool = True) -> FakeTenant:
    tenant = small_tenant()
    tenant.erp_connections = [
        erp_carrier(i, 1, f"Conn {i}", {"CompanyId": str(i)} if config_in_list else None,
                    deleted=i % 7 == 0)
        for i in range(1, erp_count + 1)
    ]
    tenant.erp_config = {i: {"CompanyId": str(i)} for i in range(1, erp_count + 1)}
    tenant.quote_connections = [quote_carrier(100 + i, f"Q {i}", "Visma.Quote", 1) for i in range(quote_count)]
    return tenant


def test_each_erp_connection_costs_one_config_read():
    live_5, count_5 = take(big_tenant(5))
    live_50, count_50 = take(big_tenant(50))
    assert len(live_50.erp_connections) == 50
    assert sum(c.deleted for c in live_50.erp_connections) == 7
    assert count_5 == 13 + 5 and count_50 == 13 + 50


@pytest.mark.parametrize("config_in_list", [True, False])
def test_config_values_are_the_stored_ones_whatever_the_list_carries(config_in_list: bool):
    tenant = big_tenant(20, config_in_list=config_in_list)
    tenant.erp_config = {i: {"CompanyId": f"stored {i}"} for i in range(1, 21)}
    live, count = take(tenant)
    assert [c.config["CompanyId"] for c in live.erp_connections] == [f"stored {i}" for i in range(1, 21)]
    assert count == 13 + 20


def test_quote_config_costs_one_request_per_quote_connection():
    _, count_2 = take(big_tenant(5, quote_count=2))
    _, count_10 = take(big_tenant(5, quote_count=10))
    assert count_10 - count_2 == 8


def test_snapshot_runs_requests_concurrently_within_parallelism():
    tenant = big_tenant(5, quote_count=10)
    tenant.delay = 0.01
    take(tenant, parallelism=4)
    assert tenant.max_in_flight == 4


def test_metadata_for_connectors_that_connections_use_or_manifests_need():
    tenant = small_tenant()
    tenant.erp_connections.append(erp_carrier(11, 2, "On the deleted connector", {"X": "1"}, deleted=True))
    tenant.erp_fields[2] = [meta("X")]
    tenant.erp_fields[9] = [meta("Y", "List", list_name="currency")]
    tenant.quote_fields["Planned.Quote"] = {"Z": meta("Z")}
    tenant.mdo_lists["currency"] = [{"Id": 1, "Name": "NOK"}]
    tenant.mdo_lists["extra"] = []
    needs = SnapshotNeeds(erp_connector_ids=frozenset({9}), quote_connector_names=frozenset({"Planned.Quote"}),
                          list_names=frozenset({"extra"}))
    live, _ = take(tenant, needs)
    assert set(live.erp_fields) == {1, 2, 9}
    assert "Planned.Quote" in live.quote_fields
    assert set(live.lists) == {"country", "currency", "extra"}
    assert Counter(tenant.calls)["ErpSync/GetConfigurationFields"] == 3


def test_a_connector_that_is_down_does_not_stop_the_snapshot(caplog):
    tenant = small_tenant()
    tenant.erp_connections.append(erp_carrier(11, 2, "On a dead connector", {}))
    tenant.erp_config[11] = {"Secret": CANARY}
    tenant.overrides["ErpSync/GetConfigurationFields"] = lambda r: (
        httpx.Response(500, json={"Message": "connector unreachable"}) if b'"ErpConnectorId": 2' in r.content
        else None)
    live, _ = take(tenant)
    assert 2 not in live.erp_fields and 1 in live.erp_fields
    dead = next(c for c in live.erp_connections if c.id == 11)
    assert isinstance(dead.config["Secret"], Sensitive)  # unknown field types: everything protected
    assert "connector unreachable" in caplog.text and CANARY not in caplog.text


def test_credentials_refused_stop_the_snapshot_with_a_clear_error():
    tenant = small_tenant()
    tenant.overrides["GET archive/AllUsers"] = lambda r: httpx.Response(401)
    with pytest.raises(CrmAuthError, match="credentials"):
        take(tenant)


def test_a_list_the_tenant_lacks_is_left_out(caplog):
    tenant = small_tenant()
    tenant.overrides["GET MDOList/country"] = lambda r: httpx.Response(
        400, json={"Message": "Unknown MDO list 'country'"})
    live, _ = take(tenant)
    assert "country" not in live.lists and "Unknown MDO list" in caplog.text
