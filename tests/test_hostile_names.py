"""Names and descriptions with control characters are refused with file:line; names from the
CRM cannot add markup to the Markdown comment, break its table or close its code block."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from _builders import connector, desired, erp, live_visma, quote
from conftest import Cli
from reconciler.crm.live import LiveConnector
from reconciler.plan.model import TestResult
from reconciler.plan.planner import make_plan
from reconciler.render.markdown import render_markdown


@pytest.mark.parametrize(
    "yaml_text, char",
    [('"Visma\\e[31mRed"', "U+001B"), ('"Visma\\0Null"', "U+0000"), ('"Visma\\nTwo lines"', "U+000A"),
     ('"Visma\\LSeparator"', "U+2028")],
    ids=["escape", "nul", "newline", "line-separator"],
)
def test_control_characters_in_a_name_are_refused_with_file_line(embedded_cli: Cli, workdir: Path,
                                                                  yaml_text: str, char: str) -> None:
    manifest = workdir / "examples" / "connections.yaml"
    text = manifest.read_text().replace("  name: Visma Sandbox\n", f"  name: {yaml_text}\n")
    text = text.replace("description: Customers and invoices", f"description: {yaml_text}")
    manifest.write_text(text)
    for command in (("validate",), ("plan",)):
        result = embedded_cli(*command, "-f", "examples/")
        assert result.exit_code == 1
        assert f"examples/connections.yaml:74:3: ErpConnection/Visma\\" in result.stderr
        assert f"metadata.name contains the control character {char}" in result.stderr
        assert f"examples/connections.yaml:26:3: ErpConnection/Visma Production: spec.description contains " \
               f"the control character {char}" in result.stderr
        assert "\x1b" not in result.output and "\x00" not in result.output  # shown escaped, never raw
        assert all(line.startswith(("error: ", "examples/", "Invalid", "2 errors", "3 errors", "Using"))
                   for line in result.stderr.splitlines()), result.stderr


def test_markdown_escapes_names_from_the_crm() -> None:
    live = live_visma()
    hostile = "<img src=x onerror=alert(1)> | `x` **b**"
    live = replace(live, connectors=(*live.connectors, LiveConnector(9, hostile, "https://legacy")))
    plan = make_plan(desired(connector(), erp(description="changed"), quote()), live)
    plan = plan.with_tests({"ErpConnection/Visma Production": TestResult("failed", "said ```\nno <b>")})
    markdown = render_markdown(plan)
    assert "<img" not in markdown
    row = next(line for line in markdown.splitlines() if "soft-delete |" in line and "SyncConnector" in line)
    assert row.count("|") == 6  # the name's pipe did not add a column
    assert "&lt;img src=x onerror=alert(1)&gt; &#124; &#96;x&#96; **b**" in row
    # The explanation's backticks cannot close the diff block: its fence is longer.
    assert "````diff" in markdown and "# test failed: said ```\\nno <b>" in markdown
