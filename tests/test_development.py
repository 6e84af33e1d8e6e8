"""The fast loop of docs/development.md: slow tests are marked, fuzzing depth follows CI;
and .ci/run passes only when pytest ran tests and they passed."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import settings

from conftest import hypothesis_profile

ROOT = Path(__file__).resolve().parents[1]
WHOLE_FILES_SLOW = sorted(p.stem for p in (ROOT / "tests").glob("test_reliability_*.py")) + ["test_benchmarks_smoke"]


@pytest.mark.parametrize("module", WHOLE_FILES_SLOW)
def test_reliability_and_benchmark_files_are_left_out_of_the_fast_loop(module: str) -> None:
    marks = importlib.import_module(module).pytestmark
    assert any(mark.name == "slow" for mark in (marks if isinstance(marks, list) else [marks]))


@pytest.mark.parametrize(
    "env, profile",
    [
        ({}, "quick"),
        ({"CI": "true"}, "deep"),
        ({"HYPOTHESIS_PROFILE": "deep"}, "deep"),
        ({"CI": "1", "HYPOTHESIS_PROFILE": "quick"}, "quick"),
    ],
)
def test_fuzzing_is_deep_in_ci_and_quick_locally(env: dict[str, str], profile: str) -> None:
    assert hypothesis_profile(env) == profile


def test_the_quick_profile_is_quick_and_the_deep_one_keeps_each_tests_depth() -> None:
    assert settings.get_profile("quick").max_examples <= 25
    assert settings.get_profile("deep").deadline is None


def test_the_fast_loop_is_documented_where_developers_look() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    development = (ROOT / "docs" / "development.md").read_text(encoding="utf-8")
    assert 'pytest -m "not slow"' in readme and 'pytest -m "not slow"' in development
    assert "HYPOTHESIS_PROFILE=deep" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


# A python3 whose venv's python installs nothing and answers `-m pytest` with $PYTEST_STATUS.
FAKE_PYTHON3 = """#!/usr/bin/env bash
mkdir -p .venv/bin
printf '%s\\n' '#!/usr/bin/env bash' '[ "$2" = pytest ] && exit "$PYTEST_STATUS"' 'exit 0' > .venv/bin/python
chmod +x .venv/bin/python
"""


@pytest.mark.parametrize("pytest_status, ci_status", [(0, 0), (1, 1), (5, 5)])
def test_ci_run_fails_when_pytest_fails_or_collects_no_tests(tmp_path: Path, pytest_status: int, ci_status: int) -> None:
    (tmp_path / ".ci").mkdir()
    shutil.copy(ROOT / ".ci" / "run", tmp_path / ".ci" / "run")
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    (bin_dir / "python3").write_text(FAKE_PYTHON3)
    (bin_dir / "python3").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PYTEST_STATUS": str(pytest_status)}
    result = subprocess.run(["bash", str(tmp_path / ".ci" / "run")], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == ci_status, result.stderr
    assert ("collected no tests" in result.stderr) == (pytest_status == 5)
