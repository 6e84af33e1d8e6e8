"""What every command that talks to the CRM shares: options, the target, error reporting."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from reconciler.crm.client import CrmClient
from reconciler.diagnostics import Diagnostic, DiagnosticError
from reconciler.project import load_project
from reconciler.target_selection import Selection, select_target

F = TypeVar("F", bound=Callable[..., Any])
EMBEDDED_STATE = Path(".reconcile") / "emulator.sqlite"
EMBEDDED_STATE_VARIABLE = "RECONCILE_EMULATOR_STATE"


def print_diagnostics(problems: list[Diagnostic] | tuple[Diagnostic, ...], *, as_json: bool = False) -> None:
    if as_json:
        click.echo(json.dumps({"errors": [p.to_dict() for p in problems]}, indent=2))
    for problem in problems:
        click.echo(f"error: {problem}", err=True)
    if len(problems) > 1:
        click.echo(f"{len(problems)} errors", err=True)


def reports_errors(as_json_option: str | None = None) -> Callable[[F], F]:
    """Turn DiagnosticError into its messages and exit 1; never show a traceback."""

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            as_json = bool(as_json_option) and kwargs.get(as_json_option) == "json"
            try:
                return command(*args, **kwargs)
            except DiagnosticError as error:
                print_diagnostics(error.diagnostics, as_json=as_json)
                sys.exit(1)
            except KeyboardInterrupt:
                click.echo("interrupted", err=True)
                sys.exit(130)
            except (click.exceptions.Exit, click.ClickException, SystemExit):
                raise
            except Exception as error:  # noqa: BLE001 - a message, never a traceback
                # Only the type: an unexpected message could carry anything, even a secret.
                problem = Diagnostic(
                    f"internal error ({type(error).__name__}); this is a bug in reconcile",
                    hint="please report it with the command you ran",
                )
                print_diagnostics([problem], as_json=as_json)
                sys.exit(1)

        return wrapper  # type: ignore[return-value]

    return decorate


target_option = click.option(
    "--target", "target", envvar="RECONCILE_TARGET", default=None, metavar="NAME",
    help="A target of reconcile.yaml (its URL, credential variables and vars) [env RECONCILE_TARGET].",
)


def choose_target(target: str | None, url: str | None, *, insecure: bool = False) -> Selection:
    """The CRM for this command from --target/--url/the environment/reconcile.yaml."""
    context = click.get_current_context(silent=True)
    source = context.get_parameter_source("url") if context is not None else None
    return select_target(
        load_project(), name=target, url=url, insecure=insecure,
        url_on_command_line=source is click.core.ParameterSource.COMMANDLINE,
    )


def target_options(command: F) -> F:
    for option in reversed(
        [
            target_option,
            click.option("--url", envvar="SUPEROFFICE_URL", default=None, metavar="URL",
                         help="Tenant base URL, e.g. https://sod.superoffice.com/Cust12345/ "
                              "[env SUPEROFFICE_URL]. Default: reconcile.yaml defaultTarget, else the embedded emulator."),
            click.option("--insecure", is_flag=True, help="Allow plain http to a non-loopback host."),
            click.option("--parallelism", type=click.IntRange(1, 256), default=8, show_default=True,
                         help="Concurrent requests to the CRM."),
        ]
    ):
        command = option(command)
    return command


def manifest_option(command: F) -> F:
    return click.option(
        "-f", "--filename", "paths", multiple=True, required=True, metavar="PATH",
        help="Manifest file or directory (*.yaml/*.yml, recursive). Repeatable.",
    )(command)


@dataclass(frozen=True)
class OpenTarget:
    client: CrmClient
    identity: str  # what a saved plan records: the base URL, or the emulator state file
    description: str  # safe to print


@asynccontextmanager
async def open_target(
    url: str | None | Selection, *, insecure: bool, parallelism: int
) -> AsyncIterator[OpenTarget]:
    """A connected client for a chosen target (or --url/SUPEROFFICE_URL), else for the embedded emulator."""
    selection = url if isinstance(url, Selection) else choose_target(None, url, insecure=insecure)
    target = selection.target
    if target is None:
        from reconciler.emulator.embedded import open_embedded  # the CLI's choice; core never imports it

        state = Path(os.environ.get(EMBEDDED_STATE_VARIABLE) or EMBEDDED_STATE)
        embedded = open_embedded(state)
        click.echo(
            f"Using the embedded SuperOffice emulator ({state}); "
            + (f"target '{selection.name}' has no url." if selection.name
               else "set SUPEROFFICE_URL or --url (or --target) for a real tenant."),
            err=True,
        )
        client = CrmClient(embedded.base_url, headers=embedded.headers, transport=embedded.transport, parallelism=parallelism)
        identity = description = f"embedded emulator ({state})"
    else:
        client = CrmClient(target.base_url, headers=target.headers, parallelism=parallelism, auth_hint=target.auth_hint)
        identity = target.base_url
        description = target.description
    async with client:
        yield OpenTarget(client=client, identity=identity, description=description)
