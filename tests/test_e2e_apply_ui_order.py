"""`reconcile apply` follows the admin UI's order (issue #11 item 8): a connector URL is
saved only when a connector answers there, an ERP connection is tested before it is
saved, and a new one has its actor types and fields stored before it is activated."""

from __future__ import annotations

from pathlib import Path

from conftest import Cli, EmulatorServer

OFFLINE_URL = "https://connectors.example.com/offline"


def apply(cli: Cli):
    return cli("apply", "-f", "examples/", "--auto-approve")


def connectors(cli: Cli) -> dict[str, str]:
    return {c.name: c.url for c in cli.run_crm(lambda crm: crm.get_connectors_with_urls()) if not c.deleted}


def use_url(workdir: Path, url: str) -> None:
    manifest = workdir / "examples" / "connections.yaml"
    manifest.write_text(manifest.read_text().replace("url: https://connectors.example.com/visma", f"url: {url}"))


def test_a_new_connector_url_nobody_answers_at_is_not_saved(cli: Cli, workdir: Path):
    use_url(workdir, OFFLINE_URL)
    result = apply(cli)
    assert result.exit_code == 1, result.output
    assert (
        f"✗ + SyncConnector/Visma.net: not saved: no connector answers at {OFFLINE_URL} (TestConnectorUrl: ErrorNotFound)"
        in result.stdout
    )
    assert "– + ErpConnection/Visma Production: skipped: SyncConnector/Visma.net did not succeed" in result.stdout
    assert "Visma.net" not in connectors(cli)
    assert "Tripletex" in connectors(cli)  # the other connector is not held up


def test_plan_says_a_new_or_changed_connector_url_does_not_answer(cli: Cli, workdir: Path):
    manifest = workdir / "examples" / "connections.yaml"
    original = manifest.read_text()
    use_url(workdir, OFFLINE_URL)
    result = cli("plan", "-f", "examples/")
    assert result.exit_code == 1, result.output
    assert "  + Visma.net  create  test failed" in result.stdout
    assert "test: no connector answers at the new URL (TestConnectorUrl: ErrorNotFound)" in result.stdout
    assert "1 connection test(s) failed: SyncConnector/Visma.net. apply will not save them." in result.stdout

    manifest.write_text(original)
    assert apply(cli).exit_code == 0
    use_url(workdir, OFFLINE_URL)
    changed = cli("plan", "-f", "examples/")
    assert changed.exit_code == 1 and "  ~ Visma.net  update  test failed" in changed.stdout


def test_a_changed_connector_url_nobody_answers_at_is_not_saved(cli: Cli, workdir: Path):
    assert apply(cli).exit_code == 0
    use_url(workdir, OFFLINE_URL)
    result = apply(cli)
    assert result.exit_code == 1, result.output
    assert f"✗ ~ SyncConnector/Visma.net: not saved: no connector answers at {OFFLINE_URL}" in result.stdout
    assert connectors(cli)["Visma.net"] == "https://connectors.example.com/visma"
    # Checked before anything is written: not even the URL switch's probe connector was registered.
    every = cli.run_crm(lambda crm: crm.get_connectors_with_urls())
    assert not [c for c in every if c.url == OFFLINE_URL]


def test_new_erp_connections_get_their_fields_stored_before_activation(http_cli: Cli):
    server: EmulatorServer = http_cli.server  # type: ignore[assignment]
    server.reset_requests()
    assert apply(http_cli).exit_code == 0
    by_path = server.control("GET", "_emulator/requests")["by_path"]
    assert by_path.get("/api/v1/Agents/ErpSync/UpdateConnectionFields") == 3  # one per created connection
    # Per new connector URL: once by apply's plan, once again just before saving it.
    assert by_path.get("/api/v1/Agents/ErpSync/TestConnectorUrl") == 4

    # An unchanged connector and an update that keeps the connector ask for neither.
    server.reset_requests()
    manifest = Path("examples/connections.yaml")
    manifest.write_text(manifest.read_text().replace("description: Norwegian subsidiary", "description: Norway"))
    assert apply(http_cli).exit_code == 0
    by_path = server.control("GET", "_emulator/requests")["by_path"]
    assert "/api/v1/Agents/ErpSync/UpdateConnectionFields" not in by_path
    assert "/api/v1/Agents/ErpSync/TestConnectorUrl" not in by_path
    assert by_path.get("/api/v1/Agents/ErpSync/TestConnectionByConfig") == 2  # plan, then apply before saving


def test_a_connection_whose_fields_could_not_be_stored_is_not_activated(http_cli: Cli):
    server: EmulatorServer = http_cli.server  # type: ignore[assignment]
    server.set_faults(null_methods=["ErpSync/UpdateConnectionFields"])  # a failed agent call answers null
    result = apply(http_cli)
    assert result.exit_code == 1, result.output
    assert (
        "but the CRM could not read the connector's actor types and fields (UpdateConnectionFields failed), "
        "so it was not activated" in result.stdout
    )
    live = {c.name: c for c in http_cli.run_crm(lambda crm: crm.get_all_connections())}
    assert live["Visma Production"].active is False
