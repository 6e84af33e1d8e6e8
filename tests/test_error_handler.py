"""One error handler owns exit codes: usage errors exit 1, write failures are one line,
internal errors point at a debug log that holds the traceback but no secret, output
paths are checked before the first request, and a broken emulator state file says so."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, Cli

CANARY = "demo-canary-handler-5d1f"  # demo-: the emulator's connection test accepts it


def _process_env(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPEROFFICE_")}
    env["RECONCILE_EMULATOR_STATE"] = str(work / "state.sqlite")
    return env


def test_an_internal_error_points_at_a_log_with_the_traceback_and_no_secret(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = workdir / "examples" / "connections.yaml"
    manifest.write_text(manifest.read_text().replace("${file:secrets/visma-production-api-key.txt}", "${env:KEY}"))
    monkeypatch.setenv("KEY", CANARY)

    async def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"the value was {CANARY}")  # a bug that puts a secret in its message

    monkeypatch.setattr("reconciler.commands.plan.build_plan", explode)
    result = Cli(env={})("plan", "-f", "examples/")
    log = Path(os.environ["RECONCILE_DEBUG_LOG"])
    assert result.exit_code == 1
    assert f"internal error (RuntimeError); this is a bug in reconcile (the traceback is in {log}" in result.stderr
    assert "Traceback" not in result.output and CANARY not in result.output
    written = log.read_text()
    assert "Traceback (most recent call last)" in written and "explode" in written
    assert "the value was (sensitive)" in written and CANARY not in written


def test_debug_logs_request_timings_without_secrets(http_cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = Path("examples/connections.yaml")
    manifest.write_text(manifest.read_text().replace("${file:secrets/visma-production-api-key.txt}", "${env:KEY}"))
    monkeypatch.setenv("KEY", CANARY)
    result = http_cli("--debug", "apply", "-f", "examples/", "--auto-approve")
    assert result.exit_code == 0, result.output
    written = Path(os.environ["RECONCILE_DEBUG_LOG"]).read_text()
    assert "POST Agents/ErpSync/SaveConnection -> 200 in" in written and " ms (attempt 1)" in written
    assert CANARY not in written and "demo-token" not in written


def test_the_debug_environment_variable_turns_the_log_on(embedded_cli: Cli) -> None:
    result = Cli(env={"RECONCILE_DEBUG": "1"})("plan", "-f", "examples/")
    assert result.exit_code == 0, result.output
    assert "GET " in Path(os.environ["RECONCILE_DEBUG_LOG"]).read_text()


@pytest.mark.parametrize("output", ["text", "json", "markdown"])
def test_a_closed_pipe_is_one_line_and_exit_1(tmp_path: Path, output: str) -> None:
    import shutil

    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "plan", "-f", "examples/", "-o", output],
        cwd=tmp_path, env=_process_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert process.stdout is not None
    process.stdout.close()  # the reader went away, as `reconcile plan | head -0` does
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 1
    assert "Traceback" not in stderr
    assert stderr.splitlines()[-1] == (
        "error: the output was closed before reconcile finished writing it (broken pipe); the output is incomplete"
    )


def test_a_full_disk_on_stdout_is_one_line(tmp_path: Path) -> None:
    import shutil

    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    with open("/dev/full", "w") as full:
        result = subprocess.run([sys.executable, "-m", "reconciler", "validate", "-f", "examples/"],
                                cwd=tmp_path, env=_process_env(tmp_path), stdout=full, stderr=subprocess.PIPE,
                                text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: cannot write the output: No space left on device; the output is incomplete"]


@pytest.mark.parametrize(
    "args, said",
    [
        (("plan", "-f", "examples/", "--out", "missing/plan.json"),
         "--out missing/plan.json: the directory missing does not exist (create it first (mkdir -p missing))"),
        (("plan", "-f", "examples/", "--junit-xml", "examples"), "is a directory"),
        (("apply", "-f", "examples/", "--auto-approve", "--report", "missing/report.json"),
         "--report missing/report.json: the directory missing does not exist"),
        (("apply", "-f", "examples/", "--auto-approve", "--junit-xml", "missing/tests.xml"),
         "--junit-xml missing/tests.xml: the directory missing does not exist"),
    ],
)
def test_output_paths_are_checked_before_the_first_request(http_cli: Cli, args: tuple[str, ...], said: str) -> None:
    assert http_cli.server is not None
    http_cli.server.reset_requests()
    result = http_cli(*args)
    assert result.exit_code == 1
    assert said in result.stderr and "internal error" not in result.stderr
    assert http_cli.server.request_total() == 0  # nothing was read, nothing was changed


def test_a_failed_write_of_an_output_file_is_one_line(embedded_cli: Cli) -> None:
    result = embedded_cli("plan", "-f", "examples/", "--out", "/dev/full")
    assert result.exit_code == 1
    assert "error: --out /dev/full: cannot write it: No space left on device" in result.stderr
    assert "internal error" not in result.stderr


def test_a_corrupted_emulator_state_file_gets_its_own_message(embedded_cli: Cli, workdir: Path) -> None:
    state = workdir / ".reconcile" / "emulator.sqlite"
    state.parent.mkdir()
    state.write_bytes(b"this is not SQLite" * 100)
    result = embedded_cli("plan", "-f", "examples/")
    assert result.exit_code == 1
    assert f"the emulator state file {Path('.reconcile/emulator.sqlite')} is corrupted" in result.stderr
    assert "delete it to start over" in result.stderr
    assert "internal error" not in result.stderr and "StateError" not in result.stderr


def test_emulator_reset_on_a_device_is_refused_with_a_message(embedded_cli: Cli) -> None:
    result = embedded_cli("emulator", "reset", "--state", "/dev/null")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "error: the emulator state file /dev/null is not a regular file (give --state the path of a regular file)"
    )


def test_export_checks_its_directory_before_the_first_request(http_cli: Cli, workdir: Path) -> None:
    assert http_cli.server is not None
    (workdir / "a-file").write_text("x")
    http_cli.server.reset_requests()
    result = http_cli("export", "--out", "a-file/manifests")
    assert result.exit_code == 1
    assert "--out a-file/manifests: cannot write in a-file" in result.stderr
    assert http_cli.server.request_total() == 0
    not_a_directory = http_cli("export", "--out", "a-file")
    assert not_a_directory.exit_code == 1 and "'a-file' is a file" in not_a_directory.stderr
