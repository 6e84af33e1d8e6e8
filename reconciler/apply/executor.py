"""Carry out a Plan through the CRM client.

Phases run in order: connectors, ERP connections, quote connections for
creates/restores/updates, then soft-deletes in reverse. Changes within a phase
are independent and run concurrently (the client bounds the concurrency). The
ERP connections' phase has two steps: all are saved inactive with their sync
configuration, then (after the sync priority order is saved) tested and activated.
Just before each write the object is read again and compared with the plan's
fingerprint: if someone changed it meanwhile, that change fails and the
changes that depend on it are skipped; nothing else stops. After a create the
names are read again, in case another apply made the same name at the same time
(`create_races.py`).

Progress hears of each change once, with its final outcome.

The plan is the whole input: besides the desired states it carries the ids the
manifests' names resolve to and the config still to check (`Change.inputs`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from reconciler.plan.outcome import Outcome, Status
from reconciler.apply.create_races import ReadsAfter, older_copy
from reconciler.apply.mdo_lists import lists_for
from reconciler.apply.sync_apply import SyncFailed, apply_priorities, apply_sync
from reconciler.apply.url_switch import url_switch_problems
from reconciler.connection_tests import ERP_FAILED, explain
from reconciler.crm.client import CrmClient
from reconciler.crm.errors import CrmError
from reconciler.crm.live import LiveConnector, LiveErpConnection, LiveQuoteConnection
from reconciler.manifest.models import Kind
from reconciler.plan.fingerprint import fingerprint
from reconciler.plan.model import (
    Access,
    Change,
    ConfigWire,
    ConnectorState,
    ErpConnectionState,
    Plan,
    QuoteConnectionState,
    TestResult,
    deletes,
    writes,
)
from reconciler.plan.values import desired_config
from reconciler.secrets import mask_echoed

Progress = Callable[[Outcome], None]  # called once per change, with its final outcome
Result = tuple[str, TestResult | None]  # what a change did, and its connection test
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


@dataclass(frozen=True)
class PriorityOrder:
    """What became of the sync priority order before activation: sent, already so, or refused."""

    saved: bool
    error: str | None = None


# The rest of an ERP change once every connection is saved: test and activate, given the
# sync priority order when the connection sets `priority`.
Finish = Callable[[PriorityOrder | None], Awaitable[Result]]


def _priority(change: Change) -> int | None:
    """The sync priority an ERP connection's manifest sets, if any."""
    state = change.desired
    return state.sync_spec.priority if isinstance(state, ErpConnectionState) and state.sync_spec is not None else None


def _after_priority_order(done: str, order: PriorityOrder | None, *, activates: bool, test: TestResult | None) -> str:
    """What was done, with the sync priority order; a connection is not activated when its
    order could not be saved."""
    if order is None:
        return done
    if order.error is not None:
        consequence = ", so it was not activated" if activates else ""
        raise ChangeFailed(f"{done}, but the sync priority order was not saved{consequence}: {order.error}", test)
    return done + ("; sync priority order saved" if order.saved else "")


class Executor:
    def __init__(self, client: CrmClient, plan: Plan, progress: Progress | None = None) -> None:
        self.client = client
        self.plan = plan
        self.progress = progress
        self.status: dict[str, Status] = {}
        # Ids by name, from the plan (live objects it maps to) and from what this run creates.
        self.ids: dict[str, int] = {c.ref: c.live_id for c in plan.changes if c.live_id is not None and not deletes(c.action)}
        self.existing_names: dict[Kind, set[str]] = {}
        self.reads_after: dict[Kind, ReadsAfter] = {}

    async def run(self) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for kind, upsert in PHASES:
            changes = [
                c for c in self.plan.changes
                if c.kind == kind and c.is_change and writes(c.action) == upsert
            ]
            if not changes:
                continue
            creates = [c for c in changes if c.action == "create"]
            if creates:
                self.existing_names[kind] = await self._live_names(kind)
            if kind == "ErpConnection" and upsert:
                phase = await self._erp_phase(changes)
            else:
                phase = list(await asyncio.gather(*(self._one(c) for c in changes)))
            outcomes += phase
        return outcomes

    async def _erp_phase(self, changes: list[Change]) -> list[Outcome]:
        """Every ERP connection is saved inactive with its sync configuration first; then
        the sync priority order is saved, once, while they are still inactive; then each
        is tested and activated. SaveErpConnectionSyncPriorities takes every connection,
        so it waits until this run's new ones exist."""
        finishes: dict[str, Finish] = {}

        async def save(change: Change) -> Outcome:
            async def until_activation(c: Change) -> Result:
                finishes[c.ref] = await self._erp(c)
                return "", None

            outcome = await self._settled(change, await self._attempt(change, until_activation))
            if outcome.status != "done":
                finishes.pop(change.ref, None)  # a copy that lost to another apply's is not activated
            return outcome if change.ref in finishes else self._ended(change, outcome)

        saved = await asyncio.gather(*(save(c) for c in changes))
        order = await self._save_priority_order([c for c in changes if c.ref in finishes and _priority(c) is not None])

        async def finish(change: Change, outcome: Outcome) -> Outcome:
            if change.ref not in finishes:
                return outcome
            step = finishes[change.ref]
            return self._ended(change, await self._attempt(
                change, lambda _: step(None if _priority(change) is None else order)))

        return list(await asyncio.gather(*(finish(c, o) for c, o in zip(changes, saved))))

    async def _save_priority_order(self, waiting: list[Change]) -> PriorityOrder | None:
        """The order of every connection that sets `priority` (in this plan, changed or
        not), when one of them is about to be activated; sent only if it differs."""
        if not waiting:
            return None
        managed = sorted((priority, c.name) for c in self.plan.changes if (priority := _priority(c)) is not None)
        try:
            return PriorityOrder(saved=await apply_priorities(self.client, [name for _, name in managed]))
        except CrmError as error:
            return PriorityOrder(saved=False, error=str(error))

    async def _settled(self, change: Change, outcome: Outcome) -> Outcome:
        """A create's outcome once the names are read again after it (`create_races.py`):
        failed, with this run's copy soft-deleted, where another apply made the name first."""
        own = self.ids.get(change.ref) if change.action == "create" else None
        if own is None:
            return outcome
        reads = self.reads_after.setdefault(change.kind, ReadsAfter(lambda: self._live_objects(change.kind)))
        try:
            winner = older_copy(await reads.after_now(), change.name, own)
        except CrmError as error:
            return replace(outcome, status="failed", message=(
                f"{outcome.message or 'created'}, but whether another apply created it at the same time "
                f"could not be checked: {error}; run plan again"))
        if winner is None:
            return outcome
        message = f"another apply created it at the same time (id {winner}, kept)"
        try:
            await self._delete_own(change.kind, own)
            message += f"; this run soft-deleted its own copy (id {own}); run plan again"
        except CrmError as error:
            message += f"; removing this run's copy (id {own}) failed, remove it in the CRM: {error}"
        return replace(outcome, status="failed", message=message, live_id=winner)

    async def _delete_own(self, kind: Kind, object_id: int) -> None:
        if kind == "SyncConnector":
            await self.client.delete_connector(object_id)
        elif kind == "ErpConnection":
            await self.client.delete_connection(object_id)
        else:
            await self.client.delete_quote_connection(object_id)

    # -- one change --------------------------------------------------------
    async def _one(self, change: Change) -> Outcome:
        return self._ended(change, await self._settled(change, await self._attempt(change, self._execute)))

    async def _attempt(self, change: Change, step: Callable[[Change], Awaitable[Result]]) -> Outcome:
        """One step of a change as an outcome: done, failed, or skipped when a change it
        depends on did not succeed."""
        blocked = [d for d in change.depends_on if self.status.get(d) in ("failed", "skipped")]
        if blocked:
            return Outcome(change.kind, change.name, change.action, "skipped",
                           f"skipped: {', '.join(blocked)} did not succeed", live_id=change.live_id)
        try:
            message, test = await step(change)
        except ChangeFailed as failure:
            return Outcome(change.kind, change.name, change.action, "failed", failure.message, failure.test, change.live_id)
        except CrmError as error:
            return Outcome(change.kind, change.name, change.action, "failed", str(error), live_id=change.live_id)
        live_id = change.live_id if deletes(change.action) else self.ids.get(change.ref)
        return Outcome(change.kind, change.name, change.action, "done", message, test, live_id)

    def _ended(self, change: Change, outcome: Outcome) -> Outcome:
        # A message can quote the CRM or the connector, which may echo a value sent to them.
        secrets = getattr(change.desired, "config", {}).values()
        outcome = replace(outcome, message=mask_echoed(outcome.message, secrets))
        self.status[change.ref] = outcome.status
        if self.progress is not None:
            self.progress(outcome)
        return outcome

    async def _execute(self, change: Change) -> Result:
        if deletes(change.action):
            return await self._soft_delete(change), None
        if change.kind == "SyncConnector":
            return await self._connector(change), None
        return await self._quote(change)

    # -- reading again before writing -----------------------------------------
    async def _live_objects(self, kind: Kind) -> Sequence[LiveConnector | LiveErpConnection | LiveQuoteConnection]:
        if kind == "SyncConnector":
            return await self.client.get_connectors_with_urls()
        if kind == "ErpConnection":
            return await self.client.get_all_connections(include_deleted=False, with_config=False)
        return await self.client.get_all_quote_connections(with_config=False, include_deleted=False)

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

    @staticmethod
    def _access(change: Change) -> dict[str, object]:
        access = change.inputs.access
        assert isinstance(access, Access), "the planner resolves the access of every connection it writes"
        return {"all_access": access.all_access, "associate_ids": access.associate_ids, "group_ids": access.group_ids}

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
        current = None if change.action == "create" else await self._fresh(change)
        if change.action == "create":
            self._check_name_free(change)
        if current is None or current.url != state.url:
            await self._check_connector_url(state.url)
        if current is None:
            saved = await self.client.save_connector(0, state.name, state.url)
            self.ids[change.ref] = saved.id
            return f"created (id {saved.id})"
        assert isinstance(current, LiveConnector)
        if current.url != state.url:
            switch = change.inputs.url_switch
            assert switch is not None, "the planner lists the connections of every connector that moves"
            problems = await url_switch_problems(self.client, current, state.url, switch)
            if problems:
                raise ChangeFailed("not switched to the new URL (its connections keep the old one): " + "; ".join(problems))
        saved = await self.client.save_connector(current.id, state.name, state.url, deleted=False)
        self.ids[change.ref] = saved.id
        return "restored" if change.action == "restore" else "updated"

    async def _check_connector_url(self, url: str) -> None:
        """As the admin UI does: a new or changed connector URL is saved only once a
        connector answers there (TestConnectorUrl says "NoError")."""
        code = await self.client.test_connector_url(url)
        if code != "NoError":
            raise ChangeFailed(
                f"not saved: no connector answers at {url} (TestConnectorUrl: {code}); "
                "check the URL and that the connector service is running"
            )

    async def _erp_config(self, change: Change, state: ErpConnectionState, connector_id: int) -> Mapping[str, ConfigWire]:
        """The plan's config, or, when the connector's fields were unknown at plan time
        (it is registered by this run), the manifest's values checked against them now."""
        late = change.inputs.late_config
        if late is None:
            return state.config
        fields = await self.client.get_erp_config_fields(connector_id)
        result = desired_config(fields, late.written, None, await lists_for(self.client, fields, late.lists))
        if result.problems:
            details = "; ".join(f"{message}" + (f" ({hint})" if hint else "") for _, message, hint in result.problems)
            raise ChangeFailed(f"its config does not fit connector '{state.connector}': {details}")
        return result.values

    async def _erp(self, change: Change) -> Finish:
        """In the admin UI's order: test the config (OK stays disabled until the test
        passes, so a failing config is never stored), deactivate an active one, save
        inactive, have the CRM read the connector's actor types and fields for a new
        one, apply its sync configuration; what is returned tests the saved connection
        and activates it, once the sync priority order is saved."""
        state = change.desired
        assert isinstance(state, ErpConnectionState)
        connector_id = self._id(f"SyncConnector/{state.connector}")
        config = await self._erp_config(change, state, connector_id)
        current: LiveErpConnection | None = None
        if change.action == "create":
            self._check_name_free(change)
        else:
            fresh = await self._fresh(change)
            assert isinstance(fresh, LiveErpConnection)
            current = fresh
            if change.action == "update" and all(f.path.startswith("sync.") for f in change.fields):
                return await self._sync_only(current, state)
        started = time.perf_counter()
        passed = await self.client.test_erp_by_config(connector_id=connector_id, config=config)
        tested = TestResult("passed" if passed else "failed", "" if passed else ERP_FAILED, time.perf_counter() - started)
        if not passed:
            raise ChangeFailed("not saved: its connection test failed", tested)
        fields = dict(
            connector_id=connector_id, name=state.name, description=state.description,
            active=False, deleted=False, config=dict(config), **self._access(change),
        )
        if current is None:
            saved = await self.client.save_connection(LiveErpConnection(id=0, guid="", **fields))  # type: ignore[arg-type]
            verb = f"created inactive (id {saved.id})"
        else:
            if current.active:
                # As the admin UI does it: deactivate, save, test, activate.
                reasons = await self.client.toggle_connection_active(current.id, expect_active=False)
                if reasons:
                    raise ChangeFailed("could not deactivate it before saving: " + "; ".join(reasons))
            saved = await self.client.save_connection(replace(current, **fields))  # type: ignore[arg-type]
            verb = "restored inactive" if change.action == "restore" else "saved inactive"
        self.ids[change.ref] = saved.id
        if (current is None or current.connector_id != connector_id) and not await self.client.update_connection_fields(saved.id):
            raise ChangeFailed(
                f"{verb}, but the CRM could not read the connector's actor types and fields "
                "(UpdateConnectionFields failed), so it was not activated; check that the connector answers",
                tested,
            )
        if state.sync_spec is not None:
            verb += await self._sync(saved.id, state)

        async def test_and_activate(order: PriorityOrder | None) -> Result:
            done = _after_priority_order(verb, order, activates=state.active, test=tested)
            if not state.active:
                if saved.active:  # a server that ignored Active on save
                    await self.client.toggle_connection_active(saved.id, expect_active=False)
                return f"{done}; tested; stays inactive as the manifest says", tested
            started = time.perf_counter()
            passed = await self.client.test_erp_by_id(saved.id)
            seconds = time.perf_counter() - started
            if not passed:
                test = TestResult("failed", ERP_FAILED, seconds)
                raise ChangeFailed(f"{done}, but its saved connection failed its test, so it was not activated", test)
            if not saved.active:
                reasons = await self.client.toggle_connection_active(saved.id, expect_active=True)
                if reasons:
                    raise ChangeFailed(f"{done} and tested, but the CRM refused to activate it: " + "; ".join(reasons),
                                       TestResult("passed", seconds=seconds))
            return f"{done.replace(' inactive', '')}, tested and activated", TestResult("passed", seconds=seconds)

        return test_and_activate

    async def _sync(self, connection_id: int, state: ErpConnectionState) -> str:
        assert state.sync_spec is not None
        try:
            done = await apply_sync(self.client, connection_id, state.sync_spec)
        except SyncFailed as failure:
            raise ChangeFailed(f"saved, but its sync configuration was not applied: {failure}") from None
        return f"; sync configuration applied ({', '.join(done)})" if done else ""

    async def _sync_only(self, current: LiveErpConnection, state: ErpConnectionState) -> Finish:
        """Only the sync configuration differs: it is changed on the connection as it is,
        active or not. The admin guide asks for deactivation only when config fields
        change (docs/en/erp/admin/update-connection.md); the CRM applies mapping edits
        at its next sync run."""
        self.ids[f"ErpConnection/{state.name}"] = current.id
        written = (await self._sync(current.id, state)).removeprefix("; ")
        message = written or "mappings, list mappings, defaults and ERP-tab order already as the manifest says"
        activates = state.active and not current.active

        async def activate(order: PriorityOrder | None) -> Result:
            done = _after_priority_order(message, order, activates=activates, test=None)
            if activates:
                reasons = await self.client.toggle_connection_active(current.id, expect_active=True)
                if reasons:
                    raise ChangeFailed(f"{done}, but the CRM refused to activate it: " + "; ".join(reasons))
                done += "; activated"
            return done, None

        return activate

    async def _quote(self, change: Change) -> Result:
        state = change.desired
        assert isinstance(state, QuoteConnectionState)
        erp_id = self._id(f"ErpConnection/{state.erp_connection}")
        # Test first: a quote connection whose test fails is never saved.
        started = time.perf_counter()
        outcome = await self.client.test_quote_connection(state.connector, state.config)
        explanation = explain(outcome, state.config)
        test = TestResult("passed" if outcome.ok else "failed", explanation, time.perf_counter() - started)
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
            erp_connection_id=erp_id, deleted=False, config={}, **self._access(change),  # type: ignore[arg-type]
        )
        saved = await self.client.save_quote_connection(payload)
        self.ids[change.ref] = saved.id
        await self.client.save_quote_connection_config(saved.id, state.config, connector_name=state.connector)
        verb = {"create": f"created (id {saved.id})", "restore": "restored", "update": "updated"}[change.action]
        return f"{verb} and tested", test


async def execute(client: CrmClient, plan: Plan, progress: Progress | None = None) -> list[Outcome]:
    return await Executor(client, plan, progress).run()
