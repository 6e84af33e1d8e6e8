"""Generate benchmark tenants (emulator seed files) and the manifests that match them.

One deterministic model of a tenant (same arguments, same bytes) is written two ways:

* a seed file for `reconcile emulator serve --seed`, with the connectors and
  connections already registered (or, for the "new" layout, only the connectors);
* manifests describing the same objects, so that:
    variant "same"    -> `reconcile plan` says "No changes";
    variant "changed" -> every connection differs (description and one config value);
    and a tenant made with `--registered connectors` plus variant "same" -> every
    connection is a create.

Secrets: Password fields are written as `${env:BENCH_SECRET}` in the manifests;
export BENCH_SECRET=bench-secret (the value the seed stores and the test rules
accept) before planning.

Usage:
  python benchmarks/generate.py --connections 1000 --out /tmp/bench-1000
  python benchmarks/generate.py --connections 1000 --registered connectors --variant same --out /tmp/new
"""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml

TOKEN = "bench-token"
SECRET_VARIABLE = "BENCH_SECRET"
SECRET_VALUE = "bench-secret"
ENVIRONMENTS = ("production", "sandbox", "test")
CURRENCIES = ("NOK", "SEK", "DKK", "EUR", "USD", "GBP")
DOCS_PER_MANIFEST_FILE = 500

Variant = Literal["same", "changed"]
Registered = Literal["all", "connectors"]


@dataclass(frozen=True)
class TenantSpec:
    """How big the tenant is. The connector counts do not grow with the connections:
    a real tenant has a handful of connectors and many connections."""

    erp_connections: int
    quote_connections: int
    sync_connectors: int = 5
    quote_connectors: int = 2
    users: int = 200
    groups: int = 20
    extra_fields: int = 4  # Text fields per sync connector beyond the fixed set of eight
    seed: int = 1

    @classmethod
    def for_connections(cls, connections: int, quote_share: float = 0.2, **kwargs: Any) -> TenantSpec:
        """`connections` in total, `quote_share` of them quote connections (each needs an ERP one)."""
        quote = min(int(round(connections * quote_share)), connections // 2)
        return cls(erp_connections=connections - quote, quote_connections=quote, **kwargs)

    @property
    def connections(self) -> int:
        return self.erp_connections + self.quote_connections


# --- the model ------------------------------------------------------------------------


def _sync_fields(extra: int) -> list[dict[str, Any]]:
    """Every field type the planner normalises, Mandatory, ReadOnly and a Label."""
    fields: list[dict[str, Any]] = [
        {"key": "Info", "type": "Label", "display_name": "Benchmark connector"},
        {"key": "CompanyId", "type": "Integer", "access": "Mandatory"},
        {"key": "ApiKey", "type": "Password", "access": "Mandatory", "max_length": 64},
        {"key": "Environment", "type": "List", "list_name": "BenchEnvironments", "default": "production"},
        {"key": "SyncInvoices", "type": "Checkbox", "default": "1"},
        {"key": "BatchSize", "type": "Integer", "default": "100"},
        {"key": "ExchangeRateMargin", "type": "Double", "default": "0"},
        {"key": "StartDate", "type": "Date"},
        {"key": "ConnectorVersion", "type": "Text", "access": "ReadOnly", "default": "1.0.0"},
    ]
    fields += [{"key": f"Extra{i:02d}", "type": "Text", "max_length": 40} for i in range(1, extra + 1)]
    return fields


QUOTE_FIELDS: list[dict[str, Any]] = [
    {"key": "PriceListCurrency", "type": "Text", "access": "Mandatory", "max_length": 3},
    {"key": "IncludeVat", "type": "Checkbox", "default": "1"},
    {"key": "DiscountLimitPercent", "type": "Double", "default": "10"},
    {"key": "ApiToken", "type": "Password", "access": "Mandatory"},
]


def _sync_url(i: int) -> str:
    return f"https://connectors.bench.example/erp{i:02d}"


def _sync_name(i: int) -> str:
    return f"Bench ERP {i:02d}"


def _quote_connector_name(i: int) -> str:
    return f"Bench.Quote{i}"


def _erp_name(i: int) -> str:
    return f"ERP connection {i:05d}"


def _quote_name(i: int) -> str:
    return f"Quote connection {i:05d}"


def _login(i: int) -> str:
    return f"U{i:04d}"


def _group(i: int) -> str:
    return f"Bench group {i:03d}"


@dataclass(frozen=True)
class Connection:
    """One connection as the CRM stores it: config values are wire strings."""

    kind: Literal["ErpConnection", "QuoteConnection"]
    name: str
    connector: str
    description: str
    active: bool
    everyone: bool
    users: tuple[str, ...]
    groups: tuple[str, ...]
    config: dict[str, str]  # every non-Label field, as stored
    written: dict[str, Any]  # what the manifest writes (typed YAML values; omitted = default)
    erp_connection: str = ""  # quote connections only


def _scope(rng: random.Random, spec: TenantSpec) -> tuple[bool, tuple[str, ...], tuple[str, ...]]:
    roll = rng.random()
    if roll < 0.5:
        return True, (), ()
    users = tuple(sorted({_login(rng.randrange(1, spec.users + 1)) for _ in range(rng.randint(0, 4))}))
    groups = tuple(sorted({_group(rng.randrange(1, spec.groups + 1)) for _ in range(rng.randint(1, 3))}))
    return False, users, groups


def _erp_connection(i: int, rng: random.Random, spec: TenantSpec) -> Connection:
    connector = _sync_name(i % spec.sync_connectors + 1)
    company = 10000 + i
    environment = rng.choice(ENVIRONMENTS)
    sync_invoices = rng.random() < 0.7
    batch = rng.choice((100, 100, 250, 500))
    margin = rng.choice((0.0, 0.5, 1.25, 2.0))
    start = date(2025, 1, 1) + timedelta(days=rng.randrange(365))
    extras = {f"Extra{k:02d}": f"value {i}-{k}" for k in range(1, spec.extra_fields + 1) if rng.random() < 0.6}
    config = {
        "CompanyId": str(company),
        "ApiKey": SECRET_VALUE,
        "Environment": environment,
        "SyncInvoices": "1" if sync_invoices else "0",
        "BatchSize": str(batch),
        "ExchangeRateMargin": _double(margin),
        "StartDate": start.isoformat(),
        "ConnectorVersion": "1.0.0",
        **{f"Extra{k:02d}": extras.get(f"Extra{k:02d}", "") for k in range(1, spec.extra_fields + 1)},
    }
    # The manifest writes typed values and leaves defaults out, as people do.
    written: dict[str, Any] = {"CompanyId": company, "ApiKey": "${env:%s}" % SECRET_VARIABLE}
    if environment != "production":
        written["Environment"] = environment
    if not sync_invoices:
        written["SyncInvoices"] = False
    if batch != 100:
        written["BatchSize"] = batch
    if margin:
        written["ExchangeRateMargin"] = margin
    written["StartDate"] = start
    written.update(extras)
    everyone, users, groups = _scope(rng, spec)
    return Connection(
        kind="ErpConnection", name=_erp_name(i), connector=connector,
        description=f"Company {company}", active=rng.random() < 0.8,
        everyone=everyone, users=users, groups=groups, config=config, written=written,
    )


def _quote_connection(i: int, rng: random.Random, spec: TenantSpec) -> Connection:
    currency = rng.choice(CURRENCIES)
    include_vat = rng.random() < 0.5
    limit = rng.choice((10.0, 5.0, 12.5))
    config = {
        "PriceListCurrency": currency,
        "IncludeVat": "1" if include_vat else "0",
        "DiscountLimitPercent": _double(limit),
        "ApiToken": SECRET_VALUE,
    }
    written: dict[str, Any] = {"PriceListCurrency": currency, "ApiToken": "${env:%s}" % SECRET_VARIABLE}
    if not include_vat:
        written["IncludeVat"] = False
    if limit != 10.0:
        written["DiscountLimitPercent"] = limit
    everyone, users, groups = _scope(rng, spec)
    return Connection(
        kind="QuoteConnection", name=_quote_name(i), connector=_quote_connector_name(i % spec.quote_connectors + 1),
        description=f"Price lists {i}", active=True, everyone=everyone, users=users, groups=groups,
        config=config, written=written, erp_connection=_erp_name(i),
    )


def _double(value: float) -> str:
    """Invariant-culture text, as the planner normalises Double values."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def connections(spec: TenantSpec) -> list[Connection]:
    rng = random.Random(spec.seed)
    erp = [_erp_connection(i, rng, spec) for i in range(1, spec.erp_connections + 1)]
    quote = [_quote_connection(i, rng, spec) for i in range(1, spec.quote_connections + 1)]
    return erp + quote


# --- the seed ---------------------------------------------------------------------------


def seed(spec: TenantSpec, registered: Registered = "all") -> dict[str, Any]:
    """An emulator seed; `registered="connectors"` leaves out every connection."""
    conns = connections(spec) if registered == "all" else []
    return {
        "credentials": {"bearer": [TOKEN]},
        "users": [{"id": i, "login": _login(i), "full_name": f"Bench User {i}"} for i in range(1, spec.users + 1)],
        "groups": [{"id": i, "name": _group(i)} for i in range(1, spec.groups + 1)],
        "lists": {"BenchEnvironments": [{"id": i + 1, "name": n} for i, n in enumerate(ENVIRONMENTS)]},
        "connector_profiles": [
            {
                "url": _sync_url(i),
                "fields": _sync_fields(spec.extra_fields),
                "test": {"rules": [{"field": "ApiKey", "matches": "bench-.*", "explanation": "bad API key"}]},
            }
            for i in range(1, spec.sync_connectors + 1)
        ],
        "quote_connectors": [
            {
                "name": _quote_connector_name(i),
                "erp_name": f"Bench ERP {i}",
                "fields": QUOTE_FIELDS,
                "test": {"rules": [{"field": "ApiToken", "matches": "bench-.*", "explanation": "bad API token"}]},
            }
            for i in range(1, spec.quote_connectors + 1)
        ],
        "connectors": [
            {"id": i, "name": _sync_name(i), "url": _sync_url(i)} for i in range(1, spec.sync_connectors + 1)
        ],
        "erp_connections": [
            {
                "id": n, "name": c.name, "connector": c.connector, "description": c.description,
                "active": c.active, "guid": f"00000000-0000-4000-8000-{n:012d}",
                "most_recent_timestamp": "", "scope": _seed_scope(c), "config": c.config,
            }
            for n, c in enumerate((c for c in conns if c.kind == "ErpConnection"), start=1)
        ],
        "quote_connections": [
            {
                "id": n, "name": c.name, "connector": c.connector, "erp_connection": c.erp_connection,
                "description": c.description, "scope": _seed_scope(c), "config": c.config,
            }
            for n, c in enumerate((c for c in conns if c.kind == "QuoteConnection"), start=1)
        ],
    }


def _seed_scope(c: Connection) -> dict[str, Any]:
    if c.everyone:
        return {"everyone": True}
    return {"users": list(c.users), "groups": list(c.groups)}


# --- the manifests ----------------------------------------------------------------------


def manifest_documents(spec: TenantSpec, variant: Variant = "same") -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = [
        _doc("SyncConnector", _sync_name(i), {"url": _sync_url(i)}) for i in range(1, spec.sync_connectors + 1)
    ]
    for c in connections(spec):
        written = dict(c.written)
        description = c.description
        if variant == "changed":
            description += " (changed)"
            if c.kind == "ErpConnection":
                written["CompanyId"] = int(c.config["CompanyId"]) + 500000
            else:
                written["DiscountLimitPercent"] = 33.5
        scope: dict[str, Any] = {"everyone": True} if c.everyone else {}
        if c.users:
            scope["users"] = list(c.users)
        if c.groups:
            scope["groups"] = list(c.groups)
        body: dict[str, Any] = {"connector": c.connector, "description": description}
        if c.kind == "ErpConnection":
            body["active"] = c.active
        else:
            body["erpConnection"] = c.erp_connection
        body["scope"] = scope
        body["config"] = written
        docs.append(_doc(c.kind, c.name, body))
    return docs


def _doc(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "erp-reconciler/v1", "kind": kind, "metadata": {"name": name}, "spec": spec}


class _Dumper(yaml.SafeDumper):
    pass


def _dump_docs(docs: list[dict[str, Any]]) -> str:
    # `${env:…}` is plain YAML text; safe_dump quotes whatever needs it.
    return yaml.dump_all(docs, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=200)


def write_manifests(spec: TenantSpec, directory: Path, variant: Variant = "same") -> Path:
    """Multi-document files of at most DOCS_PER_MANIFEST_FILE resources each."""
    directory.mkdir(parents=True, exist_ok=True)
    docs = manifest_documents(spec, variant)
    for number, start in enumerate(range(0, len(docs), DOCS_PER_MANIFEST_FILE), start=1):
        chunk = docs[start : start + DOCS_PER_MANIFEST_FILE]
        (directory / f"part-{number:03d}.yaml").write_text(_dump_docs(chunk), encoding="utf-8")
    return directory


def write_seed(spec: TenantSpec, path: Path, registered: Registered = "all") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(seed(spec, registered), sort_keys=False, width=200), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, required=True, help="ERP + quote connections in total")
    parser.add_argument("--quote-share", type=float, default=0.2, help="fraction that are quote connections")
    parser.add_argument("--seed", type=int, default=1, help="random seed (same seed, same files)")
    parser.add_argument("--variant", choices=["same", "changed"], default="same",
                        help="manifests equal to the tenant, or every connection changed")
    parser.add_argument("--registered", choices=["all", "connectors"], default="all",
                        help="what the seed registers: everything, or only the connectors (all connections new)")
    parser.add_argument("--out", type=Path, required=True, help="directory for seed.yaml and manifests/")
    args = parser.parse_args(argv)
    spec = TenantSpec.for_connections(args.connections, args.quote_share, seed=args.seed)
    write_seed(spec, args.out / "seed.yaml", args.registered)
    write_manifests(spec, args.out / "manifests", args.variant)
    print(
        f"{args.out}/seed.yaml: {spec.erp_connections} ERP + {spec.quote_connections} quote connections "
        f"({'registered' if args.registered == 'all' else 'not registered'}), {spec.sync_connectors} sync "
        f"connectors, {spec.users} users, {spec.groups} groups; {args.out}/manifests/: variant {args.variant}"
    )


if __name__ == "__main__":
    main()
