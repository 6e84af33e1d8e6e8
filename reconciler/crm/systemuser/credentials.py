"""The system user set from the environment: token, key, app token, tenant, login service.

Errors name the variables and never echo a value. Variable names as in
docs/online-ci.md; the set is complete with a token, a key, the app token and
the context id.
"""

from __future__ import annotations

import base64
import binascii
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from reconciler.crm.hosts import is_loopback
from reconciler.diagnostics import Diagnostic
from reconciler.secrets import remember

SYSTEM_USER_TOKEN = "SUPEROFFICE_SYSTEM_USER_TOKEN"
PRIVATE_KEY = "SUPEROFFICE_PRIVATE_KEY"
PRIVATE_KEY_FILE = "SUPEROFFICE_PRIVATE_KEY_FILE"
APP_TOKEN = "SUPEROFFICE_APP_TOKEN"
CONTEXT_ID = "SUPEROFFICE_CONTEXT_ID"
ENVIRONMENT = "SUPEROFFICE_ENV"
LOGIN_URL = "SUPEROFFICE_LOGIN_URL"

# Auth sub-domains (vendor doc: docs/en/api/authentication/online/api.md); numbered
# hosts such as sod2 serve tenant data only, never logins.
ENVIRONMENTS = ("sod", "qaonline", "online")
CONTEXT_PATTERN = re.compile(r"^Cust\d+$")
# Variables whose presence means "the system user flow is meant".
_STARTERS = (SYSTEM_USER_TOKEN, PRIVATE_KEY, PRIVATE_KEY_FILE)


@dataclass(frozen=True)
class SystemUserCredentials:
    """Everything the exchange needs. Only `context_id`, `login_url` and `token_label` are printable."""

    system_user_token: str = field(repr=False)
    private_key: rsa.RSAPrivateKey = field(repr=False)
    app_token: str = field(repr=False)
    context_id: str
    login_url: str  # ends with "/"; Login/api/…, login/.well-known/…, api/state/… hang off it
    variables: tuple[str, ...] = ()
    # Standard variable name -> the one a reconcile.yaml target uses instead, for messages.
    renamed: Mapping[str, str] = field(default_factory=dict)

    @property
    def key_variable(self) -> str:
        return self.name(PRIVATE_KEY_FILE if PRIVATE_KEY_FILE in self.variables else PRIVATE_KEY)

    def name(self, standard: str) -> str:
        """What to call a variable in a message: the target's name for it, if it has one."""
        return self.renamed.get(standard, standard)

    @property
    def token_label(self) -> str:
        """The app-name part of the system user token (`<App Name>-<random>`), safe to show."""
        name, sep, _ = self.system_user_token.rpartition("-")
        return name if sep and name else "(unnamed app)"


def wants_system_user(env: Mapping[str, str]) -> bool:
    return any(_get(env, name) for name in _STARTERS)


def system_user_from_env(
    env: Mapping[str, str], problems: list[Diagnostic], *, insecure: bool = False
) -> SystemUserCredentials | None:
    """The set when complete; otherwise appends what is missing or wrong and returns None."""
    before = len(problems)
    token, app_token, context = _get(env, SYSTEM_USER_TOKEN), _get(env, APP_TOKEN), _get(env, CONTEXT_ID)
    key_text, key_file = _get(env, PRIVATE_KEY), _get(env, PRIVATE_KEY_FILE)
    missing = [name for name, value in ((SYSTEM_USER_TOKEN, token), (APP_TOKEN, app_token), (CONTEXT_ID, context)) if not value]
    if not key_text and not key_file:
        missing.append(f"{PRIVATE_KEY} (or {PRIVATE_KEY_FILE})")
    if missing:
        problems.append(
            Diagnostic(
                f"the system user credentials are incomplete: {', '.join(missing)} "
                f"{'is' if len(missing) == 1 else 'are'} not set",
                hint=f"set {SYSTEM_USER_TOKEN}, {PRIVATE_KEY} or {PRIVATE_KEY_FILE}, {APP_TOKEN} and {CONTEXT_ID} "
                "(see docs/online-ci.md), or unset the ones you set",
            )
        )
        return None
    if key_text and key_file:
        problems.append(Diagnostic(f"both {PRIVATE_KEY} and {PRIVATE_KEY_FILE} are set", hint="set only one of them"))
    if not CONTEXT_PATTERN.match(context):
        problems.append(
            Diagnostic(f"{CONTEXT_ID} '{context}' is not a tenant id", hint="expected CustNNNNN, e.g. Cust12345")
        )
    if not app_token.isascii() or any(c in app_token for c in "\r\n\0"):
        problems.append(Diagnostic(f"{APP_TOKEN} contains characters that cannot go in an HTTP header"))
    # Kept out of the debug log, whole and line by line (a key may be logged in pieces).
    for secret in (token, app_token, key_text, *_key_lines(key_text)):
        remember(secret)
    key = _load_key(key_text, key_file, problems)
    login_url = _login_url(env, problems, insecure=insecure)
    if len(problems) > before or key is None or login_url is None:
        return None
    return SystemUserCredentials(
        system_user_token=token,
        private_key=key,
        app_token=app_token,
        context_id=context,
        login_url=login_url,
        variables=(SYSTEM_USER_TOKEN, PRIVATE_KEY_FILE if key_file else PRIVATE_KEY, APP_TOKEN, CONTEXT_ID),
    )


def _get(env: Mapping[str, str], name: str) -> str:
    return (env.get(name) or "").strip()


def _load_key(text: str, path: str, problems: list[Diagnostic]) -> rsa.RSAPrivateKey | None:
    source = PRIVATE_KEY
    if path:
        source = f"{PRIVATE_KEY_FILE} ({path})"
        try:
            text = Path(path).read_text(encoding="utf-8").strip()
            for secret in (text, *_key_lines(text)):
                remember(secret)
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or "not UTF-8 text"
            problems.append(Diagnostic(f"cannot read the private key file {path} from {PRIVATE_KEY_FILE}: {reason}"))
            return None
    try:
        key = _parse_key(text)
    except (ValueError, TypeError, binascii.Error, ET.ParseError, AttributeError):
        key = None
    if key is None:
        # Never echo the text: it is (a mangled copy of) the private key.
        problems.append(
            Diagnostic(
                f"{source} is not an RSA private key",
                hint="give the key from the Developer Portal as XML (<RSAKeyValue>…) or PEM (-----BEGIN … PRIVATE KEY-----)",
            )
        )
    return key


def _key_lines(text: str) -> list[str]:
    """The lines of a key's body (not its BEGIN/END markers), for the debug log's scrubber."""
    lines = (line.strip() for line in text.replace("\\n", "\n").splitlines())
    return [line for line in lines if line and not line.startswith("-----")]


def _parse_key(text: str) -> rsa.RSAPrivateKey | None:
    if text.startswith("<"):
        return _key_from_dotnet_xml(text)
    if "-----BEGIN" in text:
        # CI secret stores often keep a PEM on one line with literal "\n".
        pem = text.replace("\\n", "\n").encode("ascii")
        key = serialization.load_pem_private_key(pem, password=None)
        return key if isinstance(key, rsa.RSAPrivateKey) else None
    return None


def _key_from_dotnet_xml(text: str) -> rsa.RSAPrivateKey:
    """The Developer Portal's .NET `<RSAKeyValue>` form: each element a base64 big-endian integer."""
    root = ET.fromstring(text)

    def number(tag: str) -> int:
        value = root.findtext(tag)
        if value is None:
            raise ValueError(f"missing {tag}")
        return int.from_bytes(base64.b64decode(value.strip(), validate=True), "big")

    public = rsa.RSAPublicNumbers(e=number("Exponent"), n=number("Modulus"))
    return rsa.RSAPrivateNumbers(
        p=number("P"), q=number("Q"), d=number("D"), dmp1=number("DP"), dmq1=number("DQ"),
        iqmp=number("InverseQ"), public_numbers=public,
    ).private_key()


def _login_url(env: Mapping[str, str], problems: list[Diagnostic], *, insecure: bool) -> str | None:
    explicit = _get(env, LOGIN_URL)
    if not explicit:
        environment = _get(env, ENVIRONMENT).lower() or "online"
        if environment not in ENVIRONMENTS:
            problems.append(
                Diagnostic(f"{ENVIRONMENT} '{environment}' is not a SuperOffice environment",
                           hint=f"use one of {', '.join(ENVIRONMENTS)} (or set {LOGIN_URL})")
            )
            return None
        return f"https://{environment}.superoffice.com/"
    parts = urlsplit(explicit)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host or parts.username or parts.password:
        problems.append(Diagnostic(f"{LOGIN_URL} is not an http(s) URL with a host name",
                                   hint="e.g. https://sod.superoffice.com"))
        return None
    if parts.scheme == "http" and not is_loopback(host) and not insecure:
        problems.append(Diagnostic(f"refusing plain http to the login service at {host}",
                                   hint="use https, or pass --insecure if you really mean it"))
        return None
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") + "/", "", ""))

