"""How deep property tests search: the Hypothesis profile chosen in conftest.py."""

from __future__ import annotations

from hypothesis import settings

DEEP = "deep"


def examples(deep: int) -> int:
    """`deep` examples under the deep profile (CI); locally at most the quick profile's number."""
    if settings.get_current_profile_name() == DEEP:
        return deep
    return min(deep, settings().max_examples)
