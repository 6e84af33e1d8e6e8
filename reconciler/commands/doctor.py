"""`reconcile doctor`: a read-only self-check of a target, for the first day with a real tenant."""

from __future__ import annotations

import asyncio

import click

from reconciler.commands._common import OpenCrm, choose_target, connection_options, open_crm, output_option
from reconciler.commands.many_targets import ManyTargets, many_target_options, refuse_with_many
from reconciler.commands.error_handler import EXIT_ERROR, EXIT_OK
from reconciler.crm.errors import CREDENTIAL_VARIABLES
from reconciler.crm.systemuser.errors import SystemUserError
from reconciler.fleet.selection import is_many
from reconciler.doctor.checks import run_checks
from reconciler.doctor.row import Check
from reconciler.doctor.sign_in import credential_kind, exchange_failed, exchange_row, ticket_and_host_rows
from reconciler.doctor.render import all_passed, render_json, render_text
from reconciler.tenant_choice import TenantChoice


@click.command("doctor")
@many_target_options
@connection_options
@output_option("text", "json")
def doctor(targets: tuple[str, ...], all_targets: bool, target_parallelism: int, url: str | None, insecure: bool,
           parallelism: int, output: str) -> int:
    """Check that a target is ready: sign-in, endpoint, credentials, agents, users, archives, connectors,
    sync configuration, host.

    Read-only: it sends no write. One row per check says what it found and,
    when the check fails, what to do. A note (i) is not a failure: it says what
    this tenant means for plan and apply.

    \b
    Exit codes: 0 every check passed or is a note, 1 otherwise.

    \b
    Examples:
      reconcile doctor --url https://sod2.superoffice.com/Cust12345/
      reconcile doctor --target production --output json
      reconcile doctor --all-targets
    """
    if is_many(targets, all_targets):
        from reconciler.commands.doctor_many import doctor_many

        if click.get_current_context().get_parameter_source("url") is click.core.ParameterSource.COMMANDLINE:
            refuse_with_many({"--url": url}, "targets take their URLs from reconcile.yaml; leave out --url")
        return doctor_many(ManyTargets.choose(targets, all_targets, paths=(), insecure=insecure,
                                              parallelism=parallelism, target_parallelism=target_parallelism), output)
    selection = choose_target(targets[0] if targets else None, url, insecure=insecure)
    run = check_target(selection, insecure=insecure, parallelism=parallelism)
    checks, description = asyncio.run(run)
    if output == "json":
        click.echo(render_json(checks, description), nl=False)
    else:
        click.echo(render_text(checks, description), nl=False)
    return EXIT_OK if all_passed(checks) else EXIT_ERROR


async def check_target(selection: TenantChoice, *, insecure: bool, parallelism: int) -> tuple[list[Check], str]:
    """Every check of one target, and the target described without credentials."""
    auth_hint = selection.endpoint.auth_hint if selection.endpoint is not None else f"set {CREDENTIAL_VARIABLES}"
    try:
        async with open_crm(selection, insecure=insecure, parallelism=parallelism) as crm:
            checks = await run_checks(crm.client, description=crm.description, auth_hint=auth_hint) \
                if crm.auth is None else await _system_user_checks(crm, auth_hint)
            return checks, crm.description
    except SystemUserError as error:
        # Without a URL the exchange runs first, to find the tenant's host.
        assert selection.endpoint is not None
        return [credential_kind(selection.endpoint.description), exchange_failed(error)], selection.endpoint.description


async def _system_user_checks(crm: OpenCrm, auth_hint: str) -> list[Check]:
    """With the system user flow: how it signs in (credential kind, the exchange) first, then
    the common checks, then the ticket's remaining life and the host the run used."""
    assert crm.auth is not None
    sign_in = [credential_kind(crm.description), await exchange_row(crm.auth)]
    if sign_in[-1].status != "pass":
        return sign_in
    checks = await run_checks(crm.client, description=crm.description, auth_hint=auth_hint)
    return sign_in + checks + ticket_and_host_rows(crm.client, crm.auth)
