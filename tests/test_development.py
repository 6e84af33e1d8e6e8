"""The fast loop of docs/development.md: slow tests are marked, fuzzing depth follows CI."""

from __future__ import annotations

import importlib
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
