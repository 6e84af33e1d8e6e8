"""Values that must never be shown.

A `Sensitive` wraps a resolved secret (from `${env:…}`/`${file:…}` references,
or any value of a Password-type config field). Formatting it in any way gives
`(sensitive)`; JSON encoding and pickling fail loudly rather than leak. Only
code that sends the value to the CRM calls `reveal()`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NoReturn

REDACTED = "(sensitive)"


# Secrets at least this long are masked wherever they appear; shorter ones only
# as a whole token, so that a secret "1" does not mask every digit of a message.
SUBSTRING_MASK_LENGTH = 4


def _pattern(secret: str) -> re.Pattern[str]:
    escaped = re.escape(secret)
    if len(secret) >= SUBSTRING_MASK_LENGTH:
        return re.compile(escaped)
    # A whole token: not preceded or followed by a letter or a digit.
    return re.compile(rf"(?<![^\W_]){escaped}(?![^\W_])")


# Every secret value this process has seen, so that text bound for a log can be scrubbed of them.
_seen: set[str] = set()


def remember(value: str) -> None:
    """Note a credential that is not wrapped in a Sensitive (e.g. an auth header), for `scrub`."""
    if value.strip():
        _seen.add(value)


def forget_all() -> None:
    """Start a new run with nothing remembered (several runs share a process in tests)."""
    _seen.clear()


def scrub(text: str) -> str:
    """`text` with every secret value this process has seen replaced by (sensitive); for logs.
    Short values are replaced as whole tokens only, so that ordinary words stay readable."""
    for value in sorted(_seen, key=len, reverse=True):
        text = _pattern(value).sub(REDACTED, text)
    return text


class Sensitive:
    __slots__ = ("_value", "reference")

    def __init__(self, value: str, reference: str | None = None) -> None:
        self._value = value
        remember(value)
        # What the manifest said, e.g. "${env:VISMA_API_KEY}"; safe to show.
        # None when the value is sensitive because of its field type only.
        self.reference = reference

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        return REDACTED

    def __repr__(self) -> str:
        return f"Sensitive({self.reference!r})" if self.reference else "Sensitive()"

    def __format__(self, spec: str) -> str:
        return format(REDACTED, spec)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sensitive):
            return self._value == other._value
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("Sensitive", self._value))

    # Immutable: copies (dataclasses.replace, deepcopy) may share it; pickling may not.
    def __copy__(self) -> "Sensitive":
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> "Sensitive":
        return self

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Sensitive value cannot be pickled")


def mask_echoed(text: str, values: Iterable[object]) -> str:
    """`text` (from the CRM or a connector) with every occurrence of the Sensitive
    `values` replaced by (sensitive): anywhere for values of 4 characters or more,
    as a whole token (between non-alphanumerics) for shorter ones. Longer values
    first, so a secret that contains another is masked whole. reveal() here only
    finds a secret in order to hide it."""
    secrets = sorted(
        {v.reveal() for v in values if isinstance(v, Sensitive) and v.reveal()}, key=len, reverse=True
    )
    for secret in secrets:
        text = _pattern(secret).sub(REDACTED, text)
    return text


def reveal(value: object) -> object:
    """The plain value behind `value` (for the wire only)."""
    return value.reveal() if isinstance(value, Sensitive) else value
