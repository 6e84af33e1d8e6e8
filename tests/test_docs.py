"""The docs say what the tool does: guide commands run, Python snippets run, command lines
exist, the manifest reference matches the models, and local links resolve."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from _command_lines import problems, reconcile_invocations
from conftest import DEMO_TOKEN, EmulatorServer
from reconciler.manifest.models import ErpConnectionSpec, QuoteConnectionSpec, Scope, SyncConnectorSpec

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md", ROOT / "examples" / "ci" / "README.md"]
GUIDE = ROOT / "docs" / "guide.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)


def blocks(path: Path, languages: tuple[str, ...] = ("sh", "bash", "shell", "console", "")) -> list[str]:
    return [body for lang, body in FENCE.findall(path.read_text(encoding="utf-8")) if lang in languages]


@pytest.mark.slow
def test_guide_doc_test_blocks_run_against_the_embedded_emulator(tmp_path: Path) -> None:
    runnable = [b for b in blocks(GUIDE, ("sh",)) if b.startswith("# doc-test\n")]
    assert len(runnable) >= 3
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SUPEROFFICE_", "RECONCILE_")) and k != "NO_COLOR"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    for block in runnable:
        result = subprocess.run(["bash", "-e", "-c", block], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"{block}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    # What the guide says the tour leaves behind.
    assert (tmp_path / "plan.md").read_text().startswith("### erp-reconciler plan")
    assert (tmp_path / "connection-tests.xml").is_file()
    assert len(list((tmp_path / "manifests").rglob("*.yaml"))) == 7


def _read_the_served_tenant(namespace: dict[str, Any]) -> None:
    live = namespace["live"]
    assert live.target.startswith(namespace["url"]) and "SuperOffice.Excel" in live.quote_connectors


def _made_an_app_and_an_embedded_emulator(namespace: dict[str, Any]) -> None:
    assert namespace["app"].state.emulator.injector.faults.latency_ms == 50
    assert namespace["embedded"].base_url == "http://embedded-emulator/"


# Each doc's Python blocks run as they are, in a fresh directory, with `url` the served
# emulator's; then the check looks at what they made. architecture.md's block is one
# method of CrmClient: it is only compiled.
RUNNABLE_PYTHON: dict[str, Callable[[dict[str, Any]], None]] = {
    "crm-client.md": _read_the_served_tenant,
    "emulator.md": _made_an_app_and_an_embedded_emulator,
}


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_python_blocks_in_the_docs_compile(path: Path) -> None:
    for block in blocks(path, ("python",)):
        compile(block, str(path), "exec")


@pytest.mark.parametrize("name", sorted(RUNNABLE_PYTHON))
def test_python_blocks_in_the_docs_run(
    name: str, emulator_server: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = blocks(ROOT / "docs" / name, ("python",))
    assert python, f"docs/{name} has no python block"
    for variable in [k for k in os.environ if k.startswith("SUPEROFFICE_")]:
        monkeypatch.delenv(variable)
    monkeypatch.setenv("SUPEROFFICE_TOKEN", DEMO_TOKEN)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"url": emulator_server.url}
    for block in python:
        exec(compile(block, f"docs/{name}", "exec"), namespace)
    RUNNABLE_PYTHON[name](namespace)


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_reconcile_command_line_in_the_docs_exists(path: Path) -> None:
    text = "\n".join(blocks(path))
    # Inline code too: `reconcile plan --detailed-exitcode`.
    text += "\n" + "\n".join(re.findall(r"`(reconcile [^`]+)`", path.read_text(encoding="utf-8")))
    for args in reconcile_invocations(text.replace("…", "")):
        assert problems(args) == [], (path.name, args)


def _documented_keys(section: str) -> set[str]:
    text = (ROOT / "docs" / "manifests.md").read_text(encoding="utf-8")
    body = text.split(f"### {section}\n", 1)[1].split("\n#", 1)[0]
    return set(re.findall(r"^\| `spec\.(\w+)`", body, re.M))


@pytest.mark.parametrize(
    "section, model",
    [("SyncConnector", SyncConnectorSpec), ("ErpConnection", ErpConnectionSpec), ("QuoteConnection", QuoteConnectionSpec)],
)
def test_manifest_reference_lists_exactly_the_schema_keys(section: str, model: type) -> None:
    assert _documented_keys(section) == set(model.model_fields)


def test_manifest_reference_documents_scope_keys() -> None:
    text = (ROOT / "docs" / "manifests.md").read_text(encoding="utf-8").split("### Scope\n", 1)[1].split("\n## ", 1)[0]
    for key in Scope.model_fields:
        assert f"{key}:" in text


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_local_links_resolve(path: Path) -> None:
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text(encoding="utf-8")):
        if "://" in target:
            continue
        assert (path.parent / target).exists(), (path.name, target)
