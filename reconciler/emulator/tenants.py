"""Many tenants behind one emulator: each under its context path (`/Cust10001/api/v1/…`).

SuperOffice Online serves every tenant under its context identifier on a shared
host (SuperOfficeDocs/superoffice-docs docs/en/apps/tenant-status/status-page.md:
Endpoint `https://sod2.superoffice.com/Cust37911`, Api `…/Cust37911/api`).
Here each tenant is a whole emulator app of its own — its own state file, seed,
credentials, fault layer and request counter — and this router only picks the
tenant by the first path segment and hands the rest of the path to it. So
`/Cust10001/_emulator/requests` counts that tenant's requests alone.

Tenants start from one seed; a tenants file may override top-level seed keys per
tenant (format in docs/emulator.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from starlette.applications import Starlette
from starlette.types import Message, Receive, Scope, Send

from reconciler.emulator.app import create_app
from reconciler.emulator.seed import SeedError, default_seed_text, parse_seed
from reconciler.emulator.wire import json_response

# Online context identifiers are "Cust" and digits (the same rule as the login service's seed).
CONTEXT_ID = re.compile(r"^Cust\d+$")
FIRST_GENERATED = 10001


def generated_contexts(count: int) -> list[str]:
    """`--tenants N`: Cust10001, Cust10002, …"""
    return [f"Cust{FIRST_GENERATED + i}" for i in range(count)]


@dataclass(frozen=True)
class TenantPlan:
    """One tenant to serve: its context id and the seed overrides it starts from."""

    context: str
    overrides: Mapping[str, Any]


def read_tenants_file(path: Path) -> list[TenantPlan]:
    """A tenants file: `tenants: {Cust10001: {}, Cust10002: {credentials: {bearer: [t2]}}}`."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SeedError(f"cannot read tenants file {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise SeedError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    tenants = data.get("tenants") if isinstance(data, dict) else None
    if not isinstance(tenants, dict) or not tenants or set(data) - {"tenants"}:
        raise SeedError(f"{path}: a tenants file is a mapping with one key, tenants: {{Cust10001: {{}}, …}}")
    plans = []
    for context, overrides in tenants.items():
        if overrides is not None and not isinstance(overrides, dict):
            raise SeedError(f"{path}: tenant {context}: overrides are a mapping of seed keys (or {{}})")
        plans.append(TenantPlan(str(context), overrides or {}))
    return plans


def check_contexts(contexts: Sequence[str]) -> None:
    bad = [c for c in contexts if not CONTEXT_ID.match(c)]
    if bad:
        raise SeedError(f"tenant '{bad[0]}': a context identifier is 'Cust' and digits, e.g. Cust10001")
    seen: set[str] = set()
    for context in contexts:
        if context.lower() in seen:
            raise SeedError(f"tenant '{context}' is listed twice")
        seen.add(context.lower())


def create_tenants_app(
    state_dir: Path,
    tenants: Sequence[TenantPlan],
    *,
    seed_path: Path | None = None,
    list_config_fields: bool | None = None,
) -> "TenantRouter":
    """An emulator per tenant, each over `state_dir/<context>.sqlite` (created from the
    seed with the tenant's overrides when missing; an existing one is used as it is)."""
    check_contexts([t.context for t in tenants])
    state_dir.mkdir(parents=True, exist_ok=True)
    base_text = seed_path.read_text(encoding="utf-8") if seed_path is not None else default_seed_text()
    base_source = str(seed_path) if seed_path is not None else "default seed"
    base = yaml.safe_load(base_text) or {}
    apps: dict[str, Starlette] = {}
    for tenant in tenants:
        tenant = _with_own_context(tenant, base)
        tenant_seed = None if not tenant.overrides and seed_path is None else seed_path
        if tenant.overrides:
            tenant_seed = _write_tenant_seed(state_dir, tenant, base, base_source)
        apps[tenant.context] = create_app(
            state_dir / f"{tenant.context}.sqlite", seed_path=tenant_seed, list_config_fields=list_config_fields
        )
    return TenantRouter(apps)


def _with_own_context(tenant: TenantPlan, base: Mapping[str, Any]) -> TenantPlan:
    """A seed with a login service (system_user) serves each tenant under that tenant's own context id."""
    system_user = tenant.overrides.get("system_user", base.get("system_user"))
    if not isinstance(system_user, dict) or system_user.get("context_id") == tenant.context:
        return tenant
    return TenantPlan(tenant.context, {**tenant.overrides, "system_user": {**system_user, "context_id": tenant.context}})


def _write_tenant_seed(state_dir: Path, tenant: TenantPlan, base: Mapping[str, Any], base_source: str) -> Path:
    """The base seed with the tenant's top-level keys replaced, checked, and kept beside its state."""
    merged = {**base, **tenant.overrides}
    text = yaml.safe_dump(merged, sort_keys=False)
    parse_seed(text, f"{base_source} with the overrides of tenant {tenant.context}")  # a clear SeedError now
    path = state_dir / f"{tenant.context}.seed.yaml"
    path.write_text(text, encoding="utf-8")
    return path


class TenantRouter:
    """The ASGI app: `/{context}/…` goes to that tenant's emulator with the rest of the path."""

    def __init__(self, tenants: Mapping[str, Starlette]) -> None:
        self.tenants = dict(tenants)

    def emulators(self) -> dict[str, Any]:
        return {context: app.state.emulator for context, app in self.tenants.items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # no lifespan or websockets: uvicorn runs with lifespan="off"
        path: str = scope["path"]
        first, slash, rest = path.lstrip("/").partition("/")
        app = self.tenants.get(first)
        if app is not None:
            inner = "/" + rest
            await app({**scope, "path": inner, "raw_path": inner.encode()}, receive, send)
            return
        if self.tenants and path.lower().startswith(("/login/", "/api/state/")):
            await self._login_service(scope, receive, send)
            return
        if path == "/":
            response = json_response({"Emulator": "SuperOffice-compatible CRM emulator (erp-reconciler)",
                                      "Tenants": [f"/{c}/" for c in self.tenants]})
        elif path == "/_emulator/tenants":
            response = json_response({c: emu.counter.to_dict()["total"] for c, emu in self.emulators().items()})
        else:
            response = json_response(
                {"Message": f"No HTTP resource was found that matches the request URI '{path}'."}, status=404
            )
        await response(scope, receive, send)

    async def _login_service(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The login service and the tenant status API are shared by every tenant Online: a request
        goes to the tenant it names (the body's ContextIdentifier, the status path's context), else
        to the first tenant, whose own login service refuses what is not its own."""
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        named = scope["path"].rsplit("/", 1)[-1] if scope["path"].lower().startswith("/api/state/") else _context_in(body)
        by_lower = {context.lower(): app for context, app in self.tenants.items()}
        app = by_lower.get((named or "").lower()) or next(iter(self.tenants.values()))
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await app(scope, replay, send)


def _context_in(body: bytes) -> str | None:
    try:
        data = json.loads(body or b"null")
    except ValueError:
        return None
    context = data.get("ContextIdentifier") if isinstance(data, dict) else None
    return context if isinstance(context, str) else None
