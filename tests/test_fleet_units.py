"""Choosing several targets and running them side by side: order, globs, errors, the bound, isolation."""

from __future__ import annotations

import asyncio

import pytest

from reconciler.diagnostics import Diagnostic, DiagnosticError
from reconciler.fleet.runner import run_each
from reconciler.fleet.selection import expand_targets, is_many
from reconciler.project import ProjectFile

PROJECT = ProjectFile.model_validate({"targets": {
    "customer-b": {}, "customer-a": {}, "internal": {}}})


def test_one_plain_target_is_a_single_target_run_and_anything_more_is_many() -> None:
    assert not is_many(("customer-a",), False) and not is_many((), False)
    assert is_many(("customer-a", "customer-b"), False)
    assert is_many(("customer-*",), False) and is_many(("customer-[ab]",), False)
    assert is_many((), True)


def test_targets_come_in_reconcile_yaml_order_each_once() -> None:
    assert expand_targets(PROJECT, ["customer-*", "customer-a"], False) == ["customer-b", "customer-a"]
    assert expand_targets(PROJECT, [], True) == ["customer-b", "customer-a", "internal"]


def test_every_pattern_that_matches_nothing_is_named() -> None:
    with pytest.raises(DiagnosticError) as raised:
        expand_targets(PROJECT, ["custmer-a", "x*"], False)
    messages = [d.message for d in raised.value.diagnostics]
    assert messages == ["--target 'custmer-a' is not a target", "--target 'x*' matches no target"]
    assert raised.value.diagnostics[0].hint == "did you mean 'customer-a'?"


def test_all_targets_and_target_together_are_refused() -> None:
    with pytest.raises(DiagnosticError, match="both --all-targets and --target"):
        expand_targets(PROJECT, ["internal"], True)


def test_run_each_keeps_to_its_bound_and_one_failure_stops_nobody() -> None:
    running, most = 0, 0

    async def work(name: str) -> str:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0)  # let the others start, if the bound allowed them
        await asyncio.sleep(0)
        running -= 1
        if name == "bad":
            raise DiagnosticError([Diagnostic("the CRM refused the credentials")])
        if name == "bug":
            raise KeyError("x")
        return name.upper()

    names = ["a", "bad", "b", "bug", "c", "d"]
    done = asyncio.run(run_each(names, work, at_once=2))

    assert most == 2
    assert [(d.name, d.result) for d in done] == [("a", "A"), ("bad", None), ("b", "B"), ("bug", None), ("c", "C"), ("d", "D")]
    assert done[1].errors == ("the CRM refused the credentials",)
    assert done[3].errors[0].startswith("internal error (KeyError); this is a bug in reconcile")
