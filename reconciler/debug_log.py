"""The debug log: request timings with `--debug`, and the traceback of any internal error.

Everything written here goes through `secrets.scrub` first, so no secret value
this process has seen reaches the file. Request lines hold the method, the path
(never a query string), the status and the time taken.
"""

from __future__ import annotations

import logging
import os
import tempfile
import traceback
from datetime import datetime, timezone
from pathlib import Path

from reconciler.secrets import scrub

LOG_VARIABLE = "RECONCILE_DEBUG_LOG"
DEFAULT_LOG = Path(".reconcile") / "debug.log"
_HANDLER_NAME = "reconcile-debug-log"
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_path() -> Path:
    return Path(os.environ.get(LOG_VARIABLE) or DEFAULT_LOG)


class _Scrubbed(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


def start() -> Path | None:
    """Send the project's debug messages to the log file; its path, or None when it cannot be written."""
    path = _writable(log_path())
    if path is None:
        return None
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(_Scrubbed(_FORMAT))
    handler.set_name(_HANDLER_NAME)
    logger = logging.getLogger("reconciler")
    for previous in [h for h in logger.handlers if h.get_name() == _HANDLER_NAME]:
        logger.removeHandler(previous)  # a second run in one process (tests) logs once
        previous.close()
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    return path


def write_traceback(error: BaseException) -> Path | None:
    """Append `error`'s traceback (scrubbed) to the log; where it went, or None."""
    path = _writable(log_path())
    if path is None:
        return None
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    text = "".join(traceback.format_exception(error))
    try:
        with path.open("a", encoding="utf-8") as log:
            log.write(f"{stamp} internal error\n{scrub(text)}\n")
    except OSError:
        return None
    return path


def _writable(path: Path) -> Path | None:
    """`path` once its directory exists, else a file in the temporary directory, else None."""
    for candidate in (path, Path(tempfile.gettempdir()) / "reconcile-debug.log"):
        try:
            candidate.parent.mkdir(parents=True, exist_ok=True)
            with candidate.open("a", encoding="utf-8"):
                pass
            return candidate
        except OSError:
            continue
    return None
