"""A SQLite table described once: its columns, how each maps to a row dataclass
field, and the SQL (create, select, insert, update) derived from that description."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

R = TypeVar("R")


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Column:
    """One column: its SQL name and type, the row field it holds, and how values cross."""

    name: str
    sql_type: str
    attr: str = ""  # the row dataclass field; the column name when empty
    encode: Callable[[Any], Any] = _same
    decode: Callable[[Any], Any] = _same

    @property
    def field(self) -> str:
        return self.attr or self.name


def text(name: str, attr: str = "", nullable: bool = False) -> Column:
    return Column(name, "TEXT" if nullable else "TEXT NOT NULL", attr)


def integer(name: str, attr: str = "", sql_type: str = "INTEGER NOT NULL") -> Column:
    return Column(name, sql_type, attr)


def flag(name: str, attr: str = "") -> Column:
    return Column(name, "INTEGER NOT NULL", attr, encode=int, decode=bool)


def json_ids(name: str, attr: str = "") -> Column:
    """A tuple of ints stored as a JSON list."""
    return Column(name, "TEXT NOT NULL", attr, encode=lambda v: json.dumps(list(v)), decode=lambda v: tuple(json.loads(v)))


def json_value(name: str, attr: str = "") -> Column:
    """Any JSON-able value (a dict, a list of dicts) stored as JSON text."""
    return Column(name, "TEXT NOT NULL", attr, encode=json.dumps, decode=json.loads)


@dataclass(frozen=True)
class Table(Generic[R]):
    """A table whose first column is its integer primary key `id`."""

    name: str
    row_type: Callable[..., R]
    columns: Sequence[Column]
    constraints: Sequence[str] = ()

    @property
    def _names(self) -> str:
        return ", ".join(c.name for c in self.columns)

    def ddl(self) -> str:
        key = f"{self.columns[0].name} INTEGER PRIMARY KEY AUTOINCREMENT"
        rest = [f"{c.name} {c.sql_type}" for c in self.columns[1:]]
        return f"CREATE TABLE {self.name} ({', '.join([key, *rest, *self.constraints])})"

    def decode(self, values: Sequence[Any]) -> R:
        return self.row_type(**{c.field: c.decode(v) for c, v in zip(self.columns, values)})

    def _encode(self, row: R) -> list[Any]:
        return [c.encode(getattr(row, c.field)) for c in self.columns[1:]]

    def get(self, conn: sqlite3.Connection, row_id: int) -> R | None:
        found = conn.execute(
            f"SELECT {self._names} FROM {self.name} WHERE {self.columns[0].name} = ?", (row_id,)
        ).fetchone()
        return self.decode(found) if found else None

    def select(self, conn: sqlite3.Connection, where: str = "", params: Sequence[Any] = ()) -> list[R]:
        """Rows matching `where` (an SQL condition, or everything), in id order."""
        condition = f"WHERE {where}" if where else ""
        rows = conn.execute(
            f"SELECT {self._names} FROM {self.name} {condition} ORDER BY {self.columns[0].name}", tuple(params)
        )
        return [self.decode(r) for r in rows]

    def insert(self, conn: sqlite3.Connection, row: R) -> int:
        """Insert `row`; an id of 0 lets SQLite choose one. Returns the id."""
        marks = ", ".join("?" for _ in self.columns)
        row_id = getattr(row, self.columns[0].field) or None
        cur = conn.execute(f"INSERT INTO {self.name} ({self._names}) VALUES ({marks})", (row_id, *self._encode(row)))
        return int(cur.lastrowid or 0)

    def update(self, conn: sqlite3.Connection, row: R) -> None:
        sets = ", ".join(f"{c.name} = ?" for c in self.columns[1:])
        key = self.columns[0]
        conn.execute(f"UPDATE {self.name} SET {sets} WHERE {key.name} = ?", (*self._encode(row), getattr(row, key.field)))

    def check_matches_row_type(self) -> None:
        """Every field of the row dataclass has exactly one column (tests call this)."""
        fields = {f.name for f in dataclasses.fields(self.row_type)}  # type: ignore[arg-type]
        columns = [c.field for c in self.columns]
        if sorted(columns) != sorted(fields):
            raise AssertionError(f"{self.name}: columns {sorted(columns)} != fields {sorted(fields)}")
