"""One doctor row: what was checked, its status, what was found and what to do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from reconciler.crm.errors import CrmError

# note: not a failure; the tool works, but the row says what this tenant means for plan and apply.
Status = Literal["pass", "fail", "skip", "note"]
NOT_FAILING: frozenset[str] = frozenset({"pass", "note"})


@dataclass(frozen=True)
class Check:
    key: str
    title: str
    status: Status
    found: str
    fix: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"check": self.key, "title": self.title, "status": self.status, "found": self.found, "fix": self.fix}


def refusal(error: CrmError) -> str:
    said = f": {error.server_message}" if error.server_message else ""
    if error.status in (401, 403):
        return f"refused (HTTP {error.status}){said}"
    if error.status == 404:
        return f"not found on this server (HTTP 404){said}"
    return error.diagnostics[0].message
