"""`reconcile doctor` on several targets: each checked side by side, each in its own section, one summary."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence

import click
from rich import box
from rich.table import Table
from rich.text import Text

from reconciler.commands.doctor import check_target
from reconciler.commands.error_handler import EXIT_ERROR, EXIT_OK
from reconciler.commands.many_targets import ManyTargets
from reconciler.doctor.row import Check
from reconciler.doctor.render import all_passed, render_json, render_text
from reconciler.fleet.runner import Done
from reconciler.render.text import make_console
from reconciler.tenant_choice import choose_tenant

Checked = tuple[list[Check], str]  # the rows, and the target described without credentials


def doctor_many(fleet: ManyTargets, output: str) -> int:
    async def one(name: str) -> Checked:
        selection = choose_tenant(fleet.project, name=name, url=None, insecure=fleet.insecure)
        return await check_target(selection, insecure=fleet.insecure, parallelism=fleet.parallelism)

    done = asyncio.run(fleet.each(one))
    failed = [d.name for d in done if d.result is None or not all_passed(d.result[0])]
    if output == "json":
        click.echo(json.dumps({"version": 1, "passed": not failed, "targets": [_json(d) for d in done]}, indent=2,
                              ensure_ascii=False))
    else:
        _print_text(done, failed)
    return EXIT_ERROR if failed else EXIT_OK


def _json(item: Done[Checked]) -> dict[str, object]:
    if item.result is None:
        return {"name": item.name, "passed": False, "errors": list(item.errors), "report": None}
    checks, description = item.result
    return {"name": item.name, "passed": all_passed(checks), "errors": [],
            "report": json.loads(render_json(checks, description))}


def _print_text(done: Sequence[Done[Checked]], failed: Sequence[str]) -> None:
    console = make_console(sys.stdout)
    if not console.is_terminal:
        console.width = 200
    for item in done:
        console.print(Text(f"━━ target {item.name} ━━", style="bold"))
        for error in item.errors:
            console.print(Text(f"error: {error}", style="bold red"))
        if item.result is not None:
            console.print(Text(render_text(*item.result)))
    table = Table(title=f"Doctor: {len(done)} target(s)", title_justify="left", box=box.SIMPLE_HEAD)
    counted = ("passed", "notes", "failed", "not checked")
    for heading in ("Target", "Result", *counted, "first failure"):
        table.add_column(heading, no_wrap=heading != "first failure", justify="right" if heading in counted else "left")
    for item in done:
        if item.result is None:
            table.add_row(item.name, Text("error", style="bold red"), "–", "–", "–", "–", item.errors[0])
            continue
        checks = item.result[0]
        counts = [str(sum(1 for c in checks if c.status == s)) for s in ("pass", "note", "fail", "skip")]
        first = next((f"{c.title}: {c.found}" for c in checks if c.status == "fail"), "")
        result = Text("ready", style="green") if all_passed(checks) else Text("not ready", style="bold red")
        table.add_row(item.name, result, *counts, first)
    console.print(table)
    console.print(Text(f"Exit 1: not ready: {', '.join(failed)}." if failed
                       else f"Exit 0: all {len(done)} target(s) ready.", style="bold"))
