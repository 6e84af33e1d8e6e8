"""PascalCase JSON bodies <-> the dataclasses in `live.py`. Pure functions, no I/O.

Parsing is tolerant where the vendor docs disagree (docs/crm-client.md lists each
reading) and strict where a
wrong guess would corrupt state: a missing id is a `WireError`, which the client
turns into a `CrmProtocolError` naming the endpoint. Error texts never contain
values (a config value may be a secret).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

from reconciler.crm.live import (
    FieldAccess,
    FieldMeta,
    FieldType,
    Group,
    ListItem,
    LiveConnector,
    LiveErpConnection,
    LiveQuoteConnection,
    User,
    WireValue,
)
from reconciler.secrets import reveal

log = logging.getLogger("reconciler.crm")

Json = Any


class WireError(ValueError):
    """A body that is not the documented shape (message holds no values)."""


@dataclass(frozen=True)
class TestOutcome:
    """A connection test result (Quote `PluginResponse`, or an ERP bool)."""

    __test__ = False  # not a pytest test class

    ok: bool
    user_explanation: str = ""
    tech_explanation: str = ""
    error_code: str = ""
    status: str = ""  # "Ok" | "OkWithInfo" | "Warn"/"Warning" | "Error" | "" (not sent)


# --- generic access ---------------------------------------------------------


def get(obj: Mapping[str, Json], key: str, default: Json = None) -> Json:
    """obj[key], falling back to a case-insensitive match (camelCase servers)."""
    if key in obj:
        return obj[key]
    lowered = key.lower()
    for k, v in obj.items():
        if isinstance(k, str) and k.lower() == lowered:
            return v
    return default


def expect_object(body: Json, what: str) -> Mapping[str, Json]:
    if not isinstance(body, dict):
        raise WireError(f"expected {what} (a JSON object), got {_kind(body)}")
    return body


def expect_array(body: Json, what: str) -> list[Json]:
    if not isinstance(body, list):
        raise WireError(f"expected a JSON array of {what}, got {_kind(body)}")
    return body


def _kind(body: Json) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(body), "a number")


def _int(obj: Mapping[str, Json], key: str, *, required: bool = False) -> int:
    value = get(obj, key)
    if value is None or value == "":
        if required:
            raise WireError(f"'{key}' is missing")
        return 0
    if isinstance(value, bool):
        raise WireError(f"'{key}' is not an integer")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise WireError(f"'{key}' is not an integer") from None


def _str(obj: Mapping[str, Json], key: str) -> str:
    value = get(obj, key)
    return "" if value is None else str(value)


def _bool(obj: Mapping[str, Json], key: str, default: bool = False) -> bool:
    value = get(obj, key)
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return bool(value)


def _ids(obj: Mapping[str, Json], key: str) -> tuple[int, ...]:
    value = get(obj, key)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise WireError(f"'{key}' is not an array")
    try:
        return tuple(sorted({int(v) for v in value}))
    except (TypeError, ValueError):
        raise WireError(f"'{key}' holds a non-integer") from None


# --- config values ------------------------------------------------------------


def config_from_wire(value: Json, what: str = "config values") -> dict[str, str] | None:
    """A StringDictionary; None when the server sent null or nothing (GetAllConnections may
    leave ConfigFields out: docs/en/api/reference/restful/agent/ErpSync_Agent/v1ErpSyncAgent_GetAllConnections.md)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise WireError(f"expected {what} as a JSON object, got {_kind(value)}")
    return {str(k): _config_string(v) for k, v in value.items()}


def _config_string(value: Json) -> str:
    # Values are strings on the wire; tolerate a server that sends JSON scalars.
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def config_to_wire(config: Mapping[str, object]) -> dict[str, str]:
    """Plain strings for the wire; the only place Sensitive values are revealed."""
    return {key: _config_string(reveal(value)) for key, value in config.items()}


# --- field metadata ------------------------------------------------------------

# Numeric encodings (generated quote client): Checkbox=0 ... Datetime=6, Label=99.
_FIELD_TYPES_BY_NUMBER = {0: "Checkbox", 1: "Text", 2: "Password", 3: "Integer",
                          4: "Double", 5: "List", 6: "Date", 99: "Label"}
_FIELD_TYPES = {name.lower(): name for name in
                ("Checkbox", "Text", "Password", "Integer", "Double", "List", "Date", "Label")}
# The connector-side enum says "Datetime" (docs/api/netserver/erp-connectors/api/field-meta-data-carrier.md),
# the REST enum "Date" (docs/database/tables/enums/fieldmetadatatype.md). Both -> "Date".
_FIELD_TYPES["datetime"] = "Date"
_ACCESS = {"normal": "Normal", "mandatory": "Mandatory", "readonly": "ReadOnly",
           "0": "Normal", "1": "Mandatory", "2": "ReadOnly"}


def _field_type(raw: Json, key: str) -> FieldType:
    if isinstance(raw, int) and not isinstance(raw, bool):
        name = _FIELD_TYPES_BY_NUMBER.get(raw)
    else:
        name = _FIELD_TYPES.get(str(raw or "").strip().lower())
    if name is None:
        # Unknown types are treated as free text so one odd field does not stop a run.
        log.warning("config field %r has unknown FieldType %r; treating it as Text", key, raw)
        name = "Text"
    return cast(FieldType, name)


def field_meta(obj: Json, key_fallback: str | None = None) -> FieldMeta:
    obj = expect_object(obj, "a FieldMetadata")
    key = _str(obj, "FieldKey") or (key_fallback or "")
    if not key:
        raise WireError("a FieldMetadata has no 'FieldKey'")
    access = _ACCESS.get(str(get(obj, "Access", "Normal")).strip().lower(), "Normal")
    max_length = _int(obj, "MaxLength")
    return FieldMeta(
        key=key,
        field_type=_field_type(get(obj, "FieldType"), key),
        access=cast(FieldAccess, access),
        display_name=_str(obj, "DisplayName"),
        description=_str(obj, "DisplayDescription"),
        rank=_int(obj, "Rank"),
        list_name=_str(obj, "ListName"),
        default=_str(obj, "DefaultValue"),
        max_length=max(max_length, 0),
    )


def field_metas(body: Json) -> tuple[FieldMeta, ...]:
    """ErpSync sends an array, Quote a dictionary keyed by FieldKey: accept both
    (docs/en/api/reference/restful/agent/Quote_Agent/v1QuoteAgent_GetConfigurationFields.md).

    Sorted by Rank (display order), then key. null (unknown connector) -> ().
    """
    if body is None:
        return ()
    if isinstance(body, dict):
        metas = [field_meta(v, key_fallback=str(k)) for k, v in body.items()]
    elif isinstance(body, list):
        metas = [field_meta(v) for v in body]
    else:
        raise WireError(f"expected field metadata as an array or object, got {_kind(body)}")
    return tuple(sorted(metas, key=lambda f: (f.rank, f.key)))


# --- sync connectors -------------------------------------------------------------


def connector_from_entity(obj: Json) -> LiveConnector:
    obj = expect_object(obj, "an ErpSyncConnectorEntity")
    return LiveConnector(
        id=_int(obj, "ErpConnectorId", required=True),
        name=_str(obj, "DisplayName"),
        url=_str(obj, "URL"),
        deleted=_bool(obj, "Deleted"),
    )


def connector_to_wire(id: int, name: str, url: str, deleted: bool) -> dict[str, Json]:
    return {"ErpConnectorId": id, "DisplayName": name, "URL": url, "Deleted": deleted}


# --- ERP and quote connections -----------------------------------------------------


def _common_fields(obj: Mapping[str, Json]) -> dict[str, Any]:
    """What an ERP connection and a quote connection carrier share: name, description,
    deleted, and who may use it."""
    return {
        "name": _str(obj, "DisplayName"),
        "description": _str(obj, "DisplayDescription"),
        "deleted": _bool(obj, "Deleted"),
        "all_access": _bool(obj, "AllAccess"),
        "group_ids": _ids(obj, "UserGroupAccessIds"),
        "associate_ids": _ids(obj, "AssociateAccessIds"),
    }


def _common_to_wire(conn: LiveErpConnection | LiveQuoteConnection) -> dict[str, Json]:
    return {
        "DisplayName": conn.name,
        "DisplayDescription": conn.description,
        "Deleted": conn.deleted,
        "AllAccess": conn.all_access,
        "UserGroupAccessIds": list(conn.group_ids),
        "AssociateAccessIds": list(conn.associate_ids),
    }


def erp_connection(obj: Json, config: Mapping[str, WireValue] | None = None) -> LiveErpConnection:
    """An ErpConnection carrier; `config` overrides the body's ConfigFields."""
    obj = expect_object(obj, "an ErpConnection")
    if config is None:
        config = config_from_wire(get(obj, "ConfigFields")) or {}
    return LiveErpConnection(
        **_common_fields(obj),
        id=_int(obj, "ErpConnectionId", required=True),
        connector_id=_int(obj, "ErpConnectorId", required=True),
        active=_bool(obj, "Active"),
        guid=_str(obj, "ConnectionId"),
        config=dict(config),
        most_recent_timestamp=get(obj, "MostRecentTimestamp"),
    )


def erp_connection_to_wire(conn: LiveErpConnection) -> dict[str, Json]:
    return {
        "ErpConnectionId": conn.id,
        "ErpConnectorId": conn.connector_id,
        **_common_to_wire(conn),
        "Active": conn.active,
        # NetServer makes the GUID; a new connection sends null and reads it back
        # (docs/en/api/reference/restful/agent/ErpSync_Agent/v1ErpSyncAgent_SaveConnection.md).
        "ConnectionId": conn.guid or None,
        "MostRecentTimestamp": conn.most_recent_timestamp,
        "ConfigFields": config_to_wire(conn.config),
    }


# --- quote connections ----------------------------------------------------------------


def quote_connection(obj: Json, config: Mapping[str, WireValue] | None = None) -> LiveQuoteConnection:
    obj = expect_object(obj, "a QuoteConnection")
    return LiveQuoteConnection(
        **_common_fields(obj),
        id=_int(obj, "QuoteConnectionId"),  # 0 in a not-yet-saved defaults carrier
        connector_name=_str(obj, "ConnectorName"),
        erp_connection_id=_int(obj, "ErpConnectionId"),
        config=dict(config or {}),
        erp_name=_str(obj, "ERPName"),
        rank=_int(obj, "Rank"),
        extra_data=_str(obj, "ExtraData"),
    )


def quote_connection_to_wire(conn: LiveQuoteConnection) -> dict[str, Json]:
    # Config values are not part of the carrier: SaveConnectionConfigFields stores them.
    return {
        "QuoteConnectionId": conn.id,
        **_common_to_wire(conn),
        "ERPName": conn.erp_name,
        "Rank": conn.rank,
        "ConnectorName": conn.connector_name,
        "ErpConnectionId": conn.erp_connection_id,
        "ExtraData": conn.extra_data,
    }


def parse_test_outcome(body: Json) -> TestOutcome:
    """A PluginResponse. `IsOk` and `Status` are each optional: Status is only in the newest
    docs (docs/en/api/reference/restful/agent/Quote_Agent/v1QuoteAgent_TestConnection.md)."""
    obj = expect_object(body, "a PluginResponse")
    # Newest docs say Status (Ok/OkWithInfo/Warn/Error); connector side says State.
    status = _str(obj, "Status") or _str(obj, "State")
    is_ok = get(obj, "IsOk")
    if isinstance(is_ok, bool):
        ok = is_ok
    elif status:
        ok = status.strip().lower() != "error"
    else:
        ok = False  # neither IsOk nor Status: nothing says it passed
    return TestOutcome(
        ok=ok,
        user_explanation=_str(obj, "UserExplanation"),
        tech_explanation=_str(obj, "TechExplanation"),
        error_code=_str(obj, "ErrorCode"),
        status=status,
    )


# --- lists ------------------------------------------------------------------------------


def mdo_items(body: Json, what: str) -> Iterator[Mapping[str, Json]]:
    """Items of an MDO list, flattened.

    `flat=true` should already give a flat list; if the server nests anyway,
    items with ChildItems are headings (e.g. a department) and only their
    leaves are yielded.
    """
    for item in expect_array(body, what):
        item = expect_object(item, f"an item of {what}")
        children = get(item, "ChildItems")
        if isinstance(children, list) and children:
            yield from mdo_items(children, what)
        else:
            yield item


def list_item(item: Mapping[str, Json]) -> ListItem:
    return ListItem(id=_int(item, "Id"), name=_str(item, "Name"), deleted=_bool(item, "Deleted"))


def group(obj: Json) -> Group:
    obj = expect_object(obj, "a user group list item")
    return Group(id=_int(obj, "Id", required=True), name=_str(obj, "Value"), deleted=_bool(obj, "Deleted"))


# --- enums -------------------------------------------------------------------------------

# Declaration order of ErpSyncResponseCode (docs/en/api/reference/soap/Services88/Services88-ErpSync.md,
# and the CRMScript NSErpSyncResponseCode enum): a server that sends the enum as a
# number sends this index.
ERP_SYNC_RESPONSE_CODES = ("NoError", "ErrorConnectorHasConnections", "ErrorNotFound")


def erp_sync_response_code(body: Json) -> str:
    """An ErpSyncResponseCode sent as a JSON string or as its integer value."""
    if isinstance(body, str):
        text = body.strip()
        if text.isdigit():
            return erp_sync_response_code(int(text))
        for code in ERP_SYNC_RESPONSE_CODES:
            if code.lower() == text.lower():
                return code
        raise WireError("not a known ErpSyncResponseCode")
    if isinstance(body, int) and not isinstance(body, bool) and 0 <= body < len(ERP_SYNC_RESPONSE_CODES):
        return ERP_SYNC_RESPONSE_CODES[body]
    raise WireError(f"not an ErpSyncResponseCode (got {_kind(body)})")


# --- archives (GET archive/{provider}, an ODataSlimResponse) --------------------------------


def archive_page(body: Json, what: str) -> tuple[list[Mapping[str, Json]], str | None]:
    """The rows of one page and the link to the next page, if any
    (docs/en/api/reference/restful/rest/Archive/v1Archive_GetArchive_GET.md)."""
    obj = expect_object(body, f"the {what} archive")
    rows = [expect_object(r, f"a row of the {what} archive") for r in expect_array(get(obj, "value"), f"{what} rows")]
    next_link = get(obj, "odata.nextLink")
    return rows, next_link if isinstance(next_link, str) and next_link.strip() else None


def _row_id(row: Mapping[str, Json], column: str) -> int:
    """The row's id: PrimaryKey, else its id column."""
    return _int(row, "PrimaryKey") or _int(row, column, required=True)


def _entity(row: Mapping[str, Json]) -> str:
    return _str(row, "EntityName").strip().lower()


def connector_from_archive(row: Mapping[str, Json]) -> LiveConnector:
    """A row of archive ErpConnector: deleted rows are the `deleted` entity
    (docs/en/api/archive-providers/reference/erpconnector.md has no deleted column)."""
    return LiveConnector(
        id=_row_id(row, "id"), name=_str(row, "name"), url=_str(row, "url"), deleted=_entity(row) == "deleted"
    )


def quote_archive_row(row: Mapping[str, Json]) -> tuple[int, bool]:
    """(id, deleted) of a row of archive QuoteConnection: the `deleted` entity, or
    its `deleted` column (docs/en/api/archive-providers/reference/quoteconnection.md)."""
    return _row_id(row, "quoteConnectionId"), _entity(row) == "deleted" or _bool(row, "deleted")


def user_from_archive(row: Mapping[str, Json]) -> User:
    """A row of archive AllUsers (docs/en/api/archive-providers/reference/allusers.md):
    `assocName` is the login; retired users are the `expired` entity (or isActive false)."""
    active = get(row, "isActive")
    inactive = active is False or (isinstance(active, str) and active.strip().lower() in ("false", "0"))
    return User(
        id=_row_id(row, "associateDbId"),
        login=_str(row, "assocName"),
        full_name=_str(row, "fullName"),
        deleted=_entity(row) == "expired" or inactive,
    )
