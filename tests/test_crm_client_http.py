"""The client's HTTP behaviour: auth headers, retries, errors, concurrency."""

from __future__ import annotations

import asyncio
import random
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from _crm_fake import BASE, FakeTenant, call, erp_carrier, run, small_tenant
from reconciler.crm import (
    CrmAuthError,
    CrmClient,
    CrmProtocolError,
    CrmRequestError,
    CrmServerError,
    CrmUnavailableError,
    CrmWriteUncertainError,
    resolve_endpoint,
)
from reconciler.crm.live import LiveErpConnection
from reconciler.crm.retry import retry_after_seconds
from reconciler.diagnostics import DiagnosticError
from reconciler.secrets import Sensitive

CANARY = "canary-51d0e2-do-not-print"


class Sleeps(list):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def scripted(answers, tenant: FakeTenant | None = None):
    """An override that returns the given answers in turn, then falls through to the tenant."""
    answers = list(answers)

    def override(request: httpx.Request):
        if not answers:
            return None
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return override


async def _groups(client: CrmClient):
    async with client:
        return await client.get_user_groups()


# --- auth headers ------------------------------------------------------------------


@pytest.mark.parametrize(
    "env, expected",
    [
        ({"SUPEROFFICE_TOKEN": CANARY}, {"authorization": f"Bearer {CANARY}"}),
        ({"SUPEROFFICE_TICKET": "7T:x", "SUPEROFFICE_APP_TOKEN": CANARY},
         {"authorization": "SOTicket 7T:x", "so-apptoken": CANARY}),
        ({"SUPEROFFICE_USER": "u", "SUPEROFFICE_PASSWORD": "p"}, {"authorization": "Basic dTpw"}),
    ],
)
def test_every_request_carries_the_target_headers(env, expected):
    seen: list[httpx.Headers] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers)
        return httpx.Response(200, json=[])

    target = resolve_endpoint("https://crm.example.com/Cust1", env=env)
    client = CrmClient(target.base_url, headers=target.headers, transport=httpx.MockTransport(handler))
    run(_groups(client))
    assert seen and all(h.get(k) == v for h in seen for k, v in expected.items())
    assert seen[0]["accept"] == "application/json"


def test_urls_keep_the_tenant_path():
    urls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        urls.append(str(request.url))
        return httpx.Response(200, json=[] if "GetAll" in request.url.path else None)

    async def go():
        async with CrmClient("https://sod.superoffice.com/Cust12345", transport=httpx.MockTransport(handler)) as c:
            await c.get_all_connections()
            await c.get_connector(20)
    run(go())
    assert urls == [
        "https://sod.superoffice.com/Cust12345/api/v1/Agents/ErpSync/GetAllConnections",
        "https://sod.superoffice.com/Cust12345/api/v1/Agents/ErpSync/GetErpSyncConnectorEntity"
        "?erpSyncConnectorEntityId=20",
    ]


# --- retries ---------------------------------------------------------------------------


def test_429_waits_for_retry_after_then_succeeds():
    tenant = small_tenant()
    tenant.overrides["GET List/UserGroup/Items"] = scripted(
        [httpx.Response(429, headers={"Retry-After": "7"}, json={"Message": "slow down"})]
    )
    sleeps = Sleeps()
    client = tenant.client(sleep=sleeps)
    groups = run(_groups(client))
    assert [g.name for g in groups] == ["Sales Norway"]
    assert sleeps == [7.0]
    assert client.request_count == 2


def test_retry_after_as_http_date_and_capped():
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=12), usegmt=True), now=now) == 12
    assert retry_after_seconds("garbage") is None
    tenant = small_tenant()
    tenant.overrides["GET List/UserGroup/Items"] = scripted(
        [httpx.Response(503, headers={"Retry-After": "3600"})]
    )
    sleeps = Sleeps()
    run(_groups(tenant.client(sleep=sleeps, retry_after_max=60)))
    assert sleeps == [60]


def test_503_burst_then_success_with_jittered_exponential_backoff():
    tenant = small_tenant()
    tenant.overrides["GET List/UserGroup/Items"] = scripted([httpx.Response(503)] * 4)
    sleeps = Sleeps()
    client = tenant.client(sleep=sleeps, backoff_base=1.0, backoff_max=5.0, rng=random.Random(1))
    assert run(_groups(client))
    assert client.request_count == 5 and len(sleeps) == 4
    for attempt, slept in enumerate(sleeps):
        assert 0 <= slept <= min(5.0, 2**attempt)


@pytest.mark.parametrize("status", [502, 504])
def test_reads_retry_on_gateway_errors(status):
    tenant = small_tenant()
    tenant.overrides["GET List/UserGroup/Items"] = scripted([httpx.Response(status)])
    client = tenant.client()
    assert run(_groups(client)) and client.request_count == 2


def test_reads_retry_on_timeouts_and_dropped_connections():
    tenant = small_tenant()
    tenant.overrides["GET List/UserGroup/Items"] = scripted(
        [httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("dropped")]
    )
    client = tenant.client()
    assert run(_groups(client)) and client.request_count == 3


def test_giving_up_names_the_endpoint_status_and_server_message():
    tenant = small_tenant()
    tenant.overrides["ErpSync/GetAllConnections"] = lambda r: httpx.Response(
        503, json={"Message": "Service Unavailable", "MessageDetail": "maintenance"}
    )
    sleeps = Sleeps()
    client = tenant.client(sleep=sleeps, max_retries=3)

    with pytest.raises(CrmUnavailableError) as info:
        call(client, lambda c: c.get_all_connections())
    text = str(info.value)
    assert "ErpSync/GetAllConnections" in text and "503" in text and "maintenance" in text
    assert client.request_count == 4 and len(sleeps) == 3
    assert isinstance(info.value, DiagnosticError)


def test_unreachable_server_gives_up_with_the_endpoint():
    def handler(request):
        raise httpx.ConnectError("refused")

    async def go():
        async with CrmClient(BASE, transport=httpx.MockTransport(handler), sleep=Sleeps(), max_retries=2) as c:
            await c.get_users()

    with pytest.raises(CrmUnavailableError, match="GET archive/AllUsers.*3 attempts.*ConnectError"):
        run(go())


def _new_connection(password: str) -> LiveErpConnection:
    return LiveErpConnection(
        id=0, connector_id=1, name="New", description="", active=False, guid="", deleted=False,
        all_access=True, config={"CompanyId": "1", "Password": Sensitive(password)},
    )


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("dropped"),
     httpx.Response(502), httpx.Response(504)],
)
def test_a_write_is_not_retried_when_it_may_have_happened(failure):
    tenant = small_tenant()
    tenant.overrides["ErpSync/SaveConnection"] = scripted([failure])
    client = tenant.client()

    with pytest.raises(CrmWriteUncertainError) as info:
        call(client, lambda c: c.save_connection(_new_connection(CANARY)))
    assert client.request_count == 1
    text = str(info.value)
    assert "ErpSync/SaveConnection" in text and "may or may not" in text and CANARY not in text


@pytest.mark.parametrize(
    "failure", [httpx.Response(429, headers={"Retry-After": "1"}), httpx.Response(503), httpx.ConnectError("no")]
)
def test_a_write_is_retried_when_the_server_cannot_have_acted(failure):
    tenant = small_tenant()
    tenant.overrides["ErpSync/SaveConnection"] = scripted([failure])
    client = tenant.client()

    saved = call(client, lambda c: c.save_connection(_new_connection("right")))
    assert tenant.calls.count("ErpSync/SaveConnection") == 2 and saved.id == 11
    assert len([c for c in tenant.erp_connections if c["DisplayName"] == "New"]) == 1


def test_toggle_is_not_repeated_after_a_gateway_timeout():
    tenant = small_tenant()
    tenant.overrides["ErpSync/ToggleErpConnectionActive"] = scripted([httpx.Response(504)])
    client = tenant.client()

    with pytest.raises(CrmWriteUncertainError, match="ToggleErpConnectionActive"):
        call(client, lambda c: c.toggle_connection_active(10, expect_active=False))
    assert client.request_count == 1


# --- errors ------------------------------------------------------------------------------


def test_401_is_about_credentials():
    tenant = small_tenant()
    tenant.overrides["GET List/UserGroup/Items"] = lambda r: httpx.Response(401)
    with pytest.raises(CrmAuthError) as info:
        run(_groups(tenant.client()))
    text = str(info.value)
    assert "credentials" in text and "SUPEROFFICE_TOKEN" in text and "401" in text


def test_401_hint_names_the_variables_in_use():
    tenant = small_tenant()
    tenant.overrides["GET List/UserGroup/Items"] = lambda r: httpx.Response(401)
    target = resolve_endpoint(BASE, env={"SUPEROFFICE_TICKET": CANARY, "SUPEROFFICE_APP_TOKEN": CANARY})
    client = tenant.client(headers=target.headers, auth_hint=target.auth_hint)
    with pytest.raises(CrmAuthError) as info:
        run(_groups(client))
    text = str(info.value)
    assert "SUPEROFFICE_TICKET and SUPEROFFICE_APP_TOKEN" in text and CANARY not in text


def test_403_is_about_rights():
    tenant = small_tenant()
    tenant.overrides["ErpSync/GetAllConnections"] = lambda r: httpx.Response(403, json={"Message": "Online restricted"})

    with pytest.raises(CrmAuthError, match="forbidden.*Online restricted"):
        call(tenant.client(), lambda c: c.get_all_connections())


def test_400_surfaces_message_and_detail_but_not_the_body():
    tenant = small_tenant()
    tenant.overrides["ErpSync/TestConnectionByConfig"] = lambda r: httpx.Response(
        400, json={"Message": "The request is invalid.", "MessageDetail": "ConfigFields is required"}
    )

    with pytest.raises(CrmRequestError) as info:
        call(tenant.client(), lambda c: c.test_erp_by_config(connector_id=1, config={"Password": Sensitive(CANARY)}))
    text = str(info.value)
    assert "ErpSync/TestConnectionByConfig" in text
    assert "The request is invalid. — ConfigFields is required" in text
    assert CANARY not in text
    # the secret did go over the wire, revealed
    assert CANARY.encode() in tenant.bodies[-1]


def test_500_is_a_server_error_without_retry():
    tenant = small_tenant()
    tenant.overrides["GET archive/AllUsers"] = lambda r: httpx.Response(500, text="<html>boom</html>")
    client = tenant.client()

    with pytest.raises(CrmServerError, match="GET archive/AllUsers failed on the server \\(HTTP 500\\)"):
        call(client, lambda c: c.get_users())
    assert client.request_count == 1


def test_non_json_and_wrong_shapes_are_protocol_errors_naming_the_endpoint():
    tenant = small_tenant()
    tenant.overrides["GET List/UserGroup/Items"] = lambda r: httpx.Response(200, text="<html>login</html>")
    with pytest.raises(CrmProtocolError, match="GET List/UserGroup/Items returned a body that is not JSON"):
        run(_groups(tenant.client()))
    tenant.overrides["GET List/UserGroup/Items"] = lambda r: httpx.Response(200, json={"value": []})
    with pytest.raises(CrmProtocolError, match="unexpected shape: expected a JSON array of user groups"):
        run(_groups(tenant.client()))
    tenant.overrides["ErpSync/GetAllConnections"] = lambda r: httpx.Response(200, json=[{"DisplayName": "x"}])

    with pytest.raises(CrmProtocolError, match="GetAllConnections.*'ErpConnectionId' is missing"):
        call(tenant.client(), lambda c: c.get_all_connections())


def test_test_results_must_be_booleans():
    tenant = small_tenant()
    tenant.overrides["ErpSync/TestConnectionById"] = lambda r: httpx.Response(200, json="yes")

    with pytest.raises(CrmProtocolError, match="TestConnectionById did not return true or false"):
        call(tenant.client(), lambda c: c.test_erp_by_id(10))


# --- concurrency ---------------------------------------------------------------------------


def test_parallelism_bounds_requests_in_flight():
    tenant = small_tenant()
    tenant.delay = 0.01
    tenant.erp_connections = [erp_carrier(i, 1, f"c{i}", None) for i in range(1, 21)]
    tenant.erp_config = {i: {"CompanyId": str(i)} for i in range(1, 21)}
    client = tenant.client(parallelism=3)

    conns = call(client, lambda c: c.get_all_connections())
    assert len(conns) == 20 and [c.config["CompanyId"] for c in conns] == [str(i) for i in range(1, 21)]
    assert tenant.max_in_flight == 3  # 20 config fetches queued, never more than 3 at once
    assert client.request_count == 22  # list + metadata + 20 config reads


def test_client_outside_async_with_is_a_clear_programming_error():
    async def go():
        await CrmClient(BASE).get_users()

    with pytest.raises(RuntimeError, match="async with"):
        asyncio.run(go())
