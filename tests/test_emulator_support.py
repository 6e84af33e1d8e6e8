"""Helpers shared by the emulator tests (no tests here).

A "rich" seed extends the default one with pre-existing connectors and
connections - including deleted ones and the ids the reference samples use -
so every endpoint has something to answer with.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import yaml
from starlette.applications import Starlette

from reconciler.emulator.app import create_app
from reconciler.emulator.seed import default_seed_text

SAMPLES = Path(__file__).parent / "data" / "samples"
BEARER = {"Authorization": "Bearer demo-token"}
VISMA_URL = "https://connectors.example.com/visma"


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


RICH_ADDITIONS: dict[str, Any] = {
    "users_extra": [
        {"id": 920, "login": "S920", "full_name": "Sample User 920"},
        {"id": 463, "login": "S463", "full_name": "Sample User 463"},
    ],
    "groups_extra": [
        {"id": 350, "name": "Sample Group 350"},
        {"id": 185, "name": "Sample Group 185"},
    ],
    "connectors": [
        {"id": 1, "name": "Visma.net", "url": VISMA_URL},
        {"id": 2, "name": "Tripletex", "url": "https://connectors.example.com/tripletex"},
        {"id": 3, "name": "Offline", "url": "https://connectors.example.com/offline"},
        {"id": 4, "name": "Retired", "url": "https://connectors.example.com/retired", "deleted": True},
        {"id": 411, "name": "Sample connector", "url": VISMA_URL},
    ],
    "erp_connections": [
        {
            "id": 1, "name": "Visma Production", "connector": "Visma.net", "active": True,
            "description": "Customers and invoices", "most_recent_timestamp": "2026-01-01T00:00:00Z",
            "scope": {"everyone": True},
            "config": {"CompanyId": "12345", "ApiKey": "demo-key", "Environment": "production"},
        },
        {
            "id": 2, "name": "Visma Broken", "connector": "Visma.net", "guid": "fixed-guid-2",
            "scope": {"users": ["ADM", "AHO"], "groups": ["Finance"]},
            "most_recent_timestamp": "",
            "config": {"CompanyId": "1", "ApiKey": "wrong-key"},
        },
        {
            "id": 3, "name": "Old Visma", "connector": "Visma.net", "deleted": True,
            "most_recent_timestamp": "", "config": {"CompanyId": "7", "ApiKey": "demo-old"},
        },
        {"id": 4, "name": "Offline ERP", "connector": "Offline", "most_recent_timestamp": "",
         "config": {"Host": "x"}},
        {"id": 816, "name": "Sample connection", "connector": "Sample connector",
         "most_recent_timestamp": "", "config": {}},
    ],
    "quote_connections": [
        {"id": 1, "name": "Visma Quotes", "connector": "Visma.Quote", "erp_connection": "Visma Production",
         "scope": {"groups": ["Sales Norway"]}, "config": {"PriceListCurrency": "NOK"}},
        {"id": 2, "name": "Old Quotes", "connector": "SuperOffice.Excel", "deleted": True,
         "config": {"FileName": "old.xlsx"}},
    ],
}


def rich_seed_text() -> str:
    seed = yaml.safe_load(default_seed_text())
    seed["users"] += RICH_ADDITIONS["users_extra"]
    seed["groups"] += RICH_ADDITIONS["groups_extra"]
    for key in ("connectors", "erp_connections", "quote_connections"):
        seed[key] = RICH_ADDITIONS[key]
    return yaml.safe_dump(seed, allow_unicode=True, sort_keys=False)


def write_seed(tmp_path: Path, text: str, name: str = "seed.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


class AsgiClient:
    """A synchronous face on httpx.AsyncClient over httpx.ASGITransport (the embedded path)."""

    def __init__(self, app: Starlette, headers: dict[str, str] | None = None) -> None:
        self.app = app
        self._runner = asyncio.Runner()
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://emulator.test/", headers=headers
        )

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self._runner.run(self._client.request(method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def close(self) -> None:
        self._runner.run(self._client.aclose())
        self._runner.close()


def rich_app(tmp_path: Path, **kwargs: Any) -> Starlette:
    seed = write_seed(tmp_path, rich_seed_text())
    return create_app(tmp_path / "state.sqlite", seed_path=seed, **kwargs)


def rich_client(tmp_path: Path, **kwargs: Any) -> AsgiClient:
    return AsgiClient(rich_app(tmp_path, **kwargs), headers=BEARER)


def default_client(tmp_path: Path, **kwargs: Any) -> AsgiClient:
    return AsgiClient(create_app(tmp_path / "state.sqlite", **kwargs), headers=BEARER)


def agent(client: Any, method: str, body: Any = None, **kwargs: Any) -> httpx.Response:
    """POST api/v1/Agents/<Agent>/<Method> with a JSON body (None = no body)."""
    if body is None:
        return client.post(f"api/v1/Agents/{method}", **kwargs)
    return client.post(f"api/v1/Agents/{method}", json=body, **kwargs)


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, (response.status_code, response.text)
    return response.json()


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


def shape(value: Any) -> Any:
    """Keys and JSON types of an object (one level), or of an array's first element."""
    if isinstance(value, dict):
        return {k: json_type(v) for k, v in value.items()}
    if isinstance(value, list):
        return ["array", shape(value[0]) if value else None]
    return json_type(value)
