"""Values that must never be shown.

A `Sensitive` wraps a resolved secret (from `${env:…}`/`${file:…}` references,
or any value of a Password-type config field). Formatting it in any way gives
`(sensitive)`; JSON encoding and pickling fail loudly rather than leak. Only
code that sends the value to the CRM calls `reveal()`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NoReturn

REDACTED = "(sensitive)"


class Sensitive:
    __slots__ = ("_value", "reference")

    def __init__(self, value: str, reference: str | None = None) -> None:
        self._value = value
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


# Shorter secrets are not masked: "1" would mask every digit of a useful message.
MIN_MASKED_LENGTH = 4


def mask_echoed(text: str, values: Iterable[object]) -> str:
    """`text` (a connector's explanation) with any of the Sensitive `values` it echoes
    replaced by (sensitive). reveal() here only finds a secret in order to hide it."""
    for value in values:
        if isinstance(value, Sensitive) and len(value.reveal()) >= MIN_MASKED_LENGTH:
            text = text.replace(value.reveal(), REDACTED)
    return text


def reveal(value: object) -> object:
    """The plain value behind `value` (for the wire only)."""
    return value.reveal() if isinstance(value, Sensitive) else value
