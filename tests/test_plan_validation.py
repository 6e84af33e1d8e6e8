"""Config and scope are checked against the live CRM: every problem at once, at file:line."""

from __future__ import annotations

import pytest

from _builders import CANARY, connector, desired, erp, live_visma, quote
from reconciler.diagnostics import DiagnosticError
from reconciler.plan.planner import make_plan
from reconciler.plan.values import format_double


def problems(*resources):
    with pytest.raises(DiagnosticError) as error:
        make_plan(desired(*resources), live_visma())
    return error.value.diagnostics


def only(diagnostics, needle):
    matching = [d for d in diagnostics if needle in d.message]
    assert len(matching) == 1, [str(d) for d in diagnostics]
    return matching[0]


def test_unknown_config_key_suggests_the_nearest_and_points_at_the_key():
    diagnostics = problems(connector(), erp(config={"CompanyId": 1, "ApiKey": "x", "Enviroment": "sandbox"}), quote())
    d = only(diagnostics, "unknown config key 'Enviroment'")
    assert d.hint == "did you mean 'Environment'?"
    assert d.resource == "ErpConnection/Visma Production"
    assert (d.location.file, d.location.line) == ("m.yaml", 32)  # third config key of the doc at line 20


def test_missing_mandatory_field():
    d = only(problems(connector(), erp(config={"ApiKey": "x"}), quote()), "mandatory")
    assert "'CompanyId'" in d.message and d.hint == "add 'config: {CompanyId: …}'"


@pytest.mark.parametrize(
    ("config", "needle"),
    [
        ({"CompanyId": "twelve", "ApiKey": "x"}, "'CompanyId' (Integer) must be a whole number"),
        ({"CompanyId": 1, "ApiKey": "x", "SyncInvoices": "maybe"}, "'SyncInvoices' (Checkbox) must be true or false"),
        ({"CompanyId": 1, "ApiKey": "x", "ConnectorVersion": "5"}, "'ConnectorVersion' is read-only"),
        ({"CompanyId": 1, "ApiKey": "x", "Info": "hello"}, "'Info' is a label"),
        ({"CompanyId": 1, "ApiKey": "x", "Environment": "staging"}, "must be one of the list 'VismaEnvironments'"),
        ({"CompanyId": 1, "ApiKey": "k" * 65}, "'ApiKey' is 65 characters long; the connector allows at most 64"),
    ],
)
def test_config_values_are_checked_by_field_type(config, needle):
    only(problems(connector(), erp(config=config), quote()), needle)


def test_all_problems_in_all_resources_are_reported_together():
    diagnostics = problems(
        connector(),
        erp(config={"CompanyId": "x", "ApiKey": "x", "Bogus": 1}, scope={"users": ["NOBODY"]}),
        quote(config={}, scope={"groups": ["Sales Norwey"]}),
    )
    messages = [d.message for d in diagnostics]
    assert len(messages) == 5, messages
    assert only(diagnostics, "unknown user group").hint == "did you mean 'Sales Norway'?"


def test_retired_users_and_deleted_groups_are_refused():
    diagnostics = problems(connector(), erp(scope={"users": ["FRE"], "groups": ["Old Projects"]}), quote())
    assert only(diagnostics, "retired").message == "user 'FRE' is retired (deleted) in the CRM"
    only(diagnostics, "user group 'Old Projects' is deleted")


def test_user_logins_match_case_insensitively():
    plan = make_plan(desired(connector(), erp(scope={"users": ["aho"]}), quote()), live_visma())
    assert plan.changes[1].desired.users == ("AHO",)


def test_quote_connector_must_be_installed():
    d = only(problems(connector(), erp(), quote(connector="Visma.Qoute")), "not installed")
    assert d.hint == "did you mean 'Visma.Quote'?"


def test_errors_never_show_a_secret_value():
    diagnostics = problems(connector(), erp(config={"CompanyId": 1, "ApiKey": "x", "Environment": "x"}), quote())
    assert all(CANARY not in str(d) for d in diagnostics)


@pytest.mark.parametrize(("number", "wire"), [(1.5, "1.5"), (2.0, "2"), (-1000.01, "-1000.01"), (1e20, "1E+20"), (1e-5, "1E-05")])
def test_doubles_use_the_invariant_culture(number, wire):
    assert format_double(number) == wire
