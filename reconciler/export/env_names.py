"""Names of the environment variables that stand in for exported secret values.

`RECONCILE_<CONNECTION>_<FIELD>`, e.g. ErpConnection "Visma Production", field
ApiKey -> RECONCILE_VISMA_PRODUCTION_API_KEY. Valid shell names, stable for the
same tenant, and unique within one export (a clash gets _2, _3, …).
"""

from __future__ import annotations

import re

PREFIX = "RECONCILE"
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NOT_WORD = re.compile(r"[^A-Za-z0-9]+")


def name_part(text: str) -> str:
    """'Visma Production' -> 'VISMA_PRODUCTION', 'ApiKey' -> 'API_KEY', 'Bjørn' -> 'BJ_RN'."""
    words = _NOT_WORD.sub("_", _CAMEL.sub("_", text)).strip("_")
    return words.upper()


class EnvNames:
    """Hands out unique variable names; ask in a stable order to get stable names."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def allocate(self, connection: str, field: str) -> str:
        base = "_".join(p for p in (PREFIX, name_part(connection) or "CONNECTION", name_part(field) or "FIELD"))
        name, n = base, 1
        while name in self._taken:
            n += 1
            name = f"{base}_{n}"
        self._taken.add(name)
        return name
