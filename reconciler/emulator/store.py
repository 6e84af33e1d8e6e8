"""The emulator's state: one SQLite file (stdlib sqlite3).

Each operation opens its own connection (cheap for a local file) so it can run
in any worker thread. Writes are serialised by a process-wide lock per file and
run inside `BEGIN IMMEDIATE` transactions, so they are atomic and also safe
against a second process on the same file (busy_timeout). WAL mode lets reads
proceed while a write is in progress. Nothing here sleeps: fault delays happen
outside the store, so a slow request never holds the lock.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from reconciler.emulator.seed import Seed, ScopeSpec

SCHEMA_VERSION = "1"
T = TypeVar("T")

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE connector (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    display_name TEXT NOT NULL,
    url TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE erp_connection (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    connector_id INTEGER NOT NULL REFERENCES connector(id),
    display_name TEXT NOT NULL,
    description TEXT NOT NULL,
    active INTEGER NOT NULL,
    guid TEXT NOT NULL UNIQUE,
    most_recent_timestamp TEXT,
    all_access INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    group_ids TEXT NOT NULL,
    associate_ids TEXT NOT NULL,
    config TEXT NOT NULL
);
CREATE TABLE quote_connection (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    erp_name TEXT NOT NULL,
    display_name TEXT NOT NULL,
    description TEXT NOT NULL,
    rank INTEGER NOT NULL,
    connector_name TEXT NOT NULL,
    erp_connection_id INTEGER NOT NULL,
    extra_data TEXT NOT NULL,
    all_access INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    group_ids TEXT NOT NULL,
    associate_ids TEXT NOT NULL,
    config TEXT NOT NULL
);
"""


class StateError(Exception):
    """A state file the emulator cannot use."""


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
        store.path.parent.mkdir(parents=True, exist_ok=True)
        with store._write_lock:
            conn = store._connect()
            try:
                conn.execute("BEGIN IMMEDIATE")
                exists = conn.execute(
                    "SELECT 1 FROM sqlite_master WHERE name = 'meta'"
                ).fetchone()
                if not exists:  # another thread or process may have won the race
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            conn.execute(statement)
                    _write_seed(conn, seed)
                conn.execute("COMMIT")
            finally:
                conn.close()
        return store, store.read_seed()

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
                    f"{self.path} has state format {rows.get('schema_version')!r}, expected "
                    f"{SCHEMA_VERSION!r}; run `reconcile emulator reset --state {self.path}`"
                )
            return Seed.model_validate_json(rows["seed"])

        try:
            return self.read(get)
        except sqlite3.DatabaseError as exc:
            raise StateError(
                f"{self.path} is not an emulator state file ({exc}); choose another --state "
                "file, or delete this one if it is an old emulator state"
            ) from None

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
            for table in ("quote_connection", "erp_connection", "connector", "meta"):
                conn.execute(f"DELETE FROM {table}")
            conn.execute("DELETE FROM sqlite_sequence")
            _write_seed(conn, seed)

        self.write(wipe)


def _write_seed(conn: sqlite3.Connection, seed: Seed) -> None:
    conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
    conn.execute("INSERT INTO meta VALUES ('seed', ?)", (seed.model_dump_json(),))
    user_ids = {u.login: u.id for u in seed.users}
    group_ids = {g.name: g.id for g in seed.groups}

    def scope_ids(scope: ScopeSpec) -> tuple[bool, list[int], list[int]]:
        return (
            scope.everyone,
            [group_ids[name] for name in scope.groups],  # type: ignore[misc]
            [user_ids[login] for login in scope.users],  # type: ignore[misc]
        )

    connector_ids: dict[str, int] = {}
    for c in seed.connectors:
        cur = conn.execute(
            "INSERT INTO connector (id, display_name, url, deleted) VALUES (?, ?, ?, ?)",
            (c.id, c.name, c.url, int(c.deleted)),
        )
        connector_ids[c.name] = int(cur.lastrowid or 0)
    erp_ids: dict[str, int] = {}
    for e in seed.erp_connections:
        everyone, groups, users = scope_ids(e.scope)
        row = ErpRow(
            id=e.id or 0,
            connector_id=connector_ids[e.connector],
            name=e.name,
            description=e.description,
            active=e.active and not e.deleted,
            guid=e.guid or new_guid(),
            most_recent_timestamp=e.most_recent_timestamp,
            all_access=everyone,
            deleted=e.deleted,
            group_ids=tuple(groups),
            associate_ids=tuple(users),
            config=dict(e.config),
        )
        erp_ids[e.name] = insert_erp(conn, row)
    for q in seed.quote_connections:
        everyone, groups, users = scope_ids(q.scope)
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
                all_access=everyone,
                deleted=q.deleted,
                group_ids=tuple(groups),
                associate_ids=tuple(users),
                config=dict(q.config),
            ),
        )


def new_guid() -> str:
    return str(uuid.uuid4())


# --- sync connectors -------------------------------------------------------------


def _connector(row: sqlite3.Row | tuple[Any, ...]) -> ConnectorRow:
    return ConnectorRow(id=row[0], name=row[1], url=row[2], deleted=bool(row[3]))


def get_connector(conn: sqlite3.Connection, connector_id: int) -> ConnectorRow | None:
    row = conn.execute(
        "SELECT id, display_name, url, deleted FROM connector WHERE id = ?", (connector_id,)
    ).fetchone()
    return _connector(row) if row else None


def list_connectors(conn: sqlite3.Connection) -> list[ConnectorRow]:
    rows = conn.execute("SELECT id, display_name, url, deleted FROM connector ORDER BY id")
    return [_connector(r) for r in rows]


def save_connector(conn: sqlite3.Connection, row: ConnectorRow) -> int:
    if row.id:
        conn.execute(
            "UPDATE connector SET display_name = ?, url = ?, deleted = ? WHERE id = ?",
            (row.name, row.url, int(row.deleted), row.id),
        )
        return row.id
    cur = conn.execute(
        "INSERT INTO connector (display_name, url, deleted) VALUES (?, ?, ?)",
        (row.name, row.url, int(row.deleted)),
    )
    return int(cur.lastrowid or 0)


def count_live_connections(conn: sqlite3.Connection, connector_id: int) -> int:
    (count,) = conn.execute(
        "SELECT COUNT(*) FROM erp_connection WHERE connector_id = ? AND deleted = 0",
        (connector_id,),
    ).fetchone()
    return int(count)


# --- ERP connections -------------------------------------------------------------

_ERP_COLUMNS = (
    "id, connector_id, display_name, description, active, guid, most_recent_timestamp, "
    "all_access, deleted, group_ids, associate_ids, config"
)


def _erp(row: tuple[Any, ...]) -> ErpRow:
    return ErpRow(
        id=row[0],
        connector_id=row[1],
        name=row[2],
        description=row[3],
        active=bool(row[4]),
        guid=row[5],
        most_recent_timestamp=row[6],
        all_access=bool(row[7]),
        deleted=bool(row[8]),
        group_ids=tuple(json.loads(row[9])),
        associate_ids=tuple(json.loads(row[10])),
        config=json.loads(row[11]),
    )


def get_erp(conn: sqlite3.Connection, connection_id: int) -> ErpRow | None:
    row = conn.execute(
        f"SELECT {_ERP_COLUMNS} FROM erp_connection WHERE id = ?", (connection_id,)
    ).fetchone()
    return _erp(row) if row else None


def list_erp(conn: sqlite3.Connection, include_deleted: bool) -> list[ErpRow]:
    where = "" if include_deleted else "WHERE deleted = 0"
    rows = conn.execute(f"SELECT {_ERP_COLUMNS} FROM erp_connection {where} ORDER BY id")
    return [_erp(r) for r in rows]


def _erp_values(row: ErpRow) -> tuple[Any, ...]:
    return (
        row.connector_id,
        row.name,
        row.description,
        int(row.active),
        row.guid,
        row.most_recent_timestamp,
        int(row.all_access),
        int(row.deleted),
        json.dumps(list(row.group_ids)),
        json.dumps(list(row.associate_ids)),
        json.dumps(row.config),
    )


def insert_erp(conn: sqlite3.Connection, row: ErpRow) -> int:
    cur = conn.execute(
        f"INSERT INTO erp_connection ({_ERP_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (row.id or None, *_erp_values(row)),
    )
    return int(cur.lastrowid or 0)


def update_erp(conn: sqlite3.Connection, row: ErpRow) -> None:
    conn.execute(
        "UPDATE erp_connection SET connector_id = ?, display_name = ?, description = ?, "
        "active = ?, guid = ?, most_recent_timestamp = ?, all_access = ?, deleted = ?, "
        "group_ids = ?, associate_ids = ?, config = ? WHERE id = ?",
        (*_erp_values(row), row.id),
    )


# --- quote connections -----------------------------------------------------------

_QUOTE_COLUMNS = (
    "id, erp_name, display_name, description, rank, connector_name, erp_connection_id, "
    "extra_data, all_access, deleted, group_ids, associate_ids, config"
)


def _quote(row: tuple[Any, ...]) -> QuoteRow:
    return QuoteRow(
        id=row[0],
        erp_name=row[1],
        name=row[2],
        description=row[3],
        rank=row[4],
        connector_name=row[5],
        erp_connection_id=row[6],
        extra_data=row[7],
        all_access=bool(row[8]),
        deleted=bool(row[9]),
        group_ids=tuple(json.loads(row[10])),
        associate_ids=tuple(json.loads(row[11])),
        config=json.loads(row[12]),
    )


def get_quote(conn: sqlite3.Connection, connection_id: int) -> QuoteRow | None:
    row = conn.execute(
        f"SELECT {_QUOTE_COLUMNS} FROM quote_connection WHERE id = ?", (connection_id,)
    ).fetchone()
    return _quote(row) if row else None


def list_quotes(conn: sqlite3.Connection) -> list[QuoteRow]:
    return [_quote(r) for r in conn.execute(f"SELECT {_QUOTE_COLUMNS} FROM quote_connection ORDER BY id")]


def _quote_values(row: QuoteRow) -> tuple[Any, ...]:
    return (
        row.erp_name,
        row.name,
        row.description,
        row.rank,
        row.connector_name,
        row.erp_connection_id,
        row.extra_data,
        int(row.all_access),
        int(row.deleted),
        json.dumps(list(row.group_ids)),
        json.dumps(list(row.associate_ids)),
        json.dumps(row.config),
    )


def insert_quote(conn: sqlite3.Connection, row: QuoteRow) -> int:
    cur = conn.execute(
        f"INSERT INTO quote_connection ({_QUOTE_COLUMNS}) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (row.id or None, *_quote_values(row)),
    )
    return int(cur.lastrowid or 0)


def update_quote(conn: sqlite3.Connection, row: QuoteRow) -> None:
    conn.execute(
        "UPDATE quote_connection SET erp_name = ?, display_name = ?, description = ?, rank = ?, "
        "connector_name = ?, erp_connection_id = ?, extra_data = ?, all_access = ?, deleted = ?, "
        "group_ids = ?, associate_ids = ?, config = ? WHERE id = ?",
        (*_quote_values(row), row.id),
    )

