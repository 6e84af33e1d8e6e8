"""Saved plans and their digests: nothing in a plan file confirms a guessed secret."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import Cli
from reconciler.secrets import Sensitive


def _secret_from_env(workdir: Path) -> None:
    manifest = workdir / "examples" / "connections.yaml"
    manifest.write_text(
        manifest.read_text().replace("${file:secrets/visma-production-api-key.txt}", "${env:VISMA_API_KEY}")
    )


def _without_sync(workdir: Path) -> None:
    """Drop the examples' `sync` blocks: a save in the CRM makes it auto-map unmapped
    fields (docs/api/netserver/erp-connectors/automatic-field-mapping.md), which would
    change the sync part of a saved plan; the tests using this are about secrets alone."""
    manifest = workdir / "examples" / "connections.yaml"
    kept, skipping = [], False
    for line in manifest.read_text().splitlines(keepends=True):
        if line.startswith("  sync:"):
            skipping = True
        elif skipping and not line.startswith("    "):
            skipping = False
        if not skipping:
            kept.append(line)
    manifest.write_text("".join(kept))


def _set_live_api_key(cli: Cli, value: str) -> None:
    async def change(client):  # type: ignore[no-untyped-def]
        connections = await client.get_all_connections()
        live = next(c for c in connections if c.name == "Visma Production")
        await client.save_connection(replace(live, config={**live.config, "ApiKey": Sensitive(value)}))

    cli.run_crm(change)


def _outputs(cli: Cli, tag: str) -> list[str]:
    planned = cli("plan", "-f", "examples/", "--out", f"plan-{tag}.json", "--junit-xml", f"junit-{tag}.xml")
    assert planned.exit_code == 0, planned.output
    as_json = cli("plan", "-f", "examples/", "--output", "json")
    junit = re.sub(r' time="[0-9.]+"', "", Path(f"junit-{tag}.xml").read_text())  # durations vary
    return [Path(f"plan-{tag}.json").read_text(), junit, as_json.stdout]


@pytest.mark.slow
def test_no_digest_in_a_plan_depends_on_a_secret_value(cli: Cli, workdir: Path, monkeypatch: pytest.MonkeyPatch):
    """Two short secrets, in the CRM and in the environment, give byte-identical files:
    nothing in them can be computed from a guessed secret (a brute force has nothing to match)."""
    _secret_from_env(workdir)
    monkeypatch.setenv("VISMA_API_KEY", "demo-first")
    assert cli("apply", "-f", "examples/", "--auto-approve").exit_code == 0

    _set_live_api_key(cli, "ab1")
    monkeypatch.setenv("VISMA_API_KEY", "demo-x")
    first = _outputs(cli, "a")
    _set_live_api_key(cli, "zq9")
    monkeypatch.setenv("VISMA_API_KEY", "demo-y")
    second = _outputs(cli, "b")

    assert '"fingerprint": "sha256:' in first[0]
    assert "config.ApiKey" in first[0]
    assert first == second


@pytest.mark.slow
def test_a_saved_plan_and_a_secret_changed_meanwhile(cli: Cli, workdir: Path, monkeypatch: pytest.MonkeyPatch):
    """The plan said "set ApiKey from ${env:…}": a CRM secret rotated meanwhile is still
    overwritten with the manifest's value; one that now already matches is a different plan."""
    _secret_from_env(workdir)
    _without_sync(workdir)
    monkeypatch.setenv("VISMA_API_KEY", "demo-first")
    assert cli("apply", "-f", "examples/", "--auto-approve").exit_code == 0
    monkeypatch.setenv("VISMA_API_KEY", "demo-second")
    assert cli("plan", "-f", "examples/", "--out", "plan.json").exit_code == 0

    _set_live_api_key(cli, "demo-rotated-by-hand")
    applied = cli("apply", "plan.json")
    assert applied.exit_code == 0, applied.output
    assert cli("plan", "-f", "examples/", "--detailed-exitcode").exit_code == 0

    monkeypatch.setenv("VISMA_API_KEY", "demo-third")
    assert cli("plan", "-f", "examples/", "--out", "plan.json").exit_code == 0
    _set_live_api_key(cli, "demo-third")
    refused = cli("apply", "plan.json")
    assert refused.exit_code == 1
    assert "ErpConnection/Visma Production: the plan said update, now it would be no-op" in refused.stderr


@pytest.mark.slow
def test_a_short_secret_echoed_by_a_connector_is_masked_everywhere(
    cli: Cli, workdir: Path, monkeypatch: pytest.MonkeyPatch
):
    """Visma.Quote's test says "Unknown currency '{value}'": a two-letter secret is masked
    as a whole token in text, JSON, Markdown, JUnit, the saved plan and apply's report."""
    assert cli("apply", "-f", "examples/", "--auto-approve").exit_code == 0
    manifest = workdir / "examples" / "connections.yaml"
    manifest.write_text(manifest.read_text().replace("PriceListCurrency: NOK", "PriceListCurrency: ${env:CUR}"))
    monkeypatch.setenv("CUR", "zq")

    outputs = [cli("plan", "-f", "examples/", "--out", "plan.json", "--junit-xml", "plan.xml").stdout]
    outputs += [cli("plan", "-f", "examples/", "--output", o).stdout for o in ("json", "markdown")]
    applied = cli("apply", "-f", "examples/", "--auto-approve", "--report", "report.json", "--junit-xml", "apply.xml")
    outputs += [applied.stdout, applied.stderr]
    outputs += [Path(name).read_text() for name in ("plan.json", "plan.xml", "report.json", "apply.xml")]

    assert "Unknown currency '(sensitive)': use a three-letter ISO code such as NOK" in outputs[0]
    for text in outputs:
        assert "zq" not in text
        assert "three-letter ISO code" in text or text == applied.stderr


def test_validate_and_plan_agree_about_ignored_names(cli: Cli, workdir: Path):
    (workdir / "reconcile.yaml").write_text("ignore:\n  ErpConnection: ['Visma Sand*']\n")
    expected = "'Visma Sandbox' is in the ignore list of reconcile.yaml, so it cannot be managed"
    validated = cli("validate", "-f", "examples/")
    planned = cli("plan", "-f", "examples/")
    assert validated.exit_code == planned.exit_code == 1
    assert expected in validated.stderr and expected in planned.stderr
    assert "examples/connections.yaml:74:" in validated.stderr and "examples/connections.yaml:74:" in planned.stderr


def _leave_copies_of_a_killed_apply(cli: Cli) -> None:
    """What an apply killed during its creates leaves: a newer connector with the same
    name, an ERP connection copy under it, and a connection only it has."""

    async def copy(client):  # type: ignore[no-untyped-def]
        twin = await client.save_connector(0, "Visma.net", "https://connectors.example.com/visma")
        original = next(c for c in await client.get_all_connections() if c.name == "Visma Production")
        await client.save_connection(replace(original, id=0, guid="", connector_id=twin.id, active=False))
        sandbox = next(c for c in await client.get_all_connections() if c.name == "Visma Sandbox")
        await client.delete_connection(sandbox.id)
        await client.save_connection(replace(sandbox, id=0, guid="", connector_id=twin.id, deleted=False))

    cli.run_crm(copy)


def _alive(cli: Cli) -> list[tuple[str, str]]:
    async def read(client):  # type: ignore[no-untyped-def]
        connectors = {c.id: c.name for c in await client.get_connectors_with_urls() if not c.deleted}
        return sorted((c.name, connectors.get(c.connector_id, "?")) for c in await client.get_all_connections() if not c.deleted) + \
            sorted(("connector", name) for name in connectors.values())

    return cli.run_crm(read)


@pytest.mark.slow
def test_copies_left_by_a_killed_concurrent_apply_are_cleaned_up(cli: Cli, workdir: Path):
    assert cli("apply", "-f", "examples/", "--auto-approve").exit_code == 0
    before = _alive(cli)
    _leave_copies_of_a_killed_apply(cli)

    limited = cli("plan", "-f", "examples/", "--max-deletes", "1")
    assert limited.exit_code == 1
    assert "would soft-delete 2 objects" in limited.stderr

    planned = cli("plan", "-f", "examples/")
    assert planned.exit_code == 0, planned.output
    text = " ".join(planned.stdout.split())
    assert "the CRM has 2 SyncConnector objects named 'Visma.net': this plan keeps the oldest" in text
    assert "the CRM has 2 ErpConnection objects named 'Visma Production'" in text
    assert "- Visma Production soft-delete a newer copy (id 4) of a name the manifests manage" in text

    applied = cli("apply", "-f", "examples/", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "The CRM matches the manifests" in applied.stdout
    assert _alive(cli) == before
    assert cli("plan", "-f", "examples/", "--detailed-exitcode").exit_code == 0


def test_a_saved_plan_survives_moved_manifests_and_names_what_changed(cli: Cli, workdir: Path):
    assert cli("plan", "-f", "examples/", "--out", "plan.json").exit_code == 0
    (workdir / "examples").rename(workdir / "moved")
    (workdir / "moved" / "connections.yaml").rename(workdir / "moved" / "all.yaml")

    # Without -f, apply says where the plan's manifests were and how to point at them.
    lost = cli("apply", "plan.json")
    assert lost.exit_code == 1
    assert f"error: the saved plan was made from examples/, which is not here ({workdir})" in lost.stderr
    assert "reconcile apply plan.json -f NEW/PLACE" in lost.stderr

    manifest = workdir / "moved" / "all.yaml"
    original = manifest.read_text()
    manifest.write_text(original.replace("description: Norwegian subsidiary", "description: Norway"))
    refused = cli("apply", "plan.json", "-f", "moved/")
    assert refused.exit_code == 1
    assert "error: ErpConnection/Tripletex Norway: its manifest changed since the plan was made" in refused.stderr
    assert "Visma" not in refused.stderr  # only what changed is named

    manifest.write_text(original)
    applied = cli("apply", "plan.json", "-f", "moved/")
    assert applied.exit_code == 0, applied.output
    assert "The CRM matches the manifests" in applied.stdout


def test_guards_given_with_a_saved_plan_are_honoured_or_refused(cli: Cli, workdir: Path):
    assert cli("apply", "-f", "examples/", "--auto-approve").exit_code == 0
    manifest = workdir / "examples" / "connections.yaml"
    text = manifest.read_text()
    manifest.write_text(text[: text.rindex("---\napiVersion: erp-reconciler/v1\nkind: QuoteConnection")])
    assert cli("plan", "-f", "examples/", "--out", "plan.json").exit_code == 0

    too_many = cli("apply", "plan.json", "--max-deletes", "0")
    assert too_many.exit_code == 1
    assert "the saved plan soft-deletes 1 objects, more than --max-deletes 0" in too_many.stderr
    for flag in ("--allow-deletes", "--allow-empty"):
        loosened = cli("apply", "plan.json", flag)
        assert loosened.exit_code == 1
        assert f"{flag} cannot loosen a saved plan" in loosened.stderr
    other_tests = cli("apply", "plan.json", "--test", "none")
    assert other_tests.exit_code == 1 and "--test none differs from the saved plan's --test changed" in other_tests.stderr

    applied = cli("apply", "plan.json", "--max-deletes", "1", "--test", "changed")
    assert applied.exit_code == 0, applied.output


@pytest.mark.parametrize("special", ["/dev/zero", "fifo", "huge"])
def test_a_plan_file_must_be_a_regular_file_of_bounded_size(embedded_cli: Cli, workdir: Path, special: str):
    import os

    path = special
    if special == "fifo":
        os.mkfifo("plan.fifo")
        path = "plan.fifo"
    elif special == "huge":
        with open("huge.json", "wb") as file:
            file.truncate(65 * 1024 * 1024)  # sparse: no disk used
        path = "huge.json"
    result = embedded_cli("apply", path)
    assert result.exit_code == 1
    assert ("not a regular file" in result.stderr) or ("larger than 64 MB" in result.stderr), result.stderr
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_a_slow_connector_test_fails_once_after_test_timeout(http_cli: Cli, workdir: Path):
    assert http_cli.server is not None
    assert http_cli("apply", "-f", "examples/", "--auto-approve").exit_code == 0
    manifest = workdir / "examples" / "connections.yaml"
    manifest.write_text(manifest.read_text().replace("CompanyId: 12345", "CompanyId: 12346"))
    http_cli.server.reset_requests()
    assert http_cli("plan", "-f", "examples/", "--test", "none").exit_code == 0
    without_tests = http_cli.server.request_total()

    http_cli.server.set_faults(connector_test_latency_ms=3000)
    http_cli.server.reset_requests()
    slow = http_cli("plan", "-f", "examples/", "--test-timeout", "0.3")
    assert slow.exit_code == 1
    assert "the connector did not answer within 0.3 s" in " ".join(slow.stdout.split()), slow.output
    assert http_cli.server.request_total() == without_tests + 1  # the test was sent once, not retried


@pytest.mark.parametrize("url", [
    "https://sod.example.com/Cust1/?apikey=canary-query-51",
    "ftp://sod.example.com/Cust1/?apikey=canary-query-51",
    "https://sod.example.com/Cust1/#canary-query-51",
])
def test_error_messages_never_echo_a_url_query_string(embedded_cli: Cli, url: str):
    for args in (("plan", "-f", "examples/", "--url", url), ("plan", "-f", "examples/", "--url", url, "--output", "json")):
        result = embedded_cli(*args)
        assert result.exit_code == 1
        assert "the CRM URL from --url" in result.output
        assert "canary-query-51" not in result.output
        assert "?…" in result.output


def test_a_crm_error_naming_a_url_drops_its_query_string():
    from reconciler.crm.errors import CrmNotFoundError

    error = CrmNotFoundError(
        "GET List/X/Items", "was not found", status=404,
        server_message="No HTTP resource was found that matches the request URI "
                       "'https://sod.example.com/Cust1/api/v1/List/X/Items?token=canary-query-51'.",
    )
    assert "canary-query-51" not in str(error)
    assert "'https://sod.example.com/Cust1/api/v1/List/X/Items?…'" in str(error)


@pytest.mark.parametrize("reference", ["/proc/self/environ", "secrets/environ-link", "/sys/kernel/hostname"])
def test_a_secret_file_in_proc_or_sys_is_refused(embedded_cli: Cli, workdir: Path, reference: str,
                                                 monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CANARY_IN_ENVIRON", "canary-environ-77")
    (workdir / "examples" / "secrets" / "environ-link").symlink_to("/proc/self/environ")
    manifest = workdir / "examples" / "connections.yaml"
    manifest.write_text(manifest.read_text().replace("secrets/visma-production-api-key.txt", reference))
    result = embedded_cli("plan", "-f", "examples/")
    assert result.exit_code == 1
    assert "examples/connections.yaml:32:" in result.stderr
    assert "which holds kernel and process state, not secrets" in result.stderr
    assert "canary-environ-77" not in result.output
    assert not Path(".reconcile").exists()  # refused before any request


def test_a_secret_file_path_may_start_with_the_home_directory(embedded_cli: Cli, workdir: Path,
                                                              monkeypatch: pytest.MonkeyPatch):
    home = workdir / "home"
    home.mkdir()
    (home / "visma.txt").write_text("demo-from-home\n")
    monkeypatch.setenv("HOME", str(home))
    manifest = workdir / "examples" / "connections.yaml"
    manifest.write_text(manifest.read_text().replace("secrets/visma-production-api-key.txt", "~/visma.txt"))
    assert embedded_cli("apply", "-f", "examples/", "--auto-approve").exit_code == 0
    (home / "visma.txt").unlink()
    missing = embedded_cli("plan", "-f", "examples/")
    assert missing.exit_code == 1 and "secret file does not exist: " in missing.stderr


def _connector_urls(cli: Cli) -> dict[str, str]:
    async def read(client):  # type: ignore[no-untyped-def]
        return {c.name: c.url for c in await client.get_connectors_with_urls() if not c.deleted}

    return cli.run_crm(read)


def _move_visma_to(workdir: Path, url: str) -> None:
    manifest = workdir / "examples" / "connections.yaml"
    manifest.write_text(manifest.read_text().replace("url: https://connectors.example.com/visma", f"url: {url}"))


def test_a_new_connector_url_that_does_not_fit_its_connections_is_not_switched(cli: Cli, workdir: Path):
    assert cli("apply", "-f", "examples/", "--auto-approve").exit_code == 0
    _move_visma_to(workdir, "https://connectors.example.com/tripletex")  # answers, but another connector

    planned = cli("plan", "-f", "examples/")
    text = " ".join(planned.stdout.split())
    assert "~ Visma.net update test passed" in text
    assert ("note: SyncConnector/Visma.net: the new URL affects 2 ERP connections (Visma Production, Visma Sandbox); "
            "apply first checks their config") in text

    applied = cli("apply", "-f", "examples/", "--auto-approve")
    assert applied.exit_code == 1
    out = " ".join(applied.stdout.split())
    assert "SyncConnector/Visma.net: not switched to the new URL (its connections keep the old one): " in out
    assert "ErpConnection/Visma Production: unknown config key 'CompanyId'" in out, out
    assert _connector_urls(cli)["Visma.net"] == "https://connectors.example.com/visma"
    assert cli("plan", "-f", "examples/", "--test", "none").exit_code == 0  # no unknown-config-key errors


def test_a_new_connector_url_where_nothing_answers_fails_the_plan(cli: Cli, workdir: Path):
    assert cli("apply", "-f", "examples/", "--auto-approve").exit_code == 0
    _move_visma_to(workdir, "https://connectors.example.com/offline")
    planned = cli("plan", "-f", "examples/", "--junit-xml", "tests.xml")
    assert planned.exit_code == 1
    assert "no connector answers at the new URL (TestConnectorUrl: ErrorNotFound)" in " ".join(planned.stdout.split())
    assert 'classname="SyncConnector" name="Visma.net"' in Path("tests.xml").read_text()
    assert cli("apply", "-f", "examples/", "--auto-approve").exit_code == 1
    assert _connector_urls(cli)["Visma.net"] == "https://connectors.example.com/visma"


def test_a_new_connector_url_that_fits_is_switched_after_testing_every_active_connection(
    workdir: Path, tmp_path: Path
):
    from conftest import DEMO_TOKEN, start_server, stop_server

    import yaml

    seed = yaml.safe_load((Path(__file__).resolve().parents[1] / "reconciler/emulator/default_seed.yaml").read_text())
    visma = next(c for c in seed["connector_profiles"] if c["url"] == "https://connectors.example.com/visma")
    seed["connector_profiles"].append({**visma, "url": "https://visma-new.example.com/"})
    (tmp_path / "seed.yaml").write_text(yaml.safe_dump(seed))
    server = start_server(tmp_path / "moved.sqlite", seed_path=tmp_path / "seed.yaml")
    try:
        cli = Cli(env={"SUPEROFFICE_URL": server.url, "SUPEROFFICE_TOKEN": DEMO_TOKEN}, server=server)
        assert cli("apply", "-f", "examples/", "--auto-approve").exit_code == 0
        _move_visma_to(workdir, "https://visma-new.example.com/")
        applied = cli("apply", "-f", "examples/", "--auto-approve")
        assert applied.exit_code == 0, applied.output
        assert _connector_urls(cli)["Visma.net"] == "https://visma-new.example.com/"
        assert cli("plan", "-f", "examples/", "--detailed-exitcode").exit_code == 0
    finally:
        stop_server(server)


def test_a_crm_error_echoing_a_secret_is_masked_in_apply_outcomes(
    http_cli: Cli, workdir: Path, monkeypatch: pytest.MonkeyPatch
):
    import asyncio

    import httpx

    from conftest import DEMO_TOKEN
    from reconciler.apply.executor import execute
    from reconciler.crm.client import CrmClient
    from reconciler.manifest.loader import load_desired
    from reconciler.plan.planner import make_plan
    from reconciler.planning import read_live

    _secret_from_env(workdir)
    monkeypatch.setenv("VISMA_API_KEY", "demo-first")
    assert http_cli("apply", "-f", "examples/", "--auto-approve").exit_code == 0
    monkeypatch.setenv("VISMA_API_KEY", "demo-k9")  # passes the connector's test

    class EchoingCrm(httpx.AsyncBaseTransport):
        """The served emulator, except that SaveConnection refuses and quotes the key."""

        def __init__(self) -> None:
            self.inner = httpx.AsyncHTTPTransport()

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("ErpSync/SaveConnection"):
                return httpx.Response(400, json={"Message": "ApiKey 'demo-k9' is not accepted"})
            return await self.inner.handle_async_request(request)

    async def run():  # type: ignore[no-untyped-def]
        assert http_cli.server is not None
        desired = load_desired(["examples/"])
        async with CrmClient(http_cli.server.url, headers={"Authorization": f"Bearer {DEMO_TOKEN}"},
                             transport=EchoingCrm()) as crm:
            live = await read_live(crm, desired, "t")
            return await execute(crm, make_plan(desired, live))

    outcomes = asyncio.run(run())
    [failed] = [o for o in outcomes if o.status == "failed"]
    assert "ApiKey '(sensitive)' is not accepted" in failed.message
    assert "demo-k9" not in failed.message
