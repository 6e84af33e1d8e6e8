"""Shell completion: -f completes paths, --target the targets of reconcile.yaml (and the emulator);
apply without a terminal and with nothing to do says so and exits 0."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import Cli
from reconciler.cli import main


def complete(words: str, cwd_env: dict[str, str] | None = None) -> list[tuple[str, str]]:
    env = {"_RECONCILE_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(len(words.split(" ")) - 1)}
    result = CliRunner().invoke(main, [], env={**env, **(cwd_env or {})}, prog_name="reconcile")
    assert result.exit_code == 0, result.output
    return [tuple(line.split(",", 1)) for line in result.stdout.splitlines()]  # type: ignore[misc]


@pytest.mark.parametrize("command", ["validate", "plan", "apply"])
def test_dash_f_completes_paths(workdir: Path, command: str) -> None:
    assert complete(f"reconcile {command} -f ex") == [("file", "ex")]  # bash then lists files and directories


@pytest.mark.parametrize("command", ["validate", "plan", "apply", "export"])
def test_target_completes_the_targets_of_reconcile_yaml(workdir: Path, command: str) -> None:
    (workdir / "reconcile.yaml").write_text("targets:\n  production: {}\n  staging: {}\n  rehearsal: {}\n")
    assert complete(f"reconcile {command} --target ") == [
        ("plain", "production"), ("plain", "rehearsal"), ("plain", "staging"), ("plain", "emulator")]
    assert complete(f"reconcile {command} --target st") == [("plain", "staging")]


def test_target_completion_survives_a_broken_reconcile_yaml(workdir: Path) -> None:
    (workdir / "reconcile.yaml").write_text("targets: [\n")
    assert complete("reconcile plan --target ") == [("plain", "emulator")]


def test_apply_without_a_terminal_and_nothing_to_do_says_no_changes(embedded_cli: Cli) -> None:
    assert embedded_cli("apply", "-f", "examples/", "--auto-approve").exit_code == 0
    result = embedded_cli("apply", "-f", "examples/")  # CliRunner's stdin is not a terminal
    assert result.exit_code == 0, result.output
    assert "No changes." in result.stdout
    assert "auto-approve" not in result.output
