"""What apply did: per change done / failed / skipped, and whether the CRM converged."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

from reconciler import __version__
from reconciler.manifest.models import Kind
from reconciler.plan.model import Action, TestResult

Status = Literal["done", "failed", "skipped"]


@dataclass(frozen=True)
class Outcome:
    kind: Kind
    name: str
    action: Action
    status: Status
    message: str = ""  # what happened, or why it failed / was skipped; never a secret
    test: TestResult | None = None
    live_id: int | None = None

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"


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

    def to_json(self) -> str:
        document = {
            "formatVersion": 1,
            "tool": f"erp-reconciler {__version__}",
            "target": self.target,
            "summary": {s: self.count(s) for s in ("done", "failed", "skipped")},
            "converged": not self.not_converged if self.convergence_checked else None,
            "notConverged": list(self.not_converged),
            "changes": [
                {
                    "kind": o.kind,
                    "name": o.name,
                    "action": o.action,
                    "status": o.status,
                    "message": o.message,
                    "liveId": o.live_id,
                    "test": {"status": o.test.status, "explanation": o.test.explanation} if o.test else None,
                }
                for o in self.outcomes
            ],
        }
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
