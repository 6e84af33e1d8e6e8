"""`reconcile emulator serve|reset`: run the SuperOffice-compatible CRM emulator."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path
from typing import Any

import click

DEFAULT_STATE = ".reconcile/emulator.sqlite"
DEFAULT_PORT = 8765


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
@click.option("--list-config-fields/--no-list-config-fields", default=None,
              help="GetAllConnections with ConfigFields filled (default) or null.")
def serve(
    host: str,
    port: int,
    state: str,
    seed: str | None,
    allow_remote: bool,
    list_config_fields: bool | None,
    **fault_options: Any,
) -> None:
    """Serve the emulator with uvicorn until Ctrl+C.

    \b
    Examples:
      reconcile emulator serve
      reconcile emulator serve --port 0 --latency-ms 200
    """
    import uvicorn

    if not _is_loopback(host) and not allow_remote:
        raise click.UsageError(
            f"--host {host} is not a loopback address; the emulator accepts demo credentials, "
            "so it listens on 127.0.0.1 only unless you add --allow-remote"
        )
    app = _create(state, seed, list_config_fields)
    emu = app.state.emulator
    statuses = fault_options.pop("error_statuses", ())
    fault_options["error_statuses"] = tuple(int(code) for code in statuses) or None
    emu.injector.set(emu.injector.faults.merged(fault_options))

    sock = _bind(host, port)
    actual_port = sock.getsockname()[1]
    url_host = f"[{host}]" if ":" in host else host
    url = f"http://{url_host}:{actual_port}/"
    click.echo(f"SuperOffice emulator listening on {url}")
    click.echo(f"State: {state}")
    click.echo(f"Credentials: {_describe_credentials(emu.credentials)}")
    click.echo(f"Hint: {_export_hint(url, emu.credentials)}")
    knobs = emu.injector.faults.to_dict()
    active = {k: v for k, v in knobs.items() if v and k not in ("fault_seed", "retry_after_s")}
    if active:
        active["fault_seed"] = knobs["fault_seed"]
        click.echo("Faults: " + ", ".join(f"{k}={v}" for k, v in active.items()))
    click.echo("Press Ctrl+C to stop.")

    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


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
    from reconciler.emulator.store import StateError

    try:
        return create_app(Path(state), seed_path=seed, list_config_fields=list_config_fields)
    except (SeedError, StateError) as exc:
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
    from reconciler.emulator.store import StateError, Store

    try:
        fresh = load_seed(seed)
        store, _ = Store.open(Path(state), lambda: fresh)
        store.reset(fresh)
    except (SeedError, StateError) as exc:
        raise click.ClickException(str(exc)) from None
    source = seed or "the default seed"
    click.echo(
        f"Reset {state} from {source}: {len(fresh.users)} users, {len(fresh.groups)} groups, "
        f"{len(fresh.connector_profiles)} connector profiles, {len(fresh.quote_connectors)} quote "
        f"connectors, {len(fresh.connectors)} sync connectors, {len(fresh.erp_connections)} ERP "
        f"connections, {len(fresh.quote_connections)} quote connections."
    )
    click.echo("A running `reconcile emulator serve` on this state should be restarted.")
