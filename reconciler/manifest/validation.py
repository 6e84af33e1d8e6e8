"""One YAML document -> a manifest model, with pydantic's errors translated.

Pydantic reports a union mismatch as one line per union member ("Input should
be a valid boolean … integer … number …"); users get one sentence per problem,
at the file:line:col of the key it is about.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel, ValidationError

from reconciler.diagnostics import Diagnostic, Location, did_you_mean
from reconciler.manifest.models import (
    API_VERSION,
    KINDS,
    AnyManifest,
    ErpConnection,
    QuoteConnection,
    SyncConnector,
)
from reconciler.manifest.yaml_source import NodePath, YamlDocument

MODELS: dict[str, type[BaseModel]] = {
    "SyncConnector": SyncConnector,
    "ErpConnection": ErpConnection,
    "QuoteConnection": QuoteConnection,
}
_CONFIG = ("spec", "config")
_UNESCAPED_REFERENCE = re.compile(r"\$\{(?:env|file):")


@dataclass
class CheckedDocument:
    document: YamlDocument
    manifest: AnyManifest | None  # None when the document has errors
    kind: str | None
    name: str | None
    diagnostics: list[Diagnostic]
    written_kind: str | None = None  # as written, even when not a known kind

    @property
    def resource(self) -> str | None:
        kind = self.kind or self.written_kind
        if not kind:
            return None
        return f"{kind}/{self.name if self.name is not None else '(unnamed)'}"

    def locate(self, path: NodePath) -> Location:
        for end in range(len(path), 0, -1):
            found = self.document.locations.get(path[:end])
            if found is not None:
                return found
        return self.document.root


def check_document(document: YamlDocument) -> CheckedDocument:
    data = document.data
    if not isinstance(data, dict):
        checked = CheckedDocument(document, None, None, None, [])
        checked.diagnostics.append(
            Diagnostic(
                f"a document must be a mapping (apiVersion, kind, metadata, spec), not {_describe(data)}",
                document.root,
                hint="write one resource per document, separated by '---'",
            )
        )
        return checked

    kind = data.get("kind") if isinstance(data.get("kind"), str) else None
    metadata = data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    name = name if isinstance(name, str) and name else None
    checked = CheckedDocument(document, None, kind if kind in KINDS else None, name, [], kind)
    problems = checked.diagnostics

    def report(path: NodePath, message: str, hint: str | None = None) -> None:
        problems.append(Diagnostic(message, checked.locate(path), checked.resource, hint))

    for problem in (_api_version_problem(data), _kind_problem(data, kind)):
        if problem is not None:
            report(*problem)
    for path in _misplaced_references(data, ()):
        report(
            path,
            f"{_dotted(path)}: secret references are only resolved in spec.config values",
            "move the value into spec.config, or write '$${' for a literal '${'",
        )

    if checked.kind is None:
        return checked  # no model to check the rest against
    model = MODELS[checked.kind]
    # apiVersion is reported above; do not let pydantic repeat it.
    candidate = {**data, "apiVersion": API_VERSION}
    try:
        manifest = model.model_validate(candidate)
    except ValidationError as exc:
        for path, message, hint in _translate(exc, model):
            report(path, message, hint)
        return checked
    if not problems:
        checked.manifest = typing.cast(AnyManifest, manifest)
    return checked


def _api_version_problem(data: dict[str, Any]) -> tuple[NodePath, str, str] | None:
    if "apiVersion" not in data:
        return (), "missing required key 'apiVersion'", f"add 'apiVersion: {API_VERSION}'"
    version = data["apiVersion"]
    if not isinstance(version, str):
        return ("apiVersion",), f"apiVersion must be a string, not {_describe(version)}", f"use '{API_VERSION}'"
    if version != API_VERSION:
        hint = did_you_mean(version, [API_VERSION]) or f"use '{API_VERSION}'"
        return ("apiVersion",), f"unknown apiVersion '{version}'", hint
    return None


def _kind_problem(data: dict[str, Any], kind: str | None) -> tuple[NodePath, str, str] | None:
    choices = f"one of: {', '.join(KINDS)}"
    if "kind" not in data:
        return (), "missing required key 'kind'", choices
    if kind is None:
        return ("kind",), f"kind must be a string, not {_describe(data['kind'])}", choices
    if kind not in KINDS:
        return ("kind",), f"unknown kind '{kind}'", did_you_mean(kind, KINDS) or choices
    return None


def _misplaced_references(value: Any, path: NodePath, found: list[NodePath] | None = None) -> list[NodePath]:
    """Paths outside spec.config whose strings hold a `${env:`/`${file:` reference, in document order."""
    found = [] if found is None else found
    if path[:2] == _CONFIG:
        return found
    if isinstance(value, dict):
        for key, item in value.items():
            _misplaced_references(item, path + (key,), found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _misplaced_references(item, path + (index,), found)
    elif isinstance(value, str) and "${" in value and _UNESCAPED_REFERENCE.search(value.replace("$${", "")):
        found.append(path)
    return found


def _translate(exc: ValidationError, model: type[BaseModel]) -> list[tuple[NodePath, str, str | None]]:
    translated: dict[NodePath, tuple[str, str | None]] = {}
    for error in exc.errors(include_url=False):
        loc: NodePath = tuple(error["loc"])
        if loc[:2] == _CONFIG and len(loc) > 3:
            loc = loc[:3]  # one config value, reported once for the whole union
            key = loc[2]
            message = (
                f"config value '{key}' must be a string, number, boolean or date, "
                f"not {_describe(error['input'])}"
            )
            translated.setdefault(loc, (message, "quote it to send it as text"))
            continue
        if loc in translated:
            continue
        translated[loc] = _message(error, loc, model)
    return [(loc, message, hint) for loc, (message, hint) in translated.items()]


Message = tuple[str, str | None]  # (message, hint)


def _unknown_key(error: Any, loc: NodePath, model: type[BaseModel]) -> Message:
    key = str(loc[-1])
    allowed = _fields_at(model, loc[:-1])
    parent = f" in {_dotted(loc[:-1])}" if loc[:-1] else ""
    hint = did_you_mean(key, allowed) or (f"allowed keys: {', '.join(allowed)}" if allowed else None)
    return f"unknown key '{key}'{parent}", hint


def _missing_key(error: Any, loc: NodePath, model: type[BaseModel]) -> Message:
    parent = f" in {_dotted(loc[:-1])}" if loc[:-1] else ""
    return f"missing required key '{loc[-1]}'{parent}", None


def _invalid_value(error: Any, loc: NodePath, model: type[BaseModel]) -> Message:
    ctx = error.get("ctx") or {}
    return str(ctx.get("error", error["msg"])).removeprefix("Value error, "), None


def _control_character(error: Any, loc: NodePath, model: type[BaseModel]) -> Message:
    char = (error.get("ctx") or {}).get("char")
    return f"{_dotted(loc)} contains the control character {char}", (
        "use one line of printable text; in double-quoted YAML, escapes such as \\e, \\0 and \\n make them"
    )


def _empty_string(error: Any, loc: NodePath, model: type[BaseModel]) -> Message:
    return f"{_dotted(loc)} must not be empty", None


def _long_string(error: Any, loc: NodePath, model: type[BaseModel]) -> Message:
    limit = (error.get("ctx") or {}).get("max_length")
    return f"{_dotted(loc)} is too long (at most {limit} characters)", None


def _not_the_literal(error: Any, loc: NodePath, model: type[BaseModel]) -> Message:
    return f"{_dotted(loc)} must be {(error.get('ctx') or {}).get('expected')}", None


def _not_a_bool(error: Any, loc: NodePath, model: type[BaseModel]) -> Message:
    value = error.get("input")
    hint = None
    if isinstance(value, str) and value.lower() in {"yes", "no", "on", "off", "y", "n"}:
        hint = "write true or false; yes/no/on/off are plain strings in these manifests"
    return f"{_dotted(loc)} must be true or false, not {_describe(value)}", hint


def _not_a_string(error: Any, loc: NodePath, model: type[BaseModel]) -> Message:
    value = error.get("input")
    hint = "give a value or remove the key" if value is None else "quote it to make it a string"
    return f"{_dotted(loc)} must be a string, not {_describe(value)}", hint


def _not_a_list(error: Any, loc: NodePath, model: type[BaseModel]) -> Message:
    return f"{_dotted(loc)} must be a list, not {_describe(error.get('input'))}", "e.g. [a, b]"


def _not_a_mapping(error: Any, loc: NodePath, model: type[BaseModel]) -> Message:
    return f"{_dotted(loc) or 'the document'} must be a mapping, not {_describe(error.get('input'))}", None


# One message per pydantic error type; anything else keeps pydantic's own text.
_MESSAGES: dict[str, Callable[[Any, NodePath, type[BaseModel]], Message]] = {
    "extra_forbidden": _unknown_key,
    "missing": _missing_key,
    "value_error": _invalid_value,
    "control_character": _control_character,
    "string_too_short": _empty_string,
    "string_too_long": _long_string,
    "literal_error": _not_the_literal,
    "bool_type": _not_a_bool,
    "string_type": _not_a_string,
    "list_type": _not_a_list,
    "dict_type": _not_a_mapping,
    "model_type": _not_a_mapping,
    "model_attributes_type": _not_a_mapping,
}


def _message(error: Any, loc: NodePath, model: type[BaseModel]) -> Message:
    build = _MESSAGES.get(error["type"])
    return build(error, loc, model) if build is not None else (f"{_dotted(loc)}: {error['msg']}", None)


def _fields_at(model: type[BaseModel], path: NodePath) -> list[str]:
    """The keys the model allows at `path` (empty when not a model there)."""
    current: Any = model
    for step in path:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = current.model_fields.get(str(step))
        if field is None:
            return []
        current = _model_in(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _dotted(path: NodePath) -> str:
    text = ""
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
        else:
            text += ("." if text else "") + str(step)
    return text


def _describe(value: Any) -> str:
    """What kind of value the user wrote, without showing it (it may be secret)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, date):
        return "a date"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
