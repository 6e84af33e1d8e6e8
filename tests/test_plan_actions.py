"""What each plan action means, declared once beside the Action type."""

from typing import get_args

from reconciler.plan.model import ACTIONS, Action, appears, changes_anything, deletes, writes
from reconciler.plan.document import JsonChange


def test_every_action_is_listed_once() -> None:
    assert sorted(ACTIONS) == sorted(get_args(Action))


def test_what_each_action_does() -> None:
    table = {a: (writes(a), appears(a), deletes(a), changes_anything(a)) for a in ACTIONS}
    assert table == {
        "create": (True, True, False, True),
        "update": (True, False, False, True),
        "restore": (True, True, False, True),
        "soft-delete": (False, False, True, True),
        "no-op": (False, False, False, False),
    }


def test_the_plan_document_accepts_exactly_the_plan_actions() -> None:
    assert set(JsonChange.model_json_schema()["properties"]["action"]["enum"]) == set(ACTIONS)
