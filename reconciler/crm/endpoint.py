"""Which CRM to talk to and how to authenticate: from `--url` and the environment.

`resolve_endpoint` returns None when no URL and no system user set is given; the
CLI then uses the embedded emulator (core code never imports it). A complete
system user set without a URL targets the tenant the login service names.
Errors name the variables to set and never echo a value.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from reconciler.crm.hosts import is_loopback
from reconciler.crm.systemuser import credentials as system_user
from reconciler.crm.systemuser.credentials import SystemUserCredentials
from reconciler.crm.tenant import TenantLocator
from reconciler.diagnostics import Diagnostic, DiagnosticError
from reconciler.secrets import remember

URL_VARIABLE = "SUPEROFFICE_URL"
TOKEN = "SUPEROFFICE_TOKEN"
TICKET = "SUPEROFFICE_TICKET"
APP_TOKEN = "SUPEROFFICE_APP_TOKEN"
USER = "SUPEROFFICE_USER"
PASSWORD = "SUPEROFFICE_PASSWORD"

BASIC = "Basic auth"

CREDENTIALS_HELP = (
    f"set {TOKEN} (Bearer token), or {TICKET} and {APP_TOKEN} (SOTicket), "
    f"or {USER} and {PASSWORD} (Basic, onsite only), "
    f"or the system user set ({system_user.SYSTEM_USER_TOKEN}, {system_user.PRIVATE_KEY}, "
    f"{APP_TOKEN}, {system_user.CONTEXT_ID}; docs/online-ci.md)"
)


@dataclass(frozen=True)
class CrmEndpoint:
    """A CRM tenant. `headers` carry credentials; `description` is safe to print."""

    # Ends with "/"; the client appends "api/v1/…". None: the system user flow finds it.
    base_url: str | None
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    description: str = ""
    # The variables the credentials came from, for "credentials refused" messages.
    credential_variables: tuple[str, ...] = ()
    # Things the user should know before anything is sent (safe to print).
    warnings: tuple[str, ...] = ()
    system_user: SystemUserCredentials | None = field(default=None, repr=False)
    # Where to ask for the tenant's current host when it answers 421/307, if known.
    locator: TenantLocator | None = None
    insecure: bool = False

    @property
    def auth_hint(self) -> str:
        if self.credential_variables:
            return "check " + " and ".join(self.credential_variables)
        return CREDENTIALS_HELP


def resolve_endpoint(
    url: str | None,
    *,
    insecure: bool = False,
    env: Mapping[str, str] = os.environ,
) -> CrmEndpoint | None:
    """The target named by `url` or SUPEROFFICE_URL, or None for the embedded emulator."""
    source = "--url"
    if not url:
        url = _get(env, URL_VARIABLE)
        source = URL_VARIABLE
    problems: list[Diagnostic] = []
    if system_user.wants_system_user(env):
        credentials = system_user.system_user_from_env(env, problems, insecure=insecure)
        base_url = _normalise_url(url, source, insecure, problems) if url else None
        if problems:
            raise DiagnosticError(problems)
        assert credentials is not None
        where = base_url or f"the tenant {credentials.context_id} names (via {credentials.login_url})"
        return CrmEndpoint(
            base_url=base_url,
            description=f"{where} (system user of '{credentials.token_label}' from {' + '.join(credentials.variables)})",
            credential_variables=credentials.variables,
            system_user=credentials,
            locator=TenantLocator(login_url=credentials.login_url, context_id=credentials.context_id),
            insecure=insecure,
        )
    if not url:
        return None
    base_url = _normalise_url(url, source, insecure, problems)
    auth = _auth(env, problems)
    if problems:
        raise DiagnosticError(problems)
    assert base_url is not None and auth is not None
    headers, scheme, variables = auth
    for value in (*headers.values(), *(_get(env, name) for name in variables)):
        remember(value)  # kept out of the debug log
    return CrmEndpoint(
        base_url=base_url,
        headers=headers,
        description=f"{base_url} ({scheme} from {' + '.join(variables)})",
        credential_variables=variables,
        warnings=_auth_warnings(base_url, scheme),
        locator=TenantLocator.guess(
            base_url,
            context_id=_get(env, system_user.CONTEXT_ID),
            login_url=_get(env, system_user.LOGIN_URL),
        ),
        insecure=insecure,
    )


def is_online_host(base_url: str) -> bool:
    """A SuperOffice Online host (sod/sod2/online….superoffice.com)."""
    host = (urlsplit(base_url).hostname or "").lower().rstrip(".")
    return host == "superoffice.com" or host.endswith(".superoffice.com")


def _auth_warnings(base_url: str, scheme: str) -> tuple[str, ...]:
    # Basic auth is onsite only and "not allowed in Online"
    # (docs/api/authentication/onsite-web-api/index.md, docs/api/authentication/online/auth-header-types.md).
    if scheme == BASIC and is_online_host(base_url):
        host = urlsplit(base_url).hostname
        return (
            f"Basic auth ({USER}/{PASSWORD}) is for onsite installations; SuperOffice Online ({host}) "
            f"does not accept it: use {TOKEN} (Bearer), or {TICKET} and {APP_TOKEN} (SOTicket)",
        )
    return ()


def checked_url(url: str, *, insecure: bool) -> str:
    """A tenant URL the login service named, held to the same rules as --url."""
    problems: list[Diagnostic] = []
    base_url = _normalise_url(url, "the login service", insecure, problems)
    if problems or base_url is None:
        raise DiagnosticError(problems)
    return base_url


def _get(env: Mapping[str, str], name: str) -> str:
    return (env.get(name) or "").strip()


def _normalise_url(
    url: str, source: str, insecure: bool, problems: list[Diagnostic]
) -> str | None:
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        problems.append(_bad_url(source, "is not a valid URL"))
        return None
    if parts.username is not None or parts.password is not None:
        # Do not echo the URL: it holds credentials.
        problems.append(
            Diagnostic(
                f"the CRM URL from {source} contains credentials",
                hint=f"remove them from the URL and {CREDENTIALS_HELP}",
            )
        )
        return None
    if parts.scheme not in ("http", "https") or not host:
        problems.append(
            _bad_url(source, f"'{url}' is not an http(s) URL with a host name")
        )
        return None
    if parts.query or parts.fragment:
        problems.append(_bad_url(source, f"'{url}' has a query or fragment; give the tenant base URL"))
        return None
    if parts.scheme == "http" and not is_loopback(host) and not insecure:
        problems.append(
            Diagnostic(
                f"refusing plain http to {host}: credentials would travel unencrypted",
                hint="use https, or pass --insecure if you really mean it",
            )
        )
        return None
    path = parts.path.rstrip("/")
    # Tolerate the API root being given instead of the tenant base.
    for suffix in ("/api/v1", "/api"):
        if path.lower().endswith(suffix):
            path = path[: -len(suffix)]
            break
    return urlunsplit((parts.scheme, parts.netloc, path + "/", "", ""))


def _bad_url(source: str, what: str) -> Diagnostic:
    return Diagnostic(
        f"the CRM URL from {source}: {what}",
        hint="expected e.g. https://sod.superoffice.com/Cust12345/",
    )


def _auth(
    env: Mapping[str, str], problems: list[Diagnostic]
) -> tuple[dict[str, str], str, tuple[str, ...]] | None:
    token, ticket, app_token = _get(env, TOKEN), _get(env, TICKET), _get(env, APP_TOKEN)
    user, password = _get(env, USER), env.get(PASSWORD) or ""
    before = len(problems)
    for first, second, a, b in ((TICKET, APP_TOKEN, ticket, app_token), (USER, PASSWORD, user, password)):
        if bool(a) != bool(b):
            have, missing = (first, second) if a else (second, first)
            problems.append(
                Diagnostic(
                    f"{have} is set but {missing} is not",
                    hint=f"set {missing} as well, or unset {have}",
                )
            )
    # USER/PASSWORD are base64-encoded, so only the raw header values must be ASCII.
    for name in (TOKEN, TICKET, APP_TOKEN):
        value = _get(env, name)
        if not value.isascii() or any(c in value for c in "\r\n\0"):
            problems.append(
                Diagnostic(f"{name} contains characters that cannot go in an HTTP header")
            )
    if len(problems) > before:
        return None
    # Precedence when several schemes are complete: Bearer, then SOTicket, then Basic.
    if token:
        return {"Authorization": f"Bearer {token}"}, "Bearer token", (TOKEN,)
    if ticket:
        return (
            {"Authorization": f"SOTicket {ticket}", "SO-AppToken": app_token},
            "SOTicket",
            (TICKET, APP_TOKEN),
        )
    if user:
        raw = f"{user}:{password}".encode("utf-8")
        return (
            {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")},
            BASIC,
            (USER, PASSWORD),
        )
    problems.append(Diagnostic("no credentials for the CRM target", hint=CREDENTIALS_HELP))
    return None
