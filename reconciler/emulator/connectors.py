"""The emulated connector side: field metadata and connection tests, driven by the seed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from reconciler.emulator.seed import FieldSpec, TestSpec
from reconciler.emulator.wire import carrier


@dataclass(frozen=True)
class TestOutcome:
    ok: bool
    user_explanation: str = ""
    tech_explanation: str = ""
    error_code: str = ""


UNKNOWN_URL = TestOutcome(
    ok=False,
    user_explanation="No connector answers at this URL",
    tech_explanation="The connector URL did not answer",
    error_code="ConnectorUnreachable",
)


def field_metadata(fields: list[FieldSpec]) -> list[dict[str, Any]]:
    """FieldMetadata carriers, lowest Rank first (rank defaults to the seed position)."""
    rows = [
        carrier(
            {
                "FieldKey": f.key,
                "Rank": f.rank if f.rank is not None else index,
                "DisplayName": f.display_name if f.display_name is not None else f.key,
                "DisplayDescription": f.description,
                # Emitted as the seed spells it: "Date" or the connector-side "Datetime".
                "FieldType": f.type,
                "ListName": f.list_name,
                "DefaultValue": f.default,
                "MaxLength": f.max_length,
                "Access": f.access,
                "ShowInSearch": f.show_in_search,
            }
        )
        for index, f in enumerate(fields)
    ]
    return sorted(rows, key=lambda r: r["Rank"])


def run_test(test: TestSpec, fields: list[FieldSpec], config: dict[str, str]) -> TestOutcome:
    """The connector's verdict on `config`: the first rule that does not hold fails it."""
    if test.unreachable:
        return TestOutcome(
            ok=False,
            user_explanation=test.unreachable_explanation,
            tech_explanation="Connection refused",
            error_code="ConnectorUnreachable",
        )
    password_keys = {f.key for f in fields if f.type == "Password"}
    for rule in test.rules:
        value = config.get(rule.field, "")
        if re.fullmatch(rule.matches, value):
            continue
        # The seed loader refuses {value} on Password fields; this is belt and braces.
        shown = "(hidden)" if rule.field in password_keys else value
        return TestOutcome(
            ok=False,
            user_explanation=rule.explanation.replace("{value}", shown),
            tech_explanation=rule.tech_explanation.replace("{value}", shown),
            error_code=rule.error_code,
        )
    return TestOutcome(ok=True)


def plugin_response(outcome: TestOutcome) -> dict[str, Any]:
    """A PluginResponse carrier (Status is only in the newest docs; sent anyway)."""
    return carrier(
        {
            "IsOk": outcome.ok,
            "UserExplanation": outcome.user_explanation,
            "TechExplanation": outcome.tech_explanation,
            "ErrorCode": outcome.error_code,
            "Changes": None,
            "Status": "Ok" if outcome.ok else "Error",
        }
    )


def missing_mandatory(fields: list[FieldSpec], config: dict[str, str]) -> list[str]:
    return [
        f.key
        for f in fields
        if f.access == "Mandatory" and f.type != "Label" and not config.get(f.key, "").strip()
    ]
