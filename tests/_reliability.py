"""Shared by the reliability tests: generated manifest sets larger than examples/,
and a duplicate check that reads the CRM through the real client."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from reconciler.crm.client import CrmClient

DEMO_TOKEN = "demo-token"
HEADERS = {"Authorization": f"Bearer {DEMO_TOKEN}"}
# Agent methods that change the CRM (reconciler.crm.retry: everything but Get*/Test*/CanDelete*).
WRITE_PREFIXES = ("Save", "Delete", "Toggle", "Restore", "Create")


@dataclass(frozen=True)
class ManifestSet:
    """Two connectors, `erp` ERP connections numbered from `erp_start` (even numbers on
    Visma.net, odd on Tripletex), and `quotes` quote connections on the first of them.
    `version` changes descriptions and config, so a later version updates every object
    an earlier one made; a later `erp_start` drops (soft-deletes) the first ones."""

    erp: int
    quotes: int
    version: int = 1
    active_every: int = 2  # every Nth ERP connection is active (tested + activated)
    erp_start: int = 0

    def erp_numbers(self) -> range:
        return range(self.erp_start, self.erp_start + self.erp)

    def erp_names(self) -> list[str]:
        return [f"ERP {n:03d}" for n in self.erp_numbers()]

    def quote_names(self) -> list[str]:
        return [f"Quote {i:03d}" for i in range(self.quotes)]

    def render(self) -> str:
        docs = [
            _doc("SyncConnector", "Visma.net", "  url: https://connectors.example.com/visma"),
            _doc("SyncConnector", "Tripletex", "  url: https://connectors.example.com/tripletex"),
        ]
        v = self.version
        for n in self.erp_numbers():
            active = "true" if n % self.active_every == 0 else "false"
            if n % 2 == 0:
                config = (f"    CompanyId: {1000 + n + v}\n    ApiKey: demo-key-{n}-v{v}\n"
                          f"    Environment: {'production' if v % 2 else 'sandbox'}\n    BatchSize: {10 * v}")
                connector = "Visma.net"
            else:
                config = (f'    CompanyNumber: "{900000000 + n}"\n    ConsumerToken: demo-consumer-{n}-v{v}\n'
                          f"    EmployeeToken: demo-employee-{n}")
                connector = "Tripletex"
            scope = "    everyone: true" if n % 3 == 0 else "    users: [ADM, AHO]\n    groups: [Finance]"
            docs.append(_doc("ErpConnection", f"ERP {n:03d}", (
                f"  connector: {connector}\n  description: generated v{v}\n  active: {active}\n"
                f"  scope:\n{scope}\n  config:\n{config}"
            )))
        numbers = list(self.erp_numbers())
        for i, name in enumerate(self.quote_names()):
            n = numbers[i % len(numbers)]
            if n % 2 == 0:
                connector, config = "Visma.Quote", f"    PriceListCurrency: NOK\n    DiscountLimitPercent: {5 + v}"
            else:
                connector, config = "Tripletex.Quote", f"    Currency: NOK\n    ApiToken: demo-quote-{i}-v{v}"
            docs.append(_doc("QuoteConnection", name, (
                f"  connector: {connector}\n  erpConnection: ERP {n:03d}\n  description: quotes v{v}\n"
                f"  scope:\n    groups: [Sales Norway]\n  config:\n{config}"
            )))
        return "---\n".join(docs)

    def write(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "generated.yaml"
        path.write_text(self.render(), encoding="utf-8")
        return directory

    @property
    def object_count(self) -> int:
        return 2 + self.erp + self.quotes


def _doc(kind: str, name: str, spec: str) -> str:
    return f"apiVersion: erp-reconciler/v1\nkind: {kind}\nmetadata:\n  name: {name}\nspec:\n{spec}\n"


@dataclass(frozen=True)
class CrmCensus:
    """What is in the CRM, by kind: names of objects not deleted, and the problems found."""

    connectors: Counter[str]
    erp: Counter[str]
    quotes: Counter[str]
    quote_erp_ids_missing: tuple[str, ...]

    @property
    def duplicates(self) -> dict[str, list[str]]:
        found = {
            kind: sorted(name for name, n in names.items() if n > 1)
            for kind, names in (("SyncConnector", self.connectors), ("ErpConnection", self.erp),
                                ("QuoteConnection", self.quotes))
        }
        return {kind: names for kind, names in found.items() if names}


async def census_async(client: CrmClient) -> CrmCensus:
    connectors = await client.get_connectors_with_urls()
    erp = await client.get_all_connections(include_deleted=False)
    quotes = await client.get_all_quote_connections(with_config=False)
    erp_ids = {c.id for c in erp if not c.deleted}
    live_quotes = [q for q in quotes if not q.deleted]
    return CrmCensus(
        connectors=Counter(c.name for c in connectors if not c.deleted),
        erp=Counter(c.name for c in erp if not c.deleted),
        quotes=Counter(q.name for q in live_quotes),
        # A quote connection pointing at no live ERP connection is a stray.
        quote_erp_ids_missing=tuple(sorted(q.name for q in live_quotes if q.erp_connection_id not in erp_ids)),
    )


def census(url: str) -> CrmCensus:
    async def go() -> CrmCensus:
        async with CrmClient(url, headers=HEADERS, backoff_base=0.01) as client:
            return await census_async(client)

    return asyncio.run(go())


def write_requests(by_path: dict[str, int]) -> dict[str, int]:
    """The write endpoints among GET /_emulator/requests' by_path."""
    return {
        path: n for path, n in by_path.items()
        if path.rstrip("/").rsplit("/", 1)[-1].startswith(WRITE_PREFIXES)
    }
