"""The ErpSync agent: sync connectors and ERP connections (reference sections 2 and 3)."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from typing import Any

from starlette.responses import Response

from reconciler.emulator.connectors import (
    UNKNOWN_URL,
    TestOutcome,
    field_metadata,
    missing_mandatory,
    run_test,
)
from reconciler.emulator.context import Agent, Emulator, check_access_ids, keeper
from reconciler.emulator.store import (
    ConnectorRow,
    ErpRow,
    count_live_connections,
    get_connector,
    get_erp,
    insert_erp,
    list_connectors,
    list_erp,
    new_guid,
    save_connector,
    update_erp,
)
from reconciler.emulator.wire import (
    Arg,
    BadRequest,
    Field,
    carrier,
    json_response,
    no_content,
    read_entity,
)

ERPSYNC = Agent("ErpSync")

CONNECTOR_FIELDS = (
    Field("ErpConnectorId", "int"),
    Field("DisplayName", "str"),
    Field("URL", "str"),
    Field("Deleted", "bool"),
)

CONNECTION_FIELDS = (
    Field("ErpConnectionId", "int"),
    Field("ErpConnectorId", "int"),
    Field("DisplayName", "str"),
    Field("DisplayDescription", "str"),
    Field("Active", "bool"),
    Field("ConnectionId", "str"),
    Field("MostRecentTimestamp", "str"),
    Field("ConfigFields", "dict"),
    Field("Deleted", "bool"),
    Field("AllAccess", "bool"),
    Field("UserGroupAccessIds", "int[]"),
    Field("AssociateAccessIds", "int[]"),
)


def connector_entity(row: ConnectorRow) -> dict[str, Any]:
    return carrier(
        {"ErpConnectorId": row.id, "DisplayName": row.name, "URL": row.url, "Deleted": row.deleted}
    )


def connection_entity(row: ErpRow, *, with_config: bool = True) -> dict[str, Any]:
    return carrier(
        {
            "ErpConnectionId": row.id,
            "ErpConnectorId": row.connector_id,
            "DisplayName": row.name,
            "DisplayDescription": row.description,
            "Active": row.active,
            "ConnectionId": row.guid,
            "MostRecentTimestamp": row.most_recent_timestamp,
            "ConfigFields": dict(row.config) if with_config else None,
            "Deleted": row.deleted,
            "AllAccess": row.all_access,
            "UserGroupAccessIds": list(row.group_ids),
            "AssociateAccessIds": list(row.associate_ids),
        }
    )


async def _test_connector(emu: Emulator, connector: ConnectorRow | None, config: dict[str, str]) -> TestOutcome:
    """Ask the (emulated) connector web service; costs a connector round trip."""
    await emu.injector.connector_test_delay()
    if connector is None:
        return TestOutcome(ok=False, user_explanation="The connector does not exist", error_code="ErrorNotFound")
    profile = emu.seed.connector_profile(connector.url)
    if profile is None:
        return UNKNOWN_URL
    return run_test(profile.test, profile.fields, config)


# --- sync connectors -------------------------------------------------------------


@ERPSYNC.method("GetAllConnectors", returns="ListItem[] {Id, Name, ToolTip}", summary="Non-deleted sync connectors")
async def get_all_connectors(emu: Emulator, args: dict[str, Any]) -> Response:
    rows = await emu.read(list_connectors)
    # ToolTip carries the URL: informational only, the reference shows free text here.
    return json_response(
        [{"Id": r.id, "Name": r.name, "ToolTip": r.url} for r in rows if not r.deleted]
    )


@ERPSYNC.method(
    "GetErpSyncConnectorEntity",
    Arg("erpSyncConnectorEntityId", "int", source="query"),
    returns="ErpSyncConnectorEntity or null",
    summary="One sync connector, deleted ones included",
)
async def get_connector_entity(emu: Emulator, args: dict[str, Any]) -> Response:
    row = await emu.read(lambda c: get_connector(c, args["erpSyncConnectorEntityId"]))
    return json_response(connector_entity(row) if row else None)


@ERPSYNC.method("CreateDefaultErpSyncConnectorEntity", returns="ErpSyncConnectorEntity")
async def create_default_connector(emu: Emulator, args: dict[str, Any]) -> Response:
    return json_response(connector_entity(ConnectorRow(id=0, name="", url="", deleted=False)))


@ERPSYNC.method(
    "SaveErpSyncConnectorEntity",
    returns="ErpSyncConnectorEntity",
    summary="Create (ErpConnectorId 0) or update; Deleted:false restores a deleted connector",
    body_is_entity=True,
)
async def save_connector_entity(emu: Emulator, args: dict[str, Any]) -> Response:
    f = read_entity("ErpSyncConnectorEntity", args["entity"], CONNECTOR_FIELDS)

    def save(conn: sqlite3.Connection) -> ConnectorRow:
        connector_id = f["ErpConnectorId"] or 0
        existing = get_connector(conn, connector_id) if connector_id else None
        if connector_id and existing is None:
            raise BadRequest(f"There is no sync connector with ErpConnectorId {connector_id}")
        name = f["DisplayName"] if f["DisplayName"] is not None else (existing.name if existing else "")
        url = f["URL"] if f["URL"] is not None else (existing.url if existing else "")
        deleted = f["Deleted"] if f["Deleted"] is not None else (existing.deleted if existing else False)
        if existing is None and not url:
            raise BadRequest("ErpSyncConnectorEntity.URL is required for a new connector")
        # Deleting through Save follows the same rule as DeleteErpSyncConnectorEntity.
        if deleted and existing is not None and not existing.deleted:
            _refuse_delete_with_connections(conn, existing.id)
        row = ConnectorRow(id=connector_id, name=name, url=url, deleted=deleted)
        new_id = save_connector(conn, row)
        return replace(row, id=new_id)

    return json_response(connector_entity(await emu.write(save)))


def _refuse_delete_with_connections(conn: sqlite3.Connection, connector_id: int) -> None:
    live = count_live_connections(conn, connector_id)
    if live:
        raise BadRequest(
            f"The sync connector {connector_id} still has {live} connection(s) that are not "
            "deleted (ErrorConnectorHasConnections); delete them first"
        )


@ERPSYNC.method(
    "CanDeleteErpSyncConnectorEntity",
    Arg("ErpSyncConnectorId", "int"),
    returns='ErpSyncResponseCode string: "NoError" | "ErrorConnectorHasConnections" | "ErrorNotFound"',
)
async def can_delete_connector(emu: Emulator, args: dict[str, Any]) -> Response:
    connector_id = args["ErpSyncConnectorId"]

    def check(conn: sqlite3.Connection) -> str:
        if get_connector(conn, connector_id) is None:
            return "ErrorNotFound"
        # Only connections that are not deleted block it (deleted ones are kept rows).
        return "ErrorConnectorHasConnections" if count_live_connections(conn, connector_id) else "NoError"

    return json_response(await emu.read(check))


@ERPSYNC.method(
    "DeleteErpSyncConnectorEntity",
    Arg("ErpSyncConnectorEntityId", "int", source="query"),
    returns="204 No Content",
    summary="Soft delete (Deleted=true); 400 while it has connections that are not deleted",
)
async def delete_connector(emu: Emulator, args: dict[str, Any]) -> Response:
    connector_id = args["ErpSyncConnectorEntityId"]

    def delete(conn: sqlite3.Connection) -> None:
        row = get_connector(conn, connector_id)
        if row is None:
            raise BadRequest(f"There is no sync connector with id {connector_id}")
        _refuse_delete_with_connections(conn, connector_id)
        save_connector(conn, replace(row, deleted=True))

    await emu.write(delete)
    return no_content()


@ERPSYNC.method(
    "TestConnectorUrl",
    Arg("Url", "str"),
    returns='ErpSyncResponseCode string: "NoError" if a connector answers at the URL, else "ErrorNotFound"',
)
async def test_connector_url(emu: Emulator, args: dict[str, Any]) -> Response:
    await emu.injector.connector_test_delay()
    profile = emu.seed.connector_profile(args["Url"])
    ok = profile is not None and not profile.test.unreachable
    return json_response("NoError" if ok else "ErrorNotFound")


# --- ERP connections -------------------------------------------------------------


@ERPSYNC.method(
    "GetAllConnections",
    Arg("IncludeDeleted", "bool", required=False),
    returns="ErpConnection[]",
)
async def get_all_connections(emu: Emulator, args: dict[str, Any]) -> Response:
    include_deleted = bool(args["IncludeDeleted"])
    rows = await emu.read(lambda c: list_erp(c, include_deleted))
    # Documented "without config field data", yet the samples carry ConfigFields
    # (reference section 7.11): filled by default, null with list_config_fields off.
    with_config = emu.options.list_config_fields
    return json_response([connection_entity(r, with_config=with_config) for r in rows])


@ERPSYNC.method("GetConnection", Arg("ErpConnectionId", "int"), returns="ErpConnection or null")
async def get_connection(emu: Emulator, args: dict[str, Any]) -> Response:
    row = await emu.read(lambda c: get_erp(c, args["ErpConnectionId"]))
    return json_response(connection_entity(row) if row else None)


@ERPSYNC.method(
    "SaveConnection",
    Arg("Connection", "object"),
    returns="ErpConnection",
    summary=(
        "Create (ErpConnectionId 0; the server makes the ConnectionId GUID) or update; "
        "Deleted:false restores a deleted connection"
    ),
)
async def save_connection(emu: Emulator, args: dict[str, Any]) -> Response:
    f = read_entity("Connection", args["Connection"], CONNECTION_FIELDS)
    check_access_ids(emu, f)
    keep = keeper(f)

    def save(conn: sqlite3.Connection) -> ErpRow:
        connection_id = f["ErpConnectionId"] or 0
        existing = get_erp(conn, connection_id) if connection_id else None
        if connection_id and existing is None:
            raise BadRequest(f"There is no ERP connection with ErpConnectionId {connection_id}")
        old = existing  # short name for the keep(...) calls below
        connector_id = keep("ErpConnectorId", old and old.connector_id, 0)
        if not connector_id:
            raise BadRequest("Connection.ErpConnectorId is required: the sync connector to use")
        if get_connector(conn, connector_id) is None:
            raise BadRequest(f"Connection.ErpConnectorId: there is no sync connector with id {connector_id}")
        deleted = keep("Deleted", old and old.deleted, False)
        row = ErpRow(
            id=connection_id,
            connector_id=connector_id,
            name=keep("DisplayName", old and old.name, ""),
            description=keep("DisplayDescription", old and old.description, ""),
            # A deleted connection is never active (DeleteConnection clears Active too).
            active=keep("Active", old and old.active, False) and not deleted,
            # The GUID is NetServer's: made here on create, never taken from the
            # client (reference section 7.12), and immutable afterwards.
            guid=old.guid if old else new_guid(),
            most_recent_timestamp=keep("MostRecentTimestamp", old and old.most_recent_timestamp, None),
            all_access=keep("AllAccess", old and old.all_access, False),
            deleted=deleted,
            group_ids=tuple(keep("UserGroupAccessIds", old and list(old.group_ids), [])),
            associate_ids=tuple(keep("AssociateAccessIds", old and list(old.associate_ids), [])),
            config=dict(keep("ConfigFields", old and old.config, {})),
        )
        if existing is None:
            return replace(row, id=insert_erp(conn, row))
        update_erp(conn, row)
        return row

    return json_response(connection_entity(await emu.write(save)))


@ERPSYNC.method(
    "DeleteConnection",
    Arg("ErpConnectionId", "int"),
    returns="204 No Content",
    summary="Soft delete: Deleted=true and Active=false; the row stays (reference section 7.2)",
)
async def delete_connection(emu: Emulator, args: dict[str, Any]) -> Response:
    connection_id = args["ErpConnectionId"]

    def delete(conn: sqlite3.Connection) -> None:
        row = get_erp(conn, connection_id)
        if row is None:
            raise BadRequest(f"There is no ERP connection with id {connection_id}")
        update_erp(conn, replace(row, deleted=True, active=False))

    await emu.write(delete)
    return no_content()


@ERPSYNC.method(
    "ToggleErpConnectionActive",
    Arg("ErpConnectionId", "int"),
    returns="string[]: reasons the toggle failed; empty = done",
    summary="Deactivation always works; activation needs a connection that is not deleted and passes its test",
)
async def toggle_active(emu: Emulator, args: dict[str, Any]) -> Response:
    connection_id = args["ErpConnectionId"]
    row = await emu.read(lambda c: get_erp(c, connection_id))
    if row is None:
        return json_response([f"The ERP connection {connection_id} does not exist"])
    if not row.active:
        reasons = await _activation_problems(emu, row)
        if reasons:
            return json_response(reasons)

    def toggle(conn: sqlite3.Connection) -> list[str]:
        current = get_erp(conn, connection_id)
        if current is None:
            return [f"The ERP connection {connection_id} does not exist"]
        if current.active != row.active:
            # Someone toggled it while the connector was being tested; report, don't flip back.
            return ["The connection was changed by someone else while it was being tested; try again"]
        update_erp(conn, replace(current, active=not current.active))
        return []

    return json_response(await emu.write(toggle))


async def _activation_problems(emu: Emulator, row: ErpRow) -> list[str]:
    if row.deleted:
        return ["The connection is deleted; restore it (save it with Deleted: false) before activating it"]
    connector = await emu.read(lambda c: get_connector(c, row.connector_id))
    if connector is None or connector.deleted:
        return ["The connection's sync connector is deleted"]
    reasons: list[str] = []
    profile = emu.seed.connector_profile(connector.url)
    if profile is not None:
        reasons += [
            f"The mandatory field {key} has no value" for key in missing_mandatory(profile.fields, row.config)
        ]
    outcome = await _test_connector(emu, connector, row.config)
    if not outcome.ok:
        reasons.append(f"The connection test failed: {outcome.user_explanation}")
    return reasons


@ERPSYNC.method(
    "GetConfigurationFields",
    Arg("ErpConnectorId", "int"),
    returns="FieldMetadata[] (null if the connector does not exist)",
)
async def get_configuration_fields(emu: Emulator, args: dict[str, Any]) -> Response:
    connector = await emu.read(lambda c: get_connector(c, args["ErpConnectorId"]))
    if connector is None:
        return json_response(None)
    profile = emu.seed.connector_profile(connector.url)
    # A URL no connector answers at has no fields (the real server would get no answer).
    return json_response(field_metadata(profile.fields) if profile else [])


@ERPSYNC.method(
    "GetErpConnectionConfigFields",
    Arg("ErpConnectionId", "int"),
    returns="StringDictionary (null if the connection does not exist)",
)
async def get_connection_config_fields(emu: Emulator, args: dict[str, Any]) -> Response:
    row = await emu.read(lambda c: get_erp(c, args["ErpConnectionId"]))
    return json_response(dict(row.config) if row else None)


@ERPSYNC.method(
    "TestConnectionByConfig",
    Arg("ErpConnectionId", "int", required=False),
    Arg("ConfigFields", "dict"),
    Arg("ErpConnectorId", "int", required=False),
    returns="bool",
    summary=(
        "Test config values, also for an unsaved connection. The connector is: "
        "ErpConnectorId if given and non-zero (emulator extension); else the connector of "
        "connection ErpConnectionId; else ErpConnectionId read as a connector id"
    ),
)
async def test_connection_by_config(emu: Emulator, args: dict[str, Any]) -> Response:
    # Reference section 7.3: the documented argument is ErpConnectionId, which the
    # .NET docs describe as "the id of the connector". We accept all readings.
    connector_id = args["ErpConnectorId"] or 0
    connection_id = args["ErpConnectionId"] or 0

    def find(conn: sqlite3.Connection) -> ConnectorRow | None:
        if connector_id:
            return get_connector(conn, connector_id)
        if connection_id:
            connection = get_erp(conn, connection_id)
            if connection is not None:
                return get_connector(conn, connection.connector_id)
            return get_connector(conn, connection_id)
        return None

    connector = await emu.read(find)
    if connector is None:
        return json_response(False)
    outcome = await _test_connector(emu, connector, args["ConfigFields"])
    return json_response(outcome.ok)


@ERPSYNC.method(
    "TestConnectionById",
    Arg("ErpConnectionId", "int"),
    returns="bool (false if the connection does not exist)",
)
async def test_connection_by_id(emu: Emulator, args: dict[str, Any]) -> Response:
    def find(conn: sqlite3.Connection) -> tuple[ErpRow, ConnectorRow | None] | None:
        row = get_erp(conn, args["ErpConnectionId"])
        return (row, get_connector(conn, row.connector_id)) if row else None

    found = await emu.read(find)
    if found is None:
        return json_response(False)
    row, connector = found
    outcome = await _test_connector(emu, connector, row.config)
    return json_response(outcome.ok)
