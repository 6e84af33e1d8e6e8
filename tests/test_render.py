"""What a reviewer sees: text, JSON and Markdown renderings of a plan."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

from _builders import CANARY, connector, desired, erp, live_visma, quote
from reconciler.crm.live import LiveConnector
from reconciler.plan.model import Change, FieldChange, Plan, TestResult
from reconciler.plan.planner import make_plan
from reconciler.plan.document import JsonPlan
from reconciler.render.json_plan import render_json, render_plan_schema
from reconciler.render.markdown import render_markdown
from reconciler.render.text import render_text
from reconciler.secrets import Sensitive

SCHEMA = Path(__file__).resolve().parents[1] / "schemas" / "plan.schema.json"


def text_of(plan: Plan, *, show_unchanged: bool = False) -> str:
    out = io.StringIO()
    render_text(plan, out, color=False, show_unchanged=show_unchanged)
    return out.getvalue()


def drifted_plan() -> Plan:
    live = live_visma()
    changed = replace(
        live.erp_connections[0],
        description="old",
        config={**live.erp_connections[0].config, "ApiKey": Sensitive("old-" + CANARY)},
    )
    live = replace(live, erp_connections=(changed,), connectors=(*live.connectors, LiveConnector(9, "Legacy", "https://legacy")))
    plan = make_plan(desired(connector(), erp(), quote(), connector("Tripletex", "https://t")), live)
    return plan.with_tests({"ErpConnection/Visma Production": TestResult("failed", "connector said no")})


def test_text_shows_symbols_fields_and_a_summary_without_colour_off_a_terminal():
    out = io.StringIO()
    render_text(drifted_plan(), out)
    text = out.getvalue()
    assert "\x1b[" not in text
    assert "  + Tripletex  create" in text and '      url: "https://t"' in text
    assert "  - Legacy  soft-delete" in text
    assert '      description: "old" → "Customers and invoices"' in text
    assert "config.ApiKey: changed (sensitive), from ${env:VISMA_KEY}" in text
    assert "Plan: 1 to create, 1 to update, 0 to restore, 1 to soft-delete, 2 unchanged. Tests: 1 failed." in text
    assert "1 connection test(s) failed: ErpConnection/Visma Production" in text


def test_text_colours_on_request_and_honours_no_color(monkeypatch):
    out = io.StringIO()
    render_text(drifted_plan(), out, color=True)
    assert "\x1b[" in out.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    out = io.StringIO()
    render_text(drifted_plan(), out)
    assert "\x1b[" not in out.getvalue()


def test_no_changes_says_so():
    text = text_of(make_plan(desired(connector(), erp(), quote()), live_visma()))
    assert "No changes. 3 object(s) match the manifests." in text


def test_canary_secret_appears_in_no_output_format():
    plan = drifted_plan()
    outputs = [text_of(plan), text_of(plan, show_unchanged=True), render_json(plan), render_markdown(plan), repr(plan)]
    for output in outputs:
        assert CANARY not in output
        assert "old-" not in output


def test_json_is_versioned_and_round_trips_through_its_model():
    document = json.loads(render_json(drifted_plan()))
    assert document["formatVersion"] == 1
    assert document["summary"]["soft-delete"] == 1 and document["summary"]["tests"]["failed"] == 1
    secret = next(f for c in document["changes"] for f in c["fields"] if f["path"] == "config.ApiKey")
    assert secret == {"path": "config.ApiKey", "before": None, "after": None, "sensitive": True, "reference": "${env:VISMA_KEY}"}
    JsonPlan.model_validate(document)


def test_committed_plan_schema_is_current():
    assert SCHEMA.read_text() == render_plan_schema(), (
        "schemas/plan.schema.json is stale: run `python -m reconciler.render.json_plan > schemas/plan.schema.json`"
    )


def _many_updates(n: int) -> Plan:
    changes = tuple(
        Change(
            kind="ErpConnection", name=f"Connection {i:05d}", action="update", live_id=i,
            fields=(FieldChange("description", "a" * 100, "b" * 100),),
        )
        for i in range(n)
    )
    return Plan(target="t", manifest_digest="d", changes=changes)


def test_markdown_cuts_details_first_to_stay_under_the_comment_limit():
    markdown = render_markdown(_many_updates(300))
    assert len(markdown) <= 60_000
    assert "| ~ | ErpConnection | Connection 00299 | update |  |" in markdown  # every row kept
    assert "more change details were cut to keep this comment under 60,000 characters" in markdown


def test_markdown_cuts_rows_too_when_the_table_alone_is_too_long():
    markdown = render_markdown(_many_updates(2000))
    assert len(markdown) <= 60_000
    assert "| ~ | ErpConnection | Connection 00000 | update |  |" in markdown
    assert "more rows and all change details were cut" in markdown
    assert "<details>" not in markdown


def test_markdown_shows_details_and_test_results():
    markdown = render_markdown(drifted_plan())
    assert "| ~ | ErpConnection | Visma Production | update | ❌ failed |" in markdown
    assert "<details><summary><code>~ ErpConnection/Visma Production</code> — update</summary>" in markdown
    assert "# test failed: connector said no" in markdown
    assert "cut" not in markdown


def test_creates_do_not_list_empty_fields():
    from _builders import empty_live

    plan = make_plan(desired(connector(), erp(description=""), quote()), empty_live())
    text = text_of(plan)
    assert "users: []" not in text and "description:" not in text
    assert "everyone: true" in text
