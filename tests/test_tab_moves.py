"""Reaching an ERP-tab order with one-place moves: unlisted fields keep their places, the
listed ones end in the manifest's order, and no more moves are made than adjacent swaps need."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from reconciler.apply.tab_moves import moves_to, wanted_tab_order


def _play(current: list[str], moves: list[str]) -> list[str]:
    """What MoveErpFieldItem(+1) does, as the emulator reads it: a swap with the next field."""
    order = list(current)
    for key in moves:
        i = order.index(key)
        assert i + 1 < len(order), f"{key} is already last"
        order[i], order[i + 1] = order[i + 1], order[i]
    return order


def test_listed_fields_take_the_places_they_hold_in_the_manifests_order() -> None:
    current = ["NAME", "CREDITLIMIT", "VATNO", "BALANCE", "EMAIL"]
    assert wanted_tab_order(current, ["BALANCE", "CREDITLIMIT"]) == ["NAME", "BALANCE", "VATNO", "CREDITLIMIT", "EMAIL"]


def test_an_order_already_right_needs_no_moves() -> None:
    current = ["NAME", "BALANCE", "CREDITLIMIT"]
    assert wanted_tab_order(current, ["BALANCE", "CREDITLIMIT"]) == current
    assert moves_to(current, current) == []


def test_two_neighbours_swapped_is_one_move() -> None:
    assert moves_to(["A", "B", "C"], ["B", "A", "C"]) == ["A"]


def test_a_key_the_actor_does_not_have_is_ignored() -> None:
    assert wanted_tab_order(["A", "B"], ["B", "GONE", "A"]) == ["B", "A"]


def _inversions(current: list[str], wanted: list[str]) -> int:
    pos = {k: i for i, k in enumerate(wanted)}
    return sum(1 for i in range(len(current)) for j in range(i + 1, len(current)) if pos[current[i]] > pos[current[j]])


@given(st.permutations([f"F{i}" for i in range(9)]), st.data())
def test_the_moves_reach_the_wanted_order_with_the_fewest_swaps(current: list[str], data: st.DataObject) -> None:
    listed = data.draw(st.lists(st.sampled_from(current), unique=True))
    wanted = wanted_tab_order(current, listed)
    moves = moves_to(current, wanted)
    assert _play(current, moves) == wanted
    assert len(moves) == _inversions(current, wanted)
    unlisted = [i for i, k in enumerate(current) if k not in listed]
    assert [wanted[i] for i in unlisted] == [current[i] for i in unlisted]
    assert [k for k in wanted if k in listed] == listed
