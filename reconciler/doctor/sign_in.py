"""Doctor rows for a target that signs in with the system user flow: the credential kind, the
exchange, the ticket's remaining life and the host in use (docs/online-ci.md). Other targets
show their credentials in the "credentials" row and their host in the "endpoint" row."""

from __future__ import annotations

from reconciler.crm.client import CrmClient
from reconciler.crm.systemuser.auth import SystemUserAuth
from reconciler.crm.systemuser.errors import SystemUserError
from reconciler.doctor.row import Check

CREDENTIAL_KIND = "Credential kind in use"
EXCHANGE = "System user exchange works"
TICKET_LIFE = "Ticket's remaining life"
HOST = "Host in use"


def credential_kind(description: str) -> Check:
    return Check("credential_kind", CREDENTIAL_KIND, "pass", description)


def exchange_failed(error: SystemUserError) -> Check:
    problem = error.diagnostics[0]
    return Check("exchange", EXCHANGE, "fail", problem.message, problem.hint or "")


async def exchange_row(auth: SystemUserAuth) -> Check:
    """Whether the login service gives a ticket whose JWT validates (one exchange, shared with the checks)."""
    try:
        await auth.ticket()
    except SystemUserError as error:
        return exchange_failed(error)
    return Check(
        "exchange", EXCHANGE, "pass",
        f"ticket issued by {auth.credentials.login_url}; the JWT's signature, issuer, audience and expiry are valid",
    )


def ticket_and_host_rows(client: CrmClient, auth: SystemUserAuth) -> list[Check]:
    """Rows for after the checks: the ticket's life and the host the run used."""
    host = client.base_url if auth.moved is None else f"{auth.moved[1]} (the tenant moved from {auth.moved[0]})"
    left = auth.remaining_life_s() or 0.0
    hours, minutes = divmod(int(left) // 60, 60)
    return [
        Check("ticket_life", TICKET_LIFE, "pass",
              f"about {hours} h {minutes:02d} min (documented: 6 h from its last use; renewed by itself on a 401)"),
        Check("host", HOST, "pass", host),
    ]
