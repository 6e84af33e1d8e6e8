"""Who may call the emulator: Bearer tokens, SOTicket (+ SO-AppToken) pairs, Basic users."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.emulator.seed import CredentialsSpec


@dataclass(frozen=True)
class Credentials:
    bearer_tokens: tuple[str, ...] = ()
    # (ticket, app token); an app token of None means SO-AppToken is not required
    # (onsite), otherwise the pair must match (the Online rule of
    # docs/api/authentication/online/auth-header-types.md).
    tickets: tuple[tuple[str, str | None], ...] = ()
    basic: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_spec(cls, spec: CredentialsSpec) -> "Credentials":
        return cls(
            bearer_tokens=tuple(spec.bearer),
            tickets=tuple((t.ticket, t.app_token) for t in spec.tickets),
            basic=tuple((b.user, b.password) for b in spec.basic),
        )

    def default_headers(self) -> dict[str, str]:
        """Headers holding the first credential, preferring Bearer, then SOTicket, then Basic."""
        if self.bearer_tokens:
            return {"Authorization": f"Bearer {self.bearer_tokens[0]}"}
        if self.tickets:
            ticket, app_token = self.tickets[0]
            headers = {"Authorization": f"SOTicket {ticket}"}
            if app_token is not None:
                headers["SO-AppToken"] = app_token
            return headers
        if self.basic:
            user, password = self.basic[0]
            raw = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            return {"Authorization": f"Basic {raw}"}
        return {}

    def accepts(self, headers: Mapping[str, str]) -> bool:
        """True when the request headers (lower-case names) carry a known credential."""
        authorization = headers.get("authorization", "").strip()
        scheme, _, value = authorization.partition(" ")
        scheme, value = scheme.lower(), value.strip()
        if not value:
            return False
        if scheme == "bearer":
            return any(_same(value, token) for token in self.bearer_tokens)
        if scheme == "soticket":
            app_token = headers.get("so-apptoken", "").strip()
            return any(
                _same(value, ticket) and (wanted is None or _same(app_token, wanted))
                for ticket, wanted in self.tickets
            )
        if scheme == "basic":
            try:
                decoded = base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return False
            user, sep, password = decoded.partition(":")
            return bool(sep) and any(
                _same(user, u) and _same(password, p) for u, p in self.basic
            )
        return False


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
