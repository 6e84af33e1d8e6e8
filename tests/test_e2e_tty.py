"""On a terminal, apply shows the plan and asks; 'n' changes nothing, 'y' applies."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest


def run_on_terminal(args: list[str], answer: str, cwd: Path, timeout: float = 60) -> tuple[int, str]:
    """Run `reconcile ARGS` with stdin/stdout on a pseudo-terminal; answer the prompt."""
    controller, terminal = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPEROFFICE_")}
    env.update({"COLUMNS": "120", "TERM": "xterm", "NO_COLOR": "1"})
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", *args], stdin=terminal, stdout=terminal, stderr=terminal,
        cwd=cwd, env=env, close_fds=True,
    )
    os.close(terminal)
    output, answered = b"", False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(controller, 65536)
                except OSError:
                    break  # the terminal closed: the process is done
                if not chunk:
                    break
                output += chunk
                if not answered and b"Apply these changes to the CRM?" in output:
                    os.write(controller, answer.encode() + b"\n")
                    answered = True
            elif process.poll() is not None:
                break
        return process.wait(timeout=10), output.decode(errors="replace")
    finally:
        if process.poll() is None:
            process.kill()
        os.close(controller)


@pytest.mark.slow
def test_answering_no_applies_nothing(workdir: Path):
    code, output = run_on_terminal(["apply", "-f", "examples/"], "n", workdir)
    assert "Plan: 7 to create" in output
    assert code == 1 and "Nothing was applied." in output
    code, output = run_on_terminal(["plan", "-f", "examples/", "--detailed-exitcode"], "", workdir)
    assert code == 2 and "Plan: 7 to create" in output  # still nothing in the CRM


def test_answering_yes_applies_and_converges(workdir: Path):
    code, output = run_on_terminal(["apply", "-f", "examples/"], "y", workdir)
    assert code == 0, output
    assert "Apply: 7 done, 0 failed, 0 skipped. The CRM matches the manifests." in output
