"""The layers of docs/architecture.md hold: what each package may import, and the
declared dependencies are the ones the code imports."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "reconciler"

# Distribution name -> the module it is imported as, where they differ.
IMPORT_NAMES = {"pyyaml": "yaml", "pyjwt": "jwt"}
# Declared for what another library does with it, not imported by this code
# (the reason is next to it in pyproject.toml).
DECLARED_FOR_ANOTHER_LIBRARY = {"sniffio"}


def _imported_top_level_modules() -> set[str]:
    found: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found


def test_every_declared_dependency_is_imported() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    names = {re.split(r"[<>=!~\[; ]", spec, maxsplit=1)[0].lower() for spec in declared}
    imported = _imported_top_level_modules()
    unused = {n for n in names - DECLARED_FOR_ANOTHER_LIBRARY if IMPORT_NAMES.get(n, n) not in imported}
    assert unused == set(), f"declared in pyproject.toml but never imported: {sorted(unused)}"


def test_importing_the_planner_does_not_load_the_http_client() -> None:
    probe = (
        "import sys, reconciler.plan.planner, reconciler.plan.model, reconciler.plan.values;"
        "print(sorted(m for m in ('httpx', 'click', 'rich', 'starlette', 'uvicorn') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == "[]"


def _imports(path: Path) -> set[str]:
    """Absolute module names a file imports (relative imports are not used in reconciler/)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _files(*parts: str) -> list[Path]:
    where = PACKAGE.joinpath(*parts)
    return sorted(where.rglob("*.py")) if where.is_dir() else [where.with_suffix(".py")]


def _is_under(name: str, *modules: str) -> bool:
    return any(name == m or name.startswith(m + ".") for m in modules)


def _violations(files: list[Path], forbidden: Callable[[str], bool]) -> list[str]:
    return [f"{p.relative_to(ROOT)} imports {name}" for p in files for name in sorted(_imports(p)) if forbidden(name)]


IO_LIBRARIES = ("httpx", "click", "rich", "starlette", "uvicorn")
PLAN_MAY_USE = ("reconciler.plan", "reconciler.crm.live", "reconciler.crm.sync_live", "reconciler.manifest.models",
                "reconciler.manifest.sync_models", "reconciler.diagnostics", "reconciler.secrets",
                "reconciler.__version__")


def test_the_planner_is_pure() -> None:
    assert _violations(_files("plan"), lambda n: _is_under(n, *IO_LIBRARIES) or (
        _is_under(n, "reconciler") and not _is_under(n, *PLAN_MAY_USE))) == []


def test_the_doctor_talks_to_the_crm_only_through_the_client() -> None:
    assert _violations(_files("doctor"), lambda n: _is_under(n, *IO_LIBRARIES) or (
        _is_under(n, "reconciler") and not _is_under(n, "reconciler.doctor", "reconciler.crm", "reconciler.json_schema"))) == []


def test_output_and_apply_know_nothing_of_each_other() -> None:
    """The saved plan and the apply report are plain data in plan/; render/ prints them, apply/ uses them."""
    assert _violations(_files("render"), lambda n: _is_under(n, "reconciler.apply")) == []
    assert _violations(_files("apply"), lambda n: _is_under(n, "reconciler.render")) == []


def test_only_the_commands_reach_the_emulator() -> None:
    outside = [p for p in PACKAGE.rglob("*.py") if not _is_under(".".join(p.relative_to(ROOT).with_suffix("").parts),
                                                                 "reconciler.emulator", "reconciler.commands")]
    assert _violations(outside, lambda n: _is_under(n, "reconciler.emulator")) == []


def test_libraries_stay_in_their_layer() -> None:
    homes = {
        "click": ("reconciler.cli", "reconciler.commands"),
        "httpx": ("reconciler.crm", "reconciler.emulator"),
        "starlette": ("reconciler.emulator", "reconciler.commands"),
        "uvicorn": ("reconciler.emulator", "reconciler.commands"),
    }
    problems: list[str] = []
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        outside = [library for library, allowed in homes.items() if not _is_under(module, *allowed)]
        problems += _violations([path], lambda name: _is_under(name, *outside))
    assert problems == []


def test_manifests_and_the_crm_client_know_nothing_of_each_other_or_of_output() -> None:
    later = ("reconciler.plan", "reconciler.apply", "reconciler.render", "reconciler.commands",
             "reconciler.emulator", "reconciler.planning", "reconciler.connection_tests")
    assert _violations(_files("manifest"), lambda n: _is_under(n, "reconciler.crm", *later, *IO_LIBRARIES)) == []
    assert _violations(_files("crm"), lambda n: _is_under(n, "reconciler.manifest", *later, "click", "rich")) == []


SECTION_CITATION = re.compile(r"§\s*\d|\b(?:reference )?sections? \d+(?:\.\d+)?\b", re.IGNORECASE)


def test_code_cites_vendor_doc_paths_not_section_numbers_of_outside_documents() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for folder in ("reconciler", "tests", "benchmarks")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if SECTION_CITATION.search(line) and path.name != "test_architecture.py"
    ]
    assert found == []
