"""The optional project file `reconcile.yaml`: targets, names to leave alone, the prune budget.

```yaml
defaultTarget: staging
targets:
  production:
    url: https://sod.superoffice.com/Cust12345/
    credentials: {token: PROD_SUPEROFFICE_TOKEN}   # names of environment variables, never values
    vars: {CompanyId: "12345"}                     # ${var:CompanyId} in manifests
  staging:
    url: https://sod.superoffice.com/Cust67890/
    credentials: {ticket: STAGING_TICKET, appToken: STAGING_APP_TOKEN}
  online:                                          # no url: the tenant the login service names
    credentials: {systemUserToken: SO_SYSTEM_USER_TOKEN, privateKeyFile: SO_KEY_FILE,
                  appToken: SO_APP_TOKEN, contextId: SO_CONTEXT_ID}
  rehearsal: {}                                    # no url: the embedded emulator
ignore:
  ErpConnection: ["Legacy *"]
maxDeletes: 10
```

Every error points at reconcile.yaml:line:col (read with the manifest loader's
line-tracking YAML reader).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, StrictBool, StrictFloat, StrictInt, StrictStr, ValidationError, field_validator, model_validator

from reconciler.diagnostics import Diagnostic, DiagnosticError, Location, did_you_mean
from reconciler.manifest.files import ReadFailed, read_text
from reconciler.manifest.yaml_source import NodePath, parse_documents

PROJECT_FILE = "reconcile.yaml"
# `--target emulator` (or defaultTarget: emulator) always means the embedded emulator, named on purpose.
EMULATOR_TARGET = "emulator"
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
VarValue = StrictStr | StrictBool | StrictInt | StrictFloat


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IgnoreRules(_Strict):
    SyncConnector: list[StrictStr] = Field(default_factory=list, description="name globs never touched")
    ErpConnection: list[StrictStr] = Field(default_factory=list)
    QuoteConnection: list[StrictStr] = Field(default_factory=list)


class Credentials(_Strict):
    """Names of the environment variables that hold a target's credentials (one scheme)."""

    token: StrictStr | None = Field(default=None, description="Bearer token variable")
    ticket: StrictStr | None = Field(default=None, description="SOTicket variable (with appToken)")
    appToken: StrictStr | None = Field(default=None, description="SO-AppToken / client secret variable (with ticket, or the system user set)")
    user: StrictStr | None = Field(default=None, description="Basic auth user variable (with password)")
    password: StrictStr | None = Field(default=None, description="Basic auth password variable (with user)")
    systemUserToken: StrictStr | None = Field(default=None, description="System user token variable (system user set)")
    privateKey: StrictStr | None = Field(default=None, description="Variable holding the app's RSA private key, XML or PEM (system user set)")
    privateKeyFile: StrictStr | None = Field(default=None, description="Variable holding the path of the private key file (instead of privateKey)")
    contextId: StrictStr | None = Field(default=None, description="Variable holding the tenant id CustNNNNN (system user set)")

    @field_validator("token", "ticket", "appToken", "user", "password", "systemUserToken", "privateKey", "privateKeyFile", "contextId")
    @classmethod
    def _variable_name(cls, value: str | None) -> str | None:
        if value is not None and not ENV_NAME.match(value):
            raise ValueError(
                "must be the NAME of an environment variable (letters, digits, '_'), not a credential"
            )
        return value

    @model_validator(mode="after")
    def _one_scheme(self) -> "Credentials":
        used = [name for name, (starters, _) in self.schemes().items() if any(getattr(self, p) for p in starters)]
        if not used and self.appToken:
            used = ["ticket"]  # appToken alone: say what it lacks
        if len(used) != 1:
            raise ValueError(
                "give exactly one of {token: VAR}, {ticket: VAR, appToken: VAR}, {user: VAR, password: VAR}, "
                "{systemUserToken: VAR, privateKey: VAR (or privateKeyFile: VAR), appToken: VAR, contextId: VAR}"
            )
        _, parts = self.schemes()[used[0]]
        missing = [p for p in parts if not any(getattr(self, q) for q in p.split("|"))]
        if missing:
            shown = [p.replace("|", "' or '") for p in missing]
            raise ValueError(f"'{used[0]}' needs {' and '.join(q.replace('|', ' or ') for q in parts)}; '{shown[0]}' is missing")
        extra = [p for p in self.variables() if not any(p in q.split("|") for q in parts)]
        if extra or (self.privateKey and self.privateKeyFile):
            raise ValueError(f"'{used[0]}' does not use '{(extra or ['privateKeyFile'])[0]}'; give one scheme only")
        return self

    @staticmethod
    def schemes() -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
        """Scheme -> (parts that choose it, parts it needs; "a|b" = either)."""
        return {
            "token": (("token",), ("token",)),
            "ticket": (("ticket",), ("ticket", "appToken")),
            "user": (("user", "password"), ("user", "password")),
            "systemUser": (
                ("systemUserToken", "privateKey", "privateKeyFile", "contextId"),
                ("systemUserToken", "privateKey|privateKeyFile", "appToken", "contextId"),
            ),
        }

    def variables(self) -> dict[str, str]:
        """Credential part -> environment variable name, for the scheme in use."""
        return {part: getattr(self, part) for part in Credentials.model_fields if getattr(self, part)}

    @property
    def is_system_user(self) -> bool:
        return bool(self.systemUserToken or self.privateKey or self.privateKeyFile or self.contextId)


class TargetConfig(_Strict):
    url: StrictStr | None = Field(
        default=None, description="Tenant base URL; leave out for the embedded emulator."
    )
    credentials: Credentials | None = None
    insecure: StrictBool = Field(default=False, description="Allow plain http to a non-loopback host.")
    environment: Literal["sod", "qaonline", "online"] | None = Field(
        default=None, description="SuperOffice environment of the system user login (default: SUPEROFFICE_ENV, else online)."
    )
    loginUrl: StrictStr | None = Field(
        default=None, description="Login service base URL (default: SUPEROFFICE_LOGIN_URL, else https://{environment}.superoffice.com)."
    )
    vars: dict[StrictStr, VarValue] = Field(
        default_factory=dict, description="Values for ${var:NAME} in manifest config (not secret)."
    )

    @field_validator("vars")
    @classmethod
    def _var_names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            if not ENV_NAME.match(name):
                raise ValueError(f"variable name '{name}' must be letters, digits and '_', not starting with a digit")
        return value

    @model_validator(mode="after")
    def _credentials_with_url(self) -> "TargetConfig":
        if self.url and self.credentials is None:
            raise ValueError(
                "a target with a url needs 'credentials' (e.g. {token: SUPEROFFICE_TOKEN}: the variable's name)"
            )
        return self

    def var_strings(self) -> dict[str, str]:
        return {name: var_text(value) for name, value in self.vars.items()}


def var_text(value: str | bool | int | float) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class ProjectFile(_Strict):
    targets: dict[StrictStr, TargetConfig] = Field(default_factory=dict)
    defaultTarget: StrictStr | None = None
    ignore: IgnoreRules = Field(default_factory=IgnoreRules)
    maxDeletes: int | None = Field(default=None, ge=0)

    @field_validator("targets")
    @classmethod
    def _reserved_name(cls, value: dict[str, TargetConfig]) -> dict[str, TargetConfig]:
        if EMULATOR_TARGET in value:
            raise ValueError(f"'{EMULATOR_TARGET}' is reserved for the embedded emulator; give this target another name")
        return value

    _path: str = PrivateAttr(default=PROJECT_FILE)
    _locations: dict[NodePath, Location] = PrivateAttr(default_factory=dict)

    def ignore_map(self) -> dict[str, tuple[str, ...]]:
        return {kind: tuple(globs) for kind, globs in self.ignore.model_dump().items() if globs}

    def locate(self, *path: str | int) -> Location | None:
        """Where a node of reconcile.yaml is (or its nearest ancestor), when the file exists."""
        for end in range(len(path), -1, -1):
            found = self._locations.get(tuple(path[:end]))
            if found is not None:
                return found
        return None

    def target_named(self, name: str) -> TargetConfig:
        if name not in self.targets:
            known = sorted(self.targets)
            hint = did_you_mean(name, known) or (
                f"known targets: {', '.join(known)}" if known else f"define targets in {self._path}"
            )
            raise DiagnosticError([Diagnostic(f"unknown target '{name}'", self.locate("targets"), hint=hint)])
        return self.targets[name]

    def validation_vars(self, name: str | None) -> Mapping[str, str] | None:
        """Variables to check manifests against without a CRM: the named (or default)
        target's, else those every target defines, else None (no targets at all)."""
        name = name or self.defaultTarget
        if name == EMULATOR_TARGET:
            return None
        if name is not None:
            return self.target_named(name).var_strings()
        if not self.targets:
            return None
        targets = [self.targets[n] for n in sorted(self.targets)]
        shared = set.intersection(*(set(t.vars) for t in targets))
        return {k: v for k, v in targets[0].var_strings().items() if k in shared}


def load_project(path: Path | None = None) -> ProjectFile:
    """`reconcile.yaml` from the working directory (or `path`); defaults when there is none."""
    path = path or Path(PROJECT_FILE)
    if not path.is_file():
        return ProjectFile()
    shown = str(path)
    try:
        _, text = read_text(path, shown, what="project file")
    except ReadFailed as failure:
        raise DiagnosticError([failure.diagnostic]) from None
    parsed = parse_documents(text, shown)
    problems = list(parsed.diagnostics)
    for document in parsed.documents:
        problems.extend(document.diagnostics)
    if problems:
        raise DiagnosticError(problems)
    if len(parsed.documents) > 1:
        raise DiagnosticError(
            [Diagnostic("the project file holds more than one YAML document", parsed.documents[1].root,
                        hint="keep one document in reconcile.yaml")]
        )
    document = parsed.documents[0] if parsed.documents else None
    data = document.data if document is not None and document.data is not None else {}
    locations = document.locations if document is not None else {}
    start = Location(shown, 1, 1)
    if not isinstance(data, dict):
        raise DiagnosticError([Diagnostic("the project file must be a mapping (targets:, ignore:, …)", start)])
    try:
        project = ProjectFile.model_validate(data)
    except ValidationError as error:
        raise DiagnosticError(_problems(error, locations, start)) from None
    project._path = shown
    project._locations = dict(locations)
    if project.defaultTarget not in (None, EMULATOR_TARGET, *project.targets):
        known = sorted(project.targets)
        hint = did_you_mean(project.defaultTarget, known) or (
            f"known targets: {', '.join(known)}" if known else "define it under 'targets:'"
        )
        raise DiagnosticError(
            [Diagnostic(f"defaultTarget: '{project.defaultTarget}' is not a target", project.locate("defaultTarget"), hint=hint)]
        )
    return project


def _problems(error: ValidationError, locations: Mapping[NodePath, Location], start: Location) -> list[Diagnostic]:
    problems = []
    for item in error.errors():
        loc = tuple(p for p in item["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        where = ".".join(str(p) for p in loc) or "reconcile.yaml"
        located = next((locations[loc[:end]] for end in range(len(loc), 0, -1) if loc[:end] in locations), start)
        hint = None
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            hint = did_you_mean(str(loc[-1]), _choices(loc))
            message = f"unknown key '{loc[-1]}'"
        problems.append(Diagnostic(f"{where}: {message}", located, hint=hint))
    return problems


def _choices(loc: tuple[Any, ...]) -> list[str]:
    if len(loc) == 1:
        return list(ProjectFile.model_fields)
    if loc[0] == "ignore":
        return list(IgnoreRules.model_fields)
    if loc[0] == "targets" and len(loc) == 3:
        return list(TargetConfig.model_fields)
    if loc[0] == "targets" and len(loc) == 4 and loc[2] == "credentials":
        return list(Credentials.model_fields)
    return []
