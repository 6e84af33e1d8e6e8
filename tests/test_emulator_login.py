"""The emulator's login service and tenant status API, spoken to directly over HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from conftest import EmulatorServer, start_server, stop_server
from reconciler.crm.systemuser.signing import signed_system_token
from reconciler.emulator.seed import load_seed

SEED = load_seed(None).system_user
assert SEED is not None
KEY = serialization.load_pem_private_key(SEED.app_private_key.encode(), password=None)
NS = "http://schemes.superoffice.net/identity/"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmulatorServer]:
    running = start_server(tmp_path / "served.sqlite")
    yield running
    stop_server(running)


def authenticate(server: EmulatorServer, *, now: datetime | None = None, **changes: str) -> dict:
    body = {
        "SignedSystemToken": signed_system_token(SEED.system_user_token, KEY, now or datetime.now(timezone.utc)),
        "ApplicationToken": SEED.app_token,
        "ContextIdentifier": SEED.context_id,
        "ReturnTokenType": "JWT",
        **changes,
    }
    response = httpx.post(server.url + "Login/api/PartnerSystemUser/Authenticate", json=body)
    assert response.status_code == 200
    return response.json()


def test_the_jwt_validates_against_the_published_key(server: EmulatorServer):
    answer = authenticate(server)
    assert answer["IsSuccessful"] is True and answer["ErrorMessage"] is None
    config = httpx.get(server.url + "login/.well-known/openid-configuration").json()
    assert config["jwks_uri"] == server.url + "login/.well-known/jwks"
    keys = jwt.PyJWKSet.from_dict(httpx.get(config["jwks_uri"]).json()).keys
    header = jwt.get_unverified_header(answer["Token"])
    assert header["alg"] == "RS256" and [k.key_id for k in keys] == [header["kid"]]
    claims = jwt.decode(answer["Token"], keys[0].key, algorithms=["RS256"], issuer="SuperOffice AS",
                        audience=f"spn:{SEED.serial}")
    assert claims[NS + "ticket"].startswith("7T:")
    assert claims[NS + "ctx"] == SEED.context_id
    assert claims[NS + "webapi_url"] == f"{server.url}{SEED.context_id}/api/"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"ReturnTokenType": "Saml"}, "Unsupported ReturnTokenType"),
        ({"ContextIdentifier": "Cust999"}, "Denied: unknown tenant"),
        ({"ApplicationToken": "wrong"}, "Denied: the ApplicationToken"),
        ({"SignedSystemToken": SEED.system_user_token + ".202601010000.AAAA"}, "InvalidSignature"),
        ({"SignedSystemToken": "Other App-x.202601010000.AAAA"}, "Denied: unknown system user token"),
    ],
)
def test_refusals_answer_200_with_is_successful_false(server: EmulatorServer, changes: dict, expected: str):
    answer = authenticate(server, **changes)
    assert answer["IsSuccessful"] is False and answer["Token"] is None
    assert expected in answer["ErrorMessage"]


def test_the_timestamp_must_be_within_the_window(server: EmulatorServer):
    now = datetime.now(timezone.utc)
    assert authenticate(server, now=now - timedelta(minutes=4))["IsSuccessful"] is True
    assert "InvalidTimestamp" in authenticate(server, now=now - timedelta(minutes=7))["ErrorMessage"]
    assert "InvalidTimestamp" in authenticate(server, now=now + timedelta(minutes=7))["ErrorMessage"]


def test_a_ticket_needs_the_app_token_and_expires(server: EmulatorServer):
    server.control("PUT", "_emulator/login", json={"ticket_ttl_s": 0.5, "ticket_sliding": False})
    claims = jwt.decode(authenticate(server)["Token"], options={"verify_signature": False})
    ticket = claims[NS + "ticket"]
    url = f"{server.url}{SEED.context_id}/api/v1/List/UserGroup/Items"
    assert httpx.get(url, headers={"Authorization": f"SOTicket {ticket}"}).status_code == 401
    headers = {"Authorization": f"SOTicket {ticket}", "SO-AppToken": SEED.app_token}
    assert httpx.get(url, headers=headers).status_code == 200
    time.sleep(0.6)
    assert httpx.get(url, headers=headers).status_code == 401


def test_state_api_and_421_on_another_host(server: EmulatorServer):
    server.control("PUT", "_emulator/login", json={"tenant_host": "localhost"})
    port = httpx.URL(server.url).port
    state = httpx.get(f"{server.url}api/state/{SEED.context_id}").json()
    assert state["Api"] == f"http://localhost:{port}/{SEED.context_id}/api"
    assert state["IsRunning"] is True and state["State"] == "Running"
    assert httpx.get(f"{server.url}api/state/Cust999").status_code == 404
    headers = {"Authorization": "Bearer demo-token"}
    moved = httpx.get(f"{server.url}{SEED.context_id}/api/v1/List/UserGroup/Items", headers=headers)
    assert moved.status_code == 421 and moved.json()["Error"] is True
    assert httpx.get(f"{state['Api']}/v1/List/UserGroup/Items", headers=headers).status_code == 200
    assert httpx.get(f"http://localhost:{port}/Cust999/api/v1/List/UserGroup/Items", headers=headers).status_code == 404


def test_demo_key_prints_the_key_the_login_service_accepts(workdir: Path):
    from click.testing import CliRunner

    from reconciler.cli import main

    result = CliRunner().invoke(main, ["emulator", "demo-key"])
    assert result.exit_code == 0
    assert result.stdout.strip() == SEED.app_private_key.strip()


def test_a_seed_key_that_is_not_a_pem_is_named(tmp_path: Path):
    import yaml

    from reconciler.emulator.seed import SeedError, default_seed_text

    data = yaml.safe_load(default_seed_text())
    data["system_user"]["issuer_private_key"] = "not a key"
    seed = tmp_path / "seed.yaml"
    seed.write_text(yaml.safe_dump(data))
    with pytest.raises(SeedError) as caught:
        load_seed(seed)
    assert "system_user.issuer_private_key" in str(caught.value)
    assert "PEM" in str(caught.value)
