"""`reconcile doctor` end to end: the CLI against the emulator, embedded and served over
HTTP, with the ErpSync agent denied (an Online app without the grant) and with a moved
endpoint (421 / 307)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from _reliability import DEMO_TOKEN, emulator_process, write_requests
from conftest import Cli, EmulatorServer, served_cli, start_server, stop_server
from reconciler.crm.client import CrmClient
from reconciler.emulator.auth import Credentials
from test_documented_api import Interceptor

CANARY = "canary-doctor-token-7d1e"
ALL = ["endpoint", "credentials", "erpsync", "quote", "users", "archives", "get_all_connections", "connector_urls",
       "sync_priority", "sync_endpoints", "erp_tab_order"]


def doctor_json(cli: Cli, *extra: str) -> tuple[int, dict[str, dict[str, str]], str]:
    result = cli("doctor", "--output", "json", *extra)
    document = json.loads(result.stdout)
    assert [c["check"] for c in document["checks"]] == ALL
    assert document["passed"] is (result.exit_code == 0)
    return result.exit_code, {c["check"]: c for c in document["checks"]}, result.stdout + result.stderr


@pytest.fixture
def canary_server(workdir: Path, tmp_path: Path) -> Iterator[tuple[Cli, EmulatorServer]]:
    """A served emulator whose only credential is the canary token."""
    running = start_server(tmp_path / "served.sqlite", credentials=Credentials(bearer_tokens=(CANARY,)))
    try:
        yield Cli(env={"SUPEROFFICE_URL": running.url, "SUPEROFFICE_TOKEN": CANARY}, server=running), running
    finally:
        stop_server(running)


def set_knobs(server: EmulatorServer, **knobs: object) -> None:
    httpx.put(server.url + "_emulator/faults", json=knobs, timeout=10).raise_for_status()


def test_all_green_against_the_emulator(cli: Cli):
    assert cli("apply", "-f", "examples/", "--auto-approve").exit_code == 0
    code, rows, _ = doctor_json(cli)
    assert {key: row["status"] for key, row in rows.items()} == dict.fromkeys(ALL, "pass"), rows
    assert code == 0
    assert rows["users"]["found"].startswith("archive AllUsers gives logins (")
    assert rows["archives"]["found"] == "ErpConnector: 2 rows (0 deleted); QuoteConnection: 2 rows (0 deleted)"
    result = cli("doctor")
    assert result.exit_code == 0
    assert "✓ ErpSync agent reachable" in result.stdout
    assert "✓ Connectors answer TestConnectorUrl   2 answer: Tripletex, Visma.net" in result.stdout
    assert "11 passed, 0 failed, 0 not checked.\nThis target is ready for reconcile plan." in result.stdout
    # examples/ sets sync.priority, so apply saved an order and every connection has a Rank.
    assert rows["sync_priority"]["found"] == (
        "MDOList/erpconnections gives a Rank (3 of 3 ERP connections ranked); plan compares sync.priority"
    )
    assert rows["sync_endpoints"]["found"].startswith("GetErpSyncConnectionSummary and GetActorTypeMapping (")
    # The connection with the lowest id: the creates run concurrently, so any of the three.
    assert re.fullmatch(r"archive Dynamic gives the Rank of (\d+) of the \1 Customer fields of "
                        r"(Visma Sandbox|Visma Production|Tripletex Norway); plan compares erpTabOrder",
                        rows["erp_tab_order"]["found"]), rows["erp_tab_order"]


def test_deleted_rows_are_counted_in_the_archives_row(cli: Cli):
    assert cli("apply", "-f", "examples/", "--auto-approve").exit_code == 0

    async def delete_quotes(crm):
        for quote in await crm.get_all_quote_connections(with_config=False):
            await crm.delete_quote_connection(quote.id)

    cli.run_crm(delete_quotes)
    _, rows, _ = doctor_json(cli)
    assert rows["archives"]["found"] == "ErpConnector: 2 rows (0 deleted); QuoteConnection: 2 rows (2 deleted)"


def test_doctor_is_read_only_and_never_prints_the_credential(canary_server):
    cli, server = canary_server
    assert cli("apply", "-f", "examples/", "--auto-approve").exit_code == 0
    server.reset_requests()
    _, rows, output = doctor_json(cli)
    assert rows["credentials"]["status"] == "pass"
    assert "SUPEROFFICE_TOKEN" in rows["credentials"]["found"]
    assert CANARY not in output and CANARY not in cli("doctor").stdout
    by_path = httpx.get(server.url + "_emulator/requests", timeout=10).json()["by_path"]
    assert by_path and write_requests(by_path) == {}


def test_refused_credentials_say_which_variable_to_check(canary_server):
    cli, _ = canary_server
    cli.env["SUPEROFFICE_TOKEN"] = "wrong-token"
    code, rows, output = doctor_json(cli)
    assert code == 1
    assert rows["credentials"]["status"] == "fail" and "HTTP 401" in rows["credentials"]["found"]
    assert "SUPEROFFICE_TOKEN" in rows["credentials"]["fix"]
    assert all(rows[key]["status"] == "skip" for key in ALL[2:])
    assert "wrong-token" not in output


@pytest.mark.parametrize("status", [403, 401])
def test_erpsync_agent_denied_as_online_without_the_grant(canary_server, status: int):
    cli, server = canary_server
    set_knobs(server, denied_agents=["ErpSync"], denied_status=status)
    code, rows, output = doctor_json(cli)
    assert code == 1
    assert rows["credentials"]["status"] == "pass" and rows["quote"]["status"] == "pass"
    assert rows["erpsync"]["status"] == "fail"
    assert rows["erpsync"]["found"].startswith(f"refused (HTTP {status})")
    assert "Online-restricted: the app must be granted it" in rows["erpsync"]["fix"]
    assert rows["get_all_connections"]["status"] == rows["connector_urls"]["status"] == "skip"
    assert CANARY not in output
    text = cli("doctor").stdout
    assert "✗ ErpSync agent reachable" in text and "fix: the ErpSync agent is Online-restricted" in text


def test_moved_endpoint_answering_421_is_reported_with_how_to_find_the_current_one(canary_server):
    cli, server = canary_server
    set_knobs(server, moved_to="https://sod3.superoffice.com/Cust12345/")
    code, rows, output = doctor_json(cli)
    assert code == 1
    endpoint = rows["endpoint"]
    assert endpoint["status"] == "fail" and "HTTP 421 Misdirected Request" in endpoint["found"]
    assert "/api/state/" in endpoint["fix"] and "Api field" in endpoint["fix"]
    assert "failed on the server" not in output
    assert all(rows[key]["status"] == "skip" for key in ALL[1:])


def test_moved_endpoint_answering_307_names_the_current_url(canary_server):
    cli, server = canary_server
    set_knobs(server, moved_to="https://sod3.superoffice.com/Cust12345/", moved_status=307)
    code, rows, _ = doctor_json(cli)
    assert code == 1
    assert rows["endpoint"]["found"] == (
        "HTTP 307: the tenant has moved; the CRM redirects to https://sod3.superoffice.com/Cust12345/"
    )
    assert "use the current URL https://sod3.superoffice.com/Cust12345/" in rows["endpoint"]["fix"]


def test_a_connector_nobody_answers_for_fails_its_row(canary_server):
    cli, _ = canary_server

    async def register() -> None:
        async with CrmClient(cli.env["SUPEROFFICE_URL"], headers={"Authorization": f"Bearer {CANARY}"}) as crm:
            await crm.save_connector(0, "Offline", "https://connectors.example.com/offline")

    asyncio.run(register())
    code, rows, _ = doctor_json(cli)
    assert code == 1
    row = rows["connector_urls"]
    assert row["status"] == "fail"
    assert row["found"] == "no answer from Offline (https://connectors.example.com/offline): ErrorNotFound"
    assert "connector service runs" in row["fix"]


@pytest.mark.slow
def test_serve_options_deny_the_erpsync_agent_and_move_the_endpoint(workdir: Path, tmp_path: Path):
    """`reconcile emulator serve --deny-agent ErpSync` / `--moved-to URL --moved-status 307`
    as their own process, checked by `reconcile doctor`."""
    with emulator_process(tmp_path, "--deny-agent", "ErpSync") as served:
        cli = Cli(env={"SUPEROFFICE_URL": served.url, "SUPEROFFICE_TOKEN": DEMO_TOKEN})
        code, rows, _ = doctor_json(cli)
        assert code == 1 and rows["erpsync"]["found"].startswith("refused (HTTP 403)")
    moved = tmp_path / "moved"
    moved.mkdir()
    with emulator_process(moved, "--moved-to", "https://sod3.superoffice.com/Cust9/", "--moved-status", "307") as served:
        cli = Cli(env={"SUPEROFFICE_URL": served.url, "SUPEROFFICE_TOKEN": DEMO_TOKEN})
        code, rows, _ = doctor_json(cli)
        assert code == 1 and "redirects to https://sod3.superoffice.com/Cust9/" in rows["endpoint"]["found"]


def test_an_unreachable_url_fails_the_endpoint_row_and_checks_nothing_else(workdir: Path):
    port = _closed_port()
    cli = Cli(env={"SUPEROFFICE_URL": f"http://127.0.0.1:{port}/", "SUPEROFFICE_TOKEN": CANARY})
    code, rows, output = doctor_json(cli)
    assert code == 1
    assert rows["endpoint"]["found"] == f"could not reach http://127.0.0.1:{port}/ (ConnectError)"
    assert "check the URL" in rows["endpoint"]["fix"]
    assert all(rows[key]["status"] == "skip" for key in ALL[1:])
    assert CANARY not in output


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_older_server_without_get_all_connections_is_named(canary_server):
    cli, server = canary_server
    set_knobs(server, missing_methods=["ErpSync/GetAllConnections"])
    code, rows, _ = doctor_json(cli)
    assert code == 1
    row = rows["get_all_connections"]
    assert row["status"] == "fail" and row["found"].startswith("missing: this server is older than Services88")
    assert "no fallback" in row["fix"]
    assert rows["erpsync"]["status"] == "pass"


# --- sync configuration rows -------------------------------------------------------------


@pytest.fixture
def intercepted(workdir: Path, tmp_path: Path) -> Iterator[tuple[Cli, Interceptor]]:
    """The served emulator behind an Interceptor, for answers a real tenant may give."""
    interceptor = Interceptor()
    with served_cli(tmp_path / "served.sqlite", interceptor.wrap) as served:
        yield served, interceptor


def test_a_fresh_tenant_notes_what_it_cannot_tell_yet_and_still_exits_0(canary_server):
    cli, _ = canary_server
    code, rows, _ = doctor_json(cli)
    assert code == 0
    assert rows["sync_priority"]["status"] == "note"
    assert rows["sync_priority"]["found"].startswith("no ERP connections yet")
    assert rows["sync_priority"]["fix"].startswith("if it does not, plan cannot compare sync.priority here")
    assert rows["sync_endpoints"]["status"] == "note"
    assert rows["sync_endpoints"]["found"] == "not checked: no ERP connection yet; run doctor again after the first apply"
    assert rows["erp_tab_order"]["status"] == "note"
    assert rows["erp_tab_order"]["found"] == "not checked: no ERP connection yet; run doctor again after the first apply"
    text = cli("doctor")
    assert text.exit_code == 0
    assert "i Sync priority order readable" in text.stdout and "      note: if it does not, plan cannot compare" in text.stdout
    assert "8 passed, 3 notes, 0 failed, 0 not checked.\nThis target is ready for reconcile plan." in text.stdout


def rows_after_apply_with_erpconnections(
    cli: Cli, interceptor: Interceptor, items: list[dict[str, object]],
) -> dict[str, dict[str, str]]:
    """Doctor's rows (exit 0) after applying examples/, with MDOList/erpconnections answered by `items`."""
    assert cli("apply", "-f", "examples/", "--auto-approve").exit_code == 0
    interceptor.answers["/api/v1/MDOList/erpconnections"] = (200, items)
    code, rows, _ = doctor_json(cli)
    assert code == 0, rows
    return rows


def test_connections_without_a_rank_are_a_note_saying_the_priority_is_not_compared(
    intercepted: tuple[Cli, Interceptor],
):
    # A tenant whose erpconnections list has no Rank (MDO items carry Rank 0 when not ranked).
    rows = rows_after_apply_with_erpconnections(*intercepted, [
        {"Id": 1, "Name": "Visma.net", "ExtraInfo": "6f1c9a52-0000-4000-8000-000000000001", "Rank": 0},
        {"Id": 2, "Name": "Tripletex", "ExtraInfo": "6f1c9a52-0000-4000-8000-000000000002", "Rank": 0},
    ])
    row = rows["sync_priority"]
    assert row["status"] == "note"
    assert row["found"] == ("MDOList/erpconnections gives no Rank for any of its 2 ERP connections "
                            "(no order was ever saved, or this CRM does not report it)")
    assert row["fix"] == ("plan cannot compare sync.priority here (it says so in a note) and apply sends the priority "
                          "order whenever it touches a connection that sets sync.priority")
    assert rows["sync_endpoints"]["status"] == "pass"


def test_a_list_that_names_no_connection_by_guid_is_not_taken_for_a_fresh_tenant(
    intercepted: tuple[Cli, Interceptor],
):
    # Ranked items, but without the connection GUID in ExtraInfo: nothing to match them to.
    rows = rows_after_apply_with_erpconnections(*intercepted, [
        {"Id": 1, "Name": "Visma Production", "ExtraInfo": "", "Rank": 1},
        {"Id": 2, "Name": "Tripletex Norway", "ExtraInfo": "", "Rank": 2},
    ])
    row = rows["sync_priority"]
    assert row["status"] == "note"
    assert row["found"] == ("MDOList/erpconnections names none of the 3 ERP connections by its GUID (ExtraInfo), "
                            "so it cannot tell which rank is whose")
    assert row["fix"].startswith("plan cannot compare sync.priority here")


def test_the_emulator_before_any_priority_order_was_saved_notes_that_it_is_not_compared(cli: Cli, workdir: Path):
    """The emulator gives Rank 0 until an order is saved: examples/ without sync.priority saves none."""
    manifest = workdir / "examples" / "connections.yaml"
    manifest.write_text(manifest.read_text().replace("    priority: 1\n", "").replace("    priority: 2\n", ""))
    assert cli("apply", "-f", "examples/", "--auto-approve").exit_code == 0
    code, rows, _ = doctor_json(cli)
    assert code == 0
    assert rows["sync_priority"]["status"] == "note"
    assert rows["sync_priority"]["found"].startswith("MDOList/erpconnections gives no Rank for any of its 3 ERP connections")
    assert rows["sync_endpoints"]["status"] == "pass"


def test_a_crm_that_refuses_archive_dynamic_gets_a_note_that_erp_tab_order_is_not_compared(
    intercepted: tuple[Cli, Interceptor],
):
    cli, interceptor = intercepted
    assert cli("apply", "-f", "examples/", "--auto-approve").exit_code == 0
    interceptor.answers["/api/v1/archive/dynamic"] = (
        403, {"Error": True, "ErrorType": "SoAccessDeniedException", "ErrorMessage": "No access to Dynamic"})
    code, rows, _ = doctor_json(cli)
    assert code == 0, rows  # a limit on one feature, not a tenant that is not ready
    row = rows["erp_tab_order"]
    assert row["status"] == "note"
    assert row["found"].startswith("archive Dynamic refused: CRM request GET archive/dynamic ")
    assert "(HTTP 403)" in row["found"] and "No access to Dynamic" in row["found"]
    assert row["fix"].startswith("plan cannot compare sync erpTabOrder here (it says so in a note) and apply leaves")


@pytest.mark.parametrize("status", [403, 401])
def test_a_refused_summary_read_fails_its_row_and_says_what_to_do(intercepted: tuple[Cli, Interceptor], status: int):
    cli, interceptor = intercepted
    assert cli("apply", "-f", "examples/", "--auto-approve").exit_code == 0
    interceptor.answers["/api/v1/Agents/ErpSync/GetErpSyncConnectionSummary"] = (
        status, {"Error": "Access denied", "ErrorType": "SoSecurityException"},
    )
    code, rows, _ = doctor_json(cli)
    assert code == 1
    row = rows["sync_endpoints"]
    assert row["status"] == "fail"
    assert row["found"].startswith("ErpSync/GetErpSyncConnectionSummary for ") and f"refused (HTTP {status})" in row["found"]
    assert row["fix"] == ("export reads it to find every actor type of a connection; the user behind the "
                          "credentials needs ERP administration rights to read it")
    assert rows["erpsync"]["status"] == rows["sync_priority"]["status"] == "pass"
    assert "fix: export reads it to find every actor type of a connection" in cli("doctor").stdout


def test_a_server_without_the_mapping_read_says_sync_blocks_cannot_be_managed(canary_server):
    cli, server = canary_server
    assert cli("apply", "-f", "examples/", "--auto-approve").exit_code == 0
    set_knobs(server, missing_methods=["ErpSync/GetActorTypeMapping"])
    code, rows, _ = doctor_json(cli)
    assert code == 1
    row = rows["sync_endpoints"]
    assert row["status"] == "fail" and "ErpSync/GetActorTypeMapping for " in row["found"]
    assert "HTTP 404" in row["found"]
    assert row["fix"].startswith("this server has no GetActorTypeMapping (plan and apply read it for every connection "
                                 "with a `sync` block), so `sync` blocks cannot be managed here")


def test_sync_rows_when_the_erpsync_agent_is_denied(canary_server):
    cli, server = canary_server
    set_knobs(server, denied_agents=["ErpSync"])
    _, rows, _ = doctor_json(cli)
    assert rows["sync_endpoints"] == {**rows["sync_endpoints"], "status": "skip",
                                      "found": "not checked: the ErpSync agent is not reachable"}
    assert rows["sync_priority"]["status"] == "note"
