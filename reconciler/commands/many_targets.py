"""What plan, apply and doctor share when they run several targets: the options, and planning each target."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click
from rich.text import Text

from reconciler.commands._common import DEFAULT_TEST_TIMEOUT, complete_targets, open_crm
from reconciler.connection_tests import TestMode
from reconciler.diagnostics import Diagnostic, DiagnosticError
from reconciler.fleet.listing import where
from reconciler.fleet.runner import Done, run_each
from reconciler.fleet.selection import expand_targets
from reconciler.fleet.summary import FleetSummary, TargetSummary, from_errors, from_plan
from reconciler.manifest.loader import load_desired
from reconciler.manifest.models import Desired
from reconciler.plan.model import Plan
from reconciler.plan.planner import PlanOptions
from reconciler.planning import PlannedRun, build_plan
from reconciler.project import ProjectFile, load_project
from reconciler.plan.document import JsonRequest, plan_document
from reconciler.render.text import make_console, render_text
from reconciler.tenant_choice import TenantChoice, choose_tenant

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
DEFAULT_TARGET_PARALLELISM = 4


def many_target_options(command: F) -> F:
    """--target (repeatable, globs), --all-targets and --target-parallelism, in place of the single --target."""
    for option in reversed([
        click.option("--target", "targets", multiple=True, envvar="RECONCILE_TARGET", metavar="NAME|GLOB",
                     shell_complete=complete_targets,
                     help="A target of reconcile.yaml (its URL, credential variables and vars), or 'emulator' for "
                          "the embedded emulator [env RECONCILE_TARGET]. Repeat it, or give a glob such as "
                          "'customer-*', to run several targets."),
        click.option("--all-targets", is_flag=True, help="Run every target of reconcile.yaml."),
        click.option("--target-parallelism", type=click.IntRange(1, 64), default=DEFAULT_TARGET_PARALLELISM,
                     show_default=True,
                     help="With several targets: how many run at once (each with --parallelism requests)."),
    ]):
        command = option(command)
    return command


def refuse_with_many(options: dict[str, object], why: str) -> None:
    given = [name for name, value in options.items() if value]
    if given:
        raise DiagnosticError([Diagnostic(f"{given[0]} works with one target, and several are given", hint=why)])


@dataclass
class TargetRun:
    """One target of a multi-target run, once planned."""

    name: str
    selection: TenantChoice
    desired: Desired
    planned: PlannedRun


@dataclass
class ManyTargets:
    """The chosen targets and how to reach each of them."""

    project: ProjectFile
    names: list[str]
    paths: Sequence[str]
    insecure: bool
    parallelism: int
    target_parallelism: int
    test_timeout: float = DEFAULT_TEST_TIMEOUT
    _desired: dict[tuple[tuple[str, str], ...], Desired] = field(default_factory=dict)

    @classmethod
    def choose(cls, targets: Sequence[str], all_targets: bool, **how: Any) -> "ManyTargets":
        project = load_project()
        return cls(project=project, names=expand_targets(project, targets, all_targets), **how)

    def url(self, name: str) -> str:
        return where(self.project, name)

    def desired_for(self, selection: TenantChoice) -> Desired:
        """The manifests with this target's vars (read once per distinct set of vars)."""
        key = tuple(sorted((selection.vars or {}).items()))
        if key not in self._desired:
            self._desired[key] = load_desired(self.paths, variables=selection.vars)
        return self._desired[key]

    async def each(self, work: Callable[[str], Awaitable[T]]) -> list[Done[T]]:
        return await run_each(self.names, work, at_once=self.target_parallelism)

    async def plan_each(
        self, options: PlanOptions, test_mode: TestMode,
        then: Callable[[TargetRun, Any], Awaitable[None]] | None = None,
    ) -> list[Done[TargetRun]]:
        """Plan every target; `then(run, client)` goes on with the same connection (apply does)."""

        async def one(name: str) -> TargetRun:
            selection = choose_tenant(self.project, name=name, url=None, insecure=self.insecure)
            desired = self.desired_for(selection)
            async with open_crm(selection, insecure=self.insecure, parallelism=self.parallelism,
                                   test_timeout=self.test_timeout) as crm:
                planned = await build_plan(crm.client, desired, target=crm.identity, options=options,
                                           test_mode=test_mode)
                run = TargetRun(name, selection, desired, planned)
                if then is not None:
                    await then(run, crm.client)
                return run

        return await self.each(one)

    def summary(self, done: Sequence[Done[TargetRun]], request: JsonRequest | None) -> FleetSummary:
        rows: list[TargetSummary] = []
        for item in done:
            if item.result is None:
                rows.append(from_errors(item.name, self.url(item.name), item.errors))
            else:
                rows.append(from_plan(item.name, plan_document(item.result.planned.plan, request)))
        return FleetSummary(targets=rows)


def print_sections(done: Sequence[Done[TargetRun]], urls: Callable[[str], str], *, show_unchanged: bool) -> None:
    """Each target's plan (or what stopped it) under its own heading."""
    console = make_console(sys.stdout)
    for item in done:
        console.print(Text(f"━━ target {item.name} ({urls(item.name)}) ━━", style="bold"))
        if item.result is None:
            for error in item.errors:
                console.print(Text(f"error: {error}", style="bold red"))
            console.print()
            continue
        plan: Plan = item.result.planned.plan
        render_text(plan, sys.stdout, show_unchanged=show_unchanged)
        console.print()
