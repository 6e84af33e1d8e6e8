"""Everything a request handler needs: the state, the seed, the fault layer, the counters."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from reconciler.emulator.auth import Credentials
from reconciler.emulator.faults import FaultInjector
from reconciler.emulator.login import LoginService
from reconciler.emulator.seed import Seed
from reconciler.emulator.store import Store
from reconciler.emulator.tables import Table
from reconciler.emulator.wire import Arg, BadRequest, json_response, no_content

T = TypeVar("T")


@dataclass
class Options:
    """Behaviour switches for testing clients against both readings of the docs."""

    list_config_fields: bool = False  # GetAllConnections with ConfigFields (true) or an empty one


@dataclass
class RequestCounter:
    total: int = 0
    by_path: Counter[str] = field(default_factory=Counter)

    def count(self, path: str) -> None:
        self.total += 1
        self.by_path[path] += 1

    def reset(self) -> None:
        self.total = 0
        self.by_path = Counter()

    def to_dict(self) -> dict[str, Any]:
        return {"total": self.total, "by_path": dict(sorted(self.by_path.items()))}


@dataclass
class Emulator:
    store: Store
    seed: Seed
    credentials: Credentials
    injector: FaultInjector
    options: Options
    counter: RequestCounter = field(default_factory=RequestCounter)
    login: LoginService | None = None  # the system user flow, when the seed has system_user

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await run_in_threadpool(self.store.read, fn)

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await run_in_threadpool(self.store.write, fn)


Handler = Callable[[Emulator, dict[str, Any]], Awaitable[Response]]


@dataclass(frozen=True)
class Method:
    agent: str
    name: str
    args: tuple[Arg, ...]
    returns: str
    handler: Handler
    summary: str = ""
    # The whole body is one entity (SaveErpSyncConnectorEntity), not named arguments.
    body_is_entity: bool = False
    # The whole body is a JSON array of ids (Associate/GetAssociateList).
    body_is_ids: bool = False

    def describe(self, path: str) -> dict[str, Any]:
        """What a GET on the agent URL answers: how to call it, not a call."""
        return {
            "Agent": self.agent,
            "Method": self.name,
            "Verb": "POST",
            "Url": path,
            "Summary": self.summary,
            "Body": "the entity itself (not wrapped)" if self.body_is_entity
            else "a JSON array of ids" if self.body_is_ids else "JSON object of arguments",
            "Arguments": [
                {"Name": a.name, "Type": a.type, "In": a.source, "Required": a.required}
                for a in self.args
            ],
            "Returns": self.returns,
        }


class Agent:
    """A registry of one agent's methods, looked up without regard to case."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.methods: dict[str, Method] = {}

    def method(
        self,
        name: str,
        *args: Arg,
        returns: str,
        summary: str = "",
        body_is_entity: bool = False,
        body_is_ids: bool = False,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.methods[name.lower()] = Method(
                self.name, name, tuple(args), returns, handler, summary, body_is_entity, body_is_ids
            )
            return handler

        return register

    def find(self, name: str) -> Method | None:
        return self.methods.get(name.lower())


def unknown_ids(wanted: list[int] | None, known: Mapping[int, Any]) -> list[int]:
    """The ids in `wanted` that are not keys of `known`."""
    return [i for i in (wanted or []) if i not in known]


def check_access_ids(emu: "Emulator", entity: Mapping[str, Any]) -> None:
    """400 when a connection's scope names an associate or user group that does not exist."""
    unknown_users = unknown_ids(entity["AssociateAccessIds"], {u.id: u for u in emu.seed.users})
    if unknown_users:
        raise BadRequest(f"Connection.AssociateAccessIds: no associate with id {unknown_users[0]}")
    unknown_groups = unknown_ids(entity["UserGroupAccessIds"], {g.id: g for g in emu.seed.groups})
    if unknown_groups:
        raise BadRequest(f"Connection.UserGroupAccessIds: no user group with id {unknown_groups[0]}")


def default(entity: Mapping[str, Any], name: str, fallback: Any) -> Any:
    """A carrier field's value; one left out (or null) gets its default, not the
    stored value: a save sends the whole carrier."""
    value = entity[name]
    return fallback if value is None else value


R = TypeVar("R")


async def save_connection_entity(
    emu: "Emulator",
    entity: Mapping[str, Any],
    id_field: str,
    table: "Table[R]",
    build: Callable[[sqlite3.Connection, int, R | None], R],
    after: Callable[[sqlite3.Connection, R], None] | None = None,
) -> R | None:
    """What ErpSync and Quote SaveConnection share: check the access ids, then in one
    transaction create (id 0) or update (a known id) the row that `build` makes from
    the stored one, and run `after` on the saved row in the same transaction.
    An unknown id answers None: a failed agent call is 200 with null."""
    check_access_ids(emu, entity)

    def save(conn: sqlite3.Connection) -> R | None:
        connection_id = entity[id_field] or 0
        old = table.get(conn, connection_id) if connection_id else None
        if connection_id and old is None:
            return None
        row = build(conn, connection_id, old)
        if old is None:
            row = replace(row, id=table.insert(conn, row))  # type: ignore[type-var]
        else:
            table.update(conn, row)
        if after is not None:
            after(conn, row)
        return row

    return await emu.write(save)


async def written_or_null(emu: "Emulator", write: Callable[[sqlite3.Connection], bool]) -> Response:
    """204 No Content when `write` found what it changes; otherwise 200 with null, which is
    how an agent call on an unknown id fails (docs/api/webapi/agents/index.md)."""
    return no_content() if await emu.write(write) else json_response(None)


async def replace_row(emu: "Emulator", table: "Table[R]", row_id: int, change: Callable[[R], R]) -> Response:
    """Store `change(row)` in place of the row: 204 No Content, or 200 with null for an unknown id."""

    def write(conn: sqlite3.Connection) -> bool:
        row = table.get(conn, row_id)
        if row is None:
            return False
        table.update(conn, change(row))
        return True

    return await written_or_null(emu, write)
