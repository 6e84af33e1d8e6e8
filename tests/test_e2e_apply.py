"""`reconcile apply` through the CLI against the emulator: every action and the failure paths."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from click.testing import Result

from conftest import Cli
from reconciler.apply.executor import execute
from reconciler.crm.live import LiveErpConnection
from reconciler.manifest.loader import load_desired
from reconciler.plan.planner import make_plan
from reconciler.planning import read_live


def apply(cli: Cli, *extra: str):
    return cli("apply", "-f", "examples/", "--auto-approve", *extra)


def apply_with_report(cli: Cli, workdir: Path) -> tuple[Result, dict[str, Any]]:
    """apply with --report, and the JSON report it wrote."""
    result = apply(cli, "--report", "report.json")
    return result, json.loads((workdir / "report.json").read_text())


def names_by_kind(cli: Cli) -> dict[str, list[tuple[str, bool, bool]]]:
    async def read(crm):
        return {
            "connectors": sorted((c.name, c.deleted, False) for c in await crm.get_connectors_with_urls()),
            "erp": sorted((c.name, c.deleted, c.active) for c in await crm.get_all_connections()),
            "quote": sorted((c.name, c.deleted, False) for c in await crm.get_all_quote_connections()),
        }

    return cli.run_crm(read)


def test_apply_creates_everything_then_converges(cli: Cli, workdir: Path):
    result, report = apply_with_report(cli, workdir)
    assert result.exit_code == 0, result.output
    assert "  ✓ + ErpConnection/Visma Production: created (id" in result.stdout
    assert "tested and activated" in result.stdout
    assert "Apply: 7 done, 0 failed, 0 skipped. The CRM matches the manifests." in result.stdout
    assert report["summary"] == {"done": 7, "failed": 0, "skipped": 0} and report["converged"] is True
    live = names_by_kind(cli)
    assert live["erp"] == [("Tripletex Norway", False, True), ("Visma Production", False, True), ("Visma Sandbox", False, False)]
    assert [n for n, _, _ in live["quote"]] == ["Tripletex Quotes", "Visma Quotes"]

    again = apply(cli)
    assert again.exit_code == 0 and "No changes." in again.stdout
    assert names_by_kind(cli) == live  # no duplicates


def test_failing_connection_test_stores_nothing_and_skips_dependents(cli: Cli, workdir: Path):
    """As the admin UI: an ERP connection is tested before it is saved, so a failing
    config is never stored."""
    (workdir / "examples" / "secrets" / "visma-production-api-key.txt").write_text("wrong-key\n")
    result, report = apply_with_report(cli, workdir)
    assert result.exit_code == 1, result.output
    assert "✗ + ErpConnection/Visma Production: not saved: its connection test failed" in result.stdout
    assert "– + QuoteConnection/Visma Quotes: skipped: ErpConnection/Visma Production did not succeed" in result.stdout
    assert "Apply: 5 done, 1 failed, 1 skipped. Not converged" in result.stdout
    assert report["converged"] is False and "ErpConnection/Visma Production (create)" in report["notConverged"]
    assert "Visma Production" not in [name for name, _, _ in names_by_kind(cli)["erp"]]

    (workdir / "examples" / "secrets" / "visma-production-api-key.txt").write_text("demo-fixed-key\n")
    fixed = apply(cli)
    assert fixed.exit_code == 0, fixed.output
    assert "+ ErpConnection/Visma Production: created (id" in fixed.stdout
    assert "tested and activated" in fixed.stdout
    assert "+ QuoteConnection/Visma Quotes: created" in fixed.stdout


def test_failing_test_of_an_active_connection_keeps_it_active_and_unchanged(cli: Cli, workdir: Path):
    assert apply(cli).exit_code == 0
    before = {c.name: c for c in cli.run_crm(lambda crm: crm.get_all_connections())}["Visma Production"]
    (workdir / "examples" / "secrets" / "visma-production-api-key.txt").write_text("wrong-key\n")
    result = apply(cli)
    assert result.exit_code == 1, result.output
    assert "✗ ~ ErpConnection/Visma Production: not saved: its connection test failed" in result.stdout
    after = {c.name: c for c in cli.run_crm(lambda crm: crm.get_all_connections())}["Visma Production"]
    assert after == before and after.active  # not deactivated, not saved


def test_saved_plan_applies_exactly_when_nothing_moved(cli: Cli, workdir: Path):
    assert cli("plan", "-f", "examples/", "--out", "plan.json").exit_code == 0
    result = cli("apply", "plan.json")
    assert result.exit_code == 0, result.output
    assert "Apply: 7 done" in result.stdout


def test_stale_saved_plan_is_refused_before_any_write(cli: Cli, workdir: Path):
    assert apply(cli).exit_code == 0
    manifest = workdir / "examples" / "connections.yaml"
    manifest.write_text(manifest.read_text().replace("description: Customers and invoices", "description: Customers only"))
    assert cli("plan", "-f", "examples/", "--out", "plan.json").exit_code == 0

    async def edit(crm):
        conn = next(c for c in await crm.get_all_connections() if c.name == "Visma Production")
        await crm.save_connection(replace(conn, description="someone else's edit"))

    cli.run_crm(edit)
    before = names_by_kind(cli)
    result = cli("apply", "plan.json")
    assert result.exit_code == 1
    assert "ErpConnection/Visma Production (id" in result.stderr and "changed in the CRM since the plan was made" in result.stderr
    assert "nothing was written" in result.stderr

    async def description(crm):
        return next(c.description for c in await crm.get_all_connections() if c.name == "Visma Production")

    assert cli.run_crm(description) == "someone else's edit"
    assert names_by_kind(cli) == before


def test_saved_plan_is_refused_when_the_manifests_changed(cli: Cli, workdir: Path):
    assert cli("plan", "-f", "examples/", "--out", "plan.json").exit_code == 0
    manifest = workdir / "examples" / "connections.yaml"
    manifest.write_text(manifest.read_text().replace("Norwegian subsidiary", "Norway"))
    result = cli("apply", "plan.json")
    assert result.exit_code == 1
    assert "error: ErpConnection/Tripletex Norway: its manifest changed since the plan was made" in result.stderr, result.stderr
    assert names_by_kind(cli)["connectors"] == []


def test_object_changed_between_plan_and_write_fails_alone(http_cli: Cli, workdir: Path):
    assert apply(http_cli).exit_code == 0
    manifest = workdir / "examples" / "connections.yaml"
    manifest.write_text(manifest.read_text().replace("description: Customers and invoices", "description: Customers only")
                        .replace("Norwegian subsidiary", "Norway"))
    desired = load_desired(["examples/"])

    async def race(crm):
        live = await read_live(crm, desired, "t")
        plan = make_plan(desired, live)
        conn = next(c for c in await crm.get_all_connections() if c.name == "Visma Production")
        await crm.save_connection(replace(conn, description="edited meanwhile"))
        return await execute(crm, plan)

    outcomes = {o.ref: o for o in http_cli.run_crm(race)}
    assert outcomes["ErpConnection/Visma Production"].status == "failed"
    assert "was changed in the CRM since the plan was made" in outcomes["ErpConnection/Visma Production"].message
    assert outcomes["ErpConnection/Tripletex Norway"].status == "done"  # independent changes go on


def test_a_connector_holding_an_ignored_connection_is_kept_and_apply_converges(cli: Cli, workdir: Path):
    assert apply(cli).exit_code == 0

    async def add(crm):
        extra = await crm.save_connector(0, "Offline", "https://connectors.example.com/offline")
        await crm.save_connection(LiveErpConnection(
            id=0, connector_id=extra.id, name="Kept by hand", description="", active=False, guid="",
            deleted=False, all_access=True, config={"Host": "erp.local"},
        ))

    cli.run_crm(add)
    (workdir / "reconcile.yaml").write_text("ignore:\n  ErpConnection: ['Kept *']\n")
    result = apply(cli)
    assert result.exit_code == 0, result.output
    assert "SyncConnector/Offline" not in result.stdout.replace("note: SyncConnector/Offline", "")
    assert ("note: SyncConnector/Offline is not in the manifests but is not soft-deleted: "
            "ErpConnection/Kept by hand under it stays") in " ".join(result.stdout.split())
    assert ("Offline", False, False) in names_by_kind(cli)["connectors"]
    again = cli("plan", "-f", "examples/", "--detailed-exitcode")
    assert again.exit_code == 0, again.output


def test_more_deletes_than_allowed_are_refused_before_any_write(cli: Cli):
    assert apply(cli).exit_code == 0

    async def add(crm):
        for i in range(6):
            await crm.save_connector(0, f"Unused {i}", f"https://connectors.example.com/unused-{i}")

    cli.run_crm(add)
    result = apply(cli)
    assert result.exit_code == 1
    assert "would soft-delete 6 objects" in result.stderr and "--allow-deletes" in result.stderr
    assert sum(1 for _, deleted, _ in names_by_kind(cli)["connectors"] if not deleted) == 8

    allowed = apply(cli, "--allow-deletes")
    assert allowed.exit_code == 0, allowed.output
    assert allowed.stdout.count("soft-deleted (the CRM keeps it") == 6


def test_deleted_objects_in_the_manifests_are_restored(cli: Cli):
    assert apply(cli).exit_code == 0

    async def delete(crm):
        quote = next(c for c in await crm.get_all_quote_connections() if c.name == "Visma Quotes")
        await crm.delete_quote_connection(quote.id)
        conn = next(c for c in await crm.get_all_connections() if c.name == "Visma Production")
        await crm.delete_connection(conn.id)

    cli.run_crm(delete)
    result = apply(cli)
    assert result.exit_code == 0, result.output
    # Saving it again made the CRM auto-map fields the manifest leaves unmapped: apply unmaps them.
    assert "↺ ErpConnection/Visma Production: restored; sync configuration applied (mappings of Customer" in result.stdout
    assert "tested and activated" in result.stdout
    assert "↺ QuoteConnection/Visma Quotes: restored and tested" in result.stdout
    live = names_by_kind(cli)
    assert ("Visma Production", False, True) in live["erp"] and ("Visma Quotes", False, False) in live["quote"]


def test_without_a_terminal_apply_needs_auto_approve(cli: Cli):
    result = cli("apply", "-f", "examples/")
    assert result.exit_code == 1
    assert "pass --auto-approve" in result.stderr
    assert names_by_kind(cli)["connectors"] == []


def test_soft_deleting_an_unmanaged_connection(cli: Cli):
    assert apply(cli).exit_code == 0

    async def add(crm):
        connector = next(c for c in await crm.get_connectors_with_urls() if c.name == "Visma.net")
        await crm.save_connection(LiveErpConnection(
            id=0, connector_id=connector.id, name="Stray", description="", active=False, guid="",
            deleted=False, all_access=True, config={"CompanyId": "5", "ApiKey": "demo-stray"},
        ))

    cli.run_crm(add)
    result = apply(cli)
    assert result.exit_code == 0, result.output
    assert "✓ - ErpConnection/Stray: soft-deleted" in result.stdout
    assert ("Stray", True, False) in names_by_kind(cli)["erp"]
