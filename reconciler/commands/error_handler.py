"""The one place that turns how a command ended into an exit status and a message.

A command returns its exit status (or None for 0) and raises for everything
else. A problem the user can fix (`DiagnosticError`, a usage error) is one line
per problem; an unexpected exception is one line that points at the debug log,
where its traceback went (pre-commit's `error_handler.py` is the model).

Exit statuses: 0 done, 1 any error (usage errors included: 2 is reserved for
"changes" under `plan --detailed-exitcode`), 2 changes, 130 interrupted.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, MutableMapping
from typing import Any

import click

from reconciler import debug_log
from reconciler.diagnostics import Diagnostic, DiagnosticError
from reconciler.render.json_errors import render_errors

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_INTERRUPTED = 130

# ctx.meta key: set by an --output option when errors must be a JSON document on stdout.
JSON_ERRORS = "reconcile.json_errors"


def remember_output_format(ctx: click.Context, _param: click.Parameter, value: str) -> str:
    """Callback for an --output option: with `json`, errors are a JSON document too."""
    ctx.meta[JSON_ERRORS] = value == "json"
    return value


def print_diagnostics(problems: tuple[Diagnostic, ...] | list[Diagnostic], *, as_json: bool = False) -> None:
    if as_json:
        click.echo(render_errors(problems))
    for problem in problems:
        click.echo(f"error: {problem}", err=True)
    if len(problems) > 1:
        click.echo(f"{len(problems)} errors", err=True)


def exit_status(call: Callable[[], Any], meta: MutableMapping[str, Any]) -> int:
    """Run a command (`call`) and return its exit status; never let a traceback out."""
    try:
        result = call()
    except DiagnosticError as error:
        print_diagnostics(error.diagnostics, as_json=bool(meta.get(JSON_ERRORS)))
        return EXIT_ERROR
    except click.exceptions.Exit as done:  # --help, --version
        return done.exit_code
    except click.ClickException as error:
        error.show()
        return EXIT_ERROR
    except click.exceptions.Abort as aborted:
        interrupted = isinstance(aborted.__context__, KeyboardInterrupt)
        click.echo("interrupted" if interrupted else "Aborted.", err=True)
        return EXIT_INTERRUPTED if interrupted else EXIT_ERROR
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return EXIT_INTERRUPTED
    except SystemExit as leaving:
        return _status_of(leaving.code)
    except OSError as error:
        if not _is_output_failure(error):
            return _internal_error(error, meta)
        click.echo(f"error: {_output_failure(error)}", err=True)
        return EXIT_ERROR
    except Exception as error:  # noqa: BLE001 - a bug: one line here, the traceback in the log
        return _internal_error(error, meta)
    return _status_of(result)


# A standard stream that cannot take more output: the reader left (`plan | head`) or the disk is full.
_OUTPUT_ERRNOS = {errno.EPIPE, errno.ENOSPC, errno.EIO, errno.EFBIG, errno.EDQUOT}


def _is_output_failure(error: OSError) -> bool:
    return error.errno in _OUTPUT_ERRNOS and error.filename is None


def _output_failure(error: OSError) -> str:
    if error.errno == errno.EPIPE:
        return "the output was closed before reconcile finished writing it (broken pipe); the output is incomplete"
    return f"cannot write the output: {error.strerror}; the output is incomplete"


def _internal_error(error: BaseException, meta: MutableMapping[str, Any]) -> int:
    log = debug_log.write_traceback(error)
    where = f"the traceback is in {log}" if log is not None else "no log could be written"
    # Only the type here: an unexpected message could carry anything, even a secret.
    problem = Diagnostic(
        f"internal error ({type(error).__name__}); this is a bug in reconcile",
        hint=f"{where}; please report it with the command you ran",
    )
    print_diagnostics([problem], as_json=bool(meta.get(JSON_ERRORS)))
    return EXIT_ERROR


def _status_of(code: object) -> int:
    """What the interpreter would make of `sys.exit(code)` (or a command's return value)."""
    if code is None:
        return EXIT_OK
    if isinstance(code, int):
        return code
    click.echo(str(code), err=True)
    return EXIT_ERROR
