"""The `reconcile` command line. Thin: each command lives in its own module."""

from __future__ import annotations

import gc
import logging
import os
import sys
from typing import NoReturn

import click

from reconciler import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reconcile")
def main() -> None:
    """Manage SuperOffice ERP sync connectors, ERP connections and Quote
    connections as code.

    \b
    Examples:
      reconcile validate -f examples/
      reconcile plan -f examples/
      reconcile apply -f examples/ --auto-approve
    """


def _register() -> None:
    # One line per command module; each module exposes a click command.
    from reconciler.commands import registered

    for command in registered():
        main.add_command(command)


_register()


def run() -> None:
    """The console script. A run builds large trees of objects that live until it
    exits soon after, so the cyclic garbage collector mostly rescans live data: with
    the defaults it took 1.7 s of the 3.6 s of loading 10,000 manifests. Objects from
    the imports are frozen out of its reach and it runs less often (cycles are still
    collected, in larger batches): loading then takes 2.0 s."""
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    try:
        main()
    except SystemExit as exc:
        _leave(_exit_status(exc.code))
    _leave(0)


def _exit_status(code: object) -> int:
    """What the interpreter would make of `sys.exit(code)`."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _leave(status: int) -> NoReturn:
    """Exit without tearing the heap down object by object (0.1 s after a plan of
    10,000 connections). Everything a command writes is complete by now: files are
    written and closed by the command, so only the standard streams and logging
    need flushing; the operating system frees the rest."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # the reader went away (`reconcile plan | head`) or closed it
    os._exit(status)
