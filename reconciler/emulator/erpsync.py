"""The ErpSync agent: sync connectors and ERP connections
(docs/en/api/reference/restful/agent/ErpSync_Agent/)."""

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
from reconciler.emulator.context import Agent, Emulator, default, replace_row, save_connection_entity, written_or_null
from reconciler.emulator.sync_cache import refresh_field_cache
from reconciler.emulator.sync_store import unsynced_mandatory_fields
from reconciler.emulator.store import (
    ERP_CONNECTIONS,
    ConnectorRow,
    ErpRow,
    count_live_connections,
    get_connector,
    get_erp,
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
    """The ErpConnection carrier; without config its ConfigFields is empty (no data)."""
    return carrier(
        {
            "ErpConnectionId": row.id,
            "ErpConnectorId": row.connector_id,
            "DisplayName": row.name,
            "DisplayDescription": row.description,
            "Active": row.active,
            "ConnectionId": row.guid,
            "MostRecentTimestamp": row.most_recent_timestamp,
            "ConfigFields": dict(row.config) if with_config else {},
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

    def save(conn: sqlite3.Connection) -> ConnectorRow | None:
        connector_id = f["ErpConnectorId"] or 0
        existing = get_connector(conn, connector_id) if connector_id else None
        if connector_id and existing is None:
            return None  # a failed agent call: 200 with null
        # The carrier is the whole entity: a field left out gets its default.
        name = default(f, "DisplayName", "")
        url = default(f, "URL", "")
        deleted = default(f, "Deleted", False)
        if not url:
            raise BadRequest("ErpSyncConnectorEntity.URL is required")
        # Deleting through Save follows the same rule as DeleteErpSyncConnectorEntity.
        if deleted and existing is not None and not existing.deleted:
            _refuse_delete_with_connections(conn, existing.id)
        row = ConnectorRow(id=connector_id, name=name, url=url, deleted=deleted)
        new_id = save_connector(conn, row)
        return replace(row, id=new_id)

    saved = await emu.write(save)
    return json_response(connector_entity(saved) if saved else None)


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

    def delete(conn: sqlite3.Connection) -> bool:
        row = get_connector(conn, connector_id)
        if row is None:
            return False
        _refuse_delete_with_connections(conn, connector_id)
        save_connector(conn, replace(row, deleted=True))
        return True

    return await written_or_null(emu, delete)


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
    # Documented "without config field data" (docs/en/api/reference/restful/agent/
    # ErpSync_Agent/v1ErpSyncAgent_GetAllConnections.md): empty unless list_config_fields is on.
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

    def build(conn: sqlite3.Connection, connection_id: int, old: ErpRow | None) -> ErpRow:
        # The carrier is the whole entity: a field left out gets its default, not the stored value.
        connector_id = default(f, "ErpConnectorId", 0)
        if not connector_id:
            raise BadRequest("Connection.ErpConnectorId is required: the sync connector to use")
        if get_connector(conn, connector_id) is None:
            raise BadRequest(f"Connection.ErpConnectorId: there is no sync connector with id {connector_id}")
        deleted = default(f, "Deleted", False)
        return ErpRow(
            id=connection_id,
            connector_id=connector_id,
            name=default(f, "DisplayName", ""),
            description=default(f, "DisplayDescription", ""),
            # A deleted connection is never active (DeleteConnection clears Active too).
            active=default(f, "Active", False) and not deleted,
            # The GUID is NetServer's: made here on create, never taken from the
            # client, and immutable afterwards
            # (docs/en/api/reference/restful/agent/ErpSync_Agent/v1ErpSyncAgent_SaveConnection.md).
            guid=old.guid if old else new_guid(),
            most_recent_timestamp=default(f, "MostRecentTimestamp", None),
            all_access=default(f, "AllAccess", False),
            deleted=deleted,
            group_ids=tuple(default(f, "UserGroupAccessIds", [])),
            associate_ids=tuple(default(f, "AssociateAccessIds", [])),
            config=dict(default(f, "ConfigFields", {})),
        )

    def refresh_fields(conn: sqlite3.Connection, row: ErpRow) -> None:
        # NetServer asks the connector for its actor types and fields on every save
        # (docs/api/netserver/erp-connectors/setup-mapping.md).
        connector = get_connector(conn, row.connector_id)
        profile = emu.seed.connector_profile(connector.url) if connector else None
        if profile is not None and not profile.test.unreachable:
            refresh_field_cache(conn, emu.seed, profile, row.id)

    saved = await save_connection_entity(emu, f, "ErpConnectionId", ERP_CONNECTIONS, build, refresh_fields)
    return json_response(connection_entity(saved) if saved else None)


@ERPSYNC.method(
    "DeleteConnection",
    Arg("ErpConnectionId", "int"),
    returns="204 No Content",
    summary="Soft delete: Deleted=true and Active=false; the row stays (docs/database/tables/erpconnection.md)",
)
async def delete_connection(emu: Emulator, args: dict[str, Any]) -> Response:
    return await replace_row(emu, ERP_CONNECTIONS, args["ErpConnectionId"], lambda row: replace(row, deleted=True, active=False))


@ERPSYNC.method(
    "ToggleErpConnectionActive",
    Arg("ErpConnectionId", "int"),
    returns="string[]: reasons the toggle failed; empty = done; null for an unknown connection",
    summary="Deactivation always works; activation needs a connection that is not deleted and passes its test",
)
async def toggle_active(emu: Emulator, args: dict[str, Any]) -> Response:
    connection_id = args["ErpConnectionId"]
    row = await emu.read(lambda c: get_erp(c, connection_id))
    if row is None:
        return json_response(None)  # a failed agent call: 200 with null
    if not row.active:
        reasons = await _activation_problems(emu, row)
        if reasons:
            return json_response(reasons)

    def toggle(conn: sqlite3.Connection) -> list[str] | None:
        current = get_erp(conn, connection_id)
        if current is None:
            return None
        if current.active != row.active:
            # Someone toggled it while the connector was being tested; report, don't flip back.
            return ["The connection was changed by someone else while it was being tested; try again"]
        update_erp(conn, replace(current, active=not current.active))
        return []

    return json_response(await emu.write(toggle))


def _with_connector(conn: sqlite3.Connection, connection_id: int) -> tuple[ErpRow, ConnectorRow | None] | None:
    """The connection and its sync connector (None if that row is gone); None for an unknown connection."""
    row = get_erp(conn, connection_id)
    return (row, get_connector(conn, row.connector_id)) if row else None


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
    reasons += await emu.read(lambda c: unsynced_mandatory_fields(c, row.id))
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
    Arg("ErpConnectionId", "int"),
    Arg("ConfigFields", "dict"),
    returns="bool (false if no connector has that id)",
    summary=(
        "Test config values, also for an unsaved connection. ErpConnectionId is the id of "
        "the sync connector to ask (not a connection id); other keys are ignored"
    ),
)
async def test_connection_by_config(emu: Emulator, args: dict[str, Any]) -> Response:
    # The .NET client, SOAP and CRMScript docs describe ErpConnectionId as "the id of the
    # connector we try to connect to" (docs/api/reference/restful/agent/ErpSync_Agent/
    # v1ErpSyncAgent_TestConnectionByConfig.md names no other key). So it is read as a
    # connector id, always, and a client sending a connection id gets its test failed.
    connector = await emu.read(lambda c: get_connector(c, args["ErpConnectionId"]))
    if connector is None:
        return json_response(False)
    outcome = await _test_connector(emu, connector, args["ConfigFields"])
    return json_response(outcome.ok)


@ERPSYNC.method(
    "UpdateConnectionFields",
    Arg("ErpConnectionId", "int"),
    returns="bool (null if the connection does not exist)",
    summary="Ask the connection's connector for its actor types and their fields, and store them",
)
async def update_connection_fields(emu: Emulator, args: dict[str, Any]) -> Response:
    # docs/en/api/reference/restful/agent/ErpSync_Agent/v1ErpSyncAgent_UpdateConnectionFields.md:
    # a bool; an agent call on an unknown id answers 200 with null (docs/api/webapi/agents/index.md).
    # It refreshes the cache of actor types and fields (emulator/sync_cache.py) when the
    # connector answers.
    found = await emu.read(lambda c: _with_connector(c, args["ErpConnectionId"]))
    if found is None:
        return json_response(None)
    row, connector = found
    await emu.injector.connector_test_delay()
    if connector is None or connector.deleted:
        return json_response(False)
    profile = emu.seed.connector_profile(connector.url)
    if profile is None or profile.test.unreachable:
        return json_response(False)
    await emu.write(lambda conn: refresh_field_cache(conn, emu.seed, profile, row.id))
    return json_response(True)


@ERPSYNC.method(
    "TestConnectionById",
    Arg("ErpConnectionId", "int"),
    returns="bool (false if the connection does not exist)",
)
async def test_connection_by_id(emu: Emulator, args: dict[str, Any]) -> Response:
    found = await emu.read(lambda c: _with_connector(c, args["ErpConnectionId"]))
    if found is None:
        return json_response(False)
    row, connector = found
    outcome = await _test_connector(emu, connector, row.config)
    return json_response(outcome.ok)
