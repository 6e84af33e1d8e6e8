"""--junit-xml on plan and apply: connection test results a CI test report can read."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from conftest import Cli
from reconciler.plan.model import TestResult
from reconciler.render.junit import Case, render_junit
from reconciler.secrets import Sensitive

CANARY = "demo-canary-77c1-junit"


def read(path: Path) -> tuple[ET.Element, dict[str, ET.Element]]:
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    suite = root.find("testsuite")
    assert suite is not None
    cases = {f"{c.get('classname')}/{c.get('name')}": c for c in suite.findall("testcase")}
    # The counts agree with the cases.
    for element in (root, suite):
        assert element.get("tests") == str(len(cases))
        assert element.get("failures") == str(sum(1 for c in cases.values() if c.find("failure") is not None))
    assert suite.get("skipped") == str(sum(1 for c in cases.values() if c.find("skipped") is not None))
    return suite, cases


def test_plan_junit_has_one_case_per_tested_connection(cli: Cli, workdir: Path) -> None:
    assert cli("apply", "-f", "examples/", "--auto-approve").exit_code == 0
    (workdir / "examples" / "secrets" / "visma-production-api-key.txt").write_text(f"x{CANARY}\n")
    manifest = workdir / "examples" / "connections.yaml"
    manifest.write_text(manifest.read_text().replace("PriceListCurrency: NOK", "PriceListCurrency: nok"))
    text = manifest.read_text().replace("    Currency: NOK\n", "    Currency: SEK\n")
    manifest.write_text(text)

    result = cli("plan", "-f", "examples/", "--junit-xml", "tests.xml")
    assert result.exit_code == 1  # failed tests

    suite, cases = read(workdir / "tests.xml")
    assert suite.get("name") == "reconcile plan"
    assert suite.find("properties/property[@name='target']") is not None
    assert sorted(cases) == ["ErpConnection/Visma Production", "QuoteConnection/Tripletex Quotes", "QuoteConnection/Visma Quotes"]
    quote_failure = cases["QuoteConnection/Visma Quotes"].find("failure")
    assert quote_failure is not None
    assert quote_failure.get("message") == "Unknown currency 'nok': use a three-letter ISO code such as NOK — ISO 4217 lookup failed"
    erp_failure = cases["ErpConnection/Visma Production"].find("failure")
    assert erp_failure is not None and "the connector rejected this configuration" in erp_failure.get("message", "")
    assert [e.tag for e in cases["QuoteConnection/Tripletex Quotes"]] == ["system-out"]  # passed: no failure, no skipped
    assert cases["QuoteConnection/Visma Quotes"].findtext("system-out", "").startswith("manifest: examples/connections.yaml:")
    assert CANARY not in (workdir / "tests.xml").read_text()


def test_plan_junit_marks_deferred_tests_skipped(embedded_cli: Cli, workdir: Path) -> None:
    result = embedded_cli("plan", "-f", "examples/", "--junit-xml", "tests.xml")
    assert result.exit_code == 0, result.output
    _, cases = read(workdir / "tests.xml")
    skipped = cases["ErpConnection/Visma Production"].find("skipped")
    assert skipped is not None
    assert "deferred: connector 'Visma.net' is registered by this plan" in skipped.get("message", "")
    assert len(cases) == 7  # 5 connections and the 2 new connector URLs
    assert cases["SyncConnector/Visma.net"].find("failure") is None  # TestConnectorUrl passed
    assert cases["SyncConnector/Visma.net"].find("skipped") is None


def test_apply_junit_reports_the_tests_apply_ran(embedded_cli: Cli, workdir: Path) -> None:
    result = embedded_cli("apply", "-f", "examples/", "--auto-approve", "--junit-xml", "apply.xml")
    assert result.exit_code == 0, result.output
    suite, cases = read(workdir / "apply.xml")
    assert suite.get("name") == "reconcile apply"
    # Deferred at plan time, tested by apply once the connector existed.
    assert cases["ErpConnection/Visma Production"].find("failure") is None
    assert cases["ErpConnection/Visma Production"].find("skipped") is None
    assert cases["ErpConnection/Tripletex Norway"].find("skipped") is None
    # Inactive by the manifest: tested before it was saved too (the admin UI's order), and passed.
    assert cases["ErpConnection/Visma Sandbox"].find("skipped") is None
    assert cases["ErpConnection/Visma Sandbox"].find("failure") is None

    again = embedded_cli("apply", "-f", "examples/", "--auto-approve", "--junit-xml", "again.xml", "--test", "all")
    assert again.exit_code == 0
    _, cases = read(workdir / "again.xml")
    assert len(cases) == 5  # no changes; all tested and passed
    assert all(c.find("failure") is None and c.find("skipped") is None for c in cases.values())


def test_failure_explanations_never_carry_a_secret() -> None:
    case = Case("QuoteConnection", "Q <&> \"x\"", TestResult("failed", f"token {CANARY} was refused"),
                secrets=(Sensitive(CANARY, "${env:T}"),))
    text = render_junit([case], suite="s", target="t")
    assert CANARY not in text
    root = ET.fromstring(text.split("\n", 1)[1])
    testcase = root.find("testsuite/testcase")
    assert testcase is not None and testcase.get("name") == 'Q <&> "x"'
    failure = testcase.find("failure")
    assert failure is not None and failure.get("message") == "token (sensitive) was refused"


def test_no_tests_is_an_empty_valid_report(embedded_cli: Cli, workdir: Path) -> None:
    assert embedded_cli("plan", "-f", "examples/", "--test", "none", "--junit-xml", "none.xml").exit_code == 0
    _, cases = read(workdir / "none.xml")
    assert cases == {}
