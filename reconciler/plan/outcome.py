"""What apply did, as plain data: per change done / failed / skipped, and whether the CRM converged.

The JSON report (`apply --report`) is written by `render/json_report.py`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from reconciler.manifest.models import KindAndName
from reconciler.plan.model import Action, TestResult

Status = Literal["done", "failed", "skipped"]


@dataclass(frozen=True)
class Outcome(KindAndName):
    action: Action
    status: Status
    message: str = ""  # what happened, or why it failed / was skipped; never a secret
    test: TestResult | None = None
    live_id: int | None = None


@dataclass(frozen=True)
class Report:
    target: str
    outcomes: tuple[Outcome, ...]
    # Refs still different from the manifests after a fresh read, once apply finished.
    not_converged: tuple[str, ...] = ()
    convergence_checked: bool = True
    notes: tuple[str, ...] = field(default_factory=tuple)

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def ok(self) -> bool:
        return self.count("failed") == 0 and self.count("skipped") == 0 and not self.not_converged

    def summary_line(self) -> str:
        text = f"Apply: {self.count('done')} done, {self.count('failed')} failed, {self.count('skipped')} skipped."
        if not self.convergence_checked:
            return text
        if self.not_converged:
            text += f" Not converged: {len(self.not_converged)} object(s) still differ from the manifests."
        else:
            text += " The CRM matches the manifests."
        return text
