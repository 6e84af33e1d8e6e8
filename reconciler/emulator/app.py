"""The emulator as an ASGI app: SuperOffice's paths under /api/v1/, controls under /_emulator/.

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
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reconciler.emulator import lists
from reconciler.emulator.auth import Credentials
from reconciler.emulator.context import Agent, Emulator, Options, RequestCounter
from reconciler.emulator.erpsync import ERPSYNC
from reconciler.emulator.faults import FaultInjector, Faults, Verdict
from reconciler.emulator.quote import QUOTE
from reconciler.emulator.seed import load_seed
from reconciler.emulator.store import Store
from reconciler.emulator.wire import BadRequest, bad_request, bind, json_response, parse_body

log = logging.getLogger(__name__)

AGENTS: dict[str, Agent] = {agent.name.lower(): agent for agent in (ERPSYNC, QUOTE)}
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
            Route("/api/{rest:path}", api, methods=verbs),
            Route("/_emulator/requests", requests_get, methods=["GET"]),
            Route("/_emulator/requests/reset", requests_reset, methods=["POST"]),
            Route("/_emulator/faults", faults_endpoint, methods=["GET", "PUT"]),
            Route("/_emulator/options", options_endpoint, methods=["GET", "PUT"]),
        ]
    )
    app.state.emulator = emu
    return app


async def handle_api(emu: Emulator, request: Request) -> Response:
    path = request.url.path
    emu.counter.count(path)
    verdict = emu.injector.decide()
    await emu.injector.apply_delay(verdict)
    if verdict.status is not None:
        emu.injector.count_outcome(verdict)
        return _fault_response(emu, verdict)
    if not emu.credentials.accepts(request.headers):
        return json_response(
            {"Message": "Authorization has been denied for this request."},
            status=401,
            headers={"WWW-Authenticate": 'Bearer, SOTicket, Basic realm="SuperOffice emulator"'},
        )
    try:
        return await _route(emu, request, path)
    except BadRequest as exc:
        return bad_request(exc.detail)
    except Exception:  # a bug in the emulator: answer like a server, keep the trace in the log
        log.exception("emulator failed on %s %s", request.method, path)
        return json_response(
            {"Message": "An error has occurred.", "ExceptionMessage": "Internal emulator error (see its log)"},
            status=500,
        )


def _fault_response(emu: Emulator, verdict: Verdict) -> Response:
    retry_after = {"Retry-After": str(emu.injector.faults.retry_after_s)}
    if verdict.status == 429:
        return json_response({"Message": "Too many requests (emulated rate limit)."}, status=429, headers=retry_after)
    if verdict.status == 503:
        return json_response({"Message": "Service unavailable (emulated fault)."}, status=503, headers=retry_after)
    if verdict.status in (502, 504):
        # What a gateway in front of the CRM answers; not a documented CRM body.
        return json_response({"Message": f"Emulated gateway error {verdict.status}."}, status=verdict.status)
    # The docs show no JSON shape for 500s (reference section 7.10); ASP.NET's default.
    return json_response(
        {"Message": "An error has occurred.", "ExceptionMessage": "Emulated server error."}, status=500
    )


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
        agent = AGENTS.get(lowered[1])
        method = agent.find(parts[2]) if agent else None
        if method is None:
            return _not_found(path)
        if request.method == "GET":
            return json_response(method.describe(path))
        if request.method != "POST":
            return _method_not_allowed(request)
        body = parse_body(await request.body())
        args: dict[str, Any]
        if method.body_is_entity:
            if not body:
                raise BadRequest(f"The request body must be the entity for {method.name} (a JSON object)")
            args = {"entity": body}
        else:
            args = bind(method.args, body, request.query_params)
        return await method.handler(emu, args)
    if lowered == ["list", "usergroup", "items"]:
        if request.method != "GET":
            return _method_not_allowed(request)
        return await lists.user_group_items(emu, request)
    if len(parts) == 2 and lowered[0] == "mdolist":
        if request.method != "GET":
            return _method_not_allowed(request)
        return await lists.mdo_list(emu, request, parts[1])
    return _not_found(path)


def _method_not_allowed(request: Request) -> Response:
    return json_response(
        {"Message": f"The requested resource does not support http method '{request.method}'."}, status=405
    )
