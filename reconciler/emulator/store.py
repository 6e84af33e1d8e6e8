"""The emulator's state: one SQLite file (stdlib sqlite3).

Each operation opens its own connection (cheap for a local file) so it can run
in any worker thread. Writes are serialised by a process-wide lock per file and
run inside `BEGIN IMMEDIATE` transactions, so they are atomic and also safe
against a second process on the same file (busy_timeout). WAL mode lets reads
proceed while a write is in progress. Nothing here sleeps: fault delays happen
outside the store, so a slow request never holds the lock.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from reconciler.diagnostics import Diagnostic, DiagnosticError
from reconciler.emulator.seed import Seed, ScopeSpec
from reconciler.emulator.sync_cache import refresh_field_cache
from reconciler.emulator.sync_store import SYNC_TABLES
from reconciler.emulator.tables import Column, Table, flag, integer, json_ids, json_value, text

SCHEMA_VERSION = "2"  # 2: sync configuration tables
T = TypeVar("T")

_META_SCHEMA = "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"


class StateError(DiagnosticError):
    """A state file the emulator cannot use: one line naming the file and how to start over."""

    def __init__(self, path: Path, problem: str, hint: str | None = None) -> None:
        super().__init__([Diagnostic(
            f"the emulator state file {path} {problem}",
            hint=hint or "delete it to start over; the emulator creates and seeds a new one",
        )])


@dataclass(frozen=True)
class ConnectorRow:
    id: int
    name: str
    url: str
    deleted: bool


@dataclass(frozen=True)
class ErpRow:
    id: int
    connector_id: int
    name: str
    description: str
    active: bool
    guid: str
    most_recent_timestamp: str | None
    all_access: bool
    deleted: bool
    group_ids: tuple[int, ...] = ()
    associate_ids: tuple[int, ...] = ()
    config: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class QuoteRow:
    id: int
    erp_name: str
    name: str
    description: str
    rank: int
    connector_name: str
    erp_connection_id: int
    extra_data: str
    all_access: bool
    deleted: bool
    group_ids: tuple[int, ...] = ()
    associate_ids: tuple[int, ...] = ()
    config: dict[str, str] = field(default_factory=dict)


_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock_for(path: Path) -> threading.Lock:
    key = str(path.resolve())
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._write_lock = _lock_for(path)

    @classmethod
    def open(cls, path: str | Path, load_seed: Callable[[], Seed]) -> tuple["Store", Seed]:
        """Open a state file, creating and seeding it when it does not exist yet."""
        store = cls(Path(path))
        if store.path.exists() and store.path.stat().st_size > 0:
            return store, store.read_seed()
        seed = load_seed()  # before touching the file: a bad seed leaves nothing behind
        if store.path.exists() and not store.path.is_file():
            raise StateError(store.path, "is not a regular file", hint="give --state the path of a regular file")
        store.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            store._create(seed)
        except sqlite3.DatabaseError as exc:
            raise StateError(store.path, f"cannot be created ({exc})") from None
        return store, store.read_seed()

    def _create(self, seed: Seed) -> None:
        store = self
        with store._write_lock:
            conn = store._connect()
            try:
                conn.execute("BEGIN IMMEDIATE")
                exists = conn.execute(
                    "SELECT 1 FROM sqlite_master WHERE name = 'meta'"
                ).fetchone()
                if not exists:  # another thread or process may have won the race
                    conn.execute(_META_SCHEMA)
                    for table in TABLES:
                        conn.execute(table.ddl())
                    _write_seed(conn, seed)
                conn.execute("COMMIT")
            finally:
                conn.close()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    def read_seed(self) -> Seed:
        def get(conn: sqlite3.Connection) -> Seed:
            rows = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            if rows.get("schema_version") != SCHEMA_VERSION:
                raise StateError(
                    self.path, f"has state format {rows.get('schema_version')!r}, expected {SCHEMA_VERSION!r}",
                    hint=f"run `reconcile emulator reset --state {self.path}`, or delete it to start over",
                )
            return Seed.model_validate_json(rows["seed"])

        try:
            return self.read(get)
        except (sqlite3.DatabaseError, KeyError, ValueError) as exc:
            # ValueError: pydantic's ValidationError of a damaged seed record.
            reason = str(exc).splitlines()[0] if isinstance(exc, sqlite3.DatabaseError) else "its seed record is damaged"
            raise StateError(self.path, f"is corrupted or not an emulator state file ({reason})") from None

    def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._connect()
        try:
            return fn(conn)
        finally:
            conn.close()

    def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn` in one transaction: all of its changes or none."""
        with self._write_lock:
            conn = self._connect()
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    result = fn(conn)
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
                return result
            finally:
                conn.close()

    def reset(self, seed: Seed) -> None:
        """Replace everything with a fresh copy of `seed` (ids start again at 1)."""

        def wipe(conn: sqlite3.Connection) -> None:
            for name in [t.name for t in reversed(TABLES)] + ["meta"]:
                conn.execute(f"DELETE FROM {name}")
            conn.execute("DELETE FROM sqlite_sequence")
            _write_seed(conn, seed)

        self.write(wipe)


def _write_seed(conn: sqlite3.Connection, seed: Seed) -> None:
    conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
    conn.execute("INSERT INTO meta VALUES ('seed', ?)", (seed.model_dump_json(),))
    user_ids = {u.login: u.id for u in seed.users}
    group_ids = {g.name: g.id for g in seed.groups}

    def access(scope: ScopeSpec) -> dict[str, Any]:
        """A seed scope as a connection row's access columns."""
        return {
            "all_access": scope.everyone,
            "group_ids": tuple(group_ids[name] for name in scope.groups),  # type: ignore[misc]
            "associate_ids": tuple(user_ids[login] for login in scope.users),  # type: ignore[misc]
        }

    connector_ids: dict[str, int] = {}
    for c in seed.connectors:
        connector_ids[c.name] = CONNECTORS.insert(conn, ConnectorRow(id=c.id or 0, name=c.name, url=c.url, deleted=c.deleted))
    erp_ids: dict[str, int] = {}
    for e in seed.erp_connections:
        row = ErpRow(
            id=e.id or 0,
            connector_id=connector_ids[e.connector],
            name=e.name,
            description=e.description,
            active=e.active and not e.deleted,
            guid=e.guid or new_guid(),
            most_recent_timestamp=e.most_recent_timestamp,
            deleted=e.deleted,
            **access(e.scope),
            config=dict(e.config),
        )
        erp_ids[e.name] = insert_erp(conn, row)
        profile = seed.connector_profile(next(c.url for c in seed.connectors if c.name == e.connector))
        if profile is not None:
            refresh_field_cache(conn, seed, profile, erp_ids[e.name])
    for q in seed.quote_connections:
        profile = seed.quote_connector(q.connector)
        insert_quote(
            conn,
            QuoteRow(
                id=q.id or 0,
                erp_name=q.erp_name if q.erp_name is not None else (profile.erp_name if profile else ""),
                name=q.name,
                description=q.description,
                rank=q.rank,
                connector_name=q.connector,
                erp_connection_id=erp_ids[q.erp_connection] if q.erp_connection else 0,
                extra_data=q.extra_data,
                deleted=q.deleted,
                **access(q.scope),
                config=dict(q.config),
            ),
        )


def new_guid() -> str:
    return str(uuid.uuid4())


# --- tables ----------------------------------------------------------------------

CONNECTORS: Table[ConnectorRow] = Table("connector", ConnectorRow, (
    integer("id"),
    text("display_name", "name"),
    text("url"),
    flag("deleted"),
))

ERP_CONNECTIONS: Table[ErpRow] = Table("erp_connection", ErpRow, (
    integer("id"),
    integer("connector_id", sql_type="INTEGER NOT NULL REFERENCES connector(id)"),
    text("display_name", "name"),
    text("description"),
    flag("active"),
    Column("guid", "TEXT NOT NULL UNIQUE"),
    text("most_recent_timestamp", nullable=True),
    flag("all_access"),
    flag("deleted"),
    json_ids("group_ids"),
    json_ids("associate_ids"),
    json_value("config"),
))

QUOTE_CONNECTIONS: Table[QuoteRow] = Table("quote_connection", QuoteRow, (
    integer("id"),
    text("erp_name"),
    text("display_name", "name"),
    text("description"),
    integer("rank"),
    text("connector_name"),
    integer("erp_connection_id"),
    text("extra_data"),
    flag("all_access"),
    flag("deleted"),
    json_ids("group_ids"),
    json_ids("associate_ids"),
    json_value("config"),
))

# In creation order; `reset` empties them in reverse.
TABLES: tuple[Table[Any], ...] = (CONNECTORS, ERP_CONNECTIONS, QUOTE_CONNECTIONS, *SYNC_TABLES)


# --- sync connectors -------------------------------------------------------------


def get_connector(conn: sqlite3.Connection, connector_id: int) -> ConnectorRow | None:
    return CONNECTORS.get(conn, connector_id)


def list_connectors(conn: sqlite3.Connection) -> list[ConnectorRow]:
    return CONNECTORS.select(conn)


def save_connector(conn: sqlite3.Connection, row: ConnectorRow) -> int:
    if row.id:
        CONNECTORS.update(conn, row)
        return row.id
    return CONNECTORS.insert(conn, row)


def count_live_connections(conn: sqlite3.Connection, connector_id: int) -> int:
    (count,) = conn.execute(
        "SELECT COUNT(*) FROM erp_connection WHERE connector_id = ? AND deleted = 0",
        (connector_id,),
    ).fetchone()
    return int(count)


# --- ERP connections -------------------------------------------------------------


def get_erp(conn: sqlite3.Connection, connection_id: int) -> ErpRow | None:
    return ERP_CONNECTIONS.get(conn, connection_id)


def list_erp(conn: sqlite3.Connection, include_deleted: bool) -> list[ErpRow]:
    return ERP_CONNECTIONS.select(conn, "" if include_deleted else "deleted = 0")


def insert_erp(conn: sqlite3.Connection, row: ErpRow) -> int:
    return ERP_CONNECTIONS.insert(conn, row)


def update_erp(conn: sqlite3.Connection, row: ErpRow) -> None:
    ERP_CONNECTIONS.update(conn, row)


# --- quote connections -----------------------------------------------------------


def get_quote(conn: sqlite3.Connection, connection_id: int) -> QuoteRow | None:
    return QUOTE_CONNECTIONS.get(conn, connection_id)


def list_quotes(conn: sqlite3.Connection) -> list[QuoteRow]:
    return QUOTE_CONNECTIONS.select(conn)


def insert_quote(conn: sqlite3.Connection, row: QuoteRow) -> int:
    return QUOTE_CONNECTIONS.insert(conn, row)


def update_quote(conn: sqlite3.Connection, row: QuoteRow) -> None:
    QUOTE_CONNECTIONS.update(conn, row)
