"""The Quote agent: quote connections and their installed connectors
(docs/en/api/reference/restful/agent/Quote_Agent/)."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from typing import Any

from starlette.responses import Response

from reconciler.emulator.connectors import TestOutcome, field_metadata, plugin_response, run_test
from reconciler.emulator.context import Agent, Emulator, Handler, default, replace_row, save_connection_entity
from reconciler.emulator.store import (
    QUOTE_CONNECTIONS,
    QuoteRow,
    get_erp,
    get_quote,
    list_quotes,
    update_quote,
)
from reconciler.emulator.wire import Arg, BadRequest, Field, carrier, json_response, read_entity

QUOTE = Agent("Quote")

CONNECTION_FIELDS = (
    Field("QuoteConnectionId", "int"),
    Field("ERPName", "str"),
    Field("DisplayName", "str"),
    Field("DisplayDescription", "str"),
    Field("Rank", "int"),
    Field("ConnectorName", "str"),
    Field("ErpConnectionId", "int"),
    Field("ExtraData", "str"),
    Field("AllAccess", "bool"),
    Field("Deleted", "bool"),
    Field("UserGroupAccessIds", "int[]"),
    Field("AssociateAccessIds", "int[]"),
)


def quote_entity(emu: Emulator, row: QuoteRow) -> dict[str, Any]:
    return carrier(
        {
            "QuoteConnectionId": row.id,
            "ERPName": row.erp_name,
            "DisplayName": row.name,
            "DisplayDescription": row.description,
            "Rank": row.rank,
            "ConnectorName": row.connector_name,
            "ErpConnectionId": row.erp_connection_id,
            "ExtraData": row.extra_data,
            "IsAvailable": emu.seed.quote_connector(row.connector_name) is not None,
            "InitializeResponse": None,  # never initialised: no client session here
            "PriceLists": [],
            "AllAccess": row.all_access,
            "Deleted": row.deleted,
            "UserGroupAccessIds": list(row.group_ids),
            "AssociateAccessIds": list(row.associate_ids),
        }
    )


@QUOTE.method(
    "GetAllInstalledQuoteConnections",
    returns="QuoteConnection[]",
    summary="Quote connections that are not deleted (archive QuoteConnection has the deleted ones)",
)
async def get_all_installed(emu: Emulator, args: dict[str, Any]) -> Response:
    rows = await emu.read(list_quotes)
    return json_response([quote_entity(emu, r) for r in rows if not r.deleted])


@QUOTE.method("GetConnection", Arg("QuoteConnectionId", "int"), returns="QuoteConnection or null")
async def get_connection(emu: Emulator, args: dict[str, Any]) -> Response:
    row = await emu.read(lambda c: get_quote(c, args["QuoteConnectionId"]))
    return json_response(quote_entity(emu, row) if row else None)


@QUOTE.method(
    "CreateConnectionFromConnectorName",
    Arg("ConnectorName", "str"),
    returns="QuoteConnection with defaults (not saved; QuoteConnectionId 0), or null for an unknown connector",
)
async def create_from_connector_name(emu: Emulator, args: dict[str, Any]) -> Response:
    profile = emu.seed.quote_connector(args["ConnectorName"])
    if profile is None:
        return json_response(None)
    # Not persisted: the docs do not say it is, and SaveConnection creates it.
    row = QuoteRow(
        id=0,
        erp_name=profile.erp_name,
        name=profile.name,
        description="",
        rank=0,
        connector_name=profile.name,
        erp_connection_id=0,
        extra_data="",
        all_access=True,
        deleted=False,
    )
    return json_response(quote_entity(emu, row))


@QUOTE.method(
    "SaveConnection",
    Arg("Connection", "object"),
    returns="QuoteConnection",
    summary="Create (QuoteConnectionId 0) or update; config values are saved by SaveConnectionConfigFields",
)
async def save_connection(emu: Emulator, args: dict[str, Any]) -> Response:
    f = read_entity("Connection", args["Connection"], CONNECTION_FIELDS)

    def build(conn: sqlite3.Connection, connection_id: int, old: QuoteRow | None) -> QuoteRow:
        # The carrier is the whole entity: a field left out gets its default, not the stored value.
        connector_name = default(f, "ConnectorName", "")
        profile = emu.seed.quote_connector(connector_name)
        if profile is None and (old is None or connector_name != old.connector_name):
            installed = ", ".join(q.name for q in emu.seed.quote_connectors)
            raise BadRequest(
                f"Connection.ConnectorName: {connector_name!r} is not an installed quote connector "
                f"(installed: {installed})"
            )
        erp_connection_id = default(f, "ErpConnectionId", 0)
        if erp_connection_id and get_erp(conn, erp_connection_id) is None:
            raise BadRequest(f"Connection.ErpConnectionId: there is no ERP connection with id {erp_connection_id}")
        return QuoteRow(
            id=connection_id,
            erp_name=default(f, "ERPName", ""),
            name=default(f, "DisplayName", ""),
            description=default(f, "DisplayDescription", ""),
            rank=default(f, "Rank", 0),
            connector_name=connector_name,
            erp_connection_id=erp_connection_id,
            extra_data=default(f, "ExtraData", ""),
            all_access=default(f, "AllAccess", False),
            deleted=default(f, "Deleted", False),
            group_ids=tuple(default(f, "UserGroupAccessIds", [])),
            associate_ids=tuple(default(f, "AssociateAccessIds", [])),
            config=dict(old.config) if old else {},
        )

    saved = await save_connection_entity(emu, f, "QuoteConnectionId", QUOTE_CONNECTIONS, build)
    return json_response(quote_entity(emu, saved) if saved else None)


def _set_deleted(deleted: bool) -> Handler:
    """DeleteConnection and RestoreConnection: one call, the flag apart."""

    async def handler(emu: Emulator, args: dict[str, Any]) -> Response:
        return await replace_row(emu, QUOTE_CONNECTIONS, args["QuoteConnectionId"], lambda row: replace(row, deleted=deleted))

    return handler


QUOTE.method("DeleteConnection", Arg("QuoteConnectionId", "int"), returns="204 No Content",
             summary="Marks the connection deleted (soft delete)")(_set_deleted(True))
QUOTE.method("RestoreConnection", Arg("QuoteConnectionId", "int"), returns="204 No Content",
             summary="Restores a connection marked as deleted")(_set_deleted(False))


@QUOTE.method(
    "GetConfigurationFields",
    Arg("ConnectionId", "int", required=False),
    Arg("ConnectorName", "str", required=False),
    returns="dictionary {FieldKey: FieldMetadata} (null if neither names a known connector)",
    summary="ConnectorName is ignored when ConnectionId is non-zero",
)
async def get_configuration_fields(emu: Emulator, args: dict[str, Any]) -> Response:
    connection_id = args["ConnectionId"] or 0
    connector_name = args["ConnectorName"]
    if connection_id:
        row = await emu.read(lambda c: get_quote(c, connection_id))
        connector_name = row.connector_name if row else None
    elif not connector_name:
        raise BadRequest("Give ConnectionId (an existing connection) or ConnectorName")
    profile = emu.seed.quote_connector(connector_name) if connector_name else None
    if profile is None:
        return json_response(None)
    return json_response({meta["FieldKey"]: meta for meta in field_metadata(profile.fields)})


@QUOTE.method(
    "GetConnectionConfigFields",
    Arg("QuoteConnectionId", "int"),
    returns="StringDictionary (null if the connection does not exist)",
)
async def get_connection_config_fields(emu: Emulator, args: dict[str, Any]) -> Response:
    row = await emu.read(lambda c: get_quote(c, args["QuoteConnectionId"]))
    return json_response(dict(row.config) if row else None)


@QUOTE.method(
    "SaveConnectionConfigFields",
    Arg("QuoteConnectionId", "int"),
    Arg("ConnectionConfigFields", "dict"),
    returns="StringDictionary (the stored values)",
    summary="Replaces all config values of the connection",
)
async def save_connection_config_fields(emu: Emulator, args: dict[str, Any]) -> Response:
    connection_id = args["QuoteConnectionId"]
    values = dict(args["ConnectionConfigFields"])

    def save(conn: sqlite3.Connection) -> dict[str, str] | None:
        row = get_quote(conn, connection_id)
        if row is None:
            return None  # a failed agent call: 200 with null
        update_quote(conn, replace(row, config=values))
        return values

    return json_response(await emu.write(save))


@QUOTE.method(
    "TestConnection",
    Arg("ConnectorName", "str"),
    Arg("ConnectionData", "dict", required=False),
    returns="PluginResponse {IsOk, UserExplanation, TechExplanation, ErrorCode, Changes, Status, ...}",
    summary="Tests config values with the connector; no saved connection needed",
)
async def test_connection(emu: Emulator, args: dict[str, Any]) -> Response:
    await emu.injector.connector_test_delay()
    name = args["ConnectorName"]
    profile = emu.seed.quote_connector(name)
    if profile is None:
        outcome = TestOutcome(
            ok=False,
            user_explanation=f"No quote connector named '{name}' is installed",
            tech_explanation="Unknown ConnectorName",
            error_code="UnknownConnector",
        )
    else:
        outcome = run_test(profile.test, profile.fields, dict(args["ConnectionData"] or {}))
    return json_response(plugin_response(outcome))
