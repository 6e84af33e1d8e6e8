"""Connection test results as JUnit XML, for CI test reports.

One <testcase> per connection tested (classname = kind, name = connection
name); a failed test is a <failure> whose message is the connector's
explanation; a deferred or not-run test is <skipped>. Built with ElementTree
(it escapes everything). Explanations come from connectors: any secret value
of the connection's config that one of them echoes is masked before writing.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from reconciler.plan.outcome import Report
from reconciler.plan.model import Change, Plan, TestResult
from reconciler.secrets import Sensitive, mask_echoed


@dataclass(frozen=True)
class Case:
    kind: str
    name: str
    result: TestResult
    file: str | None = None
    line: int | None = None
    secrets: tuple[Sensitive, ...] = ()


def _secrets(change: Change) -> tuple[Sensitive, ...]:
    config: Mapping[str, object] = getattr(change.desired, "config", {}) or {}
    return tuple(v for v in config.values() if isinstance(v, Sensitive))


def _case(change: Change, result: TestResult) -> Case:
    location = change.location
    return Case(
        kind=change.kind, name=change.name, result=result,
        file=location.file if location else None, line=location.line if location else None,
        secrets=_secrets(change),
    )


def plan_cases(plan: Plan) -> list[Case]:
    """The tests plan ran (or deferred), in plan order."""
    return [_case(c, c.test) for c in plan.changes if c.test is not None]


def apply_cases(plan: Plan, report: Report | None) -> list[Case]:
    """The tests of an apply: the one apply ran for a change when it ran one, else the plan's."""
    outcomes = {o.ref: o for o in (report.outcomes if report is not None else ())}
    cases: list[Case] = []
    for change in plan.changes:
        outcome = outcomes.get(change.ref)
        result = outcome.test if outcome is not None and outcome.test is not None else change.test
        if result is None:
            continue
        if result.status == "deferred" and outcome is not None and outcome.test is None:
            result = TestResult("not-run", f"apply did not test it ({outcome.status}: {outcome.message})")
        cases.append(_case(change, result))
    return cases




def render_junit(cases: Iterable[Case], *, suite: str, target: str) -> str:
    """JUnit XML that Jenkins' junit-10.xsd accepts (tests/data/junit-10.xsd): so no file or
    line attribute on a testcase (the manifest location goes to its system-out), and every
    string made valid XML 1.0 whatever a name or an explanation holds."""
    cases = list(cases)
    failures = sum(1 for c in cases if c.result.status == "failed")
    skipped = sum(1 for c in cases if c.result.status in ("deferred", "not-run"))
    seconds = _seconds(sum(c.result.seconds for c in cases))
    counts = {"tests": str(len(cases)), "failures": str(failures), "errors": "0"}
    root = ET.Element("testsuites", {"name": "reconcile connection tests", "time": seconds, **counts})
    testsuite = ET.SubElement(root, "testsuite", {"name": _xml(suite), "time": seconds, **counts, "skipped": str(skipped)})
    properties = ET.SubElement(testsuite, "properties")
    ET.SubElement(properties, "property", {"name": "target", "value": _xml(target)})
    for case in cases:
        attributes = {"classname": case.kind, "name": _xml(case.name), "time": _seconds(case.result.seconds)}
        element = ET.SubElement(testsuite, "testcase", attributes)
        explanation = _xml(mask_echoed(case.result.explanation, case.secrets))
        if case.result.status == "failed":
            message = explanation or "the connection test failed (no explanation given)"
            failure = ET.SubElement(element, "failure", {"message": message, "type": "ConnectionTestFailed"})
            failure.text = message
        elif case.result.status in ("deferred", "not-run"):
            ET.SubElement(element, "skipped", {"message": f"{case.result.status}: {explanation}" if explanation else case.result.status})
        if case.file:
            ET.SubElement(element, "system-out").text = _xml(
                f"manifest: {case.file}:{case.line}" if case.line else f"manifest: {case.file}")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _seconds(value: float) -> str:
    return f"{value:.3f}"


# What XML 1.0 cannot hold at all (ElementTree would write it and make the file unreadable).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml(text: str) -> str:
    return _NOT_XML.sub(lambda match: ascii(match.group())[1:-1], text)
