"""CLI commands, one module each. Add a module's command to `registered()`."""

from __future__ import annotations

import click


def registered() -> list[click.Command]:
    commands: list[click.Command] = []
    # Each command module is imported here; keep one line per module.
    from reconciler.commands.validate import validate; commands.append(validate)  # noqa: E702
    from reconciler.commands.schema import schema; commands.append(schema)  # noqa: E702
    from reconciler.commands.plan import plan; commands.append(plan)  # noqa: E702
    from reconciler.commands.apply import apply; commands.append(apply)  # noqa: E702
    from reconciler.commands.emulator import emulator; commands.append(emulator)  # noqa: E702
    from reconciler.commands.export import export; commands.append(export)  # noqa: E702
    from reconciler.commands.doctor import doctor; commands.append(doctor)  # noqa: E702
    from reconciler.commands.targets import targets; commands.append(targets)  # noqa: E702
    from reconciler.commands.summarize import summarize; commands.append(summarize)  # noqa: E702
    return commands
