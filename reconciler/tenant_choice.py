"""Which CRM a command talks to: a named target of reconcile.yaml, --url, or the embedded emulator.

Precedence: `--target NAME` (or RECONCILE_TARGET), then `--url` / SUPEROFFICE_URL,
then the project's `defaultTarget`, then the embedded emulator. A named target
names the environment variables that hold its credentials; errors name those
variables and never show a value. `--target emulator` names the embedded
emulator on purpose.

When nothing selects a target and the CI variable is set, selection refuses
instead of falling back to the emulator: a missing CI secret must not turn an
apply into a rehearsal that reports success.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.crm import endpoint as crm_endpoint
from reconciler.crm.systemuser import credentials as system_user
from reconciler.crm.endpoint import CrmEndpoint, resolve_endpoint
from reconciler.diagnostics import Diagnostic, DiagnosticError
from reconciler.project import EMULATOR_TARGET, ProjectFile

# The standard variable each credential part maps to, so that crm.endpoint builds the headers.
_STANDARD = {
    "token": crm_endpoint.TOKEN,
    "ticket": crm_endpoint.TICKET,
    "appToken": crm_endpoint.APP_TOKEN,
    "user": crm_endpoint.USER,
    "password": crm_endpoint.PASSWORD,
    "systemUserToken": system_user.SYSTEM_USER_TOKEN,
    "privateKey": system_user.PRIVATE_KEY,
    "privateKeyFile": system_user.PRIVATE_KEY_FILE,
    "contextId": system_user.CONTEXT_ID,
}
_HEADER_PARTS = ("token", "ticket", "appToken")


@dataclass(frozen=True)
class TenantChoice:
    """The chosen CRM. `endpoint` None means the embedded emulator."""

    endpoint: CrmEndpoint | None
    name: str | None = None  # the reconcile.yaml target, if one was chosen
    # Values for ${var:NAME}; None when no reconcile.yaml target is chosen.
    vars: Mapping[str, str] | None = None


def choose_tenant(
    project: ProjectFile,
    *,
    name: str | None,
    url: str | None,
    url_on_command_line: bool = False,
    insecure: bool = False,
    env: Mapping[str, str] = os.environ,
) -> TenantChoice:
    if name and url and url_on_command_line:
        raise DiagnosticError(
            [Diagnostic("both --target and --url are given", hint="choose one: --target NAME (from reconcile.yaml) or --url URL")]
        )
    name = name or (None if url else project.defaultTarget)
    if name == EMULATOR_TARGET:
        return TenantChoice(endpoint=None, name=EMULATOR_TARGET)
    if name:
        return _named(project, name, insecure, env)
    found = resolve_endpoint(url, insecure=insecure, env=env)
    if found is None and running_in_ci(env):
        raise DiagnosticError([NO_TARGET_IN_CI])
    return TenantChoice(endpoint=found)


NO_TARGET_IN_CI = Diagnostic(
    "no CRM target is configured and CI is set, so reconcile will not fall back to the embedded emulator",
    hint=f"set {crm_endpoint.URL_VARIABLE} and its credentials (e.g. {crm_endpoint.TOKEN}) from the CI secret store, "
         f"or the system user set ({system_user.SYSTEM_USER_TOKEN}, …; docs/online-ci.md), "
         f"or --target NAME from reconcile.yaml; to use the emulator on purpose: --target {EMULATOR_TARGET} "
         f"(or RECONCILE_TARGET={EMULATOR_TARGET})",
)


def running_in_ci(env: Mapping[str, str]) -> bool:
    """True when the CI variable is set (GitHub Actions, GitLab CI and most CI services set CI=true)."""
    return env.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _named(project: ProjectFile, name: str, insecure: bool, env: Mapping[str, str]) -> TenantChoice:
    spec = project.target_named(name)
    variables = spec.var_strings()
    # Without a url: the embedded emulator, unless a system user set names the tenant.
    if not spec.url and not (spec.credentials is not None and spec.credentials.is_system_user):
        return TenantChoice(endpoint=None, name=name, vars=variables)
    assert spec.credentials is not None  # the project model requires them with a url
    named = spec.credentials.variables()
    problems: list[Diagnostic] = []
    translated: dict[str, str] = {}
    for part, variable in named.items():
        where = project.locate("targets", name, "credentials", part)
        value = env.get(variable)
        if value is None or value.strip() == "":
            state = "is not set" if value is None else "is empty"
            problems.append(
                Diagnostic(
                    f"target '{name}': environment variable {variable} ({part}) {state}",
                    where,
                    hint=f"set {variable}; in CI, from the secret store",
                )
            )
        elif part in _HEADER_PARTS and (not value.isascii() or any(c in value for c in "\r\n\0")):
            problems.append(
                Diagnostic(f"target '{name}': {variable} contains characters that cannot go in an HTTP header", where)
            )
        else:
            translated[_STANDARD[part]] = value
    if problems:
        raise DiagnosticError(problems)
    if spec.credentials.is_system_user:
        # Not secret: the target's own setting, else the environment's.
        for variable, value in ((system_user.ENVIRONMENT, spec.environment), (system_user.LOGIN_URL, spec.loginUrl)):
            if value or env.get(variable):
                translated[variable] = value or env.get(variable, "")
    # Messages name the target's variables, not the standard ones they were mapped onto.
    renamed = {_STANDARD[part]: variable for part, variable in named.items()}

    def rename(text: str) -> str:
        for standard in sorted(renamed, key=len, reverse=True):
            text = text.replace(standard, renamed[standard])
        return text

    try:
        endpoint = resolve_endpoint(spec.url, insecure=insecure or spec.insecure, env=translated)
    except DiagnosticError as error:
        where = project.locate("targets", name, "url" if spec.url else "credentials")
        raise DiagnosticError(
            [dataclasses.replace(
                d, message=rename(d.message.replace("from --url", f"of target '{name}'")),
                hint=rename(d.hint) if d.hint else d.hint, location=where,
            ) for d in error.diagnostics]
        ) from None
    assert endpoint is not None
    system_user_credentials = endpoint.system_user
    if system_user_credentials is not None:
        system_user_credentials = dataclasses.replace(system_user_credentials, renamed=renamed)
    return TenantChoice(
        endpoint=dataclasses.replace(
            endpoint,
            description=f"target '{name}': {rename(endpoint.description)}",
            credential_variables=tuple(named[p] for p in named),
            system_user=system_user_credentials,
        ),
        name=name,
        vars=variables,
    )
