"""The emulator as an ASGI app: SuperOffice's paths under /api/v1/ (also /{ctx}/api/v1/, as
Online serves them), the login service and tenant status API (login.py), controls under /_emulator/.

Every /api/ request goes through, in order: the request counter, the fault
layer (delay, then maybe 429/500/503), authentication, then the handler.
The /_emulator/ control endpoints need no credentials: the emulator is a local
test tool (`serve` refuses non-loopback hosts unless told otherwise).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reconciler.emulator import archives, erpsync_config, lists
from reconciler.emulator.associates import ASSOCIATE
from reconciler.emulator.auth import Credentials
from reconciler.emulator.context import Agent, Emulator, Options, RequestCounter
from reconciler.emulator.erpsync import ERPSYNC
from reconciler.emulator.faults import FaultInjector, Faults, Verdict
from reconciler.emulator.login import LoginService
from reconciler.emulator.quote import QUOTE
from reconciler.emulator.seed import load_seed
from reconciler.emulator.store import Store
from reconciler.emulator.wire import (
    BadRequest,
    bad_request,
    bind,
    error_response,
    json_response,
    parse_body,
    parse_ids,
)

log = logging.getLogger(__name__)

# erpsync_config adds the sync configuration methods to ERPSYNC.
assert erpsync_config.ERPSYNC is ERPSYNC
AGENTS: dict[str, Agent] = {agent.name.lower(): agent for agent in (ERPSYNC, QUOTE, ASSOCIATE)}
API_PREFIX = "/api/v1/"


def create_app(
    state_path: str | Path,
    *,
    seed_path: str | Path | None = None,
    faults: Faults | None = None,
    credentials: Credentials | None = None,
    list_config_fields: bool | None = None,
) -> Starlette:
    """The emulator over the state file `state_path`.

    A missing state file is created from `seed_path` (the default seed when None);
    an existing one is used as it is and `seed_path` is ignored. `faults`,
    `credentials` and `list_config_fields` replace what the seed says.
    Raises SeedError / StateError (clear messages) for a bad seed or state file.

    Its complexity (above 15) is the sum of its small route handlers: each is a
    closure over this app's emulator, kept beside the one route table below.
    """
    store, seed = Store.open(state_path, lambda: load_seed(seed_path))
    emu = Emulator(
        store=store,
        seed=seed,
        credentials=credentials or Credentials.from_spec(seed.credentials),
        injector=FaultInjector(
            faults=faults or Faults.from_mapping(seed.faults.model_dump())
        ),
        options=Options(
            list_config_fields=seed.options.list_config_fields
            if list_config_fields is None
            else list_config_fields
        ),
        counter=RequestCounter(),
        login=LoginService.from_spec(seed.system_user) if seed.system_user is not None else None,
    )

    async def api(request: Request) -> Response:
        return await handle_api(emu, request)

    async def requests_get(request: Request) -> Response:
        data = emu.counter.to_dict()
        data["faults"] = vars(emu.injector.stats).copy()
        return json_response(data)

    async def requests_reset(request: Request) -> Response:
        emu.counter.reset()
        return Response(status_code=204)

    async def faults_endpoint(request: Request) -> Response:
        if request.method == "PUT":
            try:
                body = parse_body(await request.body())
                # PUT replaces every knob (absent ones go back to off) and restarts
                # the deterministic fault sequence.
                emu.injector.set(Faults.from_mapping(body))
            except BadRequest as exc:
                return bad_request(exc.detail)
            except (TypeError, ValueError) as exc:
                return bad_request(str(exc))
        return json_response(emu.injector.faults.to_dict())

    async def options_endpoint(request: Request) -> Response:
        if request.method == "PUT":
            try:
                body = parse_body(await request.body())
            except BadRequest as exc:
                return bad_request(exc.detail)
            unknown = sorted(set(body) - {"list_config_fields"})
            if unknown or not isinstance(body.get("list_config_fields", True), bool):
                return bad_request("options: only list_config_fields (true/false) can be set")
            if "list_config_fields" in body:
                emu.options.list_config_fields = body["list_config_fields"]
        return json_response(vars(emu.options).copy())

    async def tenant_api(request: Request) -> Response:
        context = request.path_params["ctx"]
        if emu.login is None or context.lower() != emu.login.spec.context_id.lower():
            return _not_found(request.url.path)
        return await handle_api(emu, request, path=request.url.path[len(context) + 1:])

    async def authenticate(request: Request) -> Response:
        login = _login_or_404(emu, request)
        emu.counter.count(request.url.path)
        try:
            body = parse_body(await request.body())
        except BadRequest as exc:
            return bad_request(exc.detail)
        return json_response(login.authenticate(body, _tenant_base(login, request)))

    async def jwks(request: Request) -> Response:
        emu.counter.count(request.url.path)
        return json_response(_login_or_404(emu, request).jwks())

    async def openid_configuration(request: Request) -> Response:
        emu.counter.count(request.url.path)
        return json_response(_login_or_404(emu, request).openid_configuration(str(request.base_url)))

    async def tenant_state(request: Request) -> Response:
        login = _login_or_404(emu, request)
        emu.counter.count(request.url.path)
        state = login.state(request.path_params["ctx"], _tenant_base(login, request))
        if state is None:
            return json_response({"Error": True, "ErrorType": "NotFound", "ErrorMessage": "Unknown tenant"}, status=404)
        return json_response(state)

    async def login_options(request: Request) -> Response:
        login = _login_or_404(emu, request)
        if request.method == "PUT":
            try:
                login.options.update(parse_body(await request.body()))
            except BadRequest as exc:
                return bad_request(exc.detail)
            except ValueError as exc:
                return bad_request(str(exc))
        return json_response({**vars(login.options), "exchanges": login.exchanges})

    async def index(request: Request) -> Response:
        return json_response(
            {
                "Emulator": "SuperOffice-compatible CRM emulator (erp-reconciler)",
                "Api": API_PREFIX,
                "Agents": sorted(m.name for a in AGENTS.values() for m in a.methods.values()),
            }
        )

    verbs = ["GET", "POST", "PUT", "DELETE", "PATCH"]
    app = Starlette(
        routes=[
            Route("/", index, methods=["GET"]),
            Route("/Login/api/PartnerSystemUser/Authenticate", authenticate, methods=["POST"]),
            Route("/login/.well-known/jwks", jwks, methods=["GET"]),
            Route("/login/.well-known/openid-configuration", openid_configuration, methods=["GET"]),
            Route("/api/state/{ctx}", tenant_state, methods=["GET"]),
            Route("/api/{rest:path}", api, methods=verbs),
            Route("/{ctx}/api/{rest:path}", tenant_api, methods=verbs),
            Route("/_emulator/login", login_options, methods=["GET", "PUT"]),
            Route("/_emulator/requests", requests_get, methods=["GET"]),
            Route("/_emulator/requests/reset", requests_reset, methods=["POST"]),
            Route("/_emulator/faults", faults_endpoint, methods=["GET", "PUT"]),
            Route("/_emulator/options", options_endpoint, methods=["GET", "PUT"]),
        ]
    )
    app.state.emulator = emu
    return app


async def handle_api(emu: Emulator, request: Request, path: str | None = None) -> Response:
    """A tenant API request; `path` is the request path without a leading /{ctx}."""
    path = path or request.url.path
    emu.counter.count(request.url.path)
    verdict = emu.injector.decide()
    await emu.injector.apply_delay(verdict)
    if verdict.status is not None:
        emu.injector.count_outcome(verdict)
        return _fault_response(emu, verdict)
    faults = emu.injector.faults
    if faults.moved_to:
        return _moved_response(faults.moved_to, faults.moved_status, request)
    if emu.login is not None and emu.login.misdirected(request.url.hostname or ""):
        # Online since 2023-11-17: a call on a host that does not serve the tenant.
        return json_response(
            {"Error": True, "ErrorType": "MisdirectedRequest",
             "ErrorMessage": "Misdirected Request: this host does not serve the tenant"},
            status=421,
        )
    if not (emu.credentials.accepts(request.headers) or (emu.login is not None and emu.login.accepts(request.headers))):
        return json_response(
            {"Message": "Authorization has been denied for this request."},
            status=401,
            headers={"WWW-Authenticate": 'Bearer, SOTicket, Basic realm="SuperOffice emulator"'},
        )
    denied = _denied_agent(faults, path)
    if denied is not None:
        return error_response(
            faults.denied_status, "ApplicationAccessDenied",
            f"The {denied} agent is Online restricted and this application has not been granted access to it.",
        )
    try:
        return await _route(emu, request, path)
    except BadRequest as exc:
        return bad_request(exc.detail)
    except Exception:  # a bug in the emulator: answer like a server, keep the trace in the log
        log.exception("emulator failed on %s %s", request.method, path)
        return error_response(500, "Exception", "Internal emulator error (see its log)")


def _login_or_404(emu: Emulator, request: Request) -> LoginService:
    if emu.login is None:
        raise HTTPException(404, "this emulator's seed has no system_user section")
    return emu.login


def _tenant_base(login: LoginService, request: Request) -> str:
    """The tenant's URL on the host that serves it (tenant_host, else the host asked)."""
    host = request.headers.get("host", "")
    if login.options.tenant_host is not None:
        port = request.url.port
        host = login.options.tenant_host + (f":{port}" if port else "")
    return f"{request.url.scheme}://{host}/{login.spec.context_id}/"


def _fault_response(emu: Emulator, verdict: Verdict) -> Response:
    retry_after = {"Retry-After": str(emu.injector.faults.retry_after_s)}
    if verdict.status == 429:
        return json_response({"Message": "Too many requests (emulated rate limit)."}, status=429, headers=retry_after)
    if verdict.status == 503:
        return json_response({"Message": "Service unavailable (emulated fault)."}, status=503, headers=retry_after)
    if verdict.status in (502, 504):
        # What a gateway in front of the CRM answers; not a documented CRM body.
        return json_response({"Message": f"Emulated gateway error {verdict.status}."}, status=verdict.status)
    # A server exception answers the documented error body.
    return error_response(500, "Exception", "Emulated server error.")


def _moved_response(moved_to: str, status: int, request: Request) -> Response:
    # Since 2023-11-17 a call on the wrong host answers 421 Misdirected Request
    # (docs/en/apps/tenant-status/status-page.md); a gateway may redirect with 307 instead.
    message = "Wrong subdomain for the tenant: it is served from another host now."
    if status == 421:
        return error_response(421, "MisdirectedRequest", message)
    path = request.url.path
    location = moved_to.rstrip("/") + path + (f"?{request.url.query}" if request.url.query else "")
    return error_response(307, "TemporaryRedirect", message, headers={"Location": location})


def _denied_agent(faults: Faults, path: str) -> str | None:
    """The agent's name when `path` calls an agent this tenant denies the app."""
    parts = [p for p in path[len(API_PREFIX):].split("/") if p] if path.lower().startswith(API_PREFIX.lower()) else []
    if len(parts) >= 2 and parts[0].lower() == "agents" and faults.denies(parts[1]):
        return parts[1]
    return None


def _not_found(path: str) -> Response:
    return json_response(
        {"Message": f"No HTTP resource was found that matches the request URI '{path}'."}, status=404
    )


async def _route(emu: Emulator, request: Request, path: str) -> Response:
    # ASP.NET routing ignores case; so do we.
    if not path.lower().startswith(API_PREFIX.lower()):
        return _not_found(path)
    parts = [p for p in path[len(API_PREFIX):].split("/") if p]
    lowered = [p.lower() for p in parts]
    if len(parts) == 3 and lowered[0] == "agents":
        return await _agent_call(emu, request, path, parts[1], parts[2])
    if lowered == ["list", "usergroup", "items"]:
        if request.method != "GET":
            return _method_not_allowed(request)
        return await lists.user_group_items(emu, request)
    if len(parts) == 2 and lowered[0] == "archive":
        if request.method != "GET":
            return _method_not_allowed(request)
        return await archives.archive(emu, request, parts[1])
    if len(parts) == 2 and lowered[0] == "mdolist":
        if request.method != "GET":
            return _method_not_allowed(request)
        return await lists.mdo_list(emu, request, parts[1])
    return _not_found(path)


async def _agent_call(emu: Emulator, request: Request, path: str, agent_name: str, method_name: str) -> Response:
    agent = AGENTS.get(agent_name.lower())
    method = agent.find(method_name) if agent else None
    if method is None or emu.injector.faults.lacks(method.agent, method.name):
        return _not_found(path)
    if request.method == "GET":
        return json_response(method.describe(path))
    if request.method != "POST":
        return _method_not_allowed(request)
    if emu.injector.faults.answers_null(method.agent, method.name):
        return json_response(None)
    args: dict[str, Any]
    if method.body_is_ids:
        return await method.handler(emu, {"ids": parse_ids(await request.body())})
    body = parse_body(await request.body())
    if method.body_is_entity:
        if not body:
            raise BadRequest(f"The request body must be the entity for {method.name} (a JSON object)")
        args = {"entity": body}
    else:
        args = bind(method.args, body, request.query_params)
    return await method.handler(emu, args)


def _method_not_allowed(request: Request) -> Response:
    return json_response(
        {"Message": f"The requested resource does not support http method '{request.method}'."}, status=405
    )
