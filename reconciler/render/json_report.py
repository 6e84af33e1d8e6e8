"""The JSON apply report (`apply --report FILE`)."""

from __future__ import annotations

import json

from reconciler import __version__
from reconciler.plan.outcome import Report


def render_report_json(report: Report) -> str:
    document = {
        "formatVersion": 1,
        "tool": f"erp-reconciler {__version__}",
        "target": report.target,
        "summary": {s: report.count(s) for s in ("done", "failed", "skipped")},
        "converged": not report.not_converged if report.convergence_checked else None,
        "notConverged": list(report.not_converged),
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
            for o in report.outcomes
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
