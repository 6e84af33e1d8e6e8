"""No secret of the system user flow - private key, client secret, system user token (beyond
its app-name prefix), signed token, JWT, ticket - appears in any output, file or error."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from conftest import Cli, EmulatorServer, start_server, stop_server
from reconciler.emulator.seed import default_seed_text, load_seed

SEED = load_seed(None).system_user
assert SEED is not None
APP_NAME = "Canary App"
TOKEN_CANARY = "canarysut4e1f"
SYSTEM_USER_TOKEN = f"{APP_NAME}-{TOKEN_CANARY}"
SECRET_CANARY = "canary-secret-9a2b"
# Every line of the key's base64 body is a canary too.
KEY_LINES = [line for line in SEED.app_private_key.splitlines() if line and not line.startswith("-----")]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmulatorServer]:
    data = yaml.safe_load(default_seed_text())
    data["system_user"].update(app_token=SECRET_CANARY, system_user_token=SYSTEM_USER_TOKEN)
    seed = tmp_path / "canary-seed.yaml"
    seed.write_text(yaml.safe_dump(data))
    running = start_server(tmp_path / "served.sqlite", seed_path=seed)
    yield running
    stop_server(running)


def assert_clean(server: EmulatorServer, texts: list[str]) -> None:
    tickets = list(server.server.config.app.state.emulator.login._tickets)
    assert tickets, "the runs made no exchange, so the test proves nothing"
    for text in texts:
        for canary in (TOKEN_CANARY, SECRET_CANARY, "eyJ", "7T:", *tickets, *KEY_LINES):
            assert canary not in text


@pytest.mark.slow  # some twenty runs of the CLI
def test_no_secret_of_the_flow_in_any_output(server: EmulatorServer, workdir: Path):
    env = {
        "SUPEROFFICE_SYSTEM_USER_TOKEN": SYSTEM_USER_TOKEN,
        "SUPEROFFICE_PRIVATE_KEY": SEED.app_private_key,
        "SUPEROFFICE_APP_TOKEN": SECRET_CANARY,
        "SUPEROFFICE_CONTEXT_ID": SEED.context_id,
        "SUPEROFFICE_LOGIN_URL": server.url,
    }

    def run(*args: str, **changes: str) -> str:
        result = Cli(env={**env, **changes}, server=server)(*args)
        return result.stdout + result.stderr

    def login(**options: object) -> None:
        server.control("PUT", "_emulator/login", json=options)

    outputs = [
        run("--debug", "plan", "-f", "examples/", "--out", "plan.json"),
        run("plan", "-f", "examples/", "--output", "json"),
        run("plan", "-f", "examples/", "--output", "markdown"),
        run("apply", "plan.json", "--report", "report.json"),
        run("export", "-o", "exported"),
    ]
    assert "Apply: 7 done" in outputs[3]
    # Renewal and a moved host.
    login(ticket_ttl_s=0.5, ticket_sliding=False, tenant_host="localhost")
    server.set_faults(latency_ms=30)
    outputs.append(run("--debug", "plan", "-f", "examples/", "--parallelism", "1", SUPEROFFICE_URL=f"{server.url}{SEED.context_id}/"))
    server.set_faults()
    login(ticket_ttl_s=3600, tenant_host=None)
    # Error paths.
    outputs.append(run("--debug", "plan", "-f", "examples/", SUPEROFFICE_APP_TOKEN=SECRET_CANARY + "x"))
    outputs.append(run("plan", "-f", "examples/", SUPEROFFICE_SYSTEM_USER_TOKEN=SYSTEM_USER_TOKEN + "x"))
    outputs.append(run("plan", "-f", "examples/", SUPEROFFICE_PRIVATE_KEY=SEED.app_private_key[:-80]))
    outputs.append(run("plan", "-f", "examples/", SUPEROFFICE_CONTEXT_ID=""))
    outputs.append(run("plan", "-f", "examples/", SUPEROFFICE_LOGIN_URL=server.url + "nowhere/"))
    login(clock_offset_s=3600)
    outputs.append(run("plan", "-f", "examples/"))
    login(clock_offset_s=0, jwt_audience="spn:other")
    outputs.append(run("plan", "-f", "examples/"))
    login(jwt_audience=None, jwt_issuer="someone")
    outputs.append(run("plan", "-f", "examples/"))
    assert sum("error:" in text for text in outputs) == 8
    log = Path(os.environ["RECONCILE_DEBUG_LOG"]).read_text()
    assert "Login/api/PartnerSystemUser/Authenticate -> 200" in log  # the log was written
    files = [p.read_text() for p in workdir.rglob("*") if p.is_file() and p.suffix in (".json", ".yaml", ".xml")]
    assert_clean(server, outputs + files + [log])
