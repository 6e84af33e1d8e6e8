"""Reading agent arguments the way ASP.NET binds them, and answering in its shapes.

Argument names match case-insensitively (as ASP.NET model binding does); types
are checked strictly - a string where an int is expected is a 400, not a
conversion - so clients that send the wrong JSON type find out here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from starlette.responses import JSONResponse, Response

ArgType = Literal["int", "bool", "str", "dict", "object", "int[]"]
Source = Literal["body", "query"]

INVALID = "The request is invalid."


class BadRequest(Exception):
    """Answered as 400 {"Message": "The request is invalid.", "MessageDetail": detail}."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class Arg:
    name: str
    type: ArgType
    required: bool = True
    source: Source = "body"
    description: str = ""


def json_response(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    # An explicit body of `null` (not found) is still 200 with JSON content.
    return JSONResponse(data, status_code=status, headers=dict(headers or {}))


def no_content() -> Response:
    return Response(status_code=204)


def bad_request(detail: str) -> Response:
    return json_response({"Message": INVALID, "MessageDetail": detail}, status=400)


def error_response(
    status: int, error_type: str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    """The documented error body (docs/api/api-reference/restful/rest/index.md, "Errors")."""
    return json_response(
        {"Error": True, "ErrorType": error_type, "ErrorMessage": message,
         "ErrorSource": "SuperOffice.Services.Implementation"},
        status=status,
        headers=headers,
    )


def parse_body(raw: bytes) -> dict[str, Any]:
    """The JSON object of an agent request; an empty body is an empty argument set."""
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"The request body is not valid JSON: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BadRequest(
            f"The request body must be a JSON object with the method's arguments, got {_json_type(data)}"
        )
    return data


def parse_ids(raw: bytes) -> list[int]:
    """A body that is a JSON array of 32-bit ids (e.g. Associate/GetAssociateList)."""
    try:
        data = json.loads(raw) if raw.strip() else None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(data, list):
        raise BadRequest(f"The request body must be a JSON array of ids, got {_json_type(data)}")
    check_type("ids", "int[]", data)
    return list(data)


def lookup(mapping: Mapping[str, Any], name: str) -> tuple[bool, Any]:
    """(found, value) for `name`, matched without regard to case."""
    if name in mapping:
        return True, mapping[name]
    lowered = name.lower()
    for key, value in mapping.items():
        if key.lower() == lowered:
            return True, value
    return False, None


def bind(args: tuple[Arg, ...], body: Mapping[str, Any], query: Mapping[str, str]) -> dict[str, Any]:
    """Argument values by name; missing optional ones are None."""
    values: dict[str, Any] = {}
    for arg in args:
        if arg.source == "query":
            found, raw = lookup(query, arg.name)
            value = _from_query(arg, raw) if found else None
        else:
            found, value = lookup(body, arg.name)
        if value is None:
            if arg.required:
                where = "query string" if arg.source == "query" else "request body"
                raise BadRequest(f"The argument '{arg.name}' ({arg.type}) is missing from the {where}")
            values[arg.name] = None
            continue
        check_type(arg.name, arg.type, value)
        values[arg.name] = value
    return values


def _from_query(arg: Arg, raw: str) -> Any:
    if arg.type == "int":
        try:
            return int(raw)
        except ValueError:
            raise BadRequest(f"The value '{raw}' is not valid for {arg.name} (an integer)") from None
    if arg.type == "bool":
        if raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        raise BadRequest(f"The value '{raw}' is not valid for {arg.name} (true or false)")
    return raw


def check_type(name: str, arg_type: ArgType, value: Any) -> None:
    ok = {
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool) and -(2**31) <= v < 2**31,
        "bool": lambda v: isinstance(v, bool),
        "str": lambda v: isinstance(v, str),
        "dict": lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in v.values()),
        "object": lambda v: isinstance(v, dict),
        "int[]": lambda v: isinstance(v, list)
        and all(isinstance(x, int) and not isinstance(x, bool) for x in v),
    }[arg_type](value)
    if ok:
        return
    if arg_type == "dict" and isinstance(value, dict):
        bad = next(k for k, v in value.items() if not isinstance(v, str))
        raise BadRequest(
            f"'{name}' is a string dictionary: the value of '{bad}' must be a JSON string, "
            f"got {_json_type(value[bad])} (config values travel as strings)"
        )
    raise BadRequest(f"'{name}' must be {_describe(arg_type)}, got {_json_type(value)}")


def _describe(arg_type: ArgType) -> str:
    return {
        "int": "a 32-bit integer",
        "bool": "true or false",
        "str": "a string",
        "dict": "an object of string values",
        "object": "an object",
        "int[]": "an array of integers",
    }[arg_type]


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {json.dumps(value)}"
    if isinstance(value, int | float):
        return f"number {json.dumps(value)}"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


@dataclass(frozen=True)
class Field:
    """A field of an entity in a request body (e.g. ErpConnection inside SaveConnection)."""

    name: str
    type: ArgType


def read_entity(entity_name: str, data: Mapping[str, Any], spec: tuple[Field, ...]) -> dict[str, Any]:
    """Typed fields of an entity; fields absent or null come back as None.

    Fields not in `spec` (TableRight, FieldProperties, read-only extras) are ignored,
    as the server ignores them on input.
    """
    values: dict[str, Any] = {}
    for f in spec:
        _, value = lookup(data, f.name)
        if value is not None:
            check_type(f"{entity_name}.{f.name}", f.type, value)
        values[f.name] = value
    return values


def carrier(fields: dict[str, Any]) -> dict[str, Any]:
    """An entity as the API returns it: its fields plus the carrier extras."""
    return {**fields, "TableRight": None, "FieldProperties": {}}
