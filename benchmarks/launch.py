"""Run one command and record its wall time and peak RSS: the parent of every measured command.

Why a separate process: on Linux a child's `ru_maxrss` starts from the memory
high-water mark of the process that spawned it (the forked copy counts until
exec), so a child of `run.py`, which holds the generated tenants, reported at
least `run.py`'s own size (a 1,000-create apply showed 192 MB instead of 78 MB).
This launcher is small, so what it reports is the command's own peak.

Usage: python benchmarks/launch.py RESULT.json COMMAND [ARG...]
The command inherits stdin/stdout/stderr, the environment and the working
directory. RESULT.json gets {"wall_s", "peak_rss_kb", "exit_code"}.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def main() -> None:
    result_path, argv = sys.argv[1], sys.argv[2:]
    started = time.perf_counter()
    proc = subprocess.Popen(argv)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)  # tell Popen it was reaped
    with open(result_path, "w", encoding="utf-8") as out:
        json.dump({"wall_s": wall, "peak_rss_kb": usage.ru_maxrss, "exit_code": proc.returncode}, out)


if __name__ == "__main__":
    main()
