"""One exchange at the login service: SignedSystemToken in, validated JWT out, ticket kept.

Vendor docs (SuperOfficeDocs/superoffice-docs):
docs/en/api/authentication/online/auth-application/get-system-user-ticket.md (the request),
docs/en/api/authentication/online/validate-security-tokens.md (issuer `SuperOffice AS`,
audience `spn:<serial>`, the environment's JWKS), docs/api/authentication/online/error-codes.md
(InvalidTimestamp, InvalidSignature, …; the exact ErrorMessage texts are not documented).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import httpx
import jwt

from reconciler.crm.systemuser.credentials import (
    APP_TOKEN,
    CONTEXT_ID,
    ENVIRONMENT,
    LOGIN_URL,
    SYSTEM_USER_TOKEN,
    SystemUserCredentials,
)
from reconciler.crm.systemuser.errors import SystemUserError
from reconciler.crm.systemuser.signing import signed_system_token, timestamp
from reconciler.secrets import remember, scrub

AUTHENTICATE_PATH = "Login/api/PartnerSystemUser/Authenticate"
JWKS_PATH = "login/.well-known/jwks"
ISSUER = "SuperOffice AS"
CLAIM = "http://schemes.superoffice.net/identity/"
# The vendor samples allow 2-5 minutes of clock difference when validating.
LEEWAY_S = 120
# Documented ticket life: 6 hours, sliding (docs/en/developer-portal/best-practices/credential-management.md).
TICKET_LIFE_S = 6 * 3600

Clock = Callable[[], datetime]
log = logging.getLogger("reconciler.crm.systemuser")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Ticket:
    value: str = field(repr=False)
    webapi_url: str | None  # the tenant's REST base as the JWT names it, if it does
    obtained_at: float  # time.monotonic()


async def exchange(http: httpx.AsyncClient, credentials: SystemUserCredentials, clock: Clock = utc_now) -> Ticket:
    """A fresh ticket; signs immediately before posting (the timestamp has minute resolution)."""
    now = clock()
    signed = signed_system_token(credentials.system_user_token, credentials.private_key, now)
    remember(signed)
    body = {
        "SignedSystemToken": signed,
        "ApplicationToken": credentials.app_token,
        "ContextIdentifier": credentials.context_id,
        "ReturnTokenType": "JWT",
    }
    answer = await _call(http, "POST", credentials.login_url + AUTHENTICATE_PATH, credentials, json_body=body)
    if not isinstance(answer, dict) or not isinstance(answer.get("IsSuccessful"), bool):
        raise SystemUserError(
            f"the login service at {credentials.login_url} answered the system user exchange with an unexpected body",
            hint=f"check {LOGIN_URL} / {ENVIRONMENT}",
        )
    if not answer["IsSuccessful"]:
        raise _refused(answer.get("ErrorMessage"), credentials, now)
    token = answer.get("Token")
    if not isinstance(token, str) or not token:
        raise SystemUserError("the login service reported success but sent no token", hint="try again later")
    remember(token)
    claims = await _validated_claims(http, token, credentials)
    ticket = claims.get(CLAIM + "ticket")
    if not isinstance(ticket, str) or not ticket or not ticket.isascii() or any(c in ticket for c in "\r\n\0"):
        raise SystemUserError("the login service's JWT carries no usable ticket claim", hint="try again later")
    remember(ticket)
    context = claims.get(CLAIM + "ctx")
    if context is not None and context != credentials.context_id:
        raise SystemUserError(
            f"the login service's JWT is for tenant {context}, not {credentials.context_id}",
            hint=f"check {credentials.name(CONTEXT_ID)}",
        )
    webapi_url = claims.get(CLAIM + "webapi_url")
    return Ticket(
        value=ticket,
        webapi_url=webapi_url if isinstance(webapi_url, str) and webapi_url else None,
        obtained_at=time.monotonic(),
    )


def _refused(message: Any, credentials: SystemUserCredentials, now: datetime) -> SystemUserError:
    reason = _clean(message) or "no reason given"
    lowered = reason.lower()
    text = f"the SuperOffice login service refused the system user exchange for {credentials.context_id}: {reason}"
    if "timestamp" in lowered:
        text += f" (signed with local UTC time {now.astimezone(timezone.utc):%Y-%m-%d %H:%M}, {timestamp(now)})"
        hint = "the runner's clock is off: sync it with NTP, then run again"
    elif "signature" in lowered:
        hint = f"{credentials.key_variable} does not match a certificate registered for the app in the Developer Portal"
    elif "application" in lowered or "apptoken" in lowered or "secret" in lowered:
        hint = f"check {credentials.name(APP_TOKEN)}: the app's client secret for this environment"
    elif "tenant" in lowered or "context" in lowered:
        hint = f"check {credentials.name(CONTEXT_ID)}"
    else:
        hint = f"check {credentials.name(SYSTEM_USER_TOKEN)}, {credentials.key_variable}, {credentials.name(APP_TOKEN)} and {credentials.name(CONTEXT_ID)}; the tenant admin may have to approve the app again"
    return SystemUserError(text, hint=hint)


def _clean(message: Any) -> str:
    """The service's ErrorMessage on one line, capped, with any secret it echoes masked."""
    if not isinstance(message, str):
        return ""
    return scrub(" ".join(message.split()))[:300]


async def _call(
    http: httpx.AsyncClient, verb: str, url: str, credentials: SystemUserCredentials, *, json_body: Any = None
) -> Any:
    what = "the system user exchange" if json_body is not None else f"GET {url}"
    started = time.perf_counter()
    try:
        response = await http.request(
            verb, url, content=None if json_body is None else json.dumps(json_body).encode("utf-8"),
            headers={"Accept": "application/json", **({"Content-Type": "application/json"} if json_body is not None else {})},
        )
    except httpx.HTTPError as error:
        raise SystemUserError(
            f"could not reach the SuperOffice login service at {credentials.login_url} "
            f"for {what}: {type(error).__name__}",
            hint=f"check {LOGIN_URL} / {ENVIRONMENT} and the network",
        ) from None
    if log.isEnabledFor(logging.DEBUG):
        # The path only: never a body, a header or a query.
        log.debug("%s %s -> %s in %.1f ms (login service)", verb, httpx.URL(url).path, response.status_code,
                  (time.perf_counter() - started) * 1000)
    if not 200 <= response.status_code < 300:
        # The body is not shown: nothing documents what it may echo back.
        raise SystemUserError(
            f"the SuperOffice login service answered {what} with HTTP {response.status_code}",
            hint=f"check {LOGIN_URL} / {ENVIRONMENT}, and {credentials.name(SYSTEM_USER_TOKEN)}, {credentials.name(APP_TOKEN)} and {credentials.name(CONTEXT_ID)}",
        )
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise SystemUserError(
            f"the SuperOffice login service answered {what} with a body that is not JSON",
            hint=f"check {LOGIN_URL} / {ENVIRONMENT}",
        ) from None


async def _validated_claims(http: httpx.AsyncClient, token: str, credentials: SystemUserCredentials) -> dict[str, Any]:
    jwks_url = credentials.login_url + JWKS_PATH
    bad = "the login service's JWT"
    try:
        header = jwt.get_unverified_header(token)
        serial = jwt.decode(token, options={"verify_signature": False}).get(CLAIM + "serial")
    except jwt.InvalidTokenError:
        raise SystemUserError(f"{bad} is not a well-formed JWT", hint="check the login service URL") from None
    if header.get("alg") != "RS256":
        raise SystemUserError(f"{bad} is signed with {header.get('alg')!r}, not RS256", hint="refusing it")
    if not isinstance(serial, str | int) or str(serial) == "":
        raise SystemUserError(f"{bad} has no serial claim, so its audience cannot be checked", hint="refusing it")
    key = _signing_key(await _call(http, "GET", jwks_url, credentials), header.get("kid"), jwks_url)
    try:
        return jwt.decode(
            token, key, algorithms=["RS256"], issuer=ISSUER, audience=f"spn:{serial}", leeway=LEEWAY_S,
            options={"require": ["exp", "iss", "aud"]},
        )
    except jwt.InvalidIssuerError:
        raise SystemUserError(f"{bad} has the wrong issuer (expected '{ISSUER}')", hint="refusing it: check the login service URL") from None
    except jwt.InvalidAudienceError:
        raise SystemUserError(f"{bad} has the wrong audience (expected 'spn:{serial}')", hint="refusing it: check the login service URL") from None
    except jwt.ExpiredSignatureError:
        raise SystemUserError(f"{bad} has already expired", hint="the runner's clock may be off: sync it with NTP") from None
    except jwt.ImmatureSignatureError:
        raise SystemUserError(f"{bad} is not valid yet", hint="the runner's clock may be off: sync it with NTP") from None
    except jwt.InvalidSignatureError:
        raise SystemUserError(f"{bad} is not signed by the key published at {jwks_url}", hint="refusing it: check the login service URL") from None
    except jwt.InvalidTokenError as error:
        raise SystemUserError(f"{bad} is not valid ({type(error).__name__})", hint="refusing it") from None


def _signing_key(jwks: Any, kid: Any, jwks_url: str) -> Any:
    try:
        keys = jwt.PyJWKSet.from_dict(jwks).keys
    except (jwt.PyJWKSetError, jwt.InvalidKeyError, TypeError, AttributeError, KeyError):
        raise SystemUserError(f"{jwks_url} holds no usable signing key", hint="check the login service URL") from None
    if kid is not None:
        for key in keys:
            if key.key_id == kid:
                return key.key
        raise SystemUserError(f"the login service's JWT names a key ({kid}) that {jwks_url} does not publish",
                              hint="refusing it: check the login service URL")
    # No source shows whether this JWT carries a kid: accept a lone published key.
    if len(keys) == 1:
        return keys[0].key
    raise SystemUserError(f"the login service's JWT names no key and {jwks_url} publishes several",
                          hint="refusing it")
