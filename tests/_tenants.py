"""A multi-tenant emulator served over loopback HTTP, and a reconcile.yaml naming its tenants."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from reconciler.emulator.tenants import TenantPlan, create_tenants_app, generated_contexts
from click.testing import CliRunner, Result

from reconciler.cli import main
from conftest import DEMO_TOKEN, serve_in_thread


@dataclass
class Tenants:
    url: str  # the emulator's root, ending in "/"
    contexts: list[str]

    def tenant_url(self, context: str) -> str:
        return f"{self.url}{context}/"

    def requests(self, context: str) -> int:
        response = httpx.get(self.tenant_url(context) + "_emulator/requests", timeout=10)
        response.raise_for_status()
        return int(response.json()["total"])

    def set_faults(self, context: str, **knobs: Any) -> None:
        httpx.put(self.tenant_url(context) + "_emulator/faults", json=knobs, timeout=10).raise_for_status()

    def project_yaml(self, names: Mapping[str, str], *, tokens: Mapping[str, str] | None = None) -> str:
        """reconcile.yaml with one target per name -> context, each with its own token variable."""
        lines = ["targets:"]
        for name, context in names.items():
            variable = (tokens or {}).get(name) or "TOKEN_" + name.upper().replace("-", "_")
            lines += [f"  {name}:", f"    url: {self.tenant_url(context)}", f"    credentials: {{token: {variable}}}"]
        return "\n".join(lines) + "\n"


@contextmanager
def served_tenants(state_dir: Path, count: int, overrides: Mapping[str, Mapping[str, Any]] | None = None) -> Iterator[Tenants]:
    contexts = generated_contexts(count)
    plans = [TenantPlan(c, (overrides or {}).get(c, {})) for c in contexts]
    server, thread, port = serve_in_thread(create_tenants_app(state_dir, plans))
    try:
        yield Tenants(url=f"http://127.0.0.1:{port}/", contexts=contexts)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def token_env(*names: str, token: str = DEMO_TOKEN) -> dict[str, str]:
    return {"TOKEN_" + n.upper().replace("-", "_"): token for n in names}


@contextmanager
def tenants_with_project(workdir: Path, tmp_path: Path, names: Mapping[str, str]) -> Iterator[Tenants]:
    """One served tenant per name, and a reconcile.yaml in workdir naming them."""
    with served_tenants(tmp_path / "tenants", len(names)) as served:
        (workdir / "reconcile.yaml").write_text(served.project_yaml(names), encoding="utf-8")
        yield served


def reconcile(*args: str, env: dict[str, str], input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, input=input, catch_exceptions=False)
