"""What every command that talks to the CRM shares: options, the target, error reporting."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click
from click.shell_completion import CompletionItem

from reconciler.crm.client import CrmClient
from reconciler.commands.error_handler import remember_output_format
from reconciler.crm.systemuser.auth import SystemUserAuth
from reconciler.crm.endpoint import CrmEndpoint, checked_url
from reconciler.diagnostics import Diagnostic, DiagnosticError
from reconciler.project import EMULATOR_TARGET, load_project
from reconciler.tenant_choice import TenantChoice, choose_tenant

F = TypeVar("F", bound=Callable[..., Any])
EMBEDDED_STATE = Path(".reconcile") / "emulator.sqlite"
EMBEDDED_STATE_VARIABLE = "RECONCILE_EMULATOR_STATE"
DEFAULT_TEST_TIMEOUT = 60.0  # seconds a connector test may take: the ERP behind it can be slow


def output_option(*formats: str) -> Callable[[F], F]:
    """--output/-o; with `json`, errors are a JSON document on stdout too."""
    return click.option(
        "--output", "-o", type=click.Choice(list(formats)), default=formats[0], show_default=True,
        callback=remember_output_format, help="text for people, json for tools" + (", markdown for a PR comment." if "markdown" in formats else "."),
    )


def complete_targets(_ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Shell completion for --target: reconcile.yaml's targets, and the emulator."""
    try:
        names = sorted(load_project().targets)
    except DiagnosticError:
        names = []  # a broken reconcile.yaml: complete what is certain
    return [CompletionItem(name) for name in [*names, EMULATOR_TARGET] if name.startswith(incomplete)]


target_option = click.option(
    "--target", "target", envvar="RECONCILE_TARGET", default=None, metavar="NAME", shell_complete=complete_targets,
    help="A target of reconcile.yaml (its URL, credential variables and vars), or 'emulator' for the embedded "
         "emulator [env RECONCILE_TARGET].",
)


def choose_target(target: str | None, url: str | None, *, insecure: bool = False) -> TenantChoice:
    """The CRM for this command from --target/--url/the environment/reconcile.yaml."""
    context = click.get_current_context(silent=True)
    source = context.get_parameter_source("url") if context is not None else None
    selection = choose_tenant(
        load_project(), name=target, url=url, insecure=insecure,
        url_on_command_line=source is click.core.ParameterSource.COMMANDLINE,
    )
    for warning in selection.endpoint.warnings if selection.endpoint is not None else ():
        click.echo(f"warning: {warning}", err=True)
    return selection


def target_options(command: F) -> F:
    return target_option(connection_options(command))


def connection_options(command: F) -> F:
    """--url, --insecure, --parallelism: how to reach the CRM (target_options without --target)."""
    for option in reversed(
        [
            click.option("--url", envvar="SUPEROFFICE_URL", default=None, metavar="URL",
                         help="Tenant base URL, e.g. https://sod.superoffice.com/Cust12345/ "
                              "[env SUPEROFFICE_URL]. Default: reconcile.yaml defaultTarget, else the tenant a "
                              "system user set names (docs/online-ci.md), else the embedded emulator "
                              "(refused when CI is set: use --target emulator)."),
            click.option("--insecure", is_flag=True, help="Allow plain http to a non-loopback host."),
            click.option("--parallelism", type=click.IntRange(1, 256), default=8, show_default=True,
                         help="Concurrent requests to the CRM."),
        ]
    ):
        command = option(command)
    return command


# A click.Path only for shell completion of files and directories; the loader reports a missing one.
MANIFEST_PATH = click.Path(path_type=str)


def manifest_option(command: F) -> F:
    return click.option(
        "-f", "--filename", "paths", multiple=True, required=True, metavar="PATH", type=MANIFEST_PATH,
        help="Manifest file or directory (*.yaml/*.yml, recursive). Repeatable.",
    )(command)


@dataclass(frozen=True)
class OpenCrm:
    client: CrmClient
    identity: str  # what a saved plan records: the base URL, or the emulator state file
    description: str  # safe to print
    auth: SystemUserAuth | None = None  # the system user flow's ticket handling, when it signs in


@asynccontextmanager
async def open_crm(
    url: str | None | TenantChoice, *, insecure: bool, parallelism: int, test_timeout: float = DEFAULT_TEST_TIMEOUT
) -> AsyncIterator[OpenCrm]:
    """A connected client for a chosen target (or --url/SUPEROFFICE_URL), else for the embedded emulator."""
    selection = url if isinstance(url, TenantChoice) else choose_target(None, url, insecure=insecure)
    endpoint = selection.endpoint
    if endpoint is None:
        from reconciler.emulator.embedded import open_embedded  # the CLI's choice; core never imports it

        state = Path(os.environ.get(EMBEDDED_STATE_VARIABLE) or EMBEDDED_STATE)
        embedded = open_embedded(state)
        click.echo(
            f"Using the embedded SuperOffice emulator ({state}); "
            + (f"--target {EMULATOR_TARGET}." if selection.name == EMULATOR_TARGET
               else f"target '{selection.name}' has no url." if selection.name
               else "set SUPEROFFICE_URL or --url (or --target) for a real tenant."),
            err=True,
        )
        client = CrmClient(embedded.base_url, headers=embedded.headers, transport=embedded.transport,
                           parallelism=parallelism, test_timeout=test_timeout)
        identity = description = f"embedded emulator ({state})"
    elif endpoint.system_user is not None:
        async with open_system_user(endpoint, parallelism=parallelism, test_timeout=test_timeout) as opened:
            yield opened
        return
    else:
        assert endpoint.base_url is not None
        client = CrmClient(
            endpoint.base_url, headers=endpoint.headers, parallelism=parallelism, auth_hint=endpoint.auth_hint,
            test_timeout=test_timeout, locator=endpoint.locator,
        )
        identity = endpoint.base_url
        description = endpoint.description
    async with client:
        yield OpenCrm(client=client, identity=identity, description=description)


@asynccontextmanager
async def open_system_user(endpoint: CrmEndpoint, *, parallelism: int, test_timeout: float) -> AsyncIterator[OpenCrm]:
    """A client that signs in with the system user flow; the host comes from the login service
    unless the target names one. The saved-plan identity is the tenant, so a host move keeps plans valid."""
    credentials = endpoint.system_user
    assert credentials is not None
    async with SystemUserAuth(credentials, notify=lambda message: click.echo(f"note: {message}", err=True)) as auth:
        base_url = endpoint.base_url
        if base_url is None:
            found = await auth.tenant_base_url()
            if found is None:
                raise DiagnosticError([Diagnostic(
                    f"the login service named no API URL for tenant {credentials.context_id}",
                    hint="set SUPEROFFICE_URL (or the target's url) to the tenant's URL, e.g. https://online2.superoffice.com/Cust12345/",
                )])
            base_url = checked_url(found, insecure=endpoint.insecure)
        client = CrmClient(
            base_url, parallelism=parallelism, auth_hint=endpoint.auth_hint, test_timeout=test_timeout,
            auth=auth, locator=endpoint.locator,
        )
        description = endpoint.description if endpoint.base_url else f"{base_url}: {endpoint.description}"
        async with client:
            yield OpenCrm(
                client=client,
                identity=f"tenant {credentials.context_id} via {credentials.login_url}",
                description=description,
                auth=auth,
            )
