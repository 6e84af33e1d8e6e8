"""`reconcile plan` through the CLI, against the emulator in-process and over loopback HTTP."""

from __future__ import annotations

import json
from dataclasses import replace

from conftest import Cli
from reconciler.crm.live import LiveErpConnection


def applied(cli: Cli) -> None:
    result = cli("apply", "-f", "examples/", "--auto-approve")
    assert result.exit_code == 0, result.output


def plan_json(cli: Cli, *extra: str) -> dict:
    result = cli("plan", "-f", "examples/", "--output", "json", *extra)
    assert result.exit_code in (0, 2), result.output
    return json.loads(result.stdout)


def actions(document: dict) -> dict[str, str]:
    return {f"{c['kind']}/{c['name']}": c["action"] for c in document["changes"] if c["action"] != "no-op"}


def test_fresh_tenant_plans_everything_as_created(cli: Cli):
    result = cli("plan", "-f", "examples/", "--detailed-exitcode")
    assert result.exit_code == 2, result.output
    assert "Plan: 7 to create, 0 to update, 0 to restore, 0 to soft-delete, 0 unchanged." in result.stdout
    assert "  + Visma Production  create" in result.stdout
    # The two new connector URLs answer TestConnectorUrl; the ERP connections wait for their connectors.
    assert "Tests: 4 passed, 3 deferred." in result.stdout
    assert "  + Visma.net  create  test passed" in result.stdout
    if cli.server is None:
        assert "Using the embedded SuperOffice emulator" in result.stderr


def test_without_detailed_exitcode_changes_exit_zero(cli: Cli):
    assert cli("plan", "-f", "examples/").exit_code == 0


def test_manifests_equal_to_live_are_no_changes(cli: Cli):
    applied(cli)
    result = cli("plan", "-f", "examples/", "--detailed-exitcode", "--test", "all")
    assert result.exit_code == 0, result.output
    assert "No changes. 7 object(s) match the manifests. Tests: 5 passed." in result.stdout


def test_drift_in_the_crm_gives_exactly_the_right_actions(cli: Cli):
    applied(cli)

    async def drift(crm):
        connections = {c.name: c for c in await crm.get_all_connections()}
        production = connections["Visma Production"]
        await crm.save_connection(replace(production, description="edited in the admin UI",
                                          config={**production.config, "CompanyId": "777"}))
        sandbox = connections["Visma Sandbox"]
        await crm.save_connection(replace(sandbox, associate_ids=(sandbox.associate_ids[0],)))
        await crm.delete_connection(connections["Tripletex Norway"].id)
        await crm.save_connection(LiveErpConnection(
            id=0, connector_id=production.connector_id, name="Hand-made", description="", active=False,
            guid="", deleted=False, all_access=True, config={"CompanyId": "1", "ApiKey": "demo-x"},
        ))

    cli.run_crm(drift)
    document = plan_json(cli)
    assert actions(document) == {
        "ErpConnection/Visma Production": "update",
        "ErpConnection/Visma Sandbox": "update",
        "ErpConnection/Tripletex Norway": "restore",
        "ErpConnection/Hand-made": "soft-delete",
    }
    changes = {c["name"]: c for c in document["changes"]}
    production_fields = {(f["path"], f["before"], f["after"]) for f in changes["Visma Production"]["fields"]}
    assert {f for f in production_fields if not f[0].startswith("sync.")} == {
        ("description", "edited in the admin UI", "Customers and invoices"),
        ("config.CompanyId", "777", "12345"),
    }
    # Saving a connection makes the CRM auto-map unmapped fields whose keys it knows
    # (docs/api/netserver/erp-connectors/automatic-field-mapping.md); the manifest's
    # field lists are complete, so the plan unmaps them again.
    assert ("sync.Customer.PHONE.crmField", "contact/phone", None) in production_fields
    assert all(f[2] is None and f[0].endswith(".crmField") for f in production_fields if f[0].startswith("sync."))
    assert [(f["path"], f["before"], f["after"]) for f in changes["Visma Sandbox"]["fields"]] == [
        ("users", ["ADM"], ["ADM", "AHO"])
    ]
    assert changes["Tripletex Norway"]["test"]["status"] == "passed"
    # The quote connection on the restored ERP connection waits for it.
    assert changes["Hand-made"]["dependsOn"] == []

    applied(cli)
    assert actions(plan_json(cli)) == {}


def test_json_output_is_the_saved_plan_and_names_the_target(cli: Cli, workdir):
    result = cli("plan", "-f", "examples/", "--out", "plan.json")
    assert result.exit_code == 0, result.output
    assert "Saved the plan to plan.json" in result.stdout
    saved = json.loads((workdir / "plan.json").read_text())
    assert saved["formatVersion"] == 1 and saved["request"]["manifests"] == ["examples/"]
    assert saved["target"] == (cli.server.url if cli.server else "embedded emulator (.reconcile/emulator.sqlite)")
    assert len(saved["manifestDigest"]) == 64


def test_unknown_user_is_an_error_with_the_manifest_location(cli: Cli, workdir):
    manifest = workdir / "examples" / "connections.yaml"
    manifest.write_text(manifest.read_text().replace("users: [ADM, AHO]", "users: [ADM, AHX]"))
    result = cli("plan", "-f", "examples/")
    assert result.exit_code == 1
    assert "examples/connections.yaml:80:18:" in result.stderr
    assert "ErpConnection/Visma Sandbox: unknown user 'AHX' (did you mean 'AHO'?)" in result.stderr
    assert "Traceback" not in result.output


def test_failed_connection_test_exits_one(cli: Cli, workdir):
    applied(cli)
    (workdir / "examples" / "secrets" / "tripletex-quote-token.txt").write_text("expired-token\n")
    result = cli("plan", "-f", "examples/")
    assert result.exit_code == 1, result.output
    assert "Tripletex Quotes  update  test failed" in result.stdout
    assert "Tripletex rejected the API token" in result.stdout
    assert "expired-token" not in result.output


def test_changed_saved_connections_are_tested_through_their_connector_id(cli: Cli, workdir):
    """TestConnectionByConfig's ErpConnectionId is the connector's id, also for a saved
    connection: sending the connection's own id would test against the wrong connector."""
    applied(cli)
    live = cli.run_crm(lambda crm: crm.get_all_connections())
    assert any(c.id != c.connector_id for c in live)  # else this test could not tell the ids apart
    manifest = workdir / "examples" / "connections.yaml"
    text = manifest.read_text()
    for old in ("Customers and invoices", "Test company for the finance team", "Norwegian subsidiary"):
        text = text.replace(f"description: {old}", f"description: {old} (edited)")
    manifest.write_text(text)
    result = cli("plan", "-f", "examples/", "--output", "json")
    assert result.exit_code == 0, result.output
    tests = {c["name"]: c["test"]["status"] for c in json.loads(result.stdout)["changes"] if c["action"] == "update"}
    assert tests == {"Visma Production": "passed", "Visma Sandbox": "passed", "Tripletex Norway": "passed"}
