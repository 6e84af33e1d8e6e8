"""The JUnit files pass Jenkins' junit-10.xsd (vendored in tests/data with its source), carry
durations, and stay valid XML whatever names and explanations hold."""

from __future__ import annotations

from pathlib import Path

import pytest
import xmlschema

from conftest import Cli
from reconciler.plan.model import TestResult
from reconciler.render.junit import Case, render_junit

XSD = xmlschema.XMLSchema(str(Path(__file__).parent / "data" / "junit-10.xsd"))


def test_plan_and_apply_junit_pass_the_jenkins_schema_with_durations(embedded_cli: Cli, workdir: Path) -> None:
    assert embedded_cli("plan", "-f", "examples/", "--junit-xml", "plan.xml").exit_code == 0
    assert embedded_cli("apply", "-f", "examples/", "--auto-approve", "--junit-xml", "apply.xml").exit_code == 0
    manifest = workdir / "examples" / "connections.yaml"
    manifest.write_text(manifest.read_text().replace("PriceListCurrency: NOK", "PriceListCurrency: nok"))
    assert embedded_cli("plan", "-f", "examples/", "--test", "all", "--junit-xml", "failed.xml").exit_code == 1
    for name in ("plan.xml", "apply.xml", "failed.xml"):
        XSD.validate(str(workdir / name))
    document = XSD.to_dict(str(workdir / "failed.xml"))
    cases = document["testsuite"][0]["testcase"]
    assert len(cases) == 5
    assert all(float(case["@time"]) >= 0 for case in cases)  # every test is timed
    assert float(document["testsuite"][0]["@time"]) == pytest.approx(sum(float(c["@time"]) for c in cases), abs=0.01)


@pytest.mark.parametrize("name", ["nul\x00name", "escape \x1b[31m red", "form\x0cfeed", "bad \ufffe char", "a <b> & \"c\""])
def test_any_name_or_explanation_gives_valid_xml(name: str) -> None:
    cases = [
        Case("ErpConnection", name, TestResult("failed", f"explained: {name}", 0.25), file="m.yaml", line=3),
        Case("QuoteConnection", name, TestResult("deferred", name)),
    ]
    text = render_junit(cases, suite=name, target=name)
    XSD.validate(text.split("\n", 1)[1])
    decoded = XSD.to_dict(text.split("\n", 1)[1])
    assert decoded["testsuite"][0]["testcase"][0]["@time"] == "0.250"
