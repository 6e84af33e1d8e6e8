"""Errors that point at the fix: where (file:line:col), which resource, what, and a hint.

Every stage (manifest loading, plan validation, CLI) reports problems as
`Diagnostic`s so that they can be shown all at once, as text or as JSON.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Location:
    file: str
    line: int  # 1-based
    column: int  # 1-based

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


# A URL in a message: scheme://, then anything up to white space or a quote.
_URL = re.compile(r"""[A-Za-z][A-Za-z0-9+.-]*://[^\s'"<>`]*""")


def without_query_strings(text: str) -> str:
    """`text` with the query and fragment of every URL in it replaced by `?…`: a query
    string can carry a key or token (`?apikey=…`), so no message shows one."""

    def cut(match: re.Match[str]) -> str:
        url = match.group(0)
        end = min((i for i in (url.find("?"), url.find("#")) if i >= 0), default=-1)
        return url if end < 0 else url[:end] + "?…"

    return _URL.sub(cut, text)


@dataclass(frozen=True)
class Diagnostic:
    message: str
    location: Location | None = None
    resource: str | None = None  # "Kind/name"
    hint: str | None = None  # e.g. "did you mean 'Visma.net'?"

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", without_query_strings(self.message))
        if self.hint is not None:
            object.__setattr__(self, "hint", without_query_strings(self.hint))

    def __str__(self) -> str:
        parts = []
        if self.location is not None:
            parts.append(f"{self.location}:")
        if self.resource:
            parts.append(f"{self.resource}:")
        parts.append(self.message)
        text = " ".join(parts)
        if self.hint:
            text += f" ({self.hint})"
        return visible(text)

    def to_dict(self) -> dict[str, object]:
        data: dict[str, object] = {
            "file": self.location.file if self.location else None,
            "line": self.location.line if self.location else None,
            "column": self.location.column if self.location else None,
            "resource": self.resource,
            "message": self.message,
            "hint": self.hint,
        }
        return data


def visible(text: str) -> str:
    """`text` with control characters and line separators shown as escapes, so that a name
    from a manifest or the CRM cannot drive the terminal or split a message into two lines."""
    if text.isprintable():
        return text
    return "".join(
        ascii(char)[1:-1] if unicodedata.category(char) in ("Cc", "Zl", "Zp") else char for char in text
    )


class DiagnosticError(Exception):
    """One or more problems the user has to fix; never a traceback for them."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics: tuple[Diagnostic, ...] = tuple(
            sorted(diagnostics, key=_sort_key)
        )
        super().__init__("\n".join(str(d) for d in self.diagnostics))


def _sort_key(d: Diagnostic) -> tuple[object, ...]:
    loc = d.location
    # Located problems in file order; the rest keep the order they were found in (stable sort).
    position = (loc.file, loc.line, loc.column) if loc else ("", 0, 0)
    return (loc is None, position)


def did_you_mean(word: str, choices: Sequence[str]) -> str | None:
    """A 'did you mean …' hint for a misspelt key, kind or name, or None."""
    lowered = {c.lower(): c for c in choices}
    if word.lower() in lowered and lowered[word.lower()] != word:
        return f"did you mean '{lowered[word.lower()]}'?"
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if not close:
        close = [
            lowered[m]
            for m in difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
        ]
    return f"did you mean '{close[0]}'?" if close else None
