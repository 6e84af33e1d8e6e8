"""The emulator's seed file: who the tenant's users are and what its connectors do.

A seed is YAML (format in docs/emulator.md). It is read once, when a state file
is created; the validated seed is stored in the state so an existing state is
self-contained. Everything the emulator "knows" about a connector - its config
fields and what makes its test pass - is data here, not code.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

from reconciler.diagnostics import did_you_mean

DEFAULT_SEED_NAME = "default_seed.yaml"

# The REST enum says "Date", connector-side metadata says "Datetime" (reference
# section 7.7). A seed may use either, to let clients be tested against both.
SeedFieldType = Literal[
    "Checkbox", "Text", "Password", "Integer", "Double", "List", "Date", "Datetime", "Label"
]
SeedFieldAccess = Literal["Normal", "Mandatory", "ReadOnly"]


class SeedError(Exception):
    """A seed file the emulator cannot use; the message says where and what."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldSpec(_Model):
    key: StrictStr = Field(min_length=1)
    type: SeedFieldType
    access: SeedFieldAccess = "Normal"
    display_name: StrictStr | None = None  # defaults to the key
    description: StrictStr = ""
    rank: StrictInt | None = None  # defaults to the position in the list
    list_name: StrictStr = ""
    default: StrictStr = ""
    max_length: StrictInt = Field(default=0, ge=0)  # 0 = unlimited
    show_in_search: StrictBool = False


class TestRule(_Model):
    """The test fails with `explanation` unless `field`'s value fully matches `matches`.

    A missing field counts as "". `{value}` in an explanation is replaced by the
    value, except for Password fields (refused when the seed is loaded).
    """

    field: StrictStr
    matches: StrictStr
    explanation: StrictStr
    tech_explanation: StrictStr = ""
    error_code: StrictStr = "InvalidConfiguration"


class TestSpec(_Model):
    unreachable: StrictBool = False
    unreachable_explanation: StrictStr = "The connector did not answer"
    rules: list[TestRule] = []


class SyncConnectorProfile(_Model):
    """What a sync connector web service at `url` answers: its fields and tests."""

    url: StrictStr = Field(min_length=1)
    fields: list[FieldSpec] = []
    test: TestSpec = TestSpec()


class QuoteConnectorProfile(_Model):
    """An installed quote connector, known by its ConnectorName."""

    name: StrictStr = Field(min_length=1)
    erp_name: StrictStr = ""
    fields: list[FieldSpec] = []
    test: TestSpec = TestSpec()


class UserSpec(_Model):
    id: StrictInt | None = None
    login: StrictStr = Field(min_length=1)
    full_name: StrictStr = ""
    deleted: StrictBool = False


class GroupSpec(_Model):
    id: StrictInt | None = None
    name: StrictStr = Field(min_length=1)
    tooltip: StrictStr = ""
    deleted: StrictBool = False


class ListItemSpec(_Model):
    id: StrictInt | None = None
    name: StrictStr
    tooltip: StrictStr = ""
    deleted: StrictBool = False


class TicketSpec(_Model):
    ticket: StrictStr = Field(min_length=1)
    # Online requires SO-AppToken next to a SOTicket; null = onsite, not required.
    app_token: StrictStr | None = None


class BasicSpec(_Model):
    user: StrictStr = Field(min_length=1)
    password: StrictStr = Field(min_length=1)


class CredentialsSpec(_Model):
    bearer: list[StrictStr] = []
    tickets: list[TicketSpec] = []
    basic: list[BasicSpec] = []


class ScopeSpec(_Model):
    everyone: StrictBool = False
    users: list[StrictStr] = []
    groups: list[StrictStr] = []


class ConnectorSeed(_Model):
    id: StrictInt | None = None
    name: StrictStr
    url: StrictStr
    deleted: StrictBool = False


class ErpConnectionSeed(_Model):
    id: StrictInt | None = None
    name: StrictStr
    connector: StrictStr  # a ConnectorSeed name
    description: StrictStr = ""
    active: StrictBool = False
    deleted: StrictBool = False
    guid: StrictStr | None = None  # generated when omitted
    most_recent_timestamp: StrictStr | None = None
    scope: ScopeSpec = ScopeSpec(everyone=True)
    config: dict[str, StrictStr] = {}


class QuoteConnectionSeed(_Model):
    id: StrictInt | None = None
    name: StrictStr
    connector: StrictStr  # an installed quote connector name
    erp_connection: StrictStr | None = None  # an ErpConnectionSeed name
    erp_name: StrictStr | None = None  # defaults to the connector's erp_name
    rank: StrictInt = 0
    description: StrictStr = ""
    extra_data: StrictStr = ""
    deleted: StrictBool = False
    scope: ScopeSpec = ScopeSpec(everyone=True)
    config: dict[str, StrictStr] = {}


class FaultsSpec(_Model):
    latency_ms: float = Field(default=0, ge=0)
    jitter_ms: float = Field(default=0, ge=0)
    error_rate: float = Field(default=0, ge=0, le=1)
    error_statuses: list[Literal[500, 502, 503, 504]] = Field(default_factory=lambda: [500, 503], min_length=1)
    rate_limit_every: StrictInt = Field(default=0, ge=0)
    rate_limit_rate: float = Field(default=0, ge=0, le=1)
    retry_after_s: StrictInt = Field(default=1, ge=0)
    connector_test_latency_ms: float = Field(default=0, ge=0)
    fault_seed: StrictInt = 0


class OptionsSpec(_Model):
    # GetAllConnections is documented "without config field data" but the samples
    # show ConfigFields filled (reference section 7.11); false answers null.
    list_config_fields: StrictBool = True


class Seed(_Model):
    credentials: CredentialsSpec = CredentialsSpec()
    users: list[UserSpec] = []
    groups: list[GroupSpec] = []
    lists: dict[str, list[ListItemSpec]] = {}
    connector_profiles: list[SyncConnectorProfile] = []
    quote_connectors: list[QuoteConnectorProfile] = []
    connectors: list[ConnectorSeed] = []
    erp_connections: list[ErpConnectionSeed] = []
    quote_connections: list[QuoteConnectionSeed] = []
    faults: FaultsSpec = FaultsSpec()
    options: OptionsSpec = OptionsSpec()

    # Lookups used by the app; ids are filled in by `with_ids`.
    def connector_profile(self, url: str) -> SyncConnectorProfile | None:
        wanted = normalise_url(url)
        for profile in self.connector_profiles:
            if normalise_url(profile.url) == wanted:
                return profile
        return None

    def quote_connector(self, name: str) -> QuoteConnectorProfile | None:
        for profile in self.quote_connectors:
            if profile.name == name:
                return profile
        return None

    def list_items(self, list_name: str) -> list[ListItemSpec] | None:
        for name, items in self.lists.items():
            if name.lower() == list_name.lower():
                return items
        return None


def normalise_url(url: str) -> str:
    """URLs a connector answers to compare without case and trailing slash."""
    return url.strip().rstrip("/").lower()


def default_seed_text() -> str:
    return resources.files("reconciler.emulator").joinpath(DEFAULT_SEED_NAME).read_text("utf-8")


def load_seed(path: str | Path | None) -> Seed:
    """Read and validate a seed file; None reads the default seed shipped with the package."""
    if path is None:
        return parse_seed(default_seed_text(), "default seed")
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SeedError(f"cannot read seed file {path}: {exc.strerror or exc}") from None
    return parse_seed(text, str(path))


def parse_seed(text: str, source: str) -> Seed:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise SeedError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SeedError(f"{source}: a seed is a YAML mapping (keys like users, groups, connector_profiles)")
    try:
        seed = Seed.model_validate(data)
    except ValidationError as exc:
        raise SeedError(_describe_validation_error(source, exc, data)) from None
    seed = with_ids(seed)
    problems = check_references(seed)
    if problems:
        raise SeedError(f"{source}: " + f"\n{source}: ".join(problems))
    return seed


def _describe_validation_error(source: str, exc: ValidationError, data: dict[str, Any]) -> str:
    lines = []
    for error in exc.errors():
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"]).lstrip(".")
        message = error["msg"]
        if error["type"] == "extra_forbidden" and error["loc"]:
            choices = list(Seed.model_fields) if len(error["loc"]) == 1 else _ALL_KEYS
            hint = did_you_mean(str(error["loc"][-1]), choices)
            message = "unknown key" + (f" ({hint})" if hint else "")
        lines.append(f"{source}: {where or '(top)'}: {message}")
    return "\n".join(lines)


_ALL_KEYS = sorted({name for model in _Model.__subclasses__() for name in model.model_fields})


def with_ids(seed: Seed) -> Seed:
    """Give users, groups and list items without an explicit id the next free one."""

    def number(items: list[Any]) -> list[Any]:
        used = {item.id for item in items if item.id is not None}
        next_id = 1
        numbered = []
        for item in items:
            if item.id is None:
                while next_id in used:
                    next_id += 1
                used.add(next_id)
                item = item.model_copy(update={"id": next_id})
            numbered.append(item)
        return numbered

    return seed.model_copy(
        update={
            "users": number(seed.users),
            "groups": number(seed.groups),
            "lists": {name: number(items) for name, items in seed.lists.items()},
        }
    )


def check_references(seed: Seed) -> list[str]:
    """Cross-references a schema cannot check: names, ids, rules, list names."""
    problems: list[str] = []

    def unique(what: str, values: list[Any]) -> None:
        seen: set[Any] = set()
        for value in values:
            if value is not None and value in seen:
                problems.append(f"{what} {value!r} appears twice")
            seen.add(value)

    unique("user id", [u.id for u in seed.users])
    unique("user login", [u.login for u in seed.users])
    unique("group id", [g.id for g in seed.groups])
    unique("group name", [g.name for g in seed.groups])
    unique("connector profile url", [normalise_url(p.url) for p in seed.connector_profiles])
    unique("quote connector", [q.name for q in seed.quote_connectors])
    unique("connector id", [c.id for c in seed.connectors])
    unique("connector name", [c.name for c in seed.connectors])
    unique("ERP connection id", [c.id for c in seed.erp_connections])
    unique("ERP connection guid", [c.guid for c in seed.erp_connections])
    unique("quote connection id", [c.id for c in seed.quote_connections])

    def check_fields(owner: str, fields: list[FieldSpec], test: TestSpec) -> None:
        unique(f"{owner}: field key", [f.key for f in fields])
        by_key = {f.key: f for f in fields}
        for f in fields:
            if f.type == "List" and seed.list_items(f.list_name) is None:
                problems.append(
                    f"{owner}: field {f.key} is a List but list_name {f.list_name!r} is not under 'lists'"
                )
        for rule in test.rules:
            field = by_key.get(rule.field)
            if field is None:
                hint = did_you_mean(rule.field, list(by_key))
                problems.append(
                    f"{owner}: test rule names unknown field {rule.field!r}"
                    + (f" ({hint})" if hint else "")
                )
                continue
            try:
                re.compile(rule.matches)
            except re.error as exc:
                problems.append(f"{owner}: test rule for {rule.field}: bad regex ({exc})")
            if field.type == "Password" and any(
                "{value}" in text for text in (rule.explanation, rule.tech_explanation)
            ):
                problems.append(
                    f"{owner}: test rule for Password field {rule.field} may not show "
                    "{value} in an explanation (secrets are never echoed)"
                )

    for profile in seed.connector_profiles:
        check_fields(f"connector profile {profile.url}", profile.fields, profile.test)
    for quote in seed.quote_connectors:
        check_fields(f"quote connector {quote.name}", quote.fields, quote.test)

    logins = {u.login for u in seed.users}
    group_names = {g.name for g in seed.groups}

    def check_scope(owner: str, scope: ScopeSpec) -> None:
        for login in scope.users:
            if login not in logins:
                hint = did_you_mean(login, sorted(logins))
                problems.append(f"{owner}: unknown user {login!r}" + (f" ({hint})" if hint else ""))
        for name in scope.groups:
            if name not in group_names:
                hint = did_you_mean(name, sorted(group_names))
                problems.append(f"{owner}: unknown group {name!r}" + (f" ({hint})" if hint else ""))

    connector_names = [c.name for c in seed.connectors]
    for conn in seed.erp_connections:
        owner = f"ERP connection {conn.name}"
        if conn.connector not in connector_names:
            hint = did_you_mean(conn.connector, connector_names)
            problems.append(f"{owner}: unknown connector {conn.connector!r}" + (f" ({hint})" if hint else ""))
        check_scope(owner, conn.scope)
    erp_names = [c.name for c in seed.erp_connections]
    quote_names = [q.name for q in seed.quote_connectors]
    for quote_conn in seed.quote_connections:
        owner = f"quote connection {quote_conn.name}"
        if quote_conn.connector not in quote_names:
            hint = did_you_mean(quote_conn.connector, quote_names)
            problems.append(
                f"{owner}: {quote_conn.connector!r} is not an installed quote connector"
                + (f" ({hint})" if hint else "")
            )
        if quote_conn.erp_connection is not None and quote_conn.erp_connection not in erp_names:
            hint = did_you_mean(quote_conn.erp_connection, erp_names)
            problems.append(
                f"{owner}: unknown ERP connection {quote_conn.erp_connection!r}"
                + (f" ({hint})" if hint else "")
            )
        check_scope(owner, quote_conn.scope)
    return problems
