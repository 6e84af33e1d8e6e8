"""Fault knobs and the request counter: deterministic under a seed, observable without timing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from reconciler.emulator.app import create_app
from reconciler.emulator.faults import Faults
from test_emulator_support import BEARER, AsgiClient, agent, ok, rich_app, rich_seed_text, write_seed

GET_ALL = "ErpSync/GetAllConnectors"


class SleepRecorder:
    """Stands in for asyncio.sleep: records each delay, tracks how many sleep at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.sleeping = 0
        self.peak = 0

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.sleeping += 1
        self.peak = max(self.peak, self.sleeping)
        await asyncio.sleep(0)  # yield, so concurrent requests overlap here
        await asyncio.sleep(0)
        self.sleeping -= 1


@contextmanager
def client_with(tmp_path: Path, faults: Faults, name: str = "state.sqlite") -> Iterator[tuple[AsgiClient, SleepRecorder]]:
    """A client on an emulator with these faults, and what the emulator slept; closed afterwards."""
    app = create_app(tmp_path / name, faults=faults)
    recorder = SleepRecorder()
    app.state.emulator.injector.sleep = recorder
    client = AsgiClient(app, headers=BEARER)
    try:
        yield client, recorder
    finally:
        client.close()


def statuses(client: AsgiClient, n: int) -> list[int]:
    return [agent(client, GET_ALL).status_code for _ in range(n)]


def test_latency_and_jitter_delay_every_api_request(tmp_path: Path) -> None:
    with client_with(tmp_path, Faults(latency_ms=50, jitter_ms=10, fault_seed=3)) as (c, sleeps):
        assert statuses(c, 5) == [200] * 5
        assert c.get("_emulator/requests").status_code == 200  # controls are not delayed
        assert len(sleeps.delays) == 5
        assert all(0.050 <= d <= 0.060 for d in sleeps.delays)
        assert len(set(sleeps.delays)) > 1  # jitter varies
        stats = ok(c.get("_emulator/requests"))["faults"]
        assert stats["delayed_requests"] == 5
        assert stats["delay_ms_total"] == pytest.approx(sum(sleeps.delays) * 1000)
    with client_with(tmp_path, Faults(latency_ms=50, jitter_ms=10, fault_seed=3), "other.sqlite") as (again, sleeps_again):
        statuses(again, 5)
        assert sleeps_again.delays == sleeps.delays  # same seed, same delays


def test_error_rate_is_deterministic_under_a_seed(tmp_path: Path) -> None:
    runs = []
    for name in ("a.sqlite", "b.sqlite"):
        with client_with(tmp_path, Faults(error_rate=0.3, fault_seed=42), name) as (c, _):
            runs.append(statuses(c, 60))
    assert runs[0] == runs[1]
    errors = [s for s in runs[0] if s != 200]
    assert set(errors) == {500, 503}
    assert 5 <= len(errors) <= 35
    with client_with(tmp_path, Faults(error_rate=0.3, fault_seed=43), "c.sqlite") as (other, _):
        assert statuses(other, 60) != runs[0]


def test_error_statuses_choose_which_server_errors_are_answered(tmp_path: Path) -> None:
    with client_with(tmp_path, Faults(error_rate=1.0, error_statuses=(503,), fault_seed=1)) as (c, _):
        assert set(statuses(c, 20)) == {503}
        changed = c.put("_emulator/faults", json={"error_rate": 1.0, "error_statuses": [502, 504]})
        assert changed.status_code == 200, changed.text
        assert set(statuses(c, 20)) == {502, 504}
        refused = c.put("_emulator/faults", json={"error_rate": 1.0, "error_statuses": [404]})
        assert refused.status_code == 400 and "error_statuses" in refused.text
    with pytest.raises(ValueError, match="error_statuses"):
        Faults(error_statuses=())


def test_errors_have_json_bodies_and_503_says_when_to_retry(tmp_path: Path) -> None:
    with client_with(tmp_path, Faults(error_rate=1.0, retry_after_s=2, fault_seed=1)) as (c, _):
        seen = {}
        for _ in range(20):
            r = agent(c, GET_ALL)
            seen[r.status_code] = r
        assert set(seen) == {500, 503}
        assert seen[500].json() == {"Error": True, "ErrorType": "Exception", "ErrorMessage": "Emulated server error.",
                                    "ErrorSource": "SuperOffice.Services.Implementation"}
        assert seen[503].headers["Retry-After"] == "2"
        assert ok(c.get("_emulator/requests"))["faults"]["errors"] == 20


@pytest.mark.parametrize("retry_after", [0, 1, 5])
def test_rate_limit_every_nth_request(tmp_path: Path, retry_after: int) -> None:
    with client_with(tmp_path, Faults(rate_limit_every=3, retry_after_s=retry_after)) as (c, _):
        responses = [agent(c, GET_ALL) for _ in range(9)]
        assert [r.status_code for r in responses] == [200, 200, 429] * 3
        assert all(r.headers["Retry-After"] == str(retry_after) for r in responses if r.status_code == 429)
        assert ok(c.get("_emulator/requests"))["faults"]["rate_limited"] == 3


def test_rate_limit_fraction_is_deterministic(tmp_path: Path) -> None:
    runs = []
    for name in ("a.sqlite", "b.sqlite"):
        with client_with(tmp_path, Faults(rate_limit_rate=0.25, fault_seed=9), name) as (c, _):
            runs.append(statuses(c, 40))
    assert runs[0] == runs[1] and set(runs[0]) == {200, 429}


def test_rate_limited_requests_do_not_reach_the_handler(tmp_path: Path) -> None:
    with client_with(tmp_path, Faults(rate_limit_every=1)) as (c, _):
        body = {"ErpConnectorId": 0, "DisplayName": "x", "URL": "https://connectors.example.com/visma"}
        assert agent(c, "ErpSync/SaveErpSyncConnectorEntity", body).status_code == 429
        ok(c.put("_emulator/faults", json={}))
        assert ok(agent(c, GET_ALL)) == []  # nothing was created


def test_connector_test_latency_applies_to_connector_tests_only(tmp_path: Path) -> None:
    app = rich_app(tmp_path, faults=Faults(connector_test_latency_ms=200))
    recorder = SleepRecorder()
    app.state.emulator.injector.sleep = recorder
    c = AsgiClient(app, headers=BEARER)
    try:
        ok(agent(c, "ErpSync/GetConnection", {"ErpConnectionId": 1}))
        assert recorder.delays == []
        ok(agent(c, "ErpSync/TestConnectionById", {"ErpConnectionId": 1}))
        ok(agent(c, "ErpSync/TestConnectionByConfig", {"ErpConnectionId": 1, "ConfigFields": {}}))
        ok(agent(c, "Quote/TestConnection", {"ConnectorName": "Visma.Quote", "ConnectionData": {}}))
        ok(agent(c, "ErpSync/TestConnectorUrl", {"Url": "https://connectors.example.com/visma"}))
        ok(agent(c, "ErpSync/ToggleErpConnectionActive", {"ErpConnectionId": 2}))  # activation tests it
        assert recorder.delays == [0.2] * 5
        assert ok(c.get("_emulator/requests"))["faults"]["connector_tests"] == 5
    finally:
        c.close()


def test_delays_overlap_across_concurrent_requests(tmp_path: Path) -> None:
    app = create_app(tmp_path / "state.sqlite", faults=Faults(latency_ms=200))
    recorder = SleepRecorder()
    app.state.emulator.injector.sleep = recorder

    async def many() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://e/", headers=BEARER) as client:
            responses = await asyncio.gather(
                *(client.post(f"api/v1/Agents/{GET_ALL}") for _ in range(32))
            )
        assert all(r.status_code == 200 for r in responses)

    asyncio.run(many())
    # All 32 were asleep at the same time: a slow request never blocks the others.
    assert recorder.peak == 32


def test_request_counter(tmp_path: Path) -> None:
    with client_with(tmp_path, Faults(rate_limit_every=4)) as (c, _):
        for _ in range(3):
            agent(c, GET_ALL)
        c.post("api/v1/Agents/ErpSync/GetConnection", json={"ErpConnectionId": 1}, headers={"Authorization": "x"})
        c.get("api/v1/MDOList/associate")
        c.get("_emulator/faults")  # controls are not counted
        counted = ok(c.get("_emulator/requests"))
        assert counted["total"] == 5  # 401s and 429s count too
        assert counted["by_path"] == {
            "/api/v1/Agents/ErpSync/GetAllConnectors": 3,
            "/api/v1/Agents/ErpSync/GetConnection": 1,
            "/api/v1/MDOList/associate": 1,
        }
        assert c.post("_emulator/requests/reset").status_code == 204
        assert ok(c.get("_emulator/requests"))["total"] == 0


def test_faults_can_be_read_and_changed_at_runtime(tmp_path: Path) -> None:
    with client_with(tmp_path, Faults()) as (c, _):
        assert ok(c.get("_emulator/faults"))["rate_limit_every"] == 0
        changed = ok(c.put("_emulator/faults", json={"rate_limit_every": 2, "retry_after_s": 0}))
        assert changed["rate_limit_every"] == 2 and changed["latency_ms"] == 0
        assert statuses(c, 4) == [200, 429, 200, 429]
        # PUT replaces all knobs and restarts the sequence.
        ok(c.put("_emulator/faults", json={"rate_limit_every": 3}))
        assert statuses(c, 3) == [200, 200, 429]
        for bad in ({"error_rate": 2}, {"latency_ms": -1}, {"retry_after_s": 1.5}, {"nope": 1}, [1]):
            response = c.put("_emulator/faults", json=bad)
            assert response.status_code == 400, bad
            assert response.json()["MessageDetail"]
        assert ok(c.get("_emulator/faults"))["rate_limit_every"] == 3  # unchanged by bad PUTs


def test_faults_from_the_seed_and_options_override(tmp_path: Path) -> None:
    seed = write_seed(tmp_path, rich_seed_text().replace("faults: {}", "faults: {rate_limit_every: 2}"))
    c = AsgiClient(create_app(tmp_path / "a.sqlite", seed_path=seed), headers=BEARER)
    try:
        assert statuses(c, 2) == [200, 429]
    finally:
        c.close()
    c = AsgiClient(create_app(tmp_path / "b.sqlite", seed_path=seed, faults=Faults()), headers=BEARER)
    try:
        assert statuses(c, 2) == [200, 200]
    finally:
        c.close()


def test_denied_agents_answer_like_an_online_tenant_without_the_grant(tmp_path: Path) -> None:
    with client_with(tmp_path, Faults(denied_agents=("ErpSync",))) as (c, _):
        refused = agent(c, GET_ALL)
        assert refused.status_code == 403
        body = refused.json()
        assert body["Error"] is True and "Online restricted" in body["ErrorMessage"]
        assert agent(c, "Quote/GetAllInstalledQuoteConnections").status_code == 200
        assert c.get("api/v1/MDOList/associate").status_code == 200
        ok(c.put("_emulator/faults", json={"denied_agents": ["erpsync"], "denied_status": 401}))
        assert agent(c, GET_ALL).status_code == 401
        # Credentials are checked first: without them it is the usual 401 for every agent.
        assert c.post("api/v1/Agents/Quote/GetAllInstalledQuoteConnections", headers={"Authorization": ""}).status_code == 401
        for bad in ({"denied_status": 500}, {"denied_agents": "ErpSync"}, {"denied_agents": [""]}):
            assert c.put("_emulator/faults", json=bad).status_code == 400, bad


def test_a_moved_tenant_answers_421_or_redirects_with_307(tmp_path: Path) -> None:
    with client_with(tmp_path, Faults(moved_to="https://sod3.superoffice.com/Cust1/")) as (c, _):
        moved = agent(c, GET_ALL)
        assert moved.status_code == 421 and moved.json()["ErrorType"] == "MisdirectedRequest"
        assert c.get("api/v1/MDOList/associate", headers={"Authorization": ""}).status_code == 421  # before auth
        ok(c.put("_emulator/faults", json={"moved_to": "https://sod3.superoffice.com/Cust1/", "moved_status": 307}))
        redirected = c.get("api/v1/MDOList/associate?flat=true", follow_redirects=False)
        assert redirected.status_code == 307
        assert redirected.headers["Location"] == "https://sod3.superoffice.com/Cust1/api/v1/MDOList/associate?flat=true"
        for bad in ({"moved_to": "sod3"}, {"moved_to": "https://x/", "moved_status": 301}):
            assert c.put("_emulator/faults", json=bad).status_code == 400, bad
        ok(c.put("_emulator/faults", json={}))
        assert agent(c, GET_ALL).status_code == 200


def test_null_methods_answer_like_a_failed_agent_call(tmp_path: Path) -> None:
    with client_with(tmp_path, Faults(null_methods=("erpsync/getallconnectors",))) as (c, _):
        answer = agent(c, GET_ALL)
        assert answer.status_code == 200 and answer.json() is None
        assert ok(agent(c, "ErpSync/GetAllConnections", {})) == []  # other methods are untouched
        assert c.put("_emulator/faults", json={"null_methods": ["GetAllConnectors"]}).status_code == 400
