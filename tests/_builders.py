"""Hand-built desired and live states for planner and renderer tests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter

from reconciler.crm.live import (
    FieldMeta,
    Group,
    ListItem,
    Live,
    LiveConnector,
    LiveErpConnection,
    LiveQuoteConnection,
    User,
)
from reconciler.diagnostics import Location
from reconciler.manifest.models import Desired, DesiredResource, Manifest
from reconciler.secrets import Sensitive

CANARY = "canary-4f1d-do-not-print"
_ADAPTER: TypeAdapter[Any] = TypeAdapter(Manifest)

VISMA_FIELDS = (
    FieldMeta("Info", "Label", rank=0, display_name="Get the API key from Visma.net"),
    FieldMeta("CompanyId", "Integer", "Mandatory", rank=1),
    FieldMeta("ApiKey", "Password", "Mandatory", rank=2, max_length=64),
    FieldMeta("Environment", "List", rank=3, list_name="VismaEnvironments", default="production"),
    FieldMeta("SyncInvoices", "Checkbox", rank=4, default="1"),
    FieldMeta("BatchSize", "Integer", rank=5, default="100"),
    FieldMeta("ConnectorVersion", "Text", "ReadOnly", rank=6, default="4.2.0"),
)
TRIPLETEX_FIELDS = (
    FieldMeta("CompanyNumber", "Text", "Mandatory", max_length=9),
    FieldMeta("ConsumerToken", "Password", "Mandatory"),
    FieldMeta("EmployeeToken", "Password", "Mandatory"),
    FieldMeta("UseSandbox", "Checkbox", default="0"),
    FieldMeta("ExchangeRateMargin", "Double", default="0"),
    FieldMeta("StartDate", "Date"),
)
VISMA_QUOTE_FIELDS = (
    FieldMeta("PriceListCurrency", "Text", "Mandatory", max_length=3),
    FieldMeta("IncludeVat", "Checkbox", default="1"),
    FieldMeta("DiscountLimitPercent", "Double", default="10"),
)
USERS = (
    User(1, "ADM", "System Administrator"),
    User(2, "AHO", "Anna Holm"),
    User(3, "BKL", "Bjørn Klev"),
    User(7, "FRE", "Frank Eriksen", deleted=True),
)
GROUPS = (
    Group(1, "Sales Norway"),
    Group(2, "Sales Sweden"),
    Group(3, "Finance"),
    Group(9, "Old Projects", deleted=True),
)
LISTS = {"VismaEnvironments": (ListItem(1, "production"), ListItem(2, "sandbox"))}


def empty_live(**overrides: Any) -> Live:
    base: dict[str, Any] = dict(
        target="test",
        users=USERS,
        groups=GROUPS,
        quote_connectors=("Visma.Quote", "SuperOffice.Excel"),
        quote_fields={"Visma.Quote": VISMA_QUOTE_FIELDS, "SuperOffice.Excel": ()},
        lists=LISTS,
    )
    base.update(overrides)
    return Live(**base)


def resource(doc: Mapping[str, Any], *, line: int = 1, config: Mapping[str, Any] | None = None) -> DesiredResource:
    manifest = _ADAPTER.validate_python(doc)
    locations = {("spec", "config", key): Location("m.yaml", line + 10 + i, 5) for i, key in enumerate(manifest.spec.__dict__.get("config", {}) or {})}
    locations[("metadata", "name")] = Location("m.yaml", line + 3, 9)
    return DesiredResource(
        manifest=manifest,
        location=Location("m.yaml", line, 1),
        config=dict(config if config is not None else getattr(manifest.spec, "config", {})),
        node_locations=locations,
    )


def document(kind: str, name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "erp-reconciler/v1", "kind": kind, "metadata": {"name": name}, "spec": dict(spec)}


def connector(name: str = "Visma.net", url: str = "https://connectors.example.com/visma") -> DesiredResource:
    return resource(document("SyncConnector", name, {"url": url}))


def erp(
    name: str = "Visma Production",
    *,
    connector: str = "Visma.net",
    config: Mapping[str, Any] | None = None,
    scope: Mapping[str, Any] | None = None,
    active: bool = True,
    description: str = "Customers and invoices",
    line: int = 20,
) -> DesiredResource:
    written = dict(config if config is not None else {"CompanyId": 12345, "ApiKey": "x"})
    resolved = {k: (Sensitive(CANARY, "${env:VISMA_KEY}") if k == "ApiKey" and v == "x" else v) for k, v in written.items()}
    spec = {
        "connector": connector,
        "description": description,
        "active": active,
        "scope": dict(scope or {"everyone": True}),
        "config": written,
    }
    return resource(document("ErpConnection", name, spec), line=line, config=resolved)


def quote(
    name: str = "Visma Quotes",
    *,
    connector: str = "Visma.Quote",
    erp_connection: str = "Visma Production",
    config: Mapping[str, Any] | None = None,
    scope: Mapping[str, Any] | None = None,
) -> DesiredResource:
    spec = {
        "connector": connector,
        "erpConnection": erp_connection,
        "scope": dict(scope or {"groups": ["Sales Norway"]}),
        "config": dict(config if config is not None else {"PriceListCurrency": "NOK"}),
    }
    return resource(document("QuoteConnection", name, spec), line=60)


def desired(*resources: DesiredResource) -> Desired:
    return Desired(resources=tuple(resources), digest="sha256:test")


def live_visma(**overrides: Any) -> Live:
    """A tenant where the demo Visma set exists and equals `desired(connector(), erp(), quote())`."""
    erp_conn = LiveErpConnection(
        id=10, connector_id=5, name="Visma Production", description="Customers and invoices",
        active=True, guid="guid-10", deleted=False, all_access=True,
        config={
            "CompanyId": "12345", "ApiKey": Sensitive(CANARY), "Environment": "production",
            "SyncInvoices": "1", "BatchSize": "100", "ConnectorVersion": "4.2.1",
        },
    )
    quote_conn = LiveQuoteConnection(
        id=30, name="Visma Quotes", description="", connector_name="Visma.Quote", erp_connection_id=10,
        deleted=False, all_access=False, group_ids=(1,),
        config={"PriceListCurrency": "NOK", "IncludeVat": "1", "DiscountLimitPercent": "10"},
    )
    base: dict[str, Any] = dict(
        connectors=(LiveConnector(5, "Visma.net", "https://connectors.example.com/visma"),),
        erp_connections=(erp_conn,),
        quote_connections=(quote_conn,),
        erp_fields={5: VISMA_FIELDS},
    )
    base.update(overrides)
    return empty_live(**base)
