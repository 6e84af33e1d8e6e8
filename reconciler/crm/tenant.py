"""Where a SuperOffice Online tenant is served today: the public tenant status API.

Tenants move between numbered hosts (sod2 → sod3) and the old host answers 421
(vendor docs: docs/en/apps/tenant-status/status-page.md,
docs/en/developer-portal/best-practices/tenant-status/tenant-status-api.md):
`GET https://{env}.superoffice.com/api/state/{ctx}` → {"Api", "Endpoint", "State", "IsRunning", …}.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from reconciler.crm.systemuser.errors import SystemUserError

_CONTEXT_IN_PATH = re.compile(r"/(Cust\d+)(?:/|$)", re.IGNORECASE)
_ONLINE_HOST = re.compile(r"^([a-z]+?)\d*\.superoffice\.com$")


@dataclass(frozen=True)
class TenantLocator:
    """Enough to ask where a tenant lives: the login service's base URL and the tenant id."""

    login_url: str  # ends with "/"
    context_id: str

    @property
    def state_url(self) -> str:
        return f"{self.login_url}api/state/{self.context_id}"

    @classmethod
    def guess(cls, base_url: str, *, context_id: str = "", login_url: str = "") -> "TenantLocator | None":
        """From explicit settings, else from an Online URL such as https://sod2.superoffice.com/Cust123/."""
        parts = urlsplit(base_url)
        if not context_id:
            found = _CONTEXT_IN_PATH.search(parts.path)
            context_id = found.group(1) if found else ""
        if not login_url:
            host = _ONLINE_HOST.match((parts.hostname or "").lower())
            login_url = f"https://{host.group(1)}.superoffice.com/" if host else ""
        if not context_id or not login_url:
            return None
        return cls(login_url=login_url if login_url.endswith("/") else login_url + "/", context_id=context_id)


async def current_base_url(http: httpx.AsyncClient, locator: TenantLocator) -> str | None:
    """The tenant's base URL (…/CustNNNNN/) from the status API; None when it cannot be read.

    Raises SystemUserError when the tenant is not running (maintenance, suspended, …).
    """
    try:
        response = await http.get(locator.state_url, headers={"Accept": "application/json"})
        state = response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(state, dict):
        return None
    if state.get("IsRunning") is False:
        raise SystemUserError(
            f"tenant {locator.context_id} is not running (state {state.get('State')!r} at {locator.state_url})",
            hint="wait for the maintenance to end, then run again",
        )
    for key in ("Api", "Endpoint"):
        value = state.get(key)
        if isinstance(value, str) and value.startswith(("https://", "http://")):
            return tenant_base(value)
    return None


def tenant_base(url: str) -> str:
    """A tenant URL in the client's form: the tenant base ending in "/", without api/ or api/v1/."""
    path = url.split("?", 1)[0].rstrip("/")
    for suffix in ("/api/v1", "/api"):
        if path.lower().endswith(suffix):
            path = path[: -len(suffix)]
            break
    return path + "/"
