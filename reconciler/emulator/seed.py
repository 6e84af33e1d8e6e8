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
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError, field_validator

from reconciler.diagnostics import did_you_mean

DEFAULT_SEED_NAME = "default_seed.yaml"

# The REST enum says "Date" (docs/database/tables/enums/fieldmetadatatype.md), connector-side
# metadata says "Datetime" (docs/api/netserver/erp-connectors/api/field-meta-data-carrier.md).
# A seed may use either, to let clients be tested against both.
SeedFieldType = Literal[
    "Checkbox", "Text", "Password", "Integer", "Double", "List", "Date", "Datetime", "Label"
]
SeedFieldAccess = Literal["Normal", "Mandatory", "ReadOnly"]
# docs/en/database/tables/enums/erpactortype.md and crmactortype.md (Unknown left out).
ErpActorTypeName = Literal["Customer", "Supplier", "Partner", "Person", "Project", "Employee", "Sale"]
CrmActorTypeName = Literal["Contact", "Person", "Project", "Sale"]


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


class ErpListItemSpec(_Model):
    key: StrictStr  # the ERP list item key (ErpListItemId)
    name: StrictStr


class ActorTypeSpec(_Model):
    """An ERP actor type the connector supports (GetSupportedActorTypes), the CRM actor
    type it is paired with, and its fields (GetSupportedActorTypeFields)."""

    erp: ErpActorTypeName
    crm: CrmActorTypeName | None = None  # None: no CRM actor type fits (Employee)
    fields: list[FieldSpec] = []


class SyncConnectorProfile(_Model):
    """What a sync connector web service at `url` answers: its fields and tests,
    its actor types with their fields, and the items of its lists."""

    url: StrictStr = Field(min_length=1)
    fields: list[FieldSpec] = []
    test: TestSpec = TestSpec()
    actor_types: list[ActorTypeSpec] = []
    lists: dict[str, list[ErpListItemSpec]] = {}  # ERP list name -> items (GetListItems)


class CrmFieldSpec(_Model):
    """A CRM field a mapping may name (CrmFieldKey), e.g. contact/name."""

    key: StrictStr = Field(min_length=1)
    display_name: StrictStr = ""
    list_name: StrictStr = ""  # for a list field: the name of the CRM list (a `lists` key)
    # ERP field keys the engine maps to this field by itself, compared without case
    # (docs/api/netserver/erp-connectors/automatic-field-mapping.md).
    erp_keys: list[StrictStr] = []


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


class SystemUserSpec(_Model):
    """The tenant's side of the system user flow (docs/emulator.md). Demo values only."""

    context_id: StrictStr = Field(default="Cust12345", pattern=r"^Cust\d+$")
    serial: StrictStr = Field(min_length=1)  # tenant database serial: the JWT audience is spn:<serial>
    app_token: StrictStr = Field(min_length=1)  # the app's client secret (ApplicationToken / SO-AppToken)
    system_user_token: StrictStr = Field(min_length=1)
    app_private_key: StrictStr  # PEM; the emulator verifies with its public half
    issuer_private_key: StrictStr  # PEM; signs the JWTs the emulator issues
    ticket_ttl_s: float = Field(default=6 * 3600, gt=0)  # documented: 6 hours, sliding
    timestamp_window_s: StrictInt = Field(default=300, ge=0)  # undocumented tolerance; ±5 minutes
    jwt_lifetime_s: StrictInt = Field(default=300, gt=0)

    @field_validator("app_private_key", "issuer_private_key")
    @classmethod
    def _rsa_pem(cls, value: str) -> str:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        try:
            # The full RSA consistency check costs ~60 ms per key on every emulator start.
            key = serialization.load_pem_private_key(
                value.encode("ascii"), password=None, unsafe_skip_rsa_key_validation=True
            )
        except (ValueError, TypeError, UnicodeEncodeError):
            key = None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("must be an unencrypted RSA private key in PEM form")
        return value


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
    denied_agents: list[StrictStr] = []
    denied_status: Literal[401, 403] = 403
    moved_to: StrictStr = ""
    moved_status: Literal[421, 307] = 421
    null_methods: list[StrictStr] = []
    missing_methods: list[StrictStr] = []


class OptionsSpec(_Model):
    # GetAllConnections is documented "without config field data" (false: it answers
    # an empty ConfigFields, the strictest reading); true fills it as the samples do.
    list_config_fields: StrictBool = False


class Seed(_Model):
    credentials: CredentialsSpec = CredentialsSpec()
    system_user: SystemUserSpec | None = None
    users: list[UserSpec] = []
    groups: list[GroupSpec] = []
    lists: dict[str, list[ListItemSpec]] = {}
    connector_profiles: list[SyncConnectorProfile] = []
    crm_fields: dict[CrmActorTypeName, list[CrmFieldSpec]] = {}  # the CRM field vocabulary
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

    def crm_field(self, crm_actor: str | None, key: str) -> CrmFieldSpec | None:
        return next((f for f in self.crm_fields.get(crm_actor, []) if f.key == key), None)  # type: ignore[call-overload]

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
    problems = _duplicates(seed)
    for profile in seed.connector_profiles:
        problems += _field_problems(seed, f"connector profile {profile.url}", profile.fields, profile.test)
        problems += _actor_type_problems(profile)
    problems += _crm_field_problems(seed)
    for quote in seed.quote_connectors:
        problems += _field_problems(seed, f"quote connector {quote.name}", quote.fields, quote.test)
    return problems + _connection_problems(seed)


def _unknown(what: str, name: str, known: list[str]) -> str:
    hint = did_you_mean(name, known)
    return f"{what} {name!r}" + (f" ({hint})" if hint else "")


def _duplicates(seed: Seed) -> list[str]:
    problems: list[str] = []
    for what, values in (
        ("user id", [u.id for u in seed.users]),
        ("user login", [u.login for u in seed.users]),
        ("group id", [g.id for g in seed.groups]),
        ("group name", [g.name for g in seed.groups]),
        ("connector profile url", [normalise_url(p.url) for p in seed.connector_profiles]),
        ("quote connector", [q.name for q in seed.quote_connectors]),
        ("connector id", [c.id for c in seed.connectors]),
        ("connector name", [c.name for c in seed.connectors]),
        ("ERP connection id", [c.id for c in seed.erp_connections]),
        ("ERP connection guid", [c.guid for c in seed.erp_connections]),
        ("quote connection id", [c.id for c in seed.quote_connections]),
    ):
        problems += _twice(what, values)
    return problems


def _twice(what: str, values: list[Any]) -> list[str]:
    seen: set[Any] = set()
    problems: list[str] = []
    for value in values:
        if value is not None and value in seen:
            problems.append(f"{what} {value!r} appears twice")
        seen.add(value)
    return problems


def _field_problems(seed: Seed, owner: str, fields: list[FieldSpec], test: TestSpec) -> list[str]:
    problems = _twice(f"{owner}: field key", [f.key for f in fields])
    by_key = {f.key: f for f in fields}
    for f in fields:
        if f.type == "List" and seed.list_items(f.list_name) is None:
            problems.append(f"{owner}: field {f.key} is a List but list_name {f.list_name!r} is not under 'lists'")
    for rule in test.rules:
        field = by_key.get(rule.field)
        if field is None:
            problems.append(f"{owner}: test rule names " + _unknown("unknown field", rule.field, list(by_key)))
            continue
        try:
            re.compile(rule.matches)
        except re.error as exc:
            problems.append(f"{owner}: test rule for {rule.field}: bad regex ({exc})")
        if field.type == "Password" and any("{value}" in text for text in (rule.explanation, rule.tech_explanation)):
            problems.append(
                f"{owner}: test rule for Password field {rule.field} may not show "
                "{value} in an explanation (secrets are never echoed)"
            )
    return problems


def _scope_problems(seed: Seed, owner: str, scope: ScopeSpec) -> list[str]:
    logins = sorted({u.login for u in seed.users})
    group_names = sorted({g.name for g in seed.groups})
    return [f"{owner}: " + _unknown("unknown user", login, logins) for login in scope.users if login not in logins] + [
        f"{owner}: " + _unknown("unknown group", name, group_names) for name in scope.groups if name not in group_names
    ]


def _connection_problems(seed: Seed) -> list[str]:
    problems: list[str] = []
    connector_names = [c.name for c in seed.connectors]
    for conn in seed.erp_connections:
        owner = f"ERP connection {conn.name}"
        if conn.connector not in connector_names:
            problems.append(f"{owner}: " + _unknown("unknown connector", conn.connector, connector_names))
        problems += _scope_problems(seed, owner, conn.scope)
    erp_names = [c.name for c in seed.erp_connections]
    quote_names = [q.name for q in seed.quote_connectors]
    for quote_conn in seed.quote_connections:
        owner = f"quote connection {quote_conn.name}"
        if quote_conn.connector not in quote_names:
            hint = did_you_mean(quote_conn.connector, quote_names)
            problems.append(
                f"{owner}: {quote_conn.connector!r} is not an installed quote connector" + (f" ({hint})" if hint else "")
            )
        if quote_conn.erp_connection is not None and quote_conn.erp_connection not in erp_names:
            problems.append(f"{owner}: " + _unknown("unknown ERP connection", quote_conn.erp_connection, erp_names))
        problems += _scope_problems(seed, owner, quote_conn.scope)
    return problems


def _actor_type_problems(profile: SyncConnectorProfile) -> list[str]:
    owner = f"connector profile {profile.url}"
    problems: list[str] = []
    erp_types = [a.erp for a in profile.actor_types]
    problems += [f"{owner}: actor type {t} appears twice" for t in sorted(set(erp_types)) if erp_types.count(t) > 1]
    for actor in profile.actor_types:
        keys = [f.key for f in actor.fields]
        problems += [f"{owner}: actor type {actor.erp}: field key {k!r} appears twice"
                     for k in sorted(set(keys)) if keys.count(k) > 1]
        problems += [
            f"{owner}: actor type {actor.erp}: field {f.key} is a List but list_name {f.list_name!r} "
            "is not under the profile's 'lists'"
            for f in actor.fields if f.type == "List" and f.list_name not in profile.lists
        ]
    return problems


def _crm_field_problems(seed: Seed) -> list[str]:
    problems: list[str] = []
    for crm_actor, crm_fields in seed.crm_fields.items():
        problems += _twice(f"crm_fields {crm_actor}: key", [f.key for f in crm_fields])
        problems += [
            f"crm_fields {crm_actor}: field {f.key} names list {f.list_name!r}, which is not under 'lists'"
            for f in crm_fields if f.list_name and seed.list_items(f.list_name) is None
        ]
    return problems
