"""The fetch floor: the requests a plan's snapshot makes, with raw httpx and nothing else.

Same endpoints, same bodies, same order of dependencies and the same concurrency
limit as `reconciler/crm/snapshot.py`, but no parsing beyond `.json()`, no
models, no planning. What is left is the time the network and the server need:
a plan cannot be faster than this. Prints one JSON line:
{"fetch_s": ..., "requests": ...}.

Usage: SUPEROFFICE_URL=... SUPEROFFICE_TOKEN=... python benchmarks/floor.py [--parallelism 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from typing import Any

import httpx


class Floor:
    def __init__(self, http: httpx.AsyncClient, parallelism: int) -> None:
        self.http = http
        self.semaphore = asyncio.Semaphore(parallelism)
        self.requests = 0
        self.lists_started: set[str] = set()

    async def get(self, path: str, **params: str) -> Any:
        async with self.semaphore:
            self.requests += 1
            response = await self.http.get("api/v1/" + path, params=params)
        response.raise_for_status()
        return response.json()

    async def archive(self, provider: str, select: str, entities: str) -> list[Any]:
        rows: list[Any] = []
        page = await self.get(f"archive/{provider}", **{"$select": select, "$entities": entities})
        while True:
            rows += page["value"]
            if not page.get("odata.nextLink"):
                return rows
            async with self.semaphore:
                self.requests += 1
                response = await self.http.get(page["odata.nextLink"])
            response.raise_for_status()
            page = response.json()

    async def agent(self, method: str, body: Any = None) -> Any:
        async with self.semaphore:
            self.requests += 1
            response = await self.http.post("api/v1/Agents/" + method, json=body)
        response.raise_for_status()
        return response.json() if response.content else None

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:

            def want_lists(fields: Any) -> None:
                metas = fields.values() if isinstance(fields, dict) else fields or []
                for meta in metas:
                    name = meta.get("ListName") if meta.get("FieldType") == "List" else None
                    if name and name not in self.lists_started:
                        self.lists_started.add(name)
                        tg.create_task(self.get(f"MDOList/{name}", flat="true"))

            async def erp_fields(connector_id: int) -> None:
                want_lists(await self.agent("ErpSync/GetConfigurationFields", {"ErpConnectorId": connector_id}))

            async def quote_fields(name: str) -> None:
                want_lists(await self.agent("Quote/GetConfigurationFields", {"ConnectionId": 0, "ConnectorName": name}))

            async def connectors() -> None:
                for row in await self.archive("ErpConnector", "id,name,url", "erpConnector,deleted"):
                    if row["EntityName"] != "deleted":
                        tg.create_task(erp_fields(row["PrimaryKey"]))

            async def erp_connections() -> None:
                # GetAllConnections carries no config data: one read per connection.
                for conn in await self.agent("ErpSync/GetAllConnections", {"IncludeDeleted": True}):
                    tg.create_task(self.agent(
                        "ErpSync/GetErpConnectionConfigFields", {"ErpConnectionId": conn["ErpConnectionId"]}))

            async def installed() -> None:
                for item in await self.get("MDOList/quoteconnectors", flat="true"):
                    tg.create_task(quote_fields(item["Name"]))

            def quote_config(quote_id: int) -> None:
                tg.create_task(self.agent("Quote/GetConnectionConfigFields", {"QuoteConnectionId": quote_id}))

            async def deleted_quote(quote_id: int) -> None:
                await self.agent("Quote/GetConnection", {"QuoteConnectionId": quote_id})
                quote_config(quote_id)

            async def quote_connections() -> None:
                for conn in await self.agent("Quote/GetAllInstalledQuoteConnections"):
                    quote_config(conn["QuoteConnectionId"])

            async def deleted_quote_connections() -> None:
                rows = await self.archive("QuoteConnection", "quoteConnectionId,displayName,deleted",
                                          "quoteConnection,deleted")
                for row in rows:
                    if row["EntityName"] == "deleted":
                        tg.create_task(deleted_quote(row["PrimaryKey"]))

            tg.create_task(connectors())
            tg.create_task(installed())
            tg.create_task(erp_connections())
            tg.create_task(quote_connections())
            tg.create_task(deleted_quote_connections())
            tg.create_task(self.archive("AllUsers", "associateDbId,assocName,fullName,isActive", "all,expired"))
            tg.create_task(self.get("List/UserGroup/Items", includeDeleted="true"))


async def measure(url: str, token: str, parallelism: int) -> dict[str, float | int]:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as http:
        floor = Floor(http, parallelism)
        started = time.perf_counter()
        await floor.run()
        return {"fetch_s": time.perf_counter() - started, "requests": floor.requests}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parallelism", type=int, default=8)
    args = parser.parse_args()
    url, token = os.environ["SUPEROFFICE_URL"], os.environ["SUPEROFFICE_TOKEN"]
    print(json.dumps(asyncio.run(measure(url, token, args.parallelism))))


if __name__ == "__main__":
    main()
