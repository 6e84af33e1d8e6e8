"""One summary of many targets: per target its plan (or the errors that stopped it), and the worst outcome.

The same document comes out of `plan --all-targets --output json` and
`reconcile summarize`; both build it from JSON plan documents, so a plan made in
this process and one read back from a CI artifact are summarised alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from reconciler.json_schema import schema_text
from reconciler.plan.document import JsonPlan

Status = Literal["error", "failed-tests", "changes", "no-changes"]
SUMMARY_FORMAT_VERSION: Literal[1] = 1
# Worst first: the exit code and the order the summary names causes in.
STATUS_ORDER: tuple[Status, ...] = ("error", "failed-tests", "changes", "no-changes")


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TargetSummary(_Doc):
    name: str = Field(description="the reconcile.yaml target (or what named the plan file)")
    url: str = Field(description="where its CRM is, without credentials (the plan's target)")
    status: Status
    counts: dict[str, int] = Field(default_factory=dict, description="changes by action; empty after an error")
    failedTests: list[str] = Field(default_factory=list, description="'Kind/name' of each failed connection test")
    errors: list[str] = Field(default_factory=list, description="what stopped this target, one line each")
    plan: Optional[JsonPlan] = None

    @property
    def changed(self) -> int:
        return sum(n for action, n in self.counts.items() if action != "no-op")


class FleetSummary(_Doc):
    formatVersion: Literal[1] = SUMMARY_FORMAT_VERSION
    targets: list[TargetSummary]

    def named(self, status: Status) -> list[str]:
        return [t.name for t in self.targets if t.status == status]

    def worst(self) -> Status:
        present = {t.status for t in self.targets}
        return next((s for s in STATUS_ORDER if s in present), "no-changes")

    def render(self) -> str:
        return self.model_dump_json(indent=2, by_alias=True) + "\n"


def from_plan(name: str, plan: JsonPlan) -> TargetSummary:
    failed = [f"{c.kind}/{c.name}" for c in plan.changes if c.test is not None and c.test.status == "failed"]
    counts = plan.summary.model_dump(by_alias=True, exclude={"tests"})
    status: Status = "failed-tests" if failed else "changes" if plan.hasChanges else "no-changes"
    return TargetSummary(name=name, url=plan.target, status=status, counts=counts, failedTests=failed, plan=plan)


def from_errors(name: str, url: str, errors: Sequence[str]) -> TargetSummary:
    return TargetSummary(name=name, url=url, status="error", errors=list(errors))


def exit_status(summary: FleetSummary, *, detailed: bool) -> int:
    """1 when any target failed (an error or a failed test), else 2 for changes with --detailed-exitcode, else 0."""
    worst = summary.worst()
    if worst in ("error", "failed-tests"):
        return 1
    return 2 if detailed and worst == "changes" else 0


def causes(summary: FleetSummary, *, detailed: bool) -> str:
    """One line that says which targets decided the exit code."""
    failed = summary.named("error") + summary.named("failed-tests")
    if failed:
        return f"Exit 1: {len(failed)} target(s) failed: {', '.join(failed)}."
    drifted = summary.named("changes")
    if drifted:
        return (f"Exit {2 if detailed else 0}: {len(drifted)} target(s) with changes: {', '.join(drifted)}.")
    return f"Exit 0: no changes in {len(summary.targets)} target(s)."


SUMMARY_SCHEMA_ID = "urn:erp-reconciler:schema:summary:v1"


def render_summary_schema() -> str:
    return schema_text(FleetSummary, SUMMARY_SCHEMA_ID, "erp-reconciler summary of many targets")


if __name__ == "__main__":  # regenerate: python -m reconciler.fleet.summary > schemas/summary.schema.json
    print(render_summary_schema(), end="")
