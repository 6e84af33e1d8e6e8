"""The `reconcile` command line. Thin: each command lives in its own module."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any, NoReturn

import click

from reconciler import __version__, debug_log
from reconciler.commands.error_handler import exit_status
from reconciler.gc_tuning import tune_for_one_run
from reconciler.secrets import forget_all


class ReconcileGroup(click.Group):
    """Every command's ending goes through the one error handler, which owns exit statuses."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        parent = super()
        forget_all()
        status = exit_status(
            lambda: parent.main(args, prog_name, complete_var, standalone_mode=False, **extra), {}
        )
        if standalone_mode:
            sys.exit(status)
        return status

    def invoke(self, ctx: click.Context) -> Any:
        # Here the command's context (and what its options noted in ctx.meta) is still at hand.
        parent = super()
        return exit_status(lambda: parent.invoke(ctx), ctx.meta)


def _start_debug_log(_ctx: click.Context, _param: click.Parameter, enabled: bool) -> bool:
    if enabled:
        debug_log.start()
    return enabled


@click.group(cls=ReconcileGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reconcile")
@click.option("--debug", is_flag=True, envvar="RECONCILE_DEBUG", expose_value=False, callback=_start_debug_log,
              help=f"Log every request with its timing to {debug_log.DEFAULT_LOG} (or $RECONCILE_DEBUG_LOG); "
                   "never secrets [env RECONCILE_DEBUG=1].")
def main() -> None:
    """Manage SuperOffice ERP sync connectors, ERP connections and Quote
    connections as code.

    \b
    Exit codes: 0 success, 1 any error (usage errors too), 2 changes
    (plan --detailed-exitcode only), 130 interrupted.

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
    """The console script."""
    tune_for_one_run()
    _leave(main.main(standalone_mode=False))


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
