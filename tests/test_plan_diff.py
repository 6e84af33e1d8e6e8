"""The planner: actions, field diffs, normalisation, ordering, dependencies."""

from __future__ import annotations

from dataclasses import replace

import pytest

from _builders import (
    CANARY,
    connector,
    desired,
    empty_live,
    erp,
    live_visma,
    quote,
)
from reconciler.crm.live import LiveConnector, LiveErpConnection, LiveQuoteConnection
from reconciler.diagnostics import DiagnosticError
from reconciler.plan.planner import PlanOptions, make_plan
from reconciler.secrets import Sensitive


def actions(plan):
    return [(c.ref, c.action) for c in plan.changes]


def test_fresh_tenant_creates_everything_in_dependency_order():
    plan = make_plan(desired(quote(), erp(), connector()), empty_live())
    assert actions(plan) == [
        ("SyncConnector/Visma.net", "create"),
        ("ErpConnection/Visma Production", "create"),
        ("QuoteConnection/Visma Quotes", "create"),
    ]
    erp_change, quote_change = plan.changes[1], plan.changes[2]
    assert erp_change.depends_on == ("SyncConnector/Visma.net",)
    assert quote_change.depends_on == ("ErpConnection/Visma Production",)
    # The connector is not registered yet, so its fields are unknown: said, not hidden.
    assert any("ErpConnection/Visma Production" in w and "not checked" in w for w in plan.warnings)
    # Until the field types are known, any value could be a password: none is shown.
    assert all(isinstance(v, Sensitive) for v in erp_change.desired.config.values())
    # The quote connector is installed, so its defaults are filled in already.
    assert quote_change.desired.config == {"PriceListCurrency": "NOK", "IncludeVat": "1", "DiscountLimitPercent": "10"}


def test_manifests_equal_to_live_are_no_changes_despite_yaml_types():
    plan = make_plan(desired(connector(), erp(), quote()), live_visma())
    assert [c.action for c in plan.changes] == ["no-op", "no-op", "no-op"]
    assert not plan.has_changes


def test_values_are_normalised_before_comparing():
    live = live_visma()
    live_erp = replace(live.erp_connections[0], config={**live.erp_connections[0].config, "BatchSize": "0100", "SyncInvoices": "1"})
    plan = make_plan(
        desired(connector(), erp(config={"CompanyId": "12345", "ApiKey": "x", "SyncInvoices": True, "BatchSize": 100.0}), quote()),
        replace(live, erp_connections=(live_erp,)),
    )
    assert not plan.has_changes, [c.fields for c in plan.changes]


def test_drift_shows_exactly_the_changed_fields():
    live = live_visma()
    drifted = replace(
        live.erp_connections[0],
        description="old text",
        all_access=False,
        associate_ids=(2,),
        config={**live.erp_connections[0].config, "CompanyId": "999"},
    )
    plan = make_plan(desired(connector(), erp(), quote()), replace(live, erp_connections=(drifted,)))
    change = plan.changes[1]
    assert change.action == "update"
    assert {(f.path, f.before, f.after) for f in change.fields} == {
        ("description", "old text", "Customers and invoices"),
        ("everyone", False, True),
        ("users", ("AHO",), ()),
        ("config.CompanyId", "999", "12345"),
    }
    assert change.fingerprint and change.live_id == 10


def test_changed_secret_is_marked_sensitive_and_keeps_the_reference():
    live = live_visma()
    other_key = replace(live.erp_connections[0], config={**live.erp_connections[0].config, "ApiKey": Sensitive("old-key")})
    plan = make_plan(desired(connector(), erp(), quote()), replace(live, erp_connections=(other_key,)))
    (field,) = plan.changes[1].fields
    assert field.path == "config.ApiKey" and field.sensitive
    assert field.reference == "${env:VISMA_KEY}"
    assert isinstance(field.before, Sensitive) and isinstance(field.after, Sensitive)


def test_deleted_connection_in_manifests_is_restored_with_its_updates():
    live = live_visma()
    deleted = replace(live.erp_connections[0], deleted=True, active=False)
    plan = make_plan(desired(connector(), erp(), quote()), replace(live, erp_connections=(deleted,)))
    change = plan.changes[1]
    assert change.action == "restore"
    assert [(f.path, f.before, f.after) for f in change.fields] == [("active", False, True)]
    # The quote connection relies on the restored ERP connection.
    assert plan.changes[2].depends_on == ("ErpConnection/Visma Production",)


def test_live_object_missing_from_manifests_is_soft_deleted_after_the_upserts():
    live = live_visma()
    extra_erp = LiveErpConnection(
        id=11, connector_id=5, name="Old Visma", description="", active=True, guid="g11",
        deleted=False, all_access=True,
    )
    extra_quote = LiveQuoteConnection(
        id=31, name="Old Quotes", description="", connector_name="Visma.Quote",
        erp_connection_id=11, deleted=False, all_access=True,
    )
    plan = make_plan(
        desired(connector(), erp(), quote()),
        replace(live, erp_connections=(*live.erp_connections, extra_erp), quote_connections=(*live.quote_connections, extra_quote)),
    )
    assert actions(plan)[-2:] == [("QuoteConnection/Old Quotes", "soft-delete"), ("ErpConnection/Old Visma", "soft-delete")]
    assert plan.changes[-1].depends_on == ("QuoteConnection/Old Quotes",)


def test_already_deleted_live_objects_are_left_alone():
    live = live_visma()
    gone = LiveErpConnection(id=12, connector_id=5, name="Gone", description="", active=False, guid="g", deleted=True, all_access=True)
    plan = make_plan(desired(connector(), erp(), quote()), replace(live, erp_connections=(*live.erp_connections, gone)))
    assert not plan.has_changes


def test_more_deletes_than_the_budget_is_refused_unless_allowed():
    live = live_visma()
    extras = tuple(
        LiveConnector(100 + i, f"Unused {i}", f"https://example.com/{i}") for i in range(6)
    )
    live = replace(live, connectors=(*live.connectors, *extras))
    want = desired(connector(), erp(), quote())
    with pytest.raises(DiagnosticError) as error:
        make_plan(want, live)
    assert "soft-delete 6 objects" in str(error.value) and "--allow-deletes" in str(error.value)
    assert make_plan(want, live, PlanOptions(allow_deletes=True)).counts()["soft-delete"] == 6
    assert make_plan(want, live, PlanOptions(max_deletes=6)).counts()["soft-delete"] == 6


def test_emptying_a_kind_is_refused_unless_allowed():
    live = live_visma()
    want = desired(connector(), erp())  # no QuoteConnection at all
    with pytest.raises(DiagnosticError) as error:
        make_plan(want, live)
    assert "no QuoteConnection" in str(error.value) and "--allow-empty" in str(error.value)
    plan = make_plan(want, live, PlanOptions(allow_empty=True))
    assert actions(plan)[-1] == ("QuoteConnection/Visma Quotes", "soft-delete")


def test_ignored_names_are_never_touched():
    live = live_visma()
    extra = LiveConnector(99, "Legacy Navision", "https://example.com/nav")
    plan = make_plan(
        desired(connector(), erp(), quote()),
        replace(live, connectors=(*live.connectors, extra)),
        PlanOptions(ignore={"SyncConnector": ("Legacy *",)}),
    )
    assert not plan.has_changes


def test_a_newer_copy_of_a_desired_name_is_soft_deleted_within_the_budget():
    live = live_visma()
    twin = replace(live.erp_connections[0], id=77, guid="g77")
    twinned = replace(live, erp_connections=(*live.erp_connections, twin))
    plan = make_plan(desired(connector(), erp(), quote()), twinned)
    assert [(c.ref, c.action, c.live_id) for c in plan.changes if c.is_change] == [
        ("ErpConnection/Visma Production", "soft-delete", 77)
    ]
    assert any("keeps the oldest (id 10) and soft-deletes the newer copy (id 77)" in w for w in plan.warnings)
    with pytest.raises(DiagnosticError) as error:
        make_plan(desired(connector(), erp(), quote()), twinned, PlanOptions(max_deletes=0))
    assert "would soft-delete 1 objects (ErpConnection/Visma Production)" in str(error.value)


def test_omitted_optional_fields_take_defaults_and_read_only_keeps_live():
    plan = make_plan(desired(connector(), erp(config={"CompanyId": 1, "ApiKey": "x"}), quote()), live_visma())
    config = plan.changes[1].desired.config
    assert config["Environment"] == "production" and config["SyncInvoices"] == "1" and config["BatchSize"] == "100"
    assert config["ConnectorVersion"] == "4.2.1"  # read-only: as the CRM has it
    assert "Info" not in config  # labels hold no value


def test_sensitive_values_never_leak_through_repr_of_a_plan():
    live = live_visma()
    other_key = replace(live.erp_connections[0], config={**live.erp_connections[0].config, "ApiKey": Sensitive("old")})
    plan = make_plan(desired(connector(), erp(), quote()), replace(live, erp_connections=(other_key,)))
    assert CANARY not in repr(plan) and CANARY not in str(plan)


def test_fingerprint_ignores_the_sync_watermark_and_secrets_but_not_other_config():
    from reconciler.plan.fingerprint import fingerprint

    conn = live_visma().erp_connections[0]
    assert fingerprint(conn) == fingerprint(replace(conn, most_recent_timestamp="2026-11-21T10:00:00Z"))
    assert fingerprint(conn) == fingerprint(replace(conn, config={**conn.config, "ApiKey": Sensitive("rotated")}))
    assert fingerprint(conn) != fingerprint(replace(conn, config={**conn.config, "CompanyId": "1"}))
    assert fingerprint(conn, ["CompanyId"]) == fingerprint(replace(conn, config={**conn.config, "CompanyId": "1"}), ["CompanyId"])


def test_a_connector_echoing_a_secret_in_its_explanation_is_masked():
    import asyncio

    from reconciler.connection_tests import run_connection_tests
    from reconciler.crm.wire import TestOutcome

    class EchoingConnector:
        async def test_quote_connection(self, connector_name, config):
            token = config["PriceListCurrency"].reveal()
            return TestOutcome(ok=False, user_explanation=f"token {token} refused", tech_explanation=f"got {token}")

    secret = Sensitive("SECRET-" + CANARY, "${env:CURRENCY}")
    plan = make_plan(desired(connector(), erp(), quote(config={"PriceListCurrency": "NOK"})), live_visma())
    changed = replace(plan.changes[2], action="update",
                      desired=replace(plan.changes[2].desired, config={"PriceListCurrency": secret}))
    plan = replace(plan, changes=(*plan.changes[:2], changed))
    results = asyncio.run(run_connection_tests(EchoingConnector(), plan, live_visma(), "changed"))
    explanation = results["QuoteConnection/Visma Quotes"].explanation
    assert explanation == "token (sensitive) refused — got (sensitive)"


def test_a_newer_copy_holding_an_unmanaged_connection_is_kept_with_a_note():
    live = live_visma()
    connector_copy = replace(live.connectors[0], id=55)
    stray = replace(live.erp_connections[0], id=88, guid="g88", name="Stray", connector_id=55)
    plan = make_plan(
        desired(connector(), erp(), quote()),
        replace(live, connectors=(*live.connectors, connector_copy), erp_connections=(*live.erp_connections, stray)),
        PlanOptions(ignore={"ErpConnection": ("Stray",)}),
    )
    assert not plan.has_changes
    assert any(w.startswith("the newer copy (id 55) of SyncConnector/Visma.net is not soft-deleted: "
                            "ErpConnection/Stray under it stays") for w in plan.warnings), plan.warnings
