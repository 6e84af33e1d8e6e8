"""Sync configuration as code, end to end through the CLI against the emulator:
apply sets it, a change in the CRM shows field by field and is put back, plan-time
checks name file:line with did-you-mean, and an active connection keeps running."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import Cli
from reconciler.crm.sync_endpoints import get_actor_mapping, get_default, save_actor_mapping
from test_e2e_plan import applied, plan_json


def production_id(cli: Cli) -> int:
    async def read(crm):
        return next(c.id for c in await crm.get_all_connections() if c.name == "Visma Production")

    return cli.run_crm(read)


def test_apply_sets_the_sync_configuration_the_manifest_gives(cli: Cli) -> None:
    applied(cli)
    cid = production_id(cli)

    async def read(crm):
        customer = await get_actor_mapping(crm, cid, "Customer")
        payterms = await get_default(crm, customer.field("PAYTERMS").id)
        return customer, payterms

    customer, payterms = cli.run_crm(read)
    assert customer.enabled
    assert (customer.field("VATNO").crm_field, customer.field("VATNO").direction) == ("contact/orgnr", "toCrm")
    assert customer.field("CREDITLIMIT").erp_tab and customer.field("NAME").search
    # Auto-mapped by the CRM on save, but not in the manifest's complete list: unmapped.
    assert customer.field("PHONE").crm_field == ""
    assert (payterms.preset, payterms.value, payterms.ask_user) == (True, "30", True)


def test_a_change_in_the_crm_shows_field_by_field_and_apply_puts_it_back(cli: Cli, workdir: Path) -> None:
    applied(cli)
    cid = production_id(cli)

    async def drift(crm):
        customer = await get_actor_mapping(crm, cid, "Customer")
        fields = tuple(f if f.key != "VATNO" else type(f)(**{**f.__dict__, "direction": "both"}) for f in customer.fields)
        await save_actor_mapping(crm, type(customer)(**{**customer.__dict__, "fields": fields}))

    cli.run_crm(drift)
    planned = cli("plan", "-f", "examples/")
    assert 'sync.Customer.VATNO.direction: "both" → "toCrm"' in planned.stdout, planned.stdout
    document = plan_json(cli)
    [change] = [c for c in document["changes"] if c["name"] == "Visma Production"]
    assert change["action"] == "update"
    assert [(f["path"], f["before"], f["after"]) for f in change["fields"]] == [
        ("sync.Customer.VATNO.direction", "both", "toCrm")]
    applying = cli("apply", "-f", "examples/", "--auto-approve")
    assert applying.exit_code == 0, applying.output
    # Only sync changed: applied on the active connection, which is not deactivated.
    assert "ErpConnection/Visma Production: sync configuration applied (mappings of Customer)" in applying.stdout
    assert "The CRM matches the manifests." in applying.stdout
    assert "No changes." in cli("plan", "-f", "examples/").stdout


def test_plan_time_checks_name_the_line_and_suggest(cli: Cli, workdir: Path) -> None:
    applied(cli)
    manifest = workdir / "examples" / "connections.yaml"
    text = manifest.read_text()
    text = text.replace("VATNO:       {crmField: contact/orgnr, direction: toCrm}",
                        "VATNOO:      {crmField: contact/orgnr, direction: toCrm}")
    text = text.replace("CREDITLIMIT: {erpTab: true}", "CREDITLIMIT: {crmField: contact/name, direction: both}")
    text = text.replace("FIRSTNAME: {crmField: person/firstname, direction: both}", "FIRSTNAME: {crmField: person/firstname}")
    manifest.write_text(text)
    result = cli("plan", "-f", "examples/")
    assert result.exit_code == 1
    lines = text.splitlines()
    typo = next(i for i, line in enumerate(lines, 1) if "VATNOO" in line)
    assert f"examples/connections.yaml:{typo}:" in result.stderr
    assert "Customer has no ERP field 'VATNOO' (did you mean 'VATNO'?)" in result.stderr
    assert "CREDITLIMIT is ReadOnly in the ERP system; it cannot sync to the ERP" in result.stderr
    assert "Person is enabled, but its Mandatory field FIRSTNAME has no direction" in result.stderr
    assert "Traceback" not in result.output


def test_a_direction_without_a_crm_field_is_refused_before_anything_is_read(cli: Cli, workdir: Path) -> None:
    manifest = workdir / "examples" / "connections.yaml"
    manifest.write_text(manifest.read_text().replace(
        "BALANCE:     {erpTab: true}", "BALANCE:     {direction: toCrm}"))
    result = cli("plan", "-f", "examples/")
    assert result.exit_code == 1
    assert "BALANCE: a direction needs a crmField" in result.stderr


def test_a_new_connection_the_crm_refuses_to_activate_shows_the_crms_reasons(cli: Cli, workdir: Path) -> None:
    """For a connection the plan creates, the CRM has no cached fields yet, so the
    mandatory-field rule is the CRM's to enforce: apply shows its refusal reasons."""
    manifest = workdir / "examples" / "connections.yaml"
    manifest.write_text(manifest.read_text().replace(
        "FIRSTNAME: {crmField: person/firstname, direction: both}", "FIRSTNAME: {crmField: person/firstname}", 1))
    result = cli("apply", "-f", "examples/", "--auto-approve")
    assert result.exit_code == 1, result.output
    assert "✗ + ErpConnection/Visma Production: created inactive (id" in result.stdout
    assert ("and tested, but the CRM refused to activate it: "
            "The mandatory field FIRSTNAME of Person has no sync direction") in result.stdout
    # Now the fields are cached: the plan names the problem at the manifest's line.
    planned = cli("plan", "-f", "examples/")
    assert planned.exit_code == 1
    assert "Person is enabled, but its Mandatory field FIRSTNAME has no direction" in planned.stderr
