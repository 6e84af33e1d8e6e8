"""`reconcile emulator serve|reset`: run the SuperOffice-compatible CRM emulator."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path
from typing import Any

import click

DEFAULT_STATE = ".reconcile/emulator.sqlite"
DEFAULT_PORT = 8765
DEFAULT_STATE_DIR = ".reconcile/tenants"


@click.group("emulator")
def emulator() -> None:
    """Run the embedded SuperOffice-compatible CRM emulator over HTTP, or reset its state.

    \b
    Examples:
      reconcile emulator serve                    # http://127.0.0.1:8765/
      reconcile emulator serve --port 0 --latency-ms 200 --error-rate 0.05
      reconcile emulator reset
    """


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@emulator.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True,
    help="Port to listen on; 0 picks a free one (printed).",
)
@click.option("--state", "state", default=DEFAULT_STATE, show_default=True, type=click.Path(dir_okay=False),
              help="SQLite state file; created and seeded when missing.")
@click.option("--seed", "seed", default=None, type=click.Path(exists=True, dir_okay=False),
              help="Seed YAML for a new state file (default: the demo tenant).")
@click.option("--allow-remote", is_flag=True, help="Allow a non-loopback --host (demo credentials!).")
@click.option("--latency-ms", type=click.FloatRange(min=0), default=None, help="Delay added to every API request.")
@click.option("--jitter-ms", type=click.FloatRange(min=0), default=None, help="Plus a random 0..N ms.")
@click.option("--error-rate", type=click.FloatRange(0, 1), default=None,
              help="Fraction of API requests answered with a server error (500 or 503 unless --error-status).")
@click.option("--error-status", "error_statuses", type=click.Choice(["500", "502", "503", "504"]), multiple=True,
              help="Which server errors --error-rate answers with (repeatable), e.g. --error-status 503.")
@click.option("--rate-limit-every", type=click.IntRange(min=0), default=None,
              help="Answer every Nth API request with 429.")
@click.option("--rate-limit-rate", type=click.FloatRange(0, 1), default=None,
              help="Answer this fraction of API requests with 429.")
@click.option("--retry-after", "retry_after_s", type=click.IntRange(min=0), default=None,
              help="Retry-After seconds on 429/503 (default 1).")
@click.option("--test-latency-ms", "connector_test_latency_ms", type=click.FloatRange(min=0), default=None,
              help="Delay added to every connector test.")
@click.option("--fault-seed", type=int, default=None, help="Seed for the deterministic fault sequence.")
@click.option("--deny-agent", "denied_agents", multiple=True, metavar="AGENT",
              help="Refuse this agent's calls as an Online tenant does for an app not granted it "
                   "(repeatable), e.g. --deny-agent ErpSync.")
@click.option("--denied-status", type=click.Choice(["401", "403"]), default=None,
              help="The status --deny-agent answers with (default 403).")
@click.option("--moved-to", default=None, metavar="URL",
              help="Act as a host the tenant moved away from: every API request answers --moved-status.")
@click.option("--moved-status", type=click.Choice(["421", "307"]), default=None,
              help="421 Misdirected Request (default) or a 307 redirect to --moved-to.")
@click.option("--null-method", "null_methods", multiple=True, metavar="AGENT/METHOD",
              help="Answer this agent method with 200 null, as a failed agent call answers (repeatable), "
                   "e.g. --null-method ErpSync/UpdateConnectionFields.")
@click.option("--missing-method", "missing_methods", multiple=True, metavar="AGENT/METHOD",
              help="Answer this agent method with 404, as an older server that lacks it (repeatable), "
                   "e.g. --missing-method ErpSync/GetAllConnections.")
@click.option("--list-config-fields/--no-list-config-fields", default=None,
              help="GetAllConnections with ConfigFields filled, or empty (the default: documented \"without config field data\").")
@click.option("--ticket-ttl", "ticket_ttl_s", type=click.FloatRange(min=0, min_open=True), default=None,
              help="System user tickets expire this many seconds after their last use (default 21600).")
@click.option("--tenant-host", default=None, metavar="HOST",
              help="Serve the tenant API on this host name only (others answer 421), e.g. localhost.")
@click.option("--tenants", "tenant_count", type=click.IntRange(1, 10_000), default=None, metavar="N",
              help="Serve N tenants, Cust10001…, each under its context path (/Cust10001/api/v1/…) with its own state.")
@click.option("--tenant", "tenant_names", multiple=True, metavar="CONTEXT",
              help="Serve this tenant (e.g. Cust10001) under its context path; repeatable.")
@click.option("--tenants-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="YAML naming the tenants, each with seed keys that replace the seed's (docs/emulator.md).")
@click.option("--state-dir", default=DEFAULT_STATE_DIR, show_default=True, type=click.Path(file_okay=False),
              help="With tenants: one SQLite state file per tenant here.")
def serve(
    host: str,
    port: int,
    state: str,
    seed: str | None,
    allow_remote: bool,
    list_config_fields: bool | None,
    ticket_ttl_s: float | None,
    tenant_host: str | None,
    tenant_count: int | None,
    tenant_names: tuple[str, ...],
    tenants_file: Path | None,
    state_dir: str,
    **fault_options: Any,
) -> None:
    """Serve the emulator with uvicorn until Ctrl+C.

    \b
    Examples:
      reconcile emulator serve
      reconcile emulator serve --port 0 --latency-ms 200
      reconcile emulator serve --tenants 3       # http://127.0.0.1:8765/Cust10001/ …
    """
    import uvicorn

    if not _is_loopback(host) and not allow_remote:
        raise click.UsageError(
            f"--host {host} is not a loopback address; the emulator accepts demo credentials, "
            "so it listens on 127.0.0.1 only unless you add --allow-remote"
        )
    tenants = _tenant_plans(tenant_count, tenant_names, tenants_file)
    if tenants:
        app = _create_tenants(Path(state_dir), tenants, seed, list_config_fields)
        emulators = list(app.emulators().values())
    else:
        app = _create(state, seed, list_config_fields)
        emulators = [app.state.emulator]
    _set_login_options(emulators, ticket_ttl_s=ticket_ttl_s, tenant_host=tenant_host)
    _set_faults(emulators, fault_options)

    sock = _bind(host, port)
    actual_port = sock.getsockname()[1]
    url_host = f"[{host}]" if ":" in host else host
    _print_banner(f"http://{url_host}:{actual_port}/", emulators[0], tenants, state=state, state_dir=state_dir)

    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


def _set_login_options(emulators: list[Any], *, ticket_ttl_s: float | None, tenant_host: str | None) -> None:
    logins = [each.login for each in emulators if each.login is not None]
    for login in logins:
        login.options.update(
            {k: v for k, v in (("ticket_ttl_s", ticket_ttl_s), ("tenant_host", tenant_host)) if v is not None}
        )
    if not logins and (ticket_ttl_s is not None or tenant_host is not None):
        raise click.UsageError("--ticket-ttl and --tenant-host need a seed with a system_user section")


def _set_faults(emulators: list[Any], fault_options: dict[str, Any]) -> None:
    """Give every emulator the fault options of the command line (click's strings and tuples made Faults' types)."""
    statuses = fault_options.pop("error_statuses", ())
    fault_options["error_statuses"] = tuple(int(code) for code in statuses) or None
    fault_options["denied_agents"] = tuple(fault_options.pop("denied_agents", ())) or None
    fault_options["null_methods"] = tuple(fault_options.pop("null_methods", ())) or None
    fault_options["missing_methods"] = tuple(fault_options.pop("missing_methods", ())) or None
    for name in ("denied_status", "moved_status"):
        if fault_options.get(name) is not None:
            fault_options[name] = int(fault_options[name])
    try:
        for each in emulators:
            each.injector.set(each.injector.faults.merged(fault_options))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def _print_banner(url: str, emu: Any, tenants: list[Any], *, state: str, state_dir: str) -> None:
    """Where the emulator listens, its state, credentials and active faults."""
    click.echo(f"SuperOffice emulator listening on {url}")
    if tenants:
        shown = ", ".join(t.context for t in tenants[:3]) + (f", … ({len(tenants)} tenants)" if len(tenants) > 3 else "")
        click.echo(f"Tenants: {shown}, each at {url}CONTEXT/")
        click.echo(f"State: {state_dir}/CONTEXT.sqlite")
    else:
        click.echo(f"State: {state}")
    click.echo(f"Credentials: {_describe_credentials(emu.credentials)}")
    click.echo(f"Hint: {_export_hint(url + (tenants[0].context + '/' if tenants else ''), emu.credentials)}")
    if emu.login is not None:
        spec = emu.login.spec
        click.echo(
            f"System user (demo values): export SUPEROFFICE_LOGIN_URL={url} SUPEROFFICE_CONTEXT_ID={spec.context_id} "
            f"SUPEROFFICE_SYSTEM_USER_TOKEN='{spec.system_user_token}' SUPEROFFICE_APP_TOKEN={spec.app_token} "
            "SUPEROFFICE_PRIVATE_KEY_FILE=demo-key.pem  # after: reconcile emulator demo-key > demo-key.pem"
        )
    active = _active_faults(emu.injector.faults.to_dict())
    if active:
        click.echo("Faults: " + ", ".join(f"{k}={v}" for k, v in active.items()))
    click.echo("Press Ctrl+C to stop.")


def _active_faults(knobs: dict[str, Any]) -> dict[str, Any]:
    """The fault knobs that are on, with the settings that qualify them (statuses, seed)."""
    defaults = ("fault_seed", "retry_after_s", "denied_status", "moved_status")
    active = {k: v for k, v in knobs.items() if v and k not in defaults}
    if knobs["denied_agents"]:
        active["denied_status"] = knobs["denied_status"]
    if knobs["moved_to"]:
        active["moved_status"] = knobs["moved_status"]
    if active:
        active["fault_seed"] = knobs["fault_seed"]
    return active


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio sets TCP_NODELAY on accepted sockets only when
    # sock.proto == IPPROTO_TCP, and without it every response waits ~40 ms for
    # the client's delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {exc.strerror or exc} "
            "(use another --port, or --port 0 for a free one)"
        ) from None
    # Listen before the URL is printed: a client that connects as soon as it reads the
    # URL must not be refused while uvicorn is still starting (it listens again, harmlessly).
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _describe_credentials(credentials: Any) -> str:
    parts = [f"Bearer {t}" for t in credentials.bearer_tokens]
    parts += [
        f"SOTicket {ticket}" + (f" + SO-AppToken {app}" if app else "")
        for ticket, app in credentials.tickets
    ]
    parts += [f"Basic {user}:{password}" for user, password in credentials.basic]
    return " | ".join(parts) if parts else "(none: every API request gets 401)"


def _export_hint(url: str, credentials: Any) -> str:
    if credentials.bearer_tokens:
        return f"export SUPEROFFICE_URL={url} SUPEROFFICE_TOKEN={credentials.bearer_tokens[0]}"
    if credentials.tickets:
        ticket, app = credentials.tickets[0]
        return f"export SUPEROFFICE_URL={url} SUPEROFFICE_TICKET='{ticket}' SUPEROFFICE_APP_TOKEN={app or ''}"
    if credentials.basic:
        user, password = credentials.basic[0]
        return f"export SUPEROFFICE_URL={url} SUPEROFFICE_USER={user} SUPEROFFICE_PASSWORD={password}"
    return f"export SUPEROFFICE_URL={url}"


def _create(state: str, seed: str | None, list_config_fields: bool | None) -> Any:
    from reconciler.emulator.app import create_app
    from reconciler.emulator.seed import SeedError

    try:
        return create_app(Path(state), seed_path=seed, list_config_fields=list_config_fields)
    except SeedError as exc:
        raise click.ClickException(str(exc)) from None


def _tenant_plans(count: int | None, names: tuple[str, ...], tenants_file: Path | None) -> list[Any]:
    from reconciler.emulator.seed import SeedError
    from reconciler.emulator.tenants import TenantPlan, generated_contexts, read_tenants_file

    plans = [TenantPlan(context, {}) for context in [*generated_contexts(count or 0), *names]]
    if tenants_file is not None:
        try:
            plans += read_tenants_file(tenants_file)
        except SeedError as exc:
            raise click.ClickException(str(exc)) from None
    return plans


def _create_tenants(state_dir: Path, tenants: list[Any], seed: str | None, list_config_fields: bool | None) -> Any:
    from reconciler.emulator.seed import SeedError
    from reconciler.emulator.tenants import create_tenants_app

    try:
        return create_tenants_app(state_dir, tenants, seed_path=Path(seed) if seed else None,
                                  list_config_fields=list_config_fields)
    except SeedError as exc:
        raise click.ClickException(str(exc)) from None


@emulator.command("reset")
@click.option("--state", "state", default=DEFAULT_STATE, show_default=True, type=click.Path(dir_okay=False),
              help="SQLite state file to reset (created when missing).")
@click.option("--seed", "seed", default=None, type=click.Path(exists=True, dir_okay=False),
              help="Seed YAML (default: the demo tenant).")
def reset(state: str, seed: str | None) -> None:
    """Throw away the emulator's state and start again from a seed.

    \b
    Examples:
      reconcile emulator reset
    """
    from reconciler.emulator.seed import SeedError, load_seed
    from reconciler.emulator.store import Store

    try:
        fresh = load_seed(seed)
        store, _ = Store.open(Path(state), lambda: fresh)
        store.reset(fresh)
    except SeedError as exc:
        raise click.ClickException(str(exc)) from None
    source = seed or "the default seed"
    click.echo(
        f"Reset {state} from {source}: {len(fresh.users)} users, {len(fresh.groups)} groups, "
        f"{len(fresh.connector_profiles)} connector profiles, {len(fresh.quote_connectors)} quote "
        f"connectors, {len(fresh.connectors)} sync connectors, {len(fresh.erp_connections)} ERP "
        f"connections, {len(fresh.quote_connections)} quote connections."
    )
    click.echo("A running `reconcile emulator serve` on this state should be restarted.")


@emulator.command("demo-key")
@click.option("--seed", "seed", default=None, type=click.Path(exists=True, dir_okay=False),
              help="Seed YAML (default: the demo tenant).")
def demo_key(seed: str | None) -> None:
    """Print the demo app's private key (PEM) that the emulator's login service accepts.

    A published demo value: it protects nothing and must never be registered
    with a real SuperOffice app.

    \b
    Examples:
      reconcile emulator demo-key > demo-key.pem
    """
    from reconciler.emulator.seed import SeedError, load_seed

    try:
        spec = load_seed(seed).system_user
    except SeedError as exc:
        raise click.ClickException(str(exc)) from None
    if spec is None:
        raise click.ClickException("this seed has no system_user section")
    click.echo(spec.app_private_key.strip())
