"""Which CRM a command talks to: a named target of reconcile.yaml, --url, or the embedded emulator.

Precedence: `--target NAME` (or RECONCILE_TARGET), then `--url` / SUPEROFFICE_URL,
then the project's `defaultTarget`, then the embedded emulator. A named target
names the environment variables that hold its credentials; errors name those
variables and never show a value.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.crm import target as crm_target
from reconciler.crm.target import Target, resolve_target
from reconciler.diagnostics import Diagnostic, DiagnosticError
from reconciler.project import ProjectFile

# The standard variable each credential part maps to, so that crm.target builds the headers.
_STANDARD = {
    "token": crm_target.TOKEN,
    "ticket": crm_target.TICKET,
    "appToken": crm_target.APP_TOKEN,
    "user": crm_target.USER,
    "password": crm_target.PASSWORD,
}
_HEADER_PARTS = ("token", "ticket", "appToken")


@dataclass(frozen=True)
class Selection:
    """The chosen CRM. `target` None means the embedded emulator."""

    target: Target | None
    name: str | None = None  # the reconcile.yaml target, if one was chosen
    # Values for ${var:NAME}; None when no reconcile.yaml target is chosen.
    vars: Mapping[str, str] | None = None


def select_target(
    project: ProjectFile,
    *,
    name: str | None,
    url: str | None,
    url_on_command_line: bool = False,
    insecure: bool = False,
    env: Mapping[str, str] = os.environ,
) -> Selection:
    if name and url and url_on_command_line:
        raise DiagnosticError(
            [Diagnostic("both --target and --url are given", hint="choose one: --target NAME (from reconcile.yaml) or --url URL")]
        )
    if name:
        return _named(project, name, insecure, env)
    if url:
        return Selection(target=resolve_target(url, insecure=insecure, env=env))
    if project.defaultTarget:
        return _named(project, project.defaultTarget, insecure, env)
    return Selection(target=resolve_target(None, insecure=insecure, env=env))


def _named(project: ProjectFile, name: str, insecure: bool, env: Mapping[str, str]) -> Selection:
    spec = project.target_named(name)
    variables = spec.var_strings()
    if not spec.url:
        return Selection(target=None, name=name, vars=variables)
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
    try:
        target = resolve_target(spec.url, insecure=insecure or spec.insecure, env=translated)
    except DiagnosticError as error:
        where = project.locate("targets", name, "url")
        raise DiagnosticError(
            [dataclasses.replace(d, message=d.message.replace("from --url", f"of target '{name}'"), location=where)
             for d in error.diagnostics]
        ) from None
    assert target is not None
    description = target.description
    for part, variable in named.items():
        description = description.replace(_STANDARD[part], variable)
    return Selection(
        target=dataclasses.replace(
            target,
            description=f"target '{name}': {description}",
            credential_variables=tuple(named[p] for p in named),
        ),
        name=name,
        vars=variables,
    )
