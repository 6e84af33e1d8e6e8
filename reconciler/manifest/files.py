"""Finding and reading manifest files (`-f` files and directories), with limits."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from reconciler.diagnostics import Diagnostic, Location

MAX_FILE_BYTES = 5 * 1024 * 1024
SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class ManifestFile:
    path: Path  # to open
    display: str  # to show and to hash: relative to the working directory when below it


@dataclass(frozen=True)
class Discovered:
    files: list[ManifestFile]
    diagnostics: list[Diagnostic]


def display_path(path: Path) -> str:
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return absolute.as_posix()


def discover(paths: Sequence[str | Path]) -> Discovered:
    """Files in `-f` order; a directory contributes its *.yaml/*.yml files, sorted,
    recursively. Hidden files and directories (.git, .github, .reconcile) are
    skipped. A file reached twice is read once."""
    files: list[ManifestFile] = []
    diagnostics: list[Diagnostic] = []
    seen: set[Path] = set()

    def add(path: Path) -> None:
        key = Path(os.path.realpath(path))
        if key not in seen:
            seen.add(key)
            files.append(ManifestFile(path, display_path(path)))

    if not paths:
        diagnostics.append(Diagnostic("no manifest files given", hint="pass -f FILE or -f DIRECTORY"))
    for raw in paths:
        path = Path(raw)
        shown = display_path(path)
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            diagnostics.append(
                Diagnostic(f"{shown}: no such file or directory", hint="check the -f path")
            )
            continue
        except OSError as exc:
            diagnostics.append(Diagnostic(f"{shown}: cannot access: {exc.strerror or exc}"))
            continue
        if stat.S_ISDIR(mode):
            found = _walk(path)
            if not found:
                diagnostics.append(
                    Diagnostic(
                        f"{shown}: directory has no *.yaml or *.yml files",
                        hint="point -f at the directory that holds the manifests",
                    )
                )
            for file in found:
                add(file)
        else:
            add(path)  # any name: an explicit file need not end in .yaml
    return Discovered(files, diagnostics)


PROJECT_FILES = frozenset({"reconcile.yaml", "reconcile.yml"})


def _walk(directory: Path) -> list[Path]:
    found: list[tuple[tuple[str, ...], Path]] = []
    for root, dirnames, filenames in os.walk(directory):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            # reconcile.yaml is the project file (targets, ignore rules), not a manifest.
            if name.startswith(".") or not name.endswith(SUFFIXES) or name in PROJECT_FILES:
                continue
            full = Path(root) / name
            found.append((full.relative_to(directory).parts, full))
    return [path for _, path in sorted(found)]


class ReadFailed(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def read_text(path: Path, shown: str, *, limit: int = MAX_FILE_BYTES, what: str = "file") -> tuple[bytes, str]:
    """The file's bytes and its UTF-8 text (a BOM is dropped); ReadFailed says why not.

    Messages name the path only, never the content: `what` may be a secret file.
    """
    data = read_bytes(path, shown, limit=limit, what=what)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        # A secret file's bytes are secret too: say where, not what.
        detail = f" (byte 0x{data[exc.start]:02X})" if what == "file" else ""
        raise ReadFailed(
            Diagnostic(
                f"{what} is not valid UTF-8{detail}",
                Location(shown, line, column),
                hint="save the file as UTF-8",
            )
        ) from None
    return data, text.removeprefix("\ufeff")


def read_bytes(path: Path, shown: str, *, limit: int, what: str = "file") -> bytes:
    def failed(message: str, hint: str | None = None) -> ReadFailed:
        return ReadFailed(Diagnostic(f"{shown}: {message}", hint=hint))

    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise failed(f"{what} is a directory", hint="name a file")
        if not stat.S_ISREG(mode):
            raise failed(f"{what} is not a regular file")
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise failed(f"{what} does not exist") from None
    except IsADirectoryError:
        raise failed(f"{what} is a directory", hint="name a file") from None
    except PermissionError:
        raise failed(f"cannot read {what}: permission denied") from None
    except OSError as exc:
        raise failed(f"cannot read {what}: {exc.strerror or type(exc).__name__}") from None
    if len(data) > limit:
        raise failed(
            f"{what} is larger than {_size(limit)}",
            hint="split the manifests into several files" if what == "file" else None,
        )
    return data


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 else f"{limit // 1024} KiB"
