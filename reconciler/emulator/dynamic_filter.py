"""The part of the archive `$filter` language the emulator's Dynamic provider reads.

The operators are listed in
docs/api/api-reference/restful/agent/Archive_Agent/v1ArchiveAgent_GetAvailableEntities.md
(SuperOfficeDocs/superoffice-docs). The emulator takes only `=`/`eq`/`equals` and
`in`/`oneOf`, terms joined by `and` (keywords without regard to case); anything else
is a 400 that says so rather than a guess. Values: an integer for Int columns,
a 'quoted string' (backslash escapes a quote) for String columns, and true/false
or 1/0 for Bool columns. Strings compare exactly, with case.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.emulator.dynamic_tables import COLUMN_TOKEN, ColumnRef, resolve
from reconciler.emulator.wire import BadRequest

SUPPORTED = (
    "the emulator's Dynamic provider supports only $filter terms 'table.field = value' (=, eq, equals) and "
    "'table.field in (v1, v2, ...)' (in, oneOf) joined by 'and', with integers, 'quoted strings' and, "
    "for Bool fields, true/false or 1/0"
)

_TOKEN = re.compile(
    rf"\s*(?:(?P<string>'(?:\\.|[^'\\])*')|(?P<number>-?\d+)(?![\w.])|(?P<word>{COLUMN_TOKEN})"
    r"|(?P<punct>[(),=])|(?P<other>\S))"
)
_EQUALS = {"=", "eq", "equals"}
_ONE_OF = {"in", "oneof"}


@dataclass(frozen=True)
class Token:
    kind: str  # string, number, word, punct, other, end
    text: str
    at: int  # offset in the filter text


@dataclass(frozen=True)
class Term:
    ref: ColumnRef
    values: tuple[Any, ...]  # the row matches when its value is one of these

    def matches(self, row: Any) -> bool:
        found = self.ref.column.of(row)
        return any(type(found) is type(v) and found == v for v in self.values)


def _tokens(text: str) -> list[Token]:
    found: list[Token] = []
    position = 0
    while text[position:].strip():
        match = _TOKEN.match(text, position)
        assert match is not None and match.lastgroup is not None  # `other` takes any character
        found.append(Token(match.lastgroup, match.group(match.lastgroup), match.start(match.lastgroup)))
        position = match.end()
    return [*found, Token("end", "", len(text))]


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: Iterator[Token] = iter(_tokens(text))
        self.current = next(self.tokens)

    def refuse(self, what: str) -> BadRequest:
        where = "at the end" if self.current.kind == "end" else f"at '{self.text[self.current.at:]}'"
        return BadRequest(f"$filter '{self.text}': {what} {where}; {SUPPORTED}")

    def take(self) -> Token:
        token, self.current = self.current, next(self.tokens, Token("end", "", len(self.text)))
        return token

    def terms(self) -> list[Term]:
        found = [self.term()]
        while self.current.kind == "word" and self.current.text.lower() == "and":
            self.take()
            found.append(self.term())
        if self.current.kind != "end":
            raise self.refuse("expected 'and' or the end")
        return found

    def term(self) -> Term:
        if self.current.kind != "word" or self.current.text.lower() in ("and", "or"):
            raise self.refuse("expected a column (table.field)")
        ref = resolve(self.take().text)
        if ref.column.value is None:
            raise BadRequest(
                f"$filter: the emulator holds no data for {ref.text} "
                f"({'the docs do not say how an enum is rendered' if ref.column.kind == 'enum' else 'it answers null'}), "
                "so it cannot filter on it"
            )
        operator = self.current.text.lower() if self.current.kind in ("word", "punct") else ""
        if operator in _EQUALS:
            self.take()
            return Term(ref, (self.value(ref),))
        if operator in _ONE_OF:
            self.take()
            return Term(ref, tuple(self.value_list(ref)))
        raise self.refuse(f"expected an operator after {ref.text}")

    def value_list(self, ref: ColumnRef) -> Sequence[Any]:
        if self.current.text != "(":
            raise self.refuse("expected '(' to open the list of values")
        self.take()
        values = [self.value(ref)]
        while self.current.text == ",":
            self.take()
            values.append(self.value(ref))
        if self.current.text != ")":
            raise self.refuse("expected ',' or ')' in the list of values")
        self.take()
        return values

    def value(self, ref: ColumnRef) -> Any:
        token = self.current
        kind = ref.column.kind
        if kind == "int" and token.kind == "number":
            return int(self.take().text)
        if kind == "string" and token.kind == "string":
            return re.sub(r"\\(.)", r"\1", self.take().text[1:-1])
        if kind == "bool" and token.text.lower() in ("true", "false", "1", "0"):
            return self.take().text.lower() in ("true", "1")
        expected = {"int": "an integer", "string": "a 'quoted string'", "bool": "true, false, 1 or 0"}.get(kind, kind)
        raise self.refuse(f"{ref.text} is {kind.capitalize()}: expected {expected}")


def parse_filter(text: str) -> list[Term]:
    """The terms of `text` (all must hold); none for an empty filter."""
    return _Parser(text).terms() if text.strip() else []
