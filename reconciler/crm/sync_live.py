"""What the CRM has for one ERP connection's sync configuration, as plain data
(carriers in docs/en/api/reference/restful/agent/ErpSync_Agent/)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Direction = Literal["none", "toCrm", "toErp", "both"]

_DIRECTIONS: dict[tuple[bool, bool], Direction] = {
    (False, False): "none", (True, False): "toCrm", (False, True): "toErp", (True, True): "both",
}


def direction_of(to_crm: bool, to_erp: bool) -> Direction:
    return _DIRECTIONS[(to_crm, to_erp)]


def flags_of(direction: Direction) -> tuple[bool, bool]:
    """(SyncToCrm, SyncToErp) of a direction."""
    return next(flags for flags, name in _DIRECTIONS.items() if name == direction)


@dataclass(frozen=True)
class LiveFieldMapping:
    id: int  # ErpFieldId, tenant-specific
    key: str  # ErpFieldKey
    crm_field: str  # "" = not mapped
    direction: Direction
    erp_tab: bool  # ShowInGui
    search: bool  # ShowInSearch
    field_type: str = "Text"
    access: str = "Normal"
    missing_in_erp: bool = False
    missing_in_crm: bool = False
    list_reference: str = ""
    already_mapped: bool = False  # another connection maps crm_field: no one-way toCrm here


@dataclass(frozen=True)
class LiveActorMapping:
    connection_id: int
    erp_actor: str
    crm_actor: str
    enabled: bool  # IsActive
    fields: tuple[LiveFieldMapping, ...] = ()

    def field(self, key: str) -> LiveFieldMapping | None:
        return next((f for f in self.fields if f.key == key), None)


@dataclass(frozen=True)
class LiveListItem:
    erp_key: str
    erp_name: str
    crm_item_id: int | None  # None = unmapped
    crm_item_name: str = ""


@dataclass(frozen=True)
class LiveListMapping:
    field_id: int
    erp_actor: str
    erp_list: str
    crm_list: str
    items: tuple[LiveListItem, ...] = ()


@dataclass(frozen=True)
class LiveDefault:
    field_id: int
    key: str
    preset: bool  # HasFirstSyncDefaultValue
    value: str  # FirstSyncDefaultValue
    ask_user: bool  # PromptUser
    mandatory: bool
    access: str = "Normal"


@dataclass(frozen=True)
class LiveSyncConfig:
    """What was read for one connection: only the actors and defaults the manifest manages."""

    connection_id: int
    actors: dict[str, LiveActorMapping | None] = field(default_factory=dict)  # None: not offered
    lists: tuple[LiveListMapping, ...] = ()
    defaults: dict[str, dict[str, LiveDefault]] = field(default_factory=dict)  # actor -> key -> default
    # ERP-tab rank by ErpFieldId, for the actors whose erpTabOrder is managed; None: not
    # read, or unreadable (then `ranks_unreadable` says why).
    ranks: dict[int, int | None] | None = None
    ranks_unreadable: str = ""


def tab_order(mapping: LiveActorMapping, ranks: Mapping[int, int | None]) -> tuple[str, ...]:
    """Every field key of the actor type in ERP-tab order: lowest rank first; a field
    without a rank after the ranked ones; ties by ErpFieldId (the order they were cached)."""
    def position(f: LiveFieldMapping) -> tuple[bool, int, int]:
        rank = ranks.get(f.id)
        return rank is None, rank or 0, f.id

    return tuple(f.key for f in sorted(mapping.fields, key=position))
