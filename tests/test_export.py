"""`reconcile export`: manifests for a live tenant that plan back to "No changes"."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
import yaml

from conftest import Cli
from reconciler.crm.snapshot import snapshot
from reconciler.manifest.schema import SCHEMA_ID
from reconciler.secrets import Sensitive

SECRET_LINE = re.compile(r"^  (RECONCILE_[A-Z0-9_]+)\s+(\w+)/(.+), config (\w+)$", re.M)
MODELINE = "# yaml-language-server: $schema="


def listed_secrets(output: str) -> list[tuple[str, str, str, str]]:
    return SECRET_LINE.findall(output)


def secret_env(cli: Cli, output: str) -> dict[str, str]:
    """The listed variables set to the live values (tests may see secrets; the tool may not)."""
    live = cli.run_crm(lambda crm: snapshot(crm, target_description="test"))
    objects = {("ErpConnection", c.name): c for c in live.erp_connections if not c.deleted}
    objects.update({("QuoteConnection", c.name): c for c in live.quote_connections if not c.deleted})
    env: dict[str, str] = {}
    for name, kind, resource, key in listed_secrets(output):
        value = objects[(kind, resource)].config[key]
        env[name] = value.reveal() if isinstance(value, Sensitive) else value
    return env


def secret_values(cli: Cli) -> list[str]:
    live = cli.run_crm(lambda crm: snapshot(crm, target_description="test"))
    return [
        v.reveal() for c in (*live.erp_connections, *live.quote_connections)
        for v in c.config.values() if isinstance(v, Sensitive) and v.reveal()
    ]


def plan_back(cli: Cli, env: dict[str, str], *paths: str):
    again = Cli(env={**cli.env, **env}, server=cli.server)
    args = ["plan", "--detailed-exitcode", "--test", "none"]
    for path in paths:
        args += ["-f", path]
    return again(*args)


def all_text(directory: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(directory.rglob("*.yaml")))


def test_export_of_the_applied_examples_plans_back_to_no_changes(cli: Cli, workdir: Path) -> None:
    assert cli("apply", "-f", "examples/", "--auto-approve").exit_code == 0
    result = cli("export", "--out", "exported")
    assert result.exit_code == 0, result.output
    assert "Exported 7 resources (2 SyncConnector, 3 ErpConnection, 2 QuoteConnection) to 3 file(s)" in result.stdout
    assert sorted(p.name for p in (workdir / "exported").iterdir()) == [
        "erp-connections.yaml", "manifest.schema.json", "quote-connections.yaml", "sync-connectors.yaml"]
    names = [s[0] for s in listed_secrets(result.stdout)]
    assert names == [
        "RECONCILE_TRIPLETEX_NORWAY_CONSUMER_TOKEN", "RECONCILE_TRIPLETEX_NORWAY_EMPLOYEE_TOKEN",
        "RECONCILE_VISMA_PRODUCTION_API_KEY", "RECONCILE_VISMA_SANDBOX_API_KEY", "RECONCILE_TRIPLETEX_QUOTES_API_TOKEN",
    ]
    text = all_text(workdir / "exported")
    secrets = secret_values(cli)
    assert len(secrets) == 5
    for value in secrets:  # never written, never printed
        assert value not in text and value not in result.output
    assert "ConnectorVersion" not in text and "Info" not in text  # read-only and label fields
    # The complete sync block, so adopting a tenant keeps its mappings.
    exported = yaml.safe_load_all((workdir / "exported" / "erp-connections.yaml").read_text())
    production = next(d for d in exported if d["metadata"]["name"] == "Visma Production")["spec"]["sync"]
    assert production["priority"] == 1
    assert production["actors"]["Customer"]["fields"]["VATNO"] == {"crmField": "contact/orgnr", "direction": "both"}
    assert production["actors"]["Customer"]["fields"]["NUMBER"] == {"crmField": "contact/number1", "direction": "toCrm"}
    assert production["actors"]["Customer"]["lists"]["CATEGORY"] == {"A": "Key account", "B": "Customer", "C": None}
    assert production["actors"]["Customer"]["defaults"] == {"PAYTERMS": {"value": "30", "askUser": True}}
    # The ERP-tab fields in the order the CRM ranks them (apply put the balance first).
    assert production["actors"]["Customer"]["erpTabOrder"] == ["BALANCE", "CREDITLIMIT"]

    planned = plan_back(cli, secret_env(cli, result.stdout), "exported/")
    assert planned.exit_code == 0, planned.output
    assert "No changes. 7 object(s) match the manifests." in planned.stdout


def test_export_files_are_stable_valid_and_carry_the_modeline(embedded_cli: Cli, workdir: Path) -> None:
    cli = embedded_cli
    assert cli("apply", "-f", "examples/", "--auto-approve").exit_code == 0
    first = cli("export", "--out", "a", "--layout", "per-resource")
    second = cli("export", "--out", "b", "--layout", "per-resource")
    assert first.exit_code == second.exit_code == 0
    files_a = sorted(p.relative_to(workdir / "a") for p in (workdir / "a").rglob("*.yaml"))
    files_b = sorted(p.relative_to(workdir / "b") for p in (workdir / "b").rglob("*.yaml"))
    assert files_a == files_b
    assert [str(p) for p in files_a] == [
        "erp-connections/tripletex-norway.yaml", "erp-connections/visma-production.yaml",
        "erp-connections/visma-sandbox.yaml", "quote-connections/tripletex-quotes.yaml",
        "quote-connections/visma-quotes.yaml", "sync-connectors/tripletex.yaml", "sync-connectors/visma-net.yaml",
    ]
    for rel in files_a:
        text = (workdir / "a" / rel).read_text(encoding="utf-8")
        assert text == (workdir / "b" / rel).read_text(encoding="utf-8")
        assert text.startswith(MODELINE + "../manifest.schema.json\n")
        # The modeline resolves in the user's repository: export wrote the schema it names.
        reference = text.split("$schema=", 1)[1].split("\n", 1)[0]
        assert json.loads(((workdir / "a" / rel).parent / reference).read_text())["$id"] == SCHEMA_ID
    # Exporting into the same directory again rewrites the same bytes.
    before = all_text(workdir / "a")
    assert cli("export", "--out", "a", "--layout", "per-resource").exit_code == 0
    assert all_text(workdir / "a") == before
    assert cli("validate", "-f", "a/", "--require-secrets").exit_code != 0  # secrets are ${env:…}, not set here…
    env = secret_env(cli, first.stdout)
    valid = Cli(env=env)("validate", "-f", "a/")
    assert valid.exit_code == 0, valid.output  # …and with them set the files are valid manifests
    assert "Valid: 7 resources" in valid.stdout
    planned = plan_back(cli, env, "a/")
    assert planned.exit_code == 0, planned.output


def test_export_to_stdout_is_one_loadable_stream(embedded_cli: Cli, workdir: Path) -> None:
    cli = embedded_cli
    assert cli("apply", "-f", "examples/", "--auto-approve").exit_code == 0
    result = cli("export")
    assert result.exit_code == 0
    assert not result.stdout.startswith(MODELINE)  # no schema file here for it to name
    with_schema = cli("export", "--schema", "schemas/manifest.schema.json")
    assert with_schema.stdout.startswith(MODELINE + "schemas/manifest.schema.json\n")
    assert "note: --schema schemas/manifest.schema.json does not exist" in with_schema.stderr
    documents = list(yaml.safe_load_all(result.stdout))
    assert [d["kind"] for d in documents] == ["SyncConnector"] * 2 + ["ErpConnection"] * 3 + ["QuoteConnection"] * 2
    assert "RECONCILE_VISMA_PRODUCTION_API_KEY" in result.stderr  # the list is not in the YAML stream
    (workdir / "tenant.yaml").write_text(result.stdout, encoding="utf-8")
    assert plan_back(cli, secret_env(cli, result.stderr), "tenant.yaml").exit_code == 0


def test_export_refuses_a_directory_with_other_manifests(embedded_cli: Cli, workdir: Path) -> None:
    result = embedded_cli("export", "--out", "examples")
    assert result.exit_code == 1
    assert "already holds manifests this export would not rewrite: examples/connections.yaml" in result.stderr


def test_empty_tenant_exports_nothing(embedded_cli: Cli, workdir: Path) -> None:
    result = embedded_cli("export", "--out", "empty")
    assert result.exit_code == 0, result.output
    assert "Exported 0 resources (none) to 0 file(s)" in result.stdout


def test_ignored_names_are_not_exported(embedded_cli: Cli, workdir: Path) -> None:
    assert embedded_cli("apply", "-f", "examples/", "--auto-approve").exit_code == 0
    (workdir / "reconcile.yaml").write_text('ignore:\n  QuoteConnection: ["Visma *"]\n', encoding="utf-8")
    result = embedded_cli("export")
    assert result.exit_code == 0
    assert "Visma Quotes" not in result.stdout and "Tripletex Quotes" in result.stdout


# -- a randomly generated tenant ------------------------------------------------

TRICKY_TEXT = ["0o17", "1e5", "yes", "NO", "0123", "true", "null", "~", "${literal}", "a: b", "- x", "#5", "'q'", "Ærø", "12345"]
TRICKY_NAMES = ["yes", "123", "null", "Ærlig ÆØÅ", "a: b", "- dash", "#hash", 'say "hi"', "it's", "x" * 60,
                "Prod (EU)", "${NAME}", "Visma Production", "on", "1.0", "*star*"]
USERS = ["ADM", "AHO", "BKL", "CNO", "DLA", "ESV"]
GROUPS = ["Sales Norway", "Sales Sweden", "Finance", "Support", "Management"]


def _quoted(value: object, *, config: bool = False) -> str:
    """A YAML double-quoted scalar (json is valid YAML); in config, `${` escaped so it stays literal."""
    import json

    text = str(value)
    return json.dumps(text.replace("${", "$${") if config else text, ensure_ascii=False)


def _scope(rng: random.Random) -> str:
    pick = rng.randrange(3)
    if pick == 0:
        return "{everyone: true}"
    users = rng.sample(USERS, rng.randint(1, 3)) if pick == 1 or rng.random() < 0.5 else []
    groups = rng.sample(GROUPS, rng.randint(1, 3)) if pick == 2 or not users else []
    parts = ([f"users: [{', '.join(_quoted(u) for u in users)}]"] if users else []) + (
        [f"groups: [{', '.join(_quoted(g) for g in groups)}]"] if groups else [])
    return "{" + ", ".join(parts) + "}"


def _doc(kind: str, name: str, spec: dict[str, str], config: dict[str, object]) -> str:
    lines = ["apiVersion: erp-reconciler/v1", f"kind: {kind}", f"metadata: {{name: {_quoted(name)}}}", "spec:"]
    lines += [f"  {k}: {v}" for k, v in spec.items()]
    if config:
        lines.append("  config:")
        lines += [f"    {k}: {_quoted(v, config=True)}" for k, v in config.items()]
    return "\n".join(lines) + "\n"


def random_tenant(rng: random.Random) -> tuple[str, list[str]]:
    """Manifests for a random tenant, and the refs to soft-delete once it is applied."""
    names = rng.sample(TRICKY_NAMES, len(TRICKY_NAMES))
    docs: list[str] = []
    connectors = {"visma": rng.choice(["Visma.net", "visma", "123"]), "tripletex": rng.choice(["Tripletex", "TT: norge"])}
    for profile, name in connectors.items():
        docs.append(_doc("SyncConnector", name, {"url": f"https://connectors.example.com/{profile}"}, {}))
    if rng.random() < 0.5:
        docs.append(_doc("SyncConnector", "Offline", {"url": "https://connectors.example.com/offline"}, {}))
    erp: list[tuple[str, str]] = []
    for _ in range(rng.randint(2, 6)):
        name, profile = names.pop(), rng.choice(["visma", "tripletex"])
        if profile == "visma":
            config: dict[str, object] = {"CompanyId": rng.randint(1, 10**9), "ApiKey": f"demo-{rng.getrandbits(40):x}"}
            if rng.random() < 0.7:
                config["Environment"] = rng.choice(["production", "sandbox"])
            if rng.random() < 0.7:
                config["SyncInvoices"] = rng.choice(["1", "0"])
            if rng.random() < 0.5:
                config["BatchSize"] = rng.randint(1, 5000)
        else:
            config = {
                "CompanyNumber": rng.choice(TRICKY_TEXT)[:9],
                "ConsumerToken": f"demo-{rng.getrandbits(40):x}",
                "EmployeeToken": rng.choice(["demo-x", f"demo-{rng.getrandbits(40):x}"]),
                "UseSandbox": rng.choice(["1", "0"]),
                "ExchangeRateMargin": rng.choice(["0", "1.5", "2.25", "10"]),
                "StartDate": f"20{rng.randint(10, 30)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
            }
        spec = {"connector": _quoted(connectors[profile]), "active": rng.choice(["true", "false"]), "scope": _scope(rng)}
        if rng.random() < 0.6:
            spec["description"] = _quoted(rng.choice(TRICKY_TEXT + ["Customers and invoices"]))
        docs.append(_doc("ErpConnection", name, spec, config))
        erp.append((name, profile))
    quotes: list[tuple[str, str]] = []
    for erp_name, profile in erp:
        if rng.random() < 0.6:
            name = names.pop()
            if profile == "visma":
                connector = "Visma.Quote"
                config = {"PriceListCurrency": rng.choice(["NOK", "SEK", "EUR"]), "IncludeVat": rng.choice(["1", "0"])}
                if rng.random() < 0.5:
                    config["DiscountLimitPercent"] = rng.choice(["0", "12.5", "100"])
            else:
                connector, config = "Tripletex.Quote", {"Currency": "NOK", "ApiToken": f"demo-{rng.getrandbits(40):x}"}
            spec = {"connector": connector, "erpConnection": _quoted(erp_name), "scope": _scope(rng)}
            docs.append(_doc("QuoteConnection", name, spec, config))
            quotes.append((name, erp_name))
    deleted = [f"QuoteConnection/{n}" for n, _ in quotes if rng.random() < 0.3]
    gone_erp = [n for n, _ in erp if rng.random() < 0.25]
    deleted += [f"QuoteConnection/{n}" for n, e in quotes if e in gone_erp and f"QuoteConnection/{n}" not in deleted]
    deleted += [f"ErpConnection/{n}" for n in gone_erp]
    return "---\n".join(docs), deleted


async def _soft_delete(crm, refs: list[str]) -> None:  # type: ignore[no-untyped-def]
    quotes = {c.name: c.id for c in await crm.get_all_quote_connections(with_config=False)}
    erps = {c.name: c.id for c in await crm.get_all_connections()}
    for ref in refs:
        kind, name = ref.split("/", 1)
        if kind == "QuoteConnection":
            await crm.delete_quote_connection(quotes[name])
        else:
            await crm.delete_connection(erps[name])


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_random_tenant_round_trips(embedded_cli: Cli, workdir: Path, seed: int) -> None:
    cli = embedded_cli
    manifests, deleted = random_tenant(random.Random(seed))
    (workdir / "tenant.yaml").write_text(manifests, encoding="utf-8")
    if "https://connectors.example.com/offline" in manifests:
        # Apply saves no connector URL nobody answers at (TestConnectorUrl), so the
        # connector the CRM cannot reach is registered behind the tool's back.
        cli.run_crm(lambda crm: crm.save_connector(0, "Offline", "https://connectors.example.com/offline"))
    applied = cli("apply", "-f", "tenant.yaml", "--auto-approve", "--test", "none")
    assert applied.exit_code == 0, applied.output
    cli.run_crm(lambda crm: _soft_delete(crm, deleted))

    result = cli("export", "--out", "exported", "--layout", random.Random(seed).choice(["per-kind", "per-resource"]))
    assert result.exit_code == 0, result.output
    text = all_text(workdir / "exported")
    documents = [d for p in sorted((workdir / "exported").rglob("*.yaml"))
                 for d in yaml.safe_load_all(p.read_text(encoding="utf-8"))]
    exported = {f"{d['kind']}/{d['metadata']['name']}" for d in documents}
    written = {f"{d['kind']}/{d['metadata']['name']}" for d in yaml.safe_load_all(manifests)}
    assert deleted and exported == written - set(deleted)
    for value in secret_values(cli):
        assert value not in text and value not in result.output

    planned = plan_back(cli, secret_env(cli, result.stdout), "exported/")
    assert planned.exit_code == 0, planned.output
    assert "No changes." in planned.stdout
