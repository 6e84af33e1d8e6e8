"""Carry out a Plan through the CRM client.

Phases run in order: connectors, ERP connections, quote connections for
creates/restores/updates, then soft-deletes in reverse. Changes within a phase
are independent and run concurrently (the client bounds the concurrency).
Just before each write the object is read again and compared with the plan's
fingerprint: if someone changed it meanwhile, that change fails and the
changes that depend on it are skipped; nothing else stops.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from reconciler.apply.report import Outcome, Status
from reconciler.connection_tests import ERP_FAILED, explain
from reconciler.crm.client import CrmClient
from reconciler.crm.errors import CrmError
from reconciler.crm.live import FieldMeta, ListItem, Live, LiveConnector, LiveErpConnection, LiveQuoteConnection
from reconciler.manifest.models import Desired, Kind
from reconciler.plan.fingerprint import fingerprint
from reconciler.plan.model import (
    Change,
    ConfigWire,
    ConnectorState,
    ErpConnectionState,
    Plan,
    QuoteConnectionState,
    TestResult,
)
from reconciler.plan.values import desired_config

Progress = Callable[[Outcome], None]
UPSERT = ("create", "update", "restore")
PHASES: tuple[tuple[Kind, bool], ...] = (
    ("SyncConnector", True),
    ("ErpConnection", True),
    ("QuoteConnection", True),
    ("QuoteConnection", False),
    ("ErpConnection", False),
    ("SyncConnector", False),
)
STALE = "was changed in the CRM since the plan was made (by someone or something else); run plan again"
GONE = "no longer exists in the CRM; run plan again"
APPEARED = "an object with this name appeared in the CRM since the plan was made; run plan again"


class ChangeFailed(Exception):
    def __init__(self, message: str, test: TestResult | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.test = test


class Executor:
    def __init__(
        self, client: CrmClient, plan: Plan, live: Live, desired: Desired, progress: Progress | None = None
    ) -> None:
        self.client = client
        self.plan = plan
        self.live = live
        self.desired = {r.ref: r for r in desired.resources}
        self.progress = progress
        self.status: dict[str, Status] = {}
        # Ids by name, from the plan (live objects it maps to) and from what this run creates.
        self.ids: dict[str, int] = {c.ref: c.live_id for c in plan.changes if c.live_id is not None and c.action != "soft-delete"}
        self.user_ids = {u.login: u.id for u in live.users}
        self.group_ids = {g.name: g.id for g in live.groups}
        self.existing_names: dict[Kind, set[str]] = {}

    async def run(self) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for kind, upsert in PHASES:
            changes = [
                c for c in self.plan.changes
                if c.kind == kind and c.is_change and (c.action in UPSERT) == upsert
            ]
            if not changes:
                continue
            creates = [c for c in changes if c.action == "create"]
            if creates:
                self.existing_names[kind] = await self._live_names(kind)
            phase = list(await asyncio.gather(*(self._one(c) for c in changes)))
            if creates:
                phase = await self._settle_create_races(kind, creates, phase)
            outcomes += phase
        return outcomes

    async def _settle_create_races(self, kind: Kind, creates: list[Change], outcomes: list[Outcome]) -> list[Outcome]:
        """Two applies at once can both pass the name check and both create a name: the
        CRM has no unique names and no lock. So after its creates, a run reads the names
        again, and where an older object (lower id, so created earlier) has the name of
        one it created, it soft-deletes its own copy and fails that change (its
        dependents are skipped). Every run follows the same rule, so the oldest copy, and
        only it, survives."""
        mine = {c.name: self.ids[c.ref] for c in creates if c.ref in self.ids}
        if not mine:
            return outcomes
        oldest: dict[str, int] = {}
        for obj in await self._live_objects(kind):
            if not obj.deleted and obj.name in mine and obj.id < oldest.get(obj.name, mine[obj.name]):
                oldest[obj.name] = obj.id
        settled: list[Outcome] = []
        for outcome in outcomes:
            winner = oldest.get(outcome.name) if outcome.action == "create" else None
            if winner is None:
                settled.append(outcome)
                continue
            own = mine[outcome.name]
            message = f"another apply created it at the same time (id {winner}, kept)"
            try:
                await self._delete_own(kind, own)
                message += f"; this run soft-deleted its own copy (id {own}); run plan again"
            except CrmError as error:
                message += f"; removing this run's copy (id {own}) failed, remove it in the CRM: {error}"
            lost = replace(outcome, status="failed", message=message, live_id=winner)
            self.status[outcome.ref] = "failed"
            if self.progress is not None:
                self.progress(lost)
            settled.append(lost)
        return settled

    async def _delete_own(self, kind: Kind, object_id: int) -> None:
        if kind == "SyncConnector":
            await self.client.delete_connector(object_id)
        elif kind == "ErpConnection":
            await self.client.delete_connection(object_id)
        else:
            await self.client.delete_quote_connection(object_id)

    # -- one change --------------------------------------------------------
    async def _one(self, change: Change) -> Outcome:
        blocked = [d for d in change.depends_on if self.status.get(d) in ("failed", "skipped")]
        if blocked:
            outcome = Outcome(change.kind, change.name, change.action, "skipped",
                              f"skipped: {', '.join(blocked)} did not succeed", live_id=change.live_id)
        else:
            try:
                message, live_id, test = await self._execute(change)
                outcome = Outcome(change.kind, change.name, change.action, "done", message, test, live_id)
            except ChangeFailed as failure:
                outcome = Outcome(change.kind, change.name, change.action, "failed", failure.message, failure.test, change.live_id)
            except CrmError as error:
                outcome = Outcome(change.kind, change.name, change.action, "failed", str(error), live_id=change.live_id)
        self.status[change.ref] = outcome.status
        if self.progress is not None:
            self.progress(outcome)
        return outcome

    async def _execute(self, change: Change) -> tuple[str, int | None, TestResult | None]:
        if change.action == "soft-delete":
            return await self._soft_delete(change), change.live_id, None
        if change.kind == "SyncConnector":
            return await self._connector(change), self.ids.get(change.ref), None
        if change.kind == "ErpConnection":
            message, test = await self._erp(change)
            return message, self.ids.get(change.ref), test
        message, test = await self._quote(change)
        return message, self.ids.get(change.ref), test

    # -- reading again before writing -----------------------------------------
    async def _live_objects(self, kind: Kind) -> Sequence[LiveConnector | LiveErpConnection | LiveQuoteConnection]:
        if kind == "SyncConnector":
            return await self.client.get_connectors_with_urls()
        if kind == "ErpConnection":
            return await self.client.get_all_connections(include_deleted=False)
        return await self.client.get_all_quote_connections(with_config=False)

    async def _live_names(self, kind: Kind) -> set[str]:
        """Names in use now (not deleted): a create must not make a second one."""
        return {o.name for o in await self._live_objects(kind) if not o.deleted}

    async def _fresh(self, change: Change) -> LiveConnector | LiveErpConnection | LiveQuoteConnection:
        assert change.live_id is not None
        current: LiveConnector | LiveErpConnection | LiveQuoteConnection | None
        if change.kind == "SyncConnector":
            current = await self.client.get_connector(change.live_id)
        elif change.kind == "ErpConnection":
            current = await self.client.get_connection(change.live_id)
        else:
            current = await self.client.get_quote_connection(change.live_id)
        if current is None:
            raise ChangeFailed(f"{change.kind} id {change.live_id} {GONE}")
        if fingerprint(current) != change.fingerprint:
            raise ChangeFailed(f"{change.kind} id {change.live_id} {STALE}")
        return current

    def _check_name_free(self, change: Change) -> None:
        if change.name in self.existing_names.get(change.kind, set()):
            raise ChangeFailed(APPEARED)

    def _id(self, ref: str) -> int:
        found = self.ids.get(ref)
        if found is None:
            raise ChangeFailed(f"{ref} does not exist in the CRM (it was not created)")
        return found

    def _scope(self, state: ErpConnectionState | QuoteConnectionState) -> dict[str, object]:
        return {
            "all_access": state.everyone,
            "associate_ids": tuple(sorted(self.user_ids[u] for u in state.users)),
            "group_ids": tuple(sorted(self.group_ids[g] for g in state.groups)),
        }

    # -- kinds -----------------------------------------------------------------
    async def _soft_delete(self, change: Change) -> str:
        await self._fresh(change)
        assert change.live_id is not None
        if change.kind == "SyncConnector":
            verdict = await self.client.can_delete_connector(change.live_id)
            if verdict != "NoError":
                raise ChangeFailed(
                    f"the CRM refuses to delete this connector ({verdict})"
                    + ("; it still has connections: remove them from the CRM or the manifests first"
                       if verdict == "ErrorConnectorHasConnections" else "")
                )
            await self.client.delete_connector(change.live_id)
        elif change.kind == "ErpConnection":
            await self.client.delete_connection(change.live_id)
        else:
            await self.client.delete_quote_connection(change.live_id)
        return "soft-deleted (the CRM keeps it; add it back to the manifests to restore it)"

    async def _connector(self, change: Change) -> str:
        state = change.desired
        assert isinstance(state, ConnectorState)
        if change.action == "create":
            self._check_name_free(change)
            saved = await self.client.save_connector(0, state.name, state.url)
            self.ids[change.ref] = saved.id
            return f"created (id {saved.id})"
        current = await self._fresh(change)
        saved = await self.client.save_connector(current.id, state.name, state.url, deleted=False)
        self.ids[change.ref] = saved.id
        return "restored" if change.action == "restore" else "updated"

    async def _erp_config(self, change: Change, state: ErpConnectionState, connector_id: int) -> Mapping[str, ConfigWire]:
        """The plan's config, or, when the connector's fields were unknown at plan time
        (it is registered by this run), the manifest's values checked against them now."""
        if connector_id in self.live.erp_fields:
            return state.config
        fields = await self.client.get_erp_config_fields(connector_id)
        resource = self.desired.get(change.ref)
        if resource is None:
            return state.config
        lists = await self._lists(fields)
        result = desired_config(fields, resource.config, None, lists)
        if result.problems:
            details = "; ".join(f"{message}" + (f" ({hint})" if hint else "") for _, message, hint in result.problems)
            raise ChangeFailed(f"its config does not fit connector '{state.connector}': {details}")
        return result.values

    async def _lists(self, fields: Sequence[FieldMeta]) -> dict[str, tuple[ListItem, ...]]:
        names = {f.list_name for f in fields if f.field_type == "List" and f.list_name}
        lists = {name: self.live.lists[name] for name in names if name in self.live.lists}
        missing = sorted(names - set(lists))
        fetched = await asyncio.gather(*(self.client.get_mdo_list(name) for name in missing))
        return {**lists, **dict(zip(missing, fetched))}

    async def _erp(self, change: Change) -> tuple[str, TestResult | None]:
        state = change.desired
        assert isinstance(state, ErpConnectionState)
        connector_id = self._id(f"SyncConnector/{state.connector}")
        config = await self._erp_config(change, state, connector_id)
        fields = dict(
            connector_id=connector_id, name=state.name, description=state.description,
            active=False, deleted=False, config=dict(config), **self._scope(state),
        )
        if change.action == "create":
            self._check_name_free(change)
            saved = await self.client.save_connection(LiveErpConnection(id=0, guid="", **fields))  # type: ignore[arg-type]
            verb = f"created inactive (id {saved.id})"
        else:
            current = await self._fresh(change)
            assert isinstance(current, LiveErpConnection)
            if current.active:
                # As the admin UI does it: deactivate, save, test, activate.
                reasons = await self.client.toggle_connection_active(current.id)
                if reasons:
                    raise ChangeFailed("could not deactivate it before saving: " + "; ".join(reasons))
            saved = await self.client.save_connection(replace(current, **fields))  # type: ignore[arg-type]
            verb = "restored inactive" if change.action == "restore" else "saved inactive"
        self.ids[change.ref] = saved.id
        if not state.active:
            if saved.active:  # a server that ignored Active on save
                await self.client.toggle_connection_active(saved.id)
            return f"{verb}; stays inactive as the manifest says", None
        if not await self.client.test_erp_by_id(saved.id):
            test = TestResult("failed", ERP_FAILED)
            raise ChangeFailed(f"{verb}, but its connection test failed, so it was not activated", test)
        if not saved.active:
            reasons = await self.client.toggle_connection_active(saved.id)
            if reasons:
                raise ChangeFailed(f"{verb} and tested, but the CRM refused to activate it: " + "; ".join(reasons), TestResult("passed"))
        return f"{verb.replace(' inactive', '')}, tested and activated", TestResult("passed")

    async def _quote(self, change: Change) -> tuple[str, TestResult | None]:
        state = change.desired
        assert isinstance(state, QuoteConnectionState)
        erp_id = self._id(f"ErpConnection/{state.erp_connection}")
        # Test first: a quote connection whose test fails is never saved.
        outcome = await self.client.test_quote_connection(state.connector, state.config)
        explanation = explain(outcome, state.config)
        test = TestResult("passed" if outcome.ok else "failed", explanation)
        if not outcome.ok:
            raise ChangeFailed(f"not saved: its connection test failed: {explanation or 'no explanation given'}", test)
        if change.action == "create":
            self._check_name_free(change)
            base = await self.client.create_quote_connection_from_connector(state.connector)
        else:
            current = await self._fresh(change)
            assert isinstance(current, LiveQuoteConnection)
            if change.action == "restore":
                await self.client.restore_quote_connection(current.id)
            base = current
        payload = replace(
            base, name=state.name, description=state.description, connector_name=state.connector,
            erp_connection_id=erp_id, deleted=False, config={}, **self._scope(state),  # type: ignore[arg-type]
        )
        saved = await self.client.save_quote_connection(payload)
        self.ids[change.ref] = saved.id
        await self.client.save_quote_connection_config(saved.id, state.config, connector_name=state.connector)
        verb = {"create": f"created (id {saved.id})", "restore": "restored", "update": "updated"}[change.action]
        return f"{verb} and tested", test


async def execute(
    client: CrmClient, plan: Plan, live: Live, desired: Desired, progress: Progress | None = None
) -> list[Outcome]:
    return await Executor(client, plan, live, desired, progress).run()
