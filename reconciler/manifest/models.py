"""What users write: one resource per YAML document (docs/manifests.md).

These pydantic models are the manifest language; `schemas/manifest.schema.json`
is generated from them. Config values here are still as written (secret
references unresolved); `Desired` holds the resolved values.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    Strict,
    model_validator,
)
from pydantic_core import PydanticCustomError

from reconciler.diagnostics import Location
from reconciler.manifest.sync_models import SyncSpec
from reconciler.secrets import Sensitive

API_VERSION = "erp-reconciler/v1"
KINDS = ("SyncConnector", "ErpConnection", "QuoteConnection")
Kind = Literal["SyncConnector", "ErpConnection", "QuoteConnection"]


def object_ref(kind: str, name: str) -> str:
    """How messages, plans and reports name an object: `Kind/name`."""
    return f"{kind}/{name}"


@dataclass(frozen=True)
class KindAndName:
    """The start of anything about one object (a change, an outcome, an exported manifest)."""

    kind: Kind
    name: str

    @property
    def ref(self) -> str:
        return object_ref(self.kind, self.name)

# As written in YAML (which reads 2026-01-01 as a date). Strings may hold
# ${env:…}/${file:…} secret references and ${var:…} target variables.
ConfigScalar = Union[
    StrictBool,
    StrictInt,
    StrictFloat,
    Annotated[datetime, Strict()],
    Annotated[date, Strict()],
    StrictStr,
    None,
]
# After secret references are resolved.
ConfigValue = Union[bool, int, float, datetime, date, str, None, Sensitive]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _one_printable_line(value: str) -> str:
    """Names and descriptions end up in terminals, Markdown and XML: control characters
    (also from YAML escapes like "\\e", "\\0", "\\n") and line separators are refused."""
    for char in value:
        if unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            raise PydanticCustomError(
                "control_character", "contains the control character {char}", {"char": f"U+{ord(char):04X}"}
            )
    return value


# One line of printable text.
PrintableStr = Annotated[StrictStr, AfterValidator(_one_printable_line)]


class Metadata(_Strict):
    name: PrintableStr = Field(
        min_length=1, max_length=254, description="DisplayName in the CRM; unique per kind."
    )


class Scope(_Strict):
    """Who may use the connection: everyone, or specific users and/or groups."""

    everyone: StrictBool | None = Field(default=None, description="true: every user (AllAccess).")
    users: list[StrictStr] | None = Field(default=None, description="User logins (associate Name).")
    groups: list[StrictStr] | None = Field(default=None, description="User group names.")

    @model_validator(mode="after")
    def _everyone_xor_specific(self) -> "Scope":
        specific = bool(self.users) or bool(self.groups)
        if self.everyone and specific:
            raise ValueError(
                "scope gives both 'everyone: true' and users/groups; choose one "
                "(remove 'everyone', or remove 'users'/'groups')"
            )
        if not self.everyone and not specific:
            raise ValueError(
                "scope names nobody; use 'everyone: true', or list 'users' and/or 'groups'"
            )
        return self


class SyncConnectorSpec(_Strict):
    url: StrictStr = Field(
        min_length=1, max_length=1023, description="Where the connector web service is."
    )


class ErpConnectionSpec(_Strict):
    connector: StrictStr = Field(min_length=1, description="A SyncConnector by metadata.name.")
    description: PrintableStr = Field(default="", max_length=254)
    active: StrictBool = Field(default=True, description="Activate after a passing test.")
    scope: Scope
    config: dict[StrictStr, ConfigScalar] = Field(
        default_factory=dict, description="Values keyed by the connector's FieldKeys."
    )
    sync: SyncSpec | None = Field(default=None, description="Sync configuration; absent = not managed.")


class QuoteConnectionSpec(_Strict):
    connector: StrictStr = Field(min_length=1, description="An installed quote connector (ConnectorName).")
    erpConnection: StrictStr = Field(min_length=1, description="An ErpConnection by metadata.name.")
    description: PrintableStr = Field(default="", max_length=254)
    scope: Scope
    config: dict[StrictStr, ConfigScalar] = Field(default_factory=dict)


class SyncConnector(_Strict):
    apiVersion: Literal["erp-reconciler/v1"]
    kind: Literal["SyncConnector"]
    metadata: Metadata
    spec: SyncConnectorSpec


class ErpConnection(_Strict):
    apiVersion: Literal["erp-reconciler/v1"]
    kind: Literal["ErpConnection"]
    metadata: Metadata
    spec: ErpConnectionSpec


class QuoteConnection(_Strict):
    apiVersion: Literal["erp-reconciler/v1"]
    kind: Literal["QuoteConnection"]
    metadata: Metadata
    spec: QuoteConnectionSpec


Manifest = Annotated[Union[SyncConnector, ErpConnection, QuoteConnection], Field(discriminator="kind")]
AnyManifest = Union[SyncConnector, ErpConnection, QuoteConnection]

Path = tuple[Union[str, int], ...]


@dataclass(frozen=True)
class DesiredResource:
    """One manifest document, validated, with secret references resolved."""

    manifest: AnyManifest
    location: Location  # start of the document
    config: Mapping[str, ConfigValue] = field(default_factory=dict)
    # Where each node of the document is, keyed by its path, e.g. ("spec", "config", "ApiKey").
    node_locations: Mapping[Path, Location] = field(default_factory=dict)

    @property
    def kind(self) -> Kind:
        return self.manifest.kind

    @property
    def name(self) -> str:
        return self.manifest.metadata.name

    @property
    def ref(self) -> str:
        return object_ref(self.kind, self.name)

    def locate(self, *path: str | int) -> Location:
        """The location of the node at `path`, or of its nearest located ancestor."""
        for end in range(len(path), 0, -1):
            loc = self.node_locations.get(tuple(path[:end]))
            if loc is not None:
                return loc
        return self.location


@dataclass(frozen=True)
class Desired:
    """Everything the manifests ask for."""

    resources: tuple[DesiredResource, ...]
    digest: str  # sha256 over the manifest files' paths and bytes, in load order
    files: tuple[str, ...] = ()  # the manifest files read, as shown to users, in load order

    def of_kind(self, kind: Kind) -> list[DesiredResource]:
        return [r for r in self.resources if r.kind == kind]
