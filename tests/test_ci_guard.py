"""No silent emulator in CI: with CI set and no target configured, plan/apply/export refuse;
`--target emulator` (or RECONCILE_TARGET=emulator, or defaultTarget: emulator) names it on purpose."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import Cli
from reconciler.tenant_choice import running_in_ci

REFUSAL = "no CRM target is configured and CI is set"


@pytest.mark.parametrize(
    "args",
    [("plan", "-f", "examples/"), ("apply", "-f", "examples/", "--auto-approve"), ("export",)],
    ids=["plan", "apply", "export"],
)
def test_ci_without_a_target_refuses_instead_of_using_the_emulator(workdir: Path, args: tuple[str, ...]) -> None:
    result = Cli(env={"CI": "true", "SUPEROFFICE_URL": ""})(*args)
    assert result.exit_code == 1
    assert REFUSAL in result.stderr
    assert "--target emulator" in result.stderr and "SUPEROFFICE_URL" in result.stderr
    assert "The CRM matches" not in result.stdout
    assert not (workdir / ".reconcile" / "emulator.sqlite").exists()  # the emulator was never opened


def test_ci_with_the_emulator_named_on_purpose_works(workdir: Path) -> None:
    cli = Cli(env={"CI": "true"})
    applied = cli("apply", "-f", "examples/", "--auto-approve", "--target", "emulator")
    assert applied.exit_code == 0, applied.output
    assert "The CRM matches the manifests" in applied.stdout
    assert "--target emulator" in applied.stderr
    again = Cli(env={"CI": "true", "RECONCILE_TARGET": "emulator"})("plan", "-f", "examples/", "--detailed-exitcode")
    assert again.exit_code == 0 and "No changes" in again.stdout


def test_ci_with_a_default_target_of_emulator_in_reconcile_yaml_works(workdir: Path) -> None:
    (workdir / "reconcile.yaml").write_text("defaultTarget: emulator\n")
    result = Cli(env={"CI": "true"})("plan", "-f", "examples/")
    assert result.exit_code == 0, result.output


def test_ci_with_a_url_goes_to_that_crm(http_cli: Cli) -> None:
    cli = Cli(env={**http_cli.env, "CI": "true"}, server=http_cli.server)
    result = cli("apply", "-f", "examples/", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert "embedded" not in result.stderr


def test_a_reconcile_yaml_target_may_not_take_the_reserved_name(workdir: Path) -> None:
    (workdir / "reconcile.yaml").write_text("targets:\n  emulator: {}\n")
    result = Cli(env={})("plan", "-f", "examples/")
    assert result.exit_code == 1
    assert "'emulator' is reserved for the embedded emulator" in result.stderr


def test_without_ci_the_emulator_stays_the_default(workdir: Path) -> None:
    result = Cli(env={"CI": "false"})("plan", "-f", "examples/")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("value, expected", [("true", True), ("1", True), ("yes", True), ("", False),
                                             ("false", False), ("0", False), ("FALSE", False)])
def test_what_counts_as_ci(value: str, expected: bool) -> None:
    assert running_in_ci({"CI": value}) is expected
    assert running_in_ci({}) is False
