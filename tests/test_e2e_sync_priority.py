"""The sync priority order through the CLI against the served emulator: saved once per
apply, before the connections that set `priority` are activated (the admin UI's order:
… sync priorities → test → activate), visible in what apply prints and reports, and a
failed save leaves those connections inactive."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conftest import Cli, served_cli
from test_documented_api import Interceptor

SAVE_ORDER = "/api/v1/Agents/ErpSync/SaveErpConnectionSyncPriorities"
TOGGLE = "/api/v1/Agents/ErpSync/ToggleErpConnectionActive"


@dataclass
class Recorder:
    """The emulator's requests in the order they arrive: (path, JSON body or None)."""

    requests: list[tuple[str, Any]] = field(default_factory=list)

    def wrap(self, app: Any) -> Any:
        async def recording(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            index = len(self.requests)
            self.requests.append((scope["path"], None))
            chunks: list[bytes] = []

            async def reading() -> dict[str, Any]:
                message = await receive()
                chunks.append(message.get("body", b""))
                body = b"".join(chunks)
                if not message.get("more_body") and body.strip():
                    self.requests[index] = (scope["path"], json.loads(body))
                return message

            await app(scope, reading, send)

        return recording

    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]

    def toggles_of(self, connection_id: int) -> list[int]:
        """Positions of the ToggleErpConnectionActive requests for one connection."""
        return [i for i, (path, body) in enumerate(self.requests)
                if path == TOGGLE and isinstance(body, dict) and body.get("ErpConnectionId") == connection_id]


@pytest.fixture
def recorded(workdir: Path, tmp_path: Path) -> Iterator[tuple[Cli, Recorder]]:
    recorder = Recorder()
    with served_cli(tmp_path / "served.sqlite", recorder.wrap) as served:
        yield served, recorder


def connection_ids(cli: Cli) -> dict[str, int]:
    return {c.name: c.id for c in cli.run_crm(lambda crm: crm.get_all_connections())}


def apply(cli: Cli, *extra: str) -> Any:
    return cli("apply", "-f", "examples/", "--auto-approve", *extra)


def test_the_priority_order_is_saved_once_before_the_connections_that_set_it_are_activated(
    recorded: tuple[Cli, Recorder],
) -> None:
    cli, recorder = recorded
    result = apply(cli)
    assert result.exit_code == 0, result.output
    paths = recorder.paths()
    assert paths.count(SAVE_ORDER) == 1, "one save of the order per apply"
    saved_at = paths.index(SAVE_ORDER)
    ids = connection_ids(cli)
    for name in ("Visma Production", "Tripletex Norway"):  # the examples' connections that set priority
        [toggle] = recorder.toggles_of(ids[name])
        assert saved_at < toggle, f"{name} was activated before the sync priority order was saved"
    # The full order lists every connection, so it waits until all of them exist.
    [(_, body)] = [(p, b) for p, b in recorder.requests if p == SAVE_ORDER]
    assert body["ErpConnectionIds"][:2] == [ids["Visma Production"], ids["Tripletex Norway"]]
    assert sorted(body["ErpConnectionIds"]) == sorted(ids.values())


def test_an_apply_that_changes_the_priorities_says_so_in_its_output_and_its_report(
    recorded: tuple[Cli, Recorder], workdir: Path,
) -> None:
    cli, recorder = recorded
    assert apply(cli).exit_code == 0
    manifest = workdir / "examples" / "connections.yaml"
    text = manifest.read_text()
    assert text.count("priority: 1") == 1 and text.count("priority: 2") == 1
    manifest.write_text(text.replace("priority: 1", "priority: 9"))  # Tripletex Norway goes first now
    recorder.requests.clear()
    report_path = workdir / "report.json"
    result = apply(cli, "--report", str(report_path))
    assert result.exit_code == 0, result.output
    assert recorder.paths().count(SAVE_ORDER) == 1
    for name in ("Visma Production", "Tripletex Norway"):  # only their priority changed
        assert (f"✓ ~ ErpConnection/{name}: mappings, list mappings, defaults and ERP-tab order already as the manifest says; "
                "sync priority order saved\n") in result.stdout, result.stdout
    report = json.loads(report_path.read_text())
    messages = {c["name"]: c["message"] for c in report["changes"]}
    assert "sync priority order saved" in messages["Visma Production"]
    assert "sync priority order saved" in messages["Tripletex Norway"]
    assert "No changes." in cli("plan", "-f", "examples/").stdout
    # Nothing left to change: the next apply does not send the order again.
    recorder.requests.clear()
    assert apply(cli).exit_code == 0
    assert SAVE_ORDER not in recorder.paths()


def test_a_failed_save_of_the_priority_order_leaves_the_connections_that_set_one_inactive(
    recorded: tuple[Cli, Recorder],
) -> None:
    cli, _ = recorded
    assert cli.server is not None
    cli.server.set_faults(null_methods=["ErpSync/SaveErpConnectionSyncPriorities"])
    result = apply(cli)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    line = next(line for line in result.stdout.splitlines() if "+ ErpConnection/Visma Production:" in line)
    assert line.lstrip().startswith("✗"), result.stdout
    assert "the sync priority order was not saved, so it was not activated" in line, line
    assert "SaveErpConnectionSyncPriorities" in line, line
    live = {c.name: c for c in cli.run_crm(lambda crm: crm.get_all_connections())}
    assert live["Visma Production"].active is False
    assert live["Tripletex Norway"].active is False


def test_a_crm_whose_list_names_no_connection_gets_a_note_not_a_change_on_every_run(
    workdir: Path, tmp_path: Path,
) -> None:
    interceptor = Interceptor()
    with served_cli(tmp_path / "served.sqlite", interceptor.wrap) as cli:
        assert apply(cli).exit_code == 0
        interceptor.answers["/api/v1/MDOList/erpconnections"] = (200, [
            {"Id": 1, "Name": "Visma Production", "ExtraInfo": "", "Rank": 2},
            {"Id": 2, "Name": "Tripletex Norway", "ExtraInfo": "", "Rank": 1},
        ])
        planned = cli("plan", "-f", "examples/", "--detailed-exitcode")
        assert planned.exit_code == 0, planned.output
        assert ("note: sync priority is not compared: the CRM reports no sync priority order for these connections "
                "(MDOList erpconnections gives none a Rank, or does not name them by GUID)") in planned.stdout
