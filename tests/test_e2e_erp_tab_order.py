"""The ERP-tab order (`erpTabOrder`) through the CLI against the served emulator: apply
moves the listed fields into the manifest's order with one-place moves and leaves the
other fields where they are; an order changed in the CRM shows in the plan and is put
back (also from a saved plan); a CRM that refuses the rank read gets a note and no moves."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import Cli, served_cli
from reconciler.crm.sync_endpoints import get_actor_mapping, get_field_ranks, move_field
from reconciler.crm.sync_live import tab_order
from test_documented_api import Interceptor
from test_e2e_sync_priority import Recorder

MOVE = "/api/v1/Agents/ErpSync/MoveErpFieldItem"
RANKS = "/api/v1/archive/dynamic"


@pytest.fixture
def recorded(workdir: Path, tmp_path: Path) -> Iterator[tuple[Cli, Recorder]]:
    recorder = Recorder()
    with served_cli(tmp_path / "served.sqlite", recorder.wrap) as served:
        yield served, recorder


def customer_order(cli: Cli, name: str = "Visma Production") -> list[str]:
    """Every Customer field of the connection, in the order the CRM ranks them."""
    async def read(crm: Any) -> list[str]:
        cid = next(c.id for c in await crm.get_all_connections() if c.name == name)
        mapping = await get_actor_mapping(crm, cid, "Customer")
        return list(tab_order(mapping, await get_field_ranks(crm, [f.id for f in mapping.fields])))

    return cli.run_crm(read)


def move(cli: Cli, key: str, step: int) -> None:
    async def go(crm: Any) -> None:
        cid = next(c.id for c in await crm.get_all_connections() if c.name == "Visma Production")
        mapping = await get_actor_mapping(crm, cid, "Customer")
        await move_field(crm, cid, "Customer", mapping.field(key).id, step)

    cli.run_crm(go)


def apply(cli: Cli, *extra: str) -> Any:
    result = cli("apply", "-f", "examples/", "--auto-approve", *extra)
    assert result.exit_code == 0, result.output
    return result


def test_apply_puts_the_listed_fields_in_order_leaves_the_others_and_converges(
    recorded: tuple[Cli, Recorder],
) -> None:
    cli, recorder = recorded
    result = apply(cli)
    # examples/: erpTabOrder [BALANCE, CREDITLIMIT]; the connector ranks CREDITLIMIT first.
    assert "ERP-tab order of Customer" in result.stdout
    order = customer_order(cli)
    assert order.index("BALANCE") < order.index("CREDITLIMIT")
    others = [k for k in order if k not in ("BALANCE", "CREDITLIMIT")]
    assert others == ["NUMBER", "NAME", "VATNO", "PHONE", "EMAIL", "POSTALZIP", "POSTALCITY", "COUNTRY",
                      "CATEGORY", "PAYTERMS"]  # the connector's order, untouched
    moves = [body for path, body in recorder.requests if path == MOVE]
    assert moves == [{"ErpFieldId": moves[0]["ErpFieldId"], "Direction": 1,
                      "ErpConnectionId": moves[0]["ErpConnectionId"], "ErpActorType": "Customer"}]  # one swap
    recorder.requests.clear()
    planned = cli("plan", "-f", "examples/", "--detailed-exitcode")
    assert planned.exit_code == 0, planned.output
    assert "No changes." in planned.stdout
    assert "erpTabOrder" not in planned.output  # compared, equal, and no note
    assert RANKS in recorder.paths()


def test_an_order_changed_in_the_crm_shows_in_the_plan_and_a_saved_plan_puts_it_back(
    recorded: tuple[Cli, Recorder], workdir: Path,
) -> None:
    cli, recorder = recorded
    apply(cli)
    move(cli, "BALANCE", +1)  # an admin moves the balance back below the credit limit
    planned = cli("plan", "-f", "examples/", "--out", "plan.json")
    assert planned.exit_code == 0, planned.output
    assert 'sync.Customer.erpTabOrder: ["CREDITLIMIT", "BALANCE"] → ["BALANCE", "CREDITLIMIT"]' in planned.stdout
    document = json.loads((workdir / "plan.json").read_text())
    [change] = [c for c in document["changes"] if c["name"] == "Visma Production"]
    assert [(f["path"], f["before"], f["after"]) for f in change["fields"]] == [
        ("sync.Customer.erpTabOrder", ["CREDITLIMIT", "BALANCE"], ["BALANCE", "CREDITLIMIT"])]
    recorder.requests.clear()
    applying = cli("apply", "plan.json", "--auto-approve")
    assert applying.exit_code == 0, applying.output
    assert "ErpConnection/Visma Production: sync configuration applied (ERP-tab order of Customer)" in applying.stdout
    assert recorder.paths().count(MOVE) == 1
    order = customer_order(cli)
    assert order.index("BALANCE") < order.index("CREDITLIMIT")
    assert "No changes." in cli("plan", "-f", "examples/").stdout


def test_a_far_away_field_is_moved_one_place_at_a_time(recorded: tuple[Cli, Recorder], workdir: Path) -> None:
    cli, recorder = recorded
    manifest = workdir / "examples" / "connections.yaml"
    manifest.write_text(manifest.read_text().replace(
        "erpTabOrder: [BALANCE, CREDITLIMIT]", "erpTabOrder: [BALANCE, NAME]"))
    apply(cli)
    order = customer_order(cli)
    # NAME held the second place and BALANCE the last: they trade places, the rest stay.
    assert order == ["NUMBER", "BALANCE", "VATNO", "PHONE", "EMAIL", "POSTALZIP", "POSTALCITY", "COUNTRY",
                     "CATEGORY", "PAYTERMS", "CREDITLIMIT", "NAME"]
    # Adjacent swaps: NAME down 10 places, then BALANCE up 9 (as NAME's neighbours move +1).
    assert recorder.paths().count(MOVE) == 19
    assert "No changes." in cli("plan", "-f", "examples/").stdout


def test_a_crm_that_refuses_the_rank_read_gets_a_note_and_no_moves(workdir: Path, tmp_path: Path) -> None:
    recorder = Recorder()
    refusing = Interceptor({RANKS: (403, {"Error": True, "ErrorType": "SoAccessDeniedException",
                                          "ErrorMessage": "Access denied to archive provider Dynamic"})})
    with served_cli(tmp_path / "served.sqlite", lambda app: recorder.wrap(refusing.wrap(app))) as cli:
        result = apply(cli)
        assert MOVE not in recorder.paths()
        assert "ERP-tab order" not in result.stdout
        planned = cli("plan", "-f", "examples/", "--detailed-exitcode")
        assert planned.exit_code == 0, planned.output  # not a change on every run
        assert ("ErpConnection/Visma Production: sync erpTabOrder is not compared and apply leaves the ERP-tab "
                "order as it is: the CRM refused to read the rank") in planned.stdout
        assert "Access denied to archive provider Dynamic" in planned.stdout


def test_moves_that_do_not_take_fail_the_connection_with_a_clear_reason(workdir: Path, tmp_path: Path) -> None:
    recorder = Recorder()
    ignoring = Interceptor({MOVE: (200, None)})  # a server that answers but does not move the field
    with served_cli(tmp_path / "served.sqlite", lambda app: recorder.wrap(ignoring.wrap(app))) as cli:
        result = cli("apply", "-f", "examples/", "--auto-approve")
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output
        [failed] = [line for line in result.stdout.splitlines() if line.lstrip().startswith("✗")]
        assert "ErpConnection/Visma Production" in failed
        assert ("the ERP-tab order of Customer is still not as the manifest says after 3 rounds of moves "
                "(is something else moving fields?)") in failed
        assert recorder.paths().count(MOVE) == 3  # one swap needed, tried once per round
        # It stays inactive rather than being activated half-configured.
        [production] = [c for c in cli.run_crm(lambda crm: crm.get_all_connections()) if c.name == "Visma Production"]
        assert not production.active
