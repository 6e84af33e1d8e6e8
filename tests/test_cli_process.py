"""The console script as a process: exit codes and complete output.

`reconcile` leaves with os._exit once a command is done (no heap teardown), so
these run it as users do, in a process, and check that nothing it wrote is
lost and every exit status comes through.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def reconcile(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPEROFFICE_")}
    env["RECONCILE_EMULATOR_STATE"] = str(work / "state.sqlite")
    return subprocess.run(
        [sys.executable, "-m", "reconciler", *args], cwd=work, env=env,
        capture_output=True, text=True, timeout=120,
    )


@pytest.mark.slow
def test_exit_codes_and_whole_outputs_survive_the_quick_exit(tmp_path: Path):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")

    planned = reconcile(tmp_path, "plan", "-f", "examples/", "--output", "json", "--detailed-exitcode")
    assert planned.returncode == 2, planned.stderr
    document = json.loads(planned.stdout)  # the whole document arrived through the pipe
    assert document["hasChanges"] is True and document["changes"]

    applied = reconcile(tmp_path, "apply", "-f", "examples/", "--auto-approve", "--report", "report.json")
    assert applied.returncode == 0, applied.stderr
    assert json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))

    again = reconcile(tmp_path, "plan", "-f", "examples/", "--detailed-exitcode")
    assert again.returncode == 0, again.stderr
    assert "No changes" in again.stdout

    broken = reconcile(tmp_path, "validate", "-f", "missing/")
    assert broken.returncode == 1
    assert "missing" in broken.stderr


def test_usage_errors_exit_1_never_2_which_means_changes(tmp_path: Path):
    misspelt = reconcile(tmp_path, "plan", "-f", "examples/", "--detailed-exitcod")
    assert misspelt.returncode == 1
    assert "No such option" in misspelt.stderr and "Traceback" not in misspelt.stderr
    missing_f = reconcile(tmp_path, "plan", "--detailed-exitcode")
    assert missing_f.returncode == 1
    assert "Missing option '-f'" in missing_f.stderr
    unknown = reconcile(tmp_path, "planx")
    assert unknown.returncode == 1 and "No such command" in unknown.stderr
