"""Sync priority between ERP connections: the manifests give numbers (lower goes first
among the connections that set one); the CRM keeps one order of all connections. The
plan compares positions among the managed connections: 1, 2, 3 …"""

from __future__ import annotations

from reconciler.crm.live import Live, LiveErpConnection
from reconciler.manifest.models import Desired, ErpConnection


class Priorities:
    def __init__(self, desired: Desired, live: Live) -> None:
        managed = sorted(
            (r.manifest.spec.sync.priority, r.name)
            for r in desired.of_kind("ErpConnection")
            if isinstance(r.manifest, ErpConnection) and r.manifest.spec.sync is not None
            and r.manifest.spec.sync.priority is not None
        )
        self.wanted = {name: position for position, (_, name) in enumerate(managed, start=1)}
        # No rank at all: the CRM does not report the order (MDOList erpconnections without
        # Rank, or without the GUIDs that say whose rank it is).
        self.readable = any(rank > 0 for rank in live.sync_priority.values())
        ranked = sorted(
            (live.sync_priority.get(c.id, 0), c.name) for c in live.erp_connections
            if not c.deleted and c.name in self.wanted
        )
        self.current = {name: position for position, (_, name) in enumerate(
            (entry for entry in ranked if entry[0] > 0), start=1)}

    def positions(self, name: str, live_obj: LiveErpConnection | None) -> tuple[int | None, int | None]:
        """(wanted, current) position of a connection; both None when it is not managed or
        the CRM cannot tell (then the plan notes it instead of showing a change every run)."""
        if name not in self.wanted or not self.readable:
            return None, None
        return self.wanted[name], self.current.get(name) if live_obj is not None else None

    def note(self) -> str | None:
        if self.wanted and not self.readable:
            return ("sync priority is not compared: the CRM reports no sync priority order for these connections "
                    "(MDOList erpconnections gives none a Rank, or does not name them by GUID); apply sends the "
                    "order when it changes sync configuration")
        return None
