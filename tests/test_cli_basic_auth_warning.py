"""Basic auth is for onsite installations: the CLI says so before it sends anything to
a SuperOffice Online host (issue #11 item 10)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import main

CANARY = "canary-Pa55-basic-9f3e"


def run(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_basic_auth_against_an_online_host_prints_a_warning(workdir: Path):
    # The manifest path does not exist, so the command stops before any request is sent.
    env = {"SUPEROFFICE_USER": "ADM", "SUPEROFFICE_PASSWORD": CANARY}
    code, stdout, stderr = run("plan", "-f", "missing.yaml", "--url", "https://sod.superoffice.com/Cust12345/", env=env)
    assert code == 1
    assert (
        "warning: Basic auth (SUPEROFFICE_USER/SUPEROFFICE_PASSWORD) is for onsite installations; "
        "SuperOffice Online (sod.superoffice.com) does not accept it" in stderr
    )
    assert CANARY not in stdout + stderr


def test_basic_auth_against_an_onsite_host_prints_no_warning(workdir: Path):
    env = {"SUPEROFFICE_USER": "ADM", "SUPEROFFICE_PASSWORD": CANARY}
    code, _, stderr = run("plan", "-f", "missing.yaml", "--url", "https://crm.example.com/SuperOffice/", env=env)
    assert code == 1 and "warning:" not in stderr and CANARY not in stderr
