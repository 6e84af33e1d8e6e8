"""Find `reconcile …` command lines in shell text and check them against the real click command tree."""

from __future__ import annotations

import shlex

import click

from reconciler.cli import main

SEPARATORS = {";", "&&", "||", "|", "(", ")", "$(", "then", "do", "else", "!", "&", "`"}
REDIRECTS = {">", ">>", "<", "2>", "2>&1", "&>", ">&"}


def _tokens(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()<>")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        return list(lexer)
    except ValueError:  # an unbalanced quote in a fragment: check what came before it
        return line.split()


def reconcile_invocations(shell: str) -> list[list[str]]:
    """The argument lists of every `reconcile` (or `.venv/bin/reconcile`) invocation in `shell`."""
    shell = shell.replace("\\\n", " ")
    found: list[list[str]] = []
    for line in shell.splitlines():
        tokens = _tokens(line)
        for i, token in enumerate(tokens):
            if token.rsplit("/", 1)[-1] != "reconcile":
                continue
            if i > 0 and tokens[i - 1] not in SEPARATORS and not tokens[i - 1].endswith("="):
                continue  # an argument, e.g. `pip install reconcile`
            args: list[str] = []
            for arg in tokens[i + 1:]:
                if arg in SEPARATORS or arg in REDIRECTS or arg.startswith((">", "<", "|", "&", ";")):
                    break
                args.append(arg)
            found.append(args)
    return found


def problems(args: list[str]) -> list[str]:
    """Why `reconcile ARGS` would not parse as a command with known options ([] when fine)."""
    command: click.Command = main
    path = ["reconcile"]
    rest = list(args)
    while isinstance(command, click.Group):
        if not rest or rest[0].startswith("-"):
            options = {o for p in command.params for o in (*p.opts, *p.secondary_opts)} | {"-h", "--help"}
            bad = [a for a in rest if a.startswith("-") and a.split("=", 1)[0] not in options]
            return [f"{' '.join(path)}: unknown option {b}" for b in bad]
        name = rest.pop(0)
        sub = command.commands.get(name)
        if sub is None:
            return [f"{' '.join(path)}: no command '{name}'"]
        command, path = sub, [*path, name]
    options = {o for p in command.params for o in (*p.opts, *p.secondary_opts)} | {"-h", "--help"}
    wrong = []
    for arg in rest:
        if arg.startswith("-") and arg != "-" and not arg.lstrip("-").isdigit():
            if arg.split("=", 1)[0] not in options:
                wrong.append(f"{' '.join(path)}: unknown option {arg}")
    return wrong
