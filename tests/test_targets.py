"""reconcile.yaml targets: --target, defaultTarget, credential variables, ${var:…}, and their errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _manifest_texts import ERP_UP_TO_CONFIG, SYNC_FLOW
from conftest import DEMO_TOKEN, Cli, EmulatorServer
from reconciler.diagnostics import DiagnosticError, Location
from reconciler.project import load_project

CANARY = "canary-5d1e-credential-do-not-print"

MANIFEST = SYNC_FLOW + "---\n" + ERP_UP_TO_CONFIG + """\
    CompanyId: ${var:CompanyId}
    ApiKey: ${file:examples/secrets/visma-production-api-key.txt}
    Environment: ${var:Environment}
"""


def write_project(workdir: Path, text: str) -> None:
    (workdir / "reconcile.yaml").write_text(text, encoding="utf-8")


def write_manifest(workdir: Path) -> str:
    (workdir / "m.yaml").write_text(MANIFEST, encoding="utf-8")
    return "m.yaml"


def project_for(server: EmulatorServer, *, default: str | None = None) -> str:
    return f"""\
{f'defaultTarget: {default}' if default else ''}
targets:
  production:
    url: {server.url}
    credentials: {{token: PROD_SO_TOKEN}}
    vars: {{CompanyId: 12345, Environment: production}}
  staging:
    url: {server.url}
    credentials: {{ticket: STAGING_TICKET, appToken: STAGING_APP_TOKEN}}
    vars: {{CompanyId: "777", Environment: sandbox}}
  rehearsal:
    vars: {{CompanyId: 1, Environment: sandbox}}
"""


def plan_json(cli: Cli, *args: str) -> dict:
    result = cli("plan", "-f", "m.yaml", "--output", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def erp_field(plan: dict, path: str) -> object:
    change = next(c for c in plan["changes"] if c["kind"] == "ErpConnection")
    return next(f["after"] for f in change["fields"] if f["path"] == path)


def test_target_brings_its_url_credentials_and_vars(emulator_server: EmulatorServer, workdir: Path) -> None:
    write_project(workdir, project_for(emulator_server))
    write_manifest(workdir)
    cli = Cli(env={"PROD_SO_TOKEN": DEMO_TOKEN, "STAGING_TICKET": "7T:demo-ticket", "STAGING_APP_TOKEN": "demo-app-token"})

    applied = cli("apply", "-f", "m.yaml", "--target", "production", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    production = plan_json(cli, "--target", "production")
    staging = plan_json(cli, "--target", "staging")

    assert production["target"] == staging["target"] == emulator_server.url
    assert not [c for c in production["changes"] if c["action"] != "no-op"]
    assert erp_field(staging, "config.Environment") == "sandbox"
    # Vars are not secrets: the text output shows them.
    shown = cli("plan", "-f", "m.yaml", "--target", "staging")
    assert '"production" → "sandbox"' in shown.stdout, shown.stdout
    assert "Using the embedded" not in shown.stderr


def test_apply_with_a_target_then_plan_is_no_changes(emulator_server: EmulatorServer, workdir: Path) -> None:
    write_project(workdir, project_for(emulator_server, default="production"))
    write_manifest(workdir)
    cli = Cli(env={"PROD_SO_TOKEN": DEMO_TOKEN})
    applied = cli("apply", "-f", "m.yaml", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    again = cli("plan", "-f", "m.yaml", "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    assert "No changes" in again.stdout
    # The other target's CompanyId differs: the same manifests plan an update there.
    moved = Cli(env={"STAGING_TICKET": "7T:demo-ticket", "STAGING_APP_TOKEN": "demo-app-token"})(
        "plan", "-f", "m.yaml", "--target", "staging", "--detailed-exitcode")
    assert moved.exit_code == 2, moved.output
    assert "config.CompanyId" in moved.stdout


def test_default_target_and_reconcile_target_variable(emulator_server: EmulatorServer, workdir: Path) -> None:
    write_project(workdir, project_for(emulator_server, default="rehearsal"))
    write_manifest(workdir)
    by_default = Cli(env={})("plan", "-f", "m.yaml")
    assert by_default.exit_code == 0, by_default.output
    assert "target 'rehearsal' has no url" in by_default.stderr
    assert 'config.Environment: (sensitive)' in by_default.stdout  # unchecked until the connector exists

    by_variable = Cli(env={"RECONCILE_TARGET": "production", "PROD_SO_TOKEN": DEMO_TOKEN})("plan", "-f", "m.yaml")
    assert by_variable.exit_code == 0, by_variable.output
    assert emulator_server.url in by_variable.stdout


@pytest.mark.parametrize(
    ("project", "args", "expected"),
    [
        pytest.param("targets:\n  production: {}\n  staging: {}\n", ("--target", "prodution"),
                     ["reconcile.yaml:1:1: unknown target 'prodution' (did you mean 'production'?)"],
                     id="unknown target suggests the nearest"),
        pytest.param("defaultTarget: a\ntargets:\n  a: {vars: {CompanyID: 1, Environment: production}}\n", (),
                     ["unknown variable 'CompanyId' (from '${var:CompanyId}') (did you mean 'CompanyID'?)", "m.yaml:13:5"],
                     id="unknown variable suggests the nearest"),
        pytest.param(None, (), ["'${var:CompanyId}' needs a target", "pass --target NAME"],
                     id="variables need a target"),
    ],
)
def test_a_target_or_variable_plan_cannot_resolve_is_a_clear_error(
    workdir: Path, project: str | None, args: tuple[str, ...], expected: list[str]
) -> None:
    if project is not None:
        write_project(workdir, project)
    write_manifest(workdir)
    result = Cli(env={})("plan", "-f", "m.yaml", *args)
    assert result.exit_code == 1
    for text in expected:
        assert text in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("env", "target", "expected"),
    [
        # The app token is set (to a canary), the ticket is not.
        pytest.param({"STAGING_APP_TOKEN": CANARY}, "staging",
                     "reconcile.yaml:9:19: target 'staging': environment variable STAGING_TICKET (ticket) is not set",
                     id="missing credential variable is named"),
        pytest.param({"PROD_SO_TOKEN": ""}, "production", "environment variable PROD_SO_TOKEN (token) is empty",
                     id="empty credential variable is named"),
        pytest.param({"PROD_SO_TOKEN": CANARY}, "production", "PROD_SO_TOKEN",
                     id="refused credentials name the target variable"),
    ],
)
def test_credential_problems_name_the_target_variable_never_the_value(
    emulator_server: EmulatorServer, workdir: Path, env: dict[str, str], target: str, expected: str
) -> None:
    write_project(workdir, project_for(emulator_server))
    write_manifest(workdir)
    result = Cli(env=env)("plan", "-f", "m.yaml", "--target", target)
    assert result.exit_code == 1
    assert expected in result.stderr
    assert CANARY not in result.output


def test_validate_checks_variables_against_the_chosen_or_every_target(workdir: Path) -> None:
    write_manifest(workdir)
    write_project(workdir, "targets:\n  a: {vars: {CompanyId: 1, Environment: production}}\n  b: {vars: {CompanyId: 2}}\n")
    cli = Cli(env={})
    assert cli("validate", "-f", "m.yaml", "--target", "a").exit_code == 0
    missing = cli("validate", "-f", "m.yaml", "--target", "b")
    assert missing.exit_code == 1 and "unknown variable 'Environment'" in missing.stderr
    # No target chosen and no defaultTarget: a variable must exist in every target.
    every = cli("validate", "-f", "m.yaml")
    assert every.exit_code == 1 and "unknown variable 'Environment'" in every.stderr
    assert "CompanyId" not in every.stderr


def test_target_and_url_together_is_an_error(workdir: Path) -> None:
    write_project(workdir, "targets:\n  a: {}\n")
    result = Cli(env={})("plan", "-f", "examples/", "--target", "a", "--url", "https://crm.example.com/x")
    assert result.exit_code == 1
    assert "both --target and --url are given" in result.stderr


def test_variables_mixed_with_secrets_stay_sensitive(workdir: Path) -> None:
    from reconciler.manifest.references import resolve
    from reconciler.secrets import Sensitive

    plain = resolve("id-${var:A}", manifest_dir=workdir, env={}, variables={"A": "1"})
    assert plain == "id-1"
    mixed = resolve("${var:A}:${env:S}", manifest_dir=workdir, env={"S": CANARY}, variables={"A": "1"})
    assert isinstance(mixed, Sensitive) and str(mixed) == "(sensitive)"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("tragets: {}\n", "reconcile.yaml:1:1: tragets: unknown key 'tragets' (did you mean 'targets'?)"),
        ("targets:\n  p:\n    url: https://x.example.com/\n    credentials: {token: abc-123}\n",
         "reconcile.yaml:4:19: targets.p.credentials.token: must be the NAME of an environment variable"),
        ("targets:\n  p:\n    url: https://x.example.com/\n    credentials: {ticket: T}\n",
         "reconcile.yaml:4:5: targets.p.credentials: 'ticket' needs ticket and appToken; 'appToken' is missing"),
        ("targets:\n  p:\n    url: https://x.example.com/\n",
         "reconcile.yaml:2:3: targets.p: a target with a url needs 'credentials'"),
        ("targets:\n  p:\n    ulr: https://x.example.com/\n", "unknown key 'ulr' (did you mean 'url'?)"),
        ("targets:\n  p: {}\ndefaultTarget: P\n", "reconcile.yaml:3:1: defaultTarget: 'P' is not a target (did you mean 'p'?)"),
        ("maxDeletes: 1\nmaxDeletes: 2\n", "reconcile.yaml:2:1"),
        ("targets:\n  p: {vars: {1x: 2}}\n", "variable name '1x' must be letters"),
    ],
)
def test_project_file_errors_point_at_the_line(workdir: Path, text: str, expected: str) -> None:
    write_project(workdir, text)
    result = Cli(env={})("plan", "-f", "examples/")
    assert result.exit_code == 1
    assert expected in result.stderr
    assert "Traceback" not in result.output


def test_http_target_credentials_in_the_file_are_refused(workdir: Path) -> None:
    write_project(workdir, f"targets:\n  p:\n    url: https://x.example.com/\n    credentials: {{token: {CANARY}}}\n")
    with pytest.raises(DiagnosticError) as info:
        load_project()
    assert CANARY not in str(info.value)
    assert info.value.diagnostics[0].location == Location("reconcile.yaml", 4, 19)


def test_bad_target_url_points_at_the_url_line(workdir: Path) -> None:
    write_project(workdir, "targets:\n  p:\n    url: http://crm.example.com/\n    credentials: {token: T}\n")
    result = Cli(env={"T": CANARY})("plan", "-f", "examples/", "--target", "p")
    assert result.exit_code == 1
    assert "reconcile.yaml:3:5: refusing plain http to crm.example.com" in result.stderr
    assert CANARY not in result.output
