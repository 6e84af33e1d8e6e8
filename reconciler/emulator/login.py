"""The emulator as SuperOffice's login service for the system user flow.

Mirrors the vendor docs (SuperOfficeDocs/superoffice-docs):
* POST /Login/api/PartnerSystemUser/Authenticate
  (docs/en/api/authentication/online/auth-application/get-system-user-ticket.md): checks the
  ReturnTokenType, tenant, client secret, system user token, the PKCS#1 v1.5/SHA-256 signature
  and the timestamp window; answers 200 {IsSuccessful, ErrorMessage, Token}. The ErrorMessage
  texts are undocumented; these use the codes of docs/api/authentication/online/error-codes.md.
* The JWT: RS256 with the emulator's own key, `kid`, iss `SuperOffice AS`, aud `spn:<serial>`
  and the ticket/ctx/serial/webapi_url claims (docs/en/api/authentication/online/validate-security-tokens.md).
* GET /login/.well-known/jwks and /login/.well-known/openid-configuration
  (docs/en/api/authentication/online/api.md).
* GET /api/state/{ctx}: the tenant status API
  (docs/en/developer-portal/best-practices/tenant-status/tenant-status-api.md).
* Tickets: 401 once expired (6 h sliding by default; a test can make it short and fixed);
  421 for a tenant API call on another host than the tenant's (docs/en/apps/tenant-status/status-page.md).
"""

from __future__ import annotations

import base64
import functools
import binascii
import hmac
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from reconciler.emulator.seed import SystemUserSpec

CLAIM = "http://schemes.superoffice.net/identity/"
ISSUER = "SuperOffice AS"
KEY_ID = "emulator-demo-1"


@dataclass
class LoginOptions:
    """Knobs for tests (PUT /_emulator/login); None means the documented behaviour."""

    ticket_ttl_s: float
    ticket_sliding: bool = True
    tenant_host: str | None = None  # the host serving the tenant; others answer 421
    timestamp_window_s: int = 300
    jwt_issuer: str | None = None  # a wrong issuer, to test the client's validation
    jwt_audience: str | None = None  # a wrong audience, likewise
    clock_offset_s: float = 0  # the service's clock runs this far ahead, to test a skewed client

    def update(self, body: Mapping[str, Any]) -> None:
        checks: dict[str, Callable[[Any], bool]] = {
            "ticket_ttl_s": lambda v: isinstance(v, int | float) and not isinstance(v, bool) and v > 0,
            "ticket_sliding": lambda v: isinstance(v, bool),
            "tenant_host": lambda v: v is None or (isinstance(v, str) and bool(v)),
            "timestamp_window_s": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
            "jwt_issuer": lambda v: v is None or isinstance(v, str),
            "jwt_audience": lambda v: v is None or isinstance(v, str),
            "clock_offset_s": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        }
        for key, value in body.items():
            if key not in checks or not checks[key](value):
                raise ValueError(f"login option {key!r}: unknown or invalid value; options are {', '.join(checks)}")
        for key, value in body.items():
            setattr(self, key, value)


@dataclass
class _Ticket:
    expires_at: float


@dataclass
class LoginService:
    spec: SystemUserSpec
    options: LoginOptions
    wall_clock: Callable[[], float] = time.time
    exchanges: int = 0
    _tickets: dict[str, _Ticket] = field(default_factory=dict)

    # Loaded on first use: most emulator runs never see a login.
    @functools.cached_property
    def _app_key(self) -> rsa.RSAPublicKey:
        return _private_key(self.spec.app_private_key).public_key()

    @functools.cached_property
    def _issuer_key(self) -> rsa.RSAPrivateKey:
        return _private_key(self.spec.issuer_private_key)

    def clock(self) -> float:
        return self.wall_clock() + self.options.clock_offset_s

    @classmethod
    def from_spec(cls, spec: SystemUserSpec) -> "LoginService":
        return cls(spec=spec, options=LoginOptions(ticket_ttl_s=spec.ticket_ttl_s, timestamp_window_s=spec.timestamp_window_s))

    # --- the exchange --------------------------------------------------------

    def authenticate(self, body: Any, tenant_base: str) -> dict[str, Any]:
        """The Authenticate answer; `tenant_base` is the tenant's URL, e.g. http://localhost:8765/Cust12345/."""
        refused = self._refusal(body)
        if refused is not None:
            return {"IsSuccessful": False, "ErrorMessage": refused, "Token": None}
        self.exchanges += 1
        ticket = "7T:" + secrets.token_urlsafe(24)
        self._tickets[ticket] = _Ticket(expires_at=self.clock() + self.options.ticket_ttl_s)
        return {"IsSuccessful": True, "ErrorMessage": None, "Token": self._jwt(ticket, tenant_base)}

    def _refusal(self, body: Any) -> str | None:
        if not isinstance(body, dict):
            return "The request body must be a JSON object"
        signed, app_token, context = (body.get(k) for k in ("SignedSystemToken", "ApplicationToken", "ContextIdentifier"))
        if str(body.get("ReturnTokenType", "")).lower() != "jwt":
            return "Unsupported ReturnTokenType (use JWT)"
        if not isinstance(context, str) or context.lower() != self.spec.context_id.lower():
            return f"Denied: unknown tenant {context!r}" if isinstance(context, str) and len(context) < 40 else "Denied: unknown tenant"
        if not isinstance(app_token, str) or not _same(app_token, self.spec.app_token):
            return "Denied: the ApplicationToken is not valid for this application"
        if not isinstance(signed, str) or signed.count(".") < 2:
            return "InvalidSignature: SignedSystemToken must be <token>.<yyyyMMddHHmm>.<signature>"
        # The token may itself hold dots or spaces: split from the right.
        token, stamp, signature = signed.rsplit(".", 2)
        if not _same(token, self.spec.system_user_token):
            return "Denied: unknown system user token"
        try:
            raw = base64.b64decode(signature, validate=True)
            self._app_key.verify(raw, f"{token}.{stamp}".encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
        except (binascii.Error, ValueError, InvalidSignature):
            return "InvalidSignature: the signature does not match the application's certificate"
        try:
            signed_at = datetime.strptime(stamp, "%Y%m%d%H%M").replace(tzinfo=timezone.utc)
        except ValueError:
            return "InvalidTimestamp: the timestamp must be yyyyMMddHHmm (UTC)"
        now = datetime.fromtimestamp(self.clock(), timezone.utc)
        # Minute resolution: a token signed during this minute is "now".
        window = timedelta(seconds=self.options.timestamp_window_s)
        if not now - window - timedelta(minutes=1) <= signed_at <= now + window:
            return "InvalidTimestamp: the signed timestamp is outside the allowed window"
        return None

    def _jwt(self, ticket: str, tenant_base: str) -> str:
        now = int(self.clock())
        claims = {
            "iss": self.options.jwt_issuer or ISSUER,
            "aud": self.options.jwt_audience or f"spn:{self.spec.serial}",
            "nbf": now - 5,
            "iat": now,
            "exp": now + self.spec.jwt_lifetime_s,
            CLAIM + "ticket": ticket,
            CLAIM + "ctx": self.spec.context_id,
            CLAIM + "serial": self.spec.serial,
            CLAIM + "webapi_url": tenant_base + "api/",
            CLAIM + "netserver_url": tenant_base + "Remote/Services88/",
        }
        return jwt.encode(claims, self._issuer_key, algorithm="RS256", headers={"kid": KEY_ID})

    # --- published keys and tenant status ---------------------------------------

    def jwks(self) -> dict[str, Any]:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self._issuer_key.public_key(), as_dict=True)
        return {"keys": [{**jwk, "kid": KEY_ID, "use": "sig", "alg": "RS256"}]}

    def openid_configuration(self, login_base: str) -> dict[str, Any]:
        return {
            "issuer": login_base.rstrip("/"),
            "jwks_uri": login_base + "login/.well-known/jwks",
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def state(self, context: str, tenant_base: str) -> dict[str, Any] | None:
        if context.lower() != self.spec.context_id.lower():
            return None
        valid_until = datetime.fromtimestamp(self.clock() + 300, timezone.utc)
        return {
            "ContextIdentifier": self.spec.context_id,
            "Endpoint": tenant_base,
            "State": "Running",
            "IsRunning": True,
            "ValidUntil": valid_until.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Api": tenant_base + "api",
        }

    # --- the tenant API's side ------------------------------------------------

    def accepts(self, headers: Mapping[str, str]) -> bool:
        """A live ticket issued here, with this app's SO-AppToken (both are mandatory Online)."""
        scheme, _, value = headers.get("authorization", "").strip().partition(" ")
        if scheme.lower() != "soticket" or not _same(headers.get("so-apptoken", "").strip(), self.spec.app_token):
            return False
        ticket = self._tickets.get(value.strip())
        now = self.clock()
        if ticket is None or ticket.expires_at <= now:
            return False
        if self.options.ticket_sliding:
            ticket.expires_at = now + self.options.ticket_ttl_s
        return True

    def misdirected(self, host: str) -> bool:
        return self.options.tenant_host is not None and host.lower() != self.options.tenant_host.lower()


def _private_key(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None, unsafe_skip_rsa_key_validation=True)
    assert isinstance(key, rsa.RSAPrivateKey)  # the seed validated it
    return key


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
