"""Sync configuration as code, end to end through the CLI against the emulator:
apply sets it, a change in the CRM shows field by field and is put back, plan-time
checks name file:line with did-you-mean, and an active connection keeps running."""

from __future__ import annotations

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
    assert (customer.field("VATNO").crm_field, customer.field("VATNO").direction) == ("contact/orgnr", "both")
    assert (customer.field("NUMBER").crm_field, customer.field("NUMBER").direction) == ("contact/number1", "toCrm")
    assert customer.field("CREDITLIMIT").erp_tab and customer.field("NAME").search
    # Auto-mapped by the CRM on save, but not in the manifest's complete list: unmapped.
    assert customer.field("PHONE").crm_field == ""
    assert (payterms.preset, payterms.value, payterms.ask_user) == (True, "30", True)


def test_a_change_in_the_crm_shows_field_by_field_and_apply_puts_it_back(cli: Cli, workdir: Path) -> None:
    applied(cli)
    cid = production_id(cli)

    async def drift(crm):
        customer = await get_actor_mapping(crm, cid, "Customer")
        fields = tuple(f if f.key != "VATNO" else type(f)(**{**f.__dict__, "direction": "toErp"}) for f in customer.fields)
        await save_actor_mapping(crm, type(customer)(**{**customer.__dict__, "fields": fields}))

    cli.run_crm(drift)
    planned = cli("plan", "-f", "examples/")
    assert 'sync.Customer.VATNO.direction: "toErp" → "both"' in planned.stdout, planned.stdout
    document = plan_json(cli)
    [change] = [c for c in document["changes"] if c["name"] == "Visma Production"]
    assert change["action"] == "update"
    assert [(f["path"], f["before"], f["after"]) for f in change["fields"]] == [
        ("sync.Customer.VATNO.direction", "toErp", "both")]
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
    text = text.replace("VATNO:       {crmField: contact/orgnr, direction: both}",
                        "VATNOO:      {crmField: contact/orgnr, direction: both}")
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


def test_validate_reports_the_sync_rules_that_need_no_crm_as_plan_does(embedded_cli: Cli, workdir: Path) -> None:
    manifest = workdir / "examples" / "connections.yaml"
    text = manifest.read_text()
    for old, new in (
        ("BALANCE:     {erpTab: true}", "BALANCE:     {direction: toCrm}"),  # a direction without crmField
        ("erpTabOrder: [BALANCE, CREDITLIMIT]", "erpTabOrder: [CREDITLIMIT, CREDITLIMIT]"),
        ('PAYTERMS: {value: "30", askUser: true}', "PAYTERMS: {mandatory: true}"),  # mandatory with nothing to fill in
        ("priority: 2", "priority: 1"),  # the same priority as Visma Production
    ):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    manifest.write_text(text)
    lines = text.splitlines()

    def line_of(fragment: str, after: int = 0) -> int:
        return next(i for i, line in enumerate(lines, 1) if i > after and fragment in line)

    validated = embedded_cli("validate", "-f", "examples/")
    assert validated.exit_code == 1, validated.output
    errors = validated.stderr.splitlines()
    assert errors[-1] == "Invalid: 4 errors in 1 file", validated.stderr
    where = "examples/connections.yaml"
    expected = [
        (line_of("BALANCE:     {direction"), "ErpConnection/Visma Production: BALANCE: a direction needs a crmField"),
        (line_of("erpTabOrder: [CREDITLIMIT, CREDITLIMIT]"),
         "ErpConnection/Visma Production: erpTabOrder lists CREDITLIMIT twice (list each field once)"),
        (line_of("PAYTERMS: {mandatory"),
         "ErpConnection/Visma Production: PAYTERMS: a mandatory default needs a value or askUser: true"),
        (line_of("priority: 1", after=line_of("name: Tripletex Norway")),
         f"ErpConnection/Tripletex Norway: priority 1 is also set by ErpConnection/Visma Production "
         f"(at {where}:{line_of('priority: 1')}:"),
    ]
    for (line, message), error in zip(expected, errors):
        assert error.startswith(f"{where}:{line}:"), (error, line)
        assert message in error, (error, message)
    assert "Traceback" not in validated.output
    # Exactly what plan says about the same manifests (one home for each rule).
    planned = embedded_cli("plan", "-f", "examples/")
    assert planned.exit_code == 1, planned.output
    assert [e.removeprefix("error: ") for e in planned.stderr.splitlines() if where in e] == errors[:-1]


def test_two_connections_feeding_one_crm_field_one_way_is_an_error_naming_the_other(
    embedded_cli: Cli, workdir: Path
) -> None:
    """The CRM refuses toCrm on a field another connection maps (AlreadyMapped): validate
    and plan say so at the line, name the other connection and say how to fix it."""
    manifest = workdir / "examples" / "connections.yaml"
    text = manifest.read_text()
    old = "VATNO:  {crmField: contact/orgnr, direction: both}\n          PHONE"
    assert text.count(old) == 1
    text = text.replace(old, "VATNO:  {crmField: contact/orgnr, direction: toCrm}\n          PHONE")
    manifest.write_text(text)
    lines = text.splitlines()
    tripletex = next(i for i, line in enumerate(lines, 1) if "direction: toCrm}" in line and "VATNO" in line)
    production = next(i for i, line in enumerate(lines, 1) if line.strip().startswith("VATNO:       {crmField"))
    expected = (f"examples/connections.yaml:{tripletex}:",
                "ErpConnection/Tripletex Norway: VATNO: contact/orgnr of Contact is also mapped by "
                f"ErpConnection/Visma Production (Customer.VATNO, at examples/connections.yaml:{production}:",
                "use direction: both on VATNO, or map contact/orgnr on one connection only")
    validated = embedded_cli("validate", "-f", "examples/")
    assert validated.exit_code == 1, validated.output
    [error] = [e for e in validated.stderr.splitlines() if "contact/orgnr" in e]
    assert all(part in error for part in expected), (error, expected)
    planned = embedded_cli("plan", "-f", "examples/")
    assert planned.exit_code == 1, planned.output
    [error] = [e for e in planned.stderr.splitlines() if "contact/orgnr" in e]
    assert all(part in error for part in expected), (error, expected)
    assert "Traceback" not in planned.output


def test_a_field_the_crm_reports_already_mapped_outside_the_manifests_is_an_error_at_plan(
    cli: Cli, workdir: Path
) -> None:
    """Visma Sandbox's sync is not managed here; the CRM auto-mapped its Project NAME to
    project/name. Once no other connection in the manifests manages Project, the plan
    trusts the CRM's AlreadyMapped flag (read with the mapping, no extra request)."""
    applied(cli)
    manifest = workdir / "examples" / "connections.yaml"
    text = manifest.read_text()
    for old, new in (
        ("      Project:\n        fields:\n          NUMBER: {erpTab: true}\n"
         "          NAME:   {crmField: project/name, direction: both}\n", ""),
        ("          NAME: {crmField: project/name, direction: both}", "          NAME: {crmField: project/name, direction: toCrm}"),
    ):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    manifest.write_text(text)
    line = next(i for i, text_line in enumerate(text.splitlines(), 1) if "project/name, direction: toCrm" in text_line)
    planned = cli("plan", "-f", "examples/")
    assert planned.exit_code == 1, planned.output
    assert (f"examples/connections.yaml:{line}:" in planned.stderr
            and "ErpConnection/Visma Production: NAME: the CRM reports project/name of Project as already mapped "
                "by another connection whose sync these manifests do not manage" in planned.stderr), planned.stderr
    assert "use direction: both on NAME, or unmap project/name on the other connection" in planned.stderr


def test_a_mapping_the_crm_refuses_as_already_mapped_shows_the_crms_reason(cli: Cli, workdir: Path) -> None:
    """A new connection has no mapping to read at plan time, so the rule is the CRM's to
    enforce: another connection (Visma Sandbox, whose sync is not managed here) maps
    contact/postaladdress/city, and apply shows the CRM's refusal on the change."""
    applied(cli)
    manifest = workdir / "examples" / "connections.yaml"
    manifest.write_text(manifest.read_text() + """---
apiVersion: erp-reconciler/v1
kind: ErpConnection
metadata:
  name: Visma Extra
spec:
  connector: Visma.net
  active: false
  scope:
    everyone: true
  config:
    CompanyId: 777
    ApiKey: ${file:secrets/visma-sandbox-api-key.txt}
  sync:
    actors:
      Customer:
        enabled: false
        fields:
          POSTALCITY: {crmField: contact/postaladdress/city, direction: toCrm}
""")
    result = cli("apply", "-f", "examples/", "--auto-approve")
    assert result.exit_code == 1, result.output
    [failed] = [line for line in result.stdout.splitlines() if line.lstrip().startswith("✗ + ErpConnection/Visma Extra")]
    assert "ErpSync/SaveActorTypeMapping" in failed, failed
    assert ("Customer.POSTALCITY: contact/postaladdress/city of Contact is already mapped by another connection; "
            "it cannot be mapped one way to SuperOffice here") in failed, failed
    assert "Traceback" not in result.output
