"""The cyclic collector is paused only while a builder runs, and always comes back."""

from __future__ import annotations

import gc

import pytest

from reconciler.gc_tuning import builds_acyclic_data


@builds_acyclic_data
def build(fail: bool = False) -> bool:
    if fail:
        raise ValueError("bad manifest")
    return gc.isenabled()


def test_paused_inside_and_running_again_after_return_or_error():
    assert gc.isenabled()
    assert build() is False
    assert gc.isenabled()
    with pytest.raises(ValueError):
        build(fail=True)
    assert gc.isenabled()


def test_a_collector_turned_off_by_the_caller_stays_off():
    gc.disable()
    try:
        build()
        assert not gc.isenabled()
    finally:
        gc.enable()
