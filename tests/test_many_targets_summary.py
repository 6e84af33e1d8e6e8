"""`reconcile targets` (a CI matrix) and `reconcile summarize` (one summary from the plans of many
jobs), end to end against the multi-tenant emulator over real HTTP."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner, Result

from _tenants import Tenants, served_tenants, token_env
from reconciler.cli import main
from reconciler.fleet.summary import FleetSummary, TargetSummary, from_errors, render_summary_schema
from reconciler.plan.model import ACTIONS
from reconciler.render.fleet import render_summary_markdown, render_summary_text
from reconciler.render.markdown import MAX_CHARS

NAMES = {"customer-a": "Cust10001", "customer-b": "Cust10002", "customer-c": "Cust10003"}
CANARY = "canary-s3cr3t-in-url"
SCHEMA = Path(__file__).resolve().parents[1] / "schemas" / "summary.schema.json"


def reconcile(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env or {}, catch_exceptions=False)


@pytest.fixture
def tenants(workdir: Path, tmp_path: Path) -> Iterator[Tenants]:
    with served_tenants(tmp_path / "tenants", 3) as served:
        (workdir / "reconcile.yaml").write_text(served.project_yaml(NAMES), encoding="utf-8")
        yield served


def test_targets_lists_names_urls_and_credential_variables_never_credentials(workdir: Path) -> None:
    (workdir / "reconcile.yaml").write_text(
        "targets:\n"
        f"  customer-a: {{url: 'https://ops:{CANARY}@sod.superoffice.com/Cust1/?key={CANARY}', credentials: {{token: A_TOKEN}}}}\n"
        "  customer-b: {url: 'https://sod.superoffice.com/Cust2/', credentials: {ticket: B_TICKET, appToken: B_APP}}\n"
        "  online: {credentials: {systemUserToken: SO_SUT, privateKeyFile: SO_KEY, appToken: SO_APP, contextId: SO_CTX}}\n"
        "  rehearsal: {}\n", encoding="utf-8")

    text = reconcile("targets")
    matrix = reconcile("targets", "customer-*", "--output", "json")

    assert text.exit_code == 0 and matrix.exit_code == 0
    assert CANARY not in text.output + matrix.output
    assert text.output.splitlines() == [
        "customer-a  https://sod.superoffice.com/Cust1/  (A_TOKEN)",
        "customer-b  https://sod.superoffice.com/Cust2/  (B_APP, B_TICKET)",
        "online      the tenant its login service names  (SO_APP, SO_CTX, SO_KEY, SO_SUT)",
        "rehearsal   embedded emulator  (no credentials)",
    ]
    assert json.loads(matrix.output) == {
        "target": ["customer-a", "customer-b"],
        "include": [
            {"target": "customer-a", "url": "https://sod.superoffice.com/Cust1/", "credentials": ["A_TOKEN"]},
            {"target": "customer-b", "url": "https://sod.superoffice.com/Cust2/", "credentials": ["B_APP", "B_TICKET"]},
        ],
    }


@pytest.mark.slow
def test_summarize_merges_the_matrix_jobs_plans_and_names_drifted_and_failed_targets(tenants: Tenants, workdir: Path) -> None:
    env = token_env(*NAMES)
    assert reconcile("apply", "-f", "examples/", "--target", "customer-b", "--auto-approve", env=env).exit_code == 0
    (workdir / "plans").mkdir()
    matrix = json.loads(reconcile("targets", "--output", "json").output)
    for job in matrix["include"]:  # one job per target, as examples/ci's reconcile-fleet.yml runs them
        job_env = {variable: env[variable] for variable in job["credentials"] if job["target"] != "customer-c"}
        result = reconcile("plan", "-f", "examples/", "--target", job["target"], "--output", "json", env=job_env)
        (workdir / "plans" / f"{job['target']}.json").write_text(result.stdout, encoding="utf-8")

    paths = sorted(str(p) for p in (workdir / "plans").glob("*.json"))
    text = reconcile("summarize", *paths)
    markdown = reconcile("summarize", *paths, "--output", "markdown")
    merged = reconcile("summarize", *paths, "--output", "json")

    assert text.exit_code == markdown.exit_code == merged.exit_code == 1
    assert "Exit 1: 1 target(s) failed: customer-c." in text.output
    assert "+ SyncConnector/Tripletex  create" in text.output
    rows = [line.split()[:2] for line in text.output.splitlines() if line.strip().startswith("customer-")]
    assert ["customer-a", "changes"] in rows and ["customer-b", "no-changes"] in rows and ["customer-c", "error"] in rows
    assert "| customer-c | ❌ error |" in markdown.output and "TOKEN_CUSTOMER_C" in markdown.output
    assert "<details><summary><code>customer-a</code>" in markdown.output
    assert "<details><summary><code>customer-b</code>" not in markdown.output  # nothing to show
    jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8"))).validate(json.loads(merged.output))
    statuses = {t["name"]: t["status"] for t in json.loads(merged.output)["targets"]}
    assert statuses == {"customer-a": "changes", "customer-b": "no-changes", "customer-c": "error"}


@pytest.mark.slow
def test_summarize_reads_a_multi_target_plan_and_names_a_single_plan_on_request(tenants: Tenants, workdir: Path) -> None:
    env = token_env(*NAMES)
    many = reconcile("plan", "-f", "examples/", "--target", "customer-a", "--target", "customer-b", "-o", "json", env=env)
    (workdir / "many.json").write_text(many.stdout, encoding="utf-8")
    one = reconcile("plan", "-f", "examples/", "--target", "customer-c", "-o", "json", env=env)
    (workdir / "one.json").write_text(one.stdout, encoding="utf-8")

    result = reconcile("summarize", "many.json", "third=one.json", "--detailed-exitcode", "-o", "json")

    assert result.exit_code == 2, result.output
    assert [t["name"] for t in json.loads(result.output)["targets"]] == ["customer-a", "customer-b", "third"]


def test_summarize_refuses_what_is_not_a_plan_in_one_line(workdir: Path) -> None:
    (workdir / "notes.json").write_text('{"hello": 1}', encoding="utf-8")
    (workdir / "broken.json").write_text("{", encoding="utf-8")
    for name, expected in [("notes.json", "notes.json:1:1: not a plan: tool: Field required"),
                           ("broken.json", "broken.json:1:1: not JSON"),
                           ("missing.json", "missing.json: plan file does not exist")]:
        result = reconcile("summarize", name)
        assert result.exit_code == 1
        assert result.output.startswith(f"error: {expected}"), result.output
        assert "Traceback" not in result.output


def test_the_markdown_summary_of_many_targets_fits_one_comment() -> None:
    long_error = "the CRM did not answer " * 20
    summary = FleetSummary(targets=[from_errors(f"customer-{i:04}", f"https://sod.superoffice.com/Cust{i}/", [long_error])
                                    for i in range(2000)])
    text = render_summary_markdown(summary)
    assert len(text) <= MAX_CHARS
    assert "more targets and all details were cut" in text


def test_the_summary_tables_have_one_column_per_plan_action_in_the_plans_order() -> None:
    counts = {action: n for n, action in enumerate(ACTIONS, start=1)}  # create 1, update 2, …
    summary = FleetSummary(targets=[TargetSummary(name="customer-a", url="https://sod.superoffice.com/Cust1/",
                                                  status="changes", counts=counts)])
    markdown = render_summary_markdown(summary).splitlines()
    assert "| Target | Status | " + " | ".join(ACTIONS) + " | Failed tests | Error |" in markdown
    assert any(line.startswith("| customer-a | 🟡 changes | 1 | 2 | 3 | 4 | 5 |") for line in markdown)
    out = io.StringIO()
    render_summary_text(summary, out, detailed=False, color=False, verdict=False)
    heading, row = [line.split() for line in out.getvalue().splitlines() if "Target" in line or "customer-a" in line]
    assert heading == ["Target", "Status", "create", "update", "restore", "delete", "same", "failed", "tests", "errors"]
    assert row == ["customer-a", "changes", "1", "2", "3", "4", "5"]


def test_committed_summary_schema_is_current() -> None:
    assert SCHEMA.read_text(encoding="utf-8") == render_summary_schema(), (
        "schemas/summary.schema.json is stale: run `python -m reconciler.fleet.summary > schemas/summary.schema.json`")
