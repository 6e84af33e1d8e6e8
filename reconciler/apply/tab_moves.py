"""Reaching an ERP-tab order with MoveErpFieldItem, which moves one field one place: the
wanted order keeps every field the manifest does not list where it is and puts the
listed ones, in the manifest's order, into the places they hold now; the moves are the
adjacent swaps of a bubble sort, one call per swap (as few as adjacent swaps allow)."""

from __future__ import annotations

from collections.abc import Sequence


def wanted_tab_order(current: Sequence[str], listed: Sequence[str]) -> list[str]:
    """`current` (every field key, in ERP-tab order) with the `listed` keys reordered."""
    present = [key for key in listed if key in current]
    chosen = set(present)
    slots = iter(present)
    return [next(slots) if key in chosen else key for key in current]


def moves_to(current: Sequence[str], wanted: Sequence[str]) -> list[str]:
    """The keys to move one place later (+1), in order, to turn `current` into `wanted`
    (both hold the same keys)."""
    target = {key: index for index, key in enumerate(wanted)}
    order = list(current)
    moves: list[str] = []
    for end in range(len(order) - 1, 0, -1):
        for i in range(end):
            if target[order[i]] > target[order[i + 1]]:
                moves.append(order[i])
                order[i], order[i + 1] = order[i + 1], order[i]
    return moves
