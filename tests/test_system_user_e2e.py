"""The system user flow end to end: the CLI against the emulator served over loopback HTTP,
with nothing but the system user set (token, key, client secret, tenant, login URL)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from conftest import Cli, EmulatorServer
from reconciler.emulator.seed import load_seed

SEED = load_seed(None).system_user
assert SEED is not None


def system_user_env(server: EmulatorServer, key_file: Path, **changes: str) -> dict[str, str]:
    env = {
        "SUPEROFFICE_SYSTEM_USER_TOKEN": SEED.system_user_token,
        "SUPEROFFICE_PRIVATE_KEY_FILE": str(key_file),
        "SUPEROFFICE_APP_TOKEN": SEED.app_token,
        "SUPEROFFICE_CONTEXT_ID": SEED.context_id,
        "SUPEROFFICE_LOGIN_URL": server.url,
    }
    env.update(changes)
    return env


def write_online_target(workdir: Path, server: EmulatorServer) -> None:
    """reconcile.yaml with a target `online` whose system user values come from SO_* variables."""
    (workdir / "reconcile.yaml").write_text(
        "targets:\n"
        "  online:\n"
        f"    loginUrl: {server.url}\n"
        "    credentials: {systemUserToken: SO_SUT, privateKeyFile: SO_KEY, appToken: SO_SECRET, contextId: SO_CTX}\n"
    )


def login_options(server: EmulatorServer, **options: object) -> dict[str, object]:
    return server.control("PUT", "_emulator/login", json=options)


@pytest.fixture
def server(emulator_server: EmulatorServer) -> EmulatorServer:
    return emulator_server


@pytest.fixture
def key_file(workdir: Path) -> Path:
    path = workdir / "demo-key.pem"
    path.write_text(SEED.app_private_key)
    return path


@pytest.fixture
def su_cli(server: EmulatorServer, key_file: Path) -> Cli:
    return Cli(env=system_user_env(server, key_file), server=server)


def one_error_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert lines[0].startswith("error: "), text
    assert "Traceback" not in text
    return lines[0]


def test_plan_and_apply_with_only_system_user_credentials(su_cli: Cli, server: EmulatorServer):
    planned = su_cli("plan", "-f", "examples/", "--out", "plan.json")
    assert planned.exit_code == 0, planned.output
    assert "Plan: 7 to create" in planned.stdout
    assert f"Target: tenant {SEED.context_id} via {server.url}" in planned.stdout
    assert "embedded emulator" not in planned.stderr
    applied = su_cli("apply", "plan.json")
    assert applied.exit_code == 0, applied.output
    assert "Apply: 7 done" in applied.stdout
    again = su_cli("plan", "-f", "examples/", "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    # One exchange per run: the ticket is kept in memory, not fetched per request.
    assert server.control("GET", "_emulator/login")["exchanges"] == 3


def test_reconcile_yaml_target_with_system_user_names_and_no_url(server: EmulatorServer, key_file: Path, workdir: Path):
    write_online_target(workdir, server)
    cli = Cli(env={"SO_SUT": SEED.system_user_token, "SO_KEY": str(key_file), "SO_SECRET": SEED.app_token,
                   "SO_CTX": SEED.context_id})
    result = cli("plan", "-f", "examples/", "--target", "online")
    assert result.exit_code == 0, result.output
    assert "Plan: 7 to create" in result.stdout
    assert "embedded emulator" not in result.output
    missing = Cli(env={"SO_SUT": SEED.system_user_token, "SO_KEY": str(key_file), "SO_SECRET": SEED.app_token})
    refused = missing("plan", "-f", "examples/", "--target", "online")
    assert refused.exit_code == 1
    assert "environment variable SO_CTX (contextId) is not set" in one_error_line(refused.stderr)


@pytest.mark.slow  # waits for tickets to expire
def test_a_ticket_that_expires_mid_apply_is_renewed_and_the_apply_converges(su_cli: Cli, server: EmulatorServer):
    # Tickets live one second from the exchange (not sliding); each request takes 60 ms.
    login_options(server, ticket_ttl_s=1.0, ticket_sliding=False)
    server.set_faults(latency_ms=60)
    applied = su_cli("apply", "-f", "examples/", "--auto-approve", "--parallelism", "1")
    assert applied.exit_code == 0, applied.output
    assert "Apply: 7 done" in applied.stdout
    assert server.control("GET", "_emulator/login")["exchanges"] >= 2
    server.set_faults()
    assert su_cli("plan", "-f", "examples/", "--detailed-exitcode").exit_code == 0


def test_a_moved_tenant_is_followed(su_cli: Cli, server: EmulatorServer):
    login_options(server, tenant_host="localhost")
    port = httpx.URL(server.url).port
    current = f"http://localhost:{port}/{SEED.context_id}/"
    # No URL: the tenant status API names the current host.
    found = su_cli("plan", "-f", "examples/")
    assert found.exit_code == 0, found.output
    assert "Plan: 7 to create" in found.stdout
    # A stale explicit URL: the old host answers 421, the client re-resolves once and says so.
    stale = Cli(env={**su_cli.env, "SUPEROFFICE_URL": f"{server.url}{SEED.context_id}/"}, server=server)
    followed = stale("apply", "-f", "examples/", "--auto-approve")
    assert followed.exit_code == 0, followed.output
    assert f"note: tenant {SEED.context_id} has moved: now using {current}" in followed.stderr
    assert "Apply: 7 done" in followed.stdout


def _other_key_file(workdir: Path) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = workdir / "other-key.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                       serialization.NoEncryption()))
    return path


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("wrong key", "InvalidSignature"),
        ("wrong secret", "ApplicationToken is not valid"),
        ("skewed clock", "InvalidTimestamp"),
        ("bad audience", "the login service's JWT has the wrong audience"),
        ("bad issuer", "the login service's JWT has the wrong issuer"),
    ],
)
def test_each_refusal_is_one_clear_line_and_exit_1(
    case: str, expected: str, su_cli: Cli, server: EmulatorServer, workdir: Path
):
    env = dict(su_cli.env)
    if case == "wrong key":
        env["SUPEROFFICE_PRIVATE_KEY_FILE"] = str(_other_key_file(workdir))
    elif case == "wrong secret":
        env["SUPEROFFICE_APP_TOKEN"] = "not-the-client-secret"
    elif case == "skewed clock":
        login_options(server, clock_offset_s=3600)  # the service is an hour ahead of this runner
    elif case == "bad audience":
        login_options(server, jwt_audience="spn:someone-else")
    else:
        login_options(server, jwt_issuer="https://evil.example.com")
    result = Cli(env=env, server=server)("plan", "-f", "examples/")
    assert result.exit_code == 1
    line = one_error_line(result.stderr)
    assert expected in line
    if case == "skewed clock":
        assert "signed with local UTC time" in line and "NTP" in line


def test_half_a_set_names_what_is_missing(server: EmulatorServer, key_file: Path):
    cli = Cli(env={"SUPEROFFICE_SYSTEM_USER_TOKEN": SEED.system_user_token, "SUPEROFFICE_PRIVATE_KEY_FILE": str(key_file)})
    result = cli("plan", "-f", "examples/")
    assert result.exit_code == 1
    line = one_error_line(result.stderr)
    assert "SUPEROFFICE_APP_TOKEN, SUPEROFFICE_CONTEXT_ID are not set" in line


def test_a_key_in_xml_form_or_one_line_pem_works(su_cli: Cli, server: EmulatorServer):
    key = serialization.load_pem_private_key(SEED.app_private_key.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    xml = _dotnet_xml(key)
    env = {k: v for k, v in su_cli.env.items() if k != "SUPEROFFICE_PRIVATE_KEY_FILE"}
    for text in (xml, SEED.app_private_key.strip().replace("\n", "\\n")):
        result = Cli(env={**env, "SUPEROFFICE_PRIVATE_KEY": text}, server=server)("plan", "-f", "examples/")
        assert result.exit_code == 0, result.output


def _dotnet_xml(key: rsa.RSAPrivateKey) -> str:
    import base64

    numbers = key.private_numbers()

    def b64(value: int) -> str:
        return base64.b64encode(value.to_bytes((value.bit_length() + 7) // 8, "big")).decode()

    parts = {
        "Modulus": numbers.public_numbers.n, "Exponent": numbers.public_numbers.e, "P": numbers.p, "Q": numbers.q,
        "DP": numbers.dmp1, "DQ": numbers.dmq1, "InverseQ": numbers.iqmp, "D": numbers.d,
    }
    return "<RSAKeyValue>" + "".join(f"<{k}>{b64(v)}</{k}>" for k, v in parts.items()) + "</RSAKeyValue>"


def test_a_key_that_is_not_a_key_is_refused_without_echoing_it(su_cli: Cli, server: EmulatorServer):
    env = {k: v for k, v in su_cli.env.items() if k != "SUPEROFFICE_PRIVATE_KEY_FILE"}
    result = Cli(env={**env, "SUPEROFFICE_PRIVATE_KEY": "canary-not-a-key-0c7d"}, server=server)("plan", "-f", "examples/")
    assert result.exit_code == 1
    line = one_error_line(result.stderr)
    assert "SUPEROFFICE_PRIVATE_KEY is not an RSA private key" in line
    assert "canary" not in result.output


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("targets:\n  p:\n    credentials: {systemUserToken: S, privateKey: K}\n",
         "reconcile.yaml:3:5: targets.p.credentials: 'systemUser' needs systemUserToken and privateKey or "
         "privateKeyFile and appToken and contextId; 'appToken' is missing"),
        ("targets:\n  p:\n    credentials: {systemUserToken: S, privateKey: K, privateKeyFile: F, appToken: A, contextId: C}\n",
         "'systemUser' does not use 'privateKeyFile'; give one scheme only"),
        ("targets:\n  p:\n    credentials: {token: T, contextId: C}\n", "give exactly one of"),
        ("targets:\n  p:\n    environment: prod\n", "reconcile.yaml:3:5: targets.p.environment: Input should be 'sod', 'qaonline' or 'online'"),
    ],
)
def test_system_user_targets_in_reconcile_yaml_are_checked(workdir: Path, text: str, expected: str):
    (workdir / "reconcile.yaml").write_text(text)
    result = Cli(env={})("plan", "-f", "examples/")
    assert result.exit_code == 1
    assert expected in one_error_line(result.stderr)


def test_an_unknown_environment_is_named(su_cli: Cli, server: EmulatorServer):
    env = {k: v for k, v in su_cli.env.items() if k != "SUPEROFFICE_LOGIN_URL"}
    result = Cli(env={**env, "SUPEROFFICE_ENV": "production"})("plan", "-f", "examples/")
    assert result.exit_code == 1
    assert "SUPEROFFICE_ENV 'production' is not a SuperOffice environment (use one of sod, qaonline, online" in one_error_line(result.stderr)


@pytest.mark.slow  # waits for tickets to expire
def test_concurrent_requests_refused_together_share_one_new_ticket(server: EmulatorServer, key_file: Path):
    import asyncio
    import time

    from reconciler.crm.client import CrmClient
    from reconciler.crm.systemuser.auth import SystemUserAuth
    from reconciler.crm.endpoint import resolve_endpoint

    target = resolve_endpoint(None, env=system_user_env(server, key_file))
    assert target is not None and target.system_user is not None
    login_options(server, ticket_ttl_s=2.0, ticket_sliding=False)

    async def go() -> int:
        async with SystemUserAuth(target.system_user) as auth:
            base = await auth.tenant_base_url()
            assert base == f"{server.url}{SEED.context_id}/"
            async with CrmClient(base, auth=auth, parallelism=8) as crm:
                await crm.get_user_groups()
                time.sleep(2.1)  # the ticket has expired: all eight get a 401 first
                await asyncio.gather(*(crm.get_user_groups() for _ in range(8)))
            return auth.exchanges

    assert asyncio.run(go()) == 2


def test_a_named_target_s_errors_name_its_own_variables(server: EmulatorServer, key_file: Path, workdir: Path):
    write_online_target(workdir, server)
    env = {"SO_SUT": SEED.system_user_token, "SO_KEY": str(key_file), "SO_SECRET": "wrong", "SO_CTX": SEED.context_id}
    refused = Cli(env=env)("plan", "-f", "examples/", "--target", "online")
    assert refused.exit_code == 1
    assert "check SO_SECRET: the app's client secret" in one_error_line(refused.stderr)
    bad_key = workdir / "bad.pem"
    bad_key.write_text("not a key")
    broken = Cli(env={**env, "SO_KEY": str(bad_key)})("plan", "-f", "examples/", "--target", "online")
    line = one_error_line(broken.stderr)
    assert "reconcile.yaml:4:5: SO_KEY (" in line and "is not an RSA private key" in line
    assert "SUPEROFFICE_" not in line


def test_a_second_401_after_a_fresh_ticket_is_one_clear_error(su_cli: Cli, server: EmulatorServer):
    login_options(server, ticket_ttl_s=0.000001, ticket_sliding=False)  # every ticket is dead on arrival
    result = su_cli("plan", "-f", "examples/")
    assert result.exit_code == 1
    line = one_error_line(result.stderr)
    assert "was refused: the credentials are missing, wrong or expired (HTTP 401)" in line
    assert "check SUPEROFFICE_SYSTEM_USER_TOKEN and SUPEROFFICE_PRIVATE_KEY_FILE" in line


def test_in_ci_a_complete_system_user_set_is_a_configured_target(su_cli: Cli, server: EmulatorServer):
    result = Cli(env={**su_cli.env, "CI": "true"}, server=server)("plan", "-f", "examples/")
    assert result.exit_code == 0, result.output
    assert "Plan: 7 to create" in result.stdout
    half = {k: v for k, v in su_cli.env.items() if k != "SUPEROFFICE_CONTEXT_ID"}
    refused = Cli(env={**half, "CI": "true"}, server=server)("plan", "-f", "examples/")
    assert refused.exit_code == 1
    assert "SUPEROFFICE_CONTEXT_ID is not set" in one_error_line(refused.stderr)


def test_a_refusal_that_echoes_a_secret_is_shown_masked():
    import asyncio

    from reconciler.crm.systemuser.credentials import system_user_from_env
    from reconciler.crm.systemuser.errors import SystemUserError
    from reconciler.crm.systemuser.exchange import exchange

    secret = "canary-echoed-secret-71c"
    problems: list = []
    credentials = system_user_from_env(
        {"SUPEROFFICE_SYSTEM_USER_TOKEN": SEED.system_user_token, "SUPEROFFICE_PRIVATE_KEY": SEED.app_private_key,
         "SUPEROFFICE_APP_TOKEN": secret, "SUPEROFFICE_CONTEXT_ID": SEED.context_id}, problems)
    assert credentials is not None, problems

    def login(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"IsSuccessful": False, "Token": None,
                                         "ErrorMessage": f"Denied: application token {secret} is unknown"})

    async def go() -> SystemUserError:
        async with httpx.AsyncClient(transport=httpx.MockTransport(login)) as http:
            with pytest.raises(SystemUserError) as caught:
                await exchange(http, credentials)
            return caught.value

    text = str(asyncio.run(go()).diagnostics[0])
    assert "Denied: application token (sensitive) is unknown" in text
    assert secret not in text


SIGN_IN = ["credential_kind", "exchange"]
COMMON = ["endpoint", "credentials", "erpsync", "quote", "users", "archives", "get_all_connections", "connector_urls",
          "sync_priority", "sync_endpoints", "erp_tab_order"]


def test_doctor_shows_how_the_system_user_signs_in(su_cli: Cli, server: EmulatorServer):
    import json

    assert su_cli("apply", "-f", "examples/", "--auto-approve").exit_code == 0
    login_options(server, tenant_host="localhost")
    stale = Cli(env={**su_cli.env, "SUPEROFFICE_URL": f"{server.url}{SEED.context_id}/"}, server=server)
    result = stale("doctor", "--output", "json")
    document = json.loads(result.stdout)
    rows = {c["check"]: c for c in document["checks"]}
    assert [c["check"] for c in document["checks"]] == [*SIGN_IN, *COMMON, "ticket_life", "host"]
    assert result.exit_code == 0 and document["passed"] is True, rows
    assert "system user of 'Reconcile Demo'" in rows["credential_kind"]["found"]
    assert rows["exchange"]["found"].startswith(f"ticket issued by {server.url}")
    assert rows["ticket_life"]["found"].startswith("about 5 h 59 min") or rows["ticket_life"]["found"].startswith("about 6 h 00 min")
    port = httpx.URL(server.url).port
    assert rows["host"]["found"] == (
        f"http://localhost:{port}/{SEED.context_id}/ (the tenant moved from {server.url}{SEED.context_id}/)"
    )
    assert "8k8Q7DmBgo" not in result.output


@pytest.mark.parametrize("with_url", [False, True], ids=["host from the login service", "explicit url"])
def test_doctor_reports_a_refused_exchange_as_its_row(su_cli: Cli, server: EmulatorServer, with_url: bool):
    import json

    env = {**su_cli.env, "SUPEROFFICE_APP_TOKEN": "wrong"}
    if with_url:
        env["SUPEROFFICE_URL"] = f"{server.url}{SEED.context_id}/"
    result = Cli(env=env, server=server)("doctor", "--output", "json")
    assert result.exit_code == 1
    rows = {c["check"]: c for c in json.loads(result.stdout)["checks"]}
    assert list(rows) == SIGN_IN
    assert rows["exchange"]["status"] == "fail"
    assert "Denied: the ApplicationToken is not valid" in rows["exchange"]["found"]
    assert "check SUPEROFFICE_APP_TOKEN" in rows["exchange"]["fix"]
