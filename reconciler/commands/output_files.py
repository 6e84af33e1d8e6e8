"""Files a command writes (--out, --report, --junit-xml): checked before the first request, written with a clear error."""

from __future__ import annotations

import os
from pathlib import Path

from reconciler.diagnostics import Diagnostic, DiagnosticError


def check_writable(outputs: dict[str, Path | None]) -> None:
    """Refuse, before anything is read or changed, an output file that could not be written."""
    problems = [problem for option, path in outputs.items() if path is not None
                for problem in _problems(option, path)]
    if problems:
        raise DiagnosticError(problems)


def _problems(option: str, path: Path) -> list[Diagnostic]:
    directory = path.parent
    if path.is_dir():
        return [Diagnostic(f"{option} {path}: is a directory", hint="give a file name")]
    if not directory.is_dir():
        return [Diagnostic(f"{option} {path}: the directory {directory} does not exist",
                           hint=f"create it first (mkdir -p {directory})")]
    if path.exists() and not os.access(path, os.W_OK):
        return [Diagnostic(f"{option} {path}: the file is not writable", hint="check its permissions")]
    if not path.exists() and not os.access(directory, os.W_OK | os.X_OK):
        return [Diagnostic(f"{option} {path}: cannot create files in {directory}", hint="check its permissions")]
    return []


def check_directory(option: str, path: Path | None) -> None:
    """Refuse, before the first request, an output directory that could not be created or written
    (click's Path(file_okay=False) has already refused an existing file)."""
    if path is None:
        return
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise DiagnosticError([Diagnostic(f"{option} {path}: cannot write in {existing}", hint="check its permissions")])


def write_output(option: str, path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise DiagnosticError(
            [Diagnostic(f"{option} {path}: cannot write it: {error.strerror or type(error).__name__}",
                        hint="free some space or choose another path")]
        ) from None
