"""Every command's --help shows examples; --version works; completion is click's."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from reconciler import __version__
from reconciler.cli import main


def all_commands(group: click.Group = main, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = [prefix]
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found += all_commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


def test_the_tree_has_the_commands_the_docs_promise() -> None:
    names = {" ".join(c) for c in all_commands()}
    assert {"validate", "plan", "apply", "export", "schema", "emulator serve", "emulator reset"} <= names


@pytest.mark.parametrize("command", all_commands(), ids=lambda c: " ".join(c) or "reconcile")
def test_every_help_has_examples_that_parse(command: tuple[str, ...]) -> None:
    from _command_lines import problems, reconcile_invocations

    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert "\n  Examples:\n" in result.output
    examples = result.output.split("\n  Examples:\n", 1)[1].split("\n\n", 1)[0]
    invocations = reconcile_invocations(examples)
    assert invocations, examples
    for args in invocations:
        assert problems(args) == [], args


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"reconcile, version {__version__}"


def test_bash_completion_script_and_completions() -> None:
    script = CliRunner().invoke(main, [], prog_name="reconcile", env={"_RECONCILE_COMPLETE": "bash_source"})
    assert "_reconcile_completion" in script.output and "complete -o nosort -F _reconcile_completion reconcile" in script.output
    words = CliRunner().invoke(main, [], prog_name="reconcile",
                               env={"_RECONCILE_COMPLETE": "bash_complete", "COMP_WORDS": "reconcile ex", "COMP_CWORD": "1"})
    assert "plain,export" in words.output.split()
    flags = CliRunner().invoke(main, [], prog_name="reconcile",
                               env={"_RECONCILE_COMPLETE": "bash_complete", "COMP_WORDS": "reconcile plan --junit", "COMP_CWORD": "2"})
    assert "plain,--junit-xml" in flags.output.split()


def test_the_command_line_checker_catches_mistakes() -> None:
    from _command_lines import problems, reconcile_invocations

    lines = reconcile_invocations("set -e\nreconcile plan -f m/ --detailed-exitcodes > p.md && reconcile aply x\npip install reconcile\n")
    assert lines == [["plan", "-f", "m/", "--detailed-exitcodes"], ["aply", "x"]]
    assert problems(lines[0]) == ["reconcile plan: unknown option --detailed-exitcodes"]
    assert problems(lines[1]) == ["reconcile: no command 'aply'"]
    assert problems(["emulator", "serve", "--port", "0"]) == []
