"""JUnit XML for CI, made from the JSON report.

Two suites: ``conformance.scenarios`` (one test case per scenario, plus one per stale baseline
entry and one when the suite could not run at all) and ``conformance.capabilities`` (one per
capability; a capability nothing exercised is ``skipped`` with the message NOT TESTED, so CI
shows it rather than dropping it).
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any


def _finding_line(finding: dict[str, Any]) -> str:
    line = (
        f"[{finding['severity']}] {finding['rule']} at {finding['location']}: {finding['message']}"
    )
    if finding.get("expected") is not None or finding.get("actual") is not None:
        line += f"\n    expected: {finding['expected']!r}\n    actual:   {finding['actual']!r}"
    return line


def _scenario_case(suite: ElementTree.Element, scenario: dict[str, Any]) -> None:
    case = ElementTree.SubElement(
        suite,
        "testcase",
        classname=f"conformance.{scenario['capability']}",
        name=scenario["name"],
        time=f"{scenario['duration_s']:.3f}",
    )
    failures = [f for f in scenario["findings"] if f["severity"] == "MUST" and not f["baselined"]]
    others = [f for f in scenario["findings"] if f not in failures]
    if scenario["status"] == "error":
        ElementTree.SubElement(case, "error", message=scenario["error"]).text = scenario["error"]
    elif scenario["status"] == "not tested":
        reason = scenario.get("not_tested", "")
        ElementTree.SubElement(case, "skipped", message=f"NOT TESTED: {reason}")
    elif failures:
        first = failures[0]
        ElementTree.SubElement(
            case,
            "failure",
            message=f"{first['rule']}: {first['message']}",
            type=first["rule"],
        ).text = "\n".join(_finding_line(f) for f in failures)
    notes = [_finding_line(f) + ("  (baselined)" if f["baselined"] else "") for f in others]
    if scenario["relaxed"]:
        notes.insert(0, f"relaxed: {scenario['relaxed']}")
    if notes:
        ElementTree.SubElement(case, "system-out").text = "\n".join(notes)


def _capability_case(suite: ElementTree.Element, capability: dict[str, Any]) -> None:
    case = ElementTree.SubElement(
        suite,
        "testcase",
        classname=f"conformance.capabilities.{capability['level']}",
        name=capability["name"],
        time="0",
    )
    if capability["status"] == "fail":
        ElementTree.SubElement(
            case, "failure", message="failed by " + ", ".join(capability["failed_by"])
        ).text = "\n".join(capability["failed_by"])
    elif capability["status"] == "not tested":
        ElementTree.SubElement(case, "skipped", message="NOT TESTED: no scenario exercised it")


def _close_suite(suite: ElementTree.Element) -> None:
    cases = suite.findall("testcase")
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(sum(case.find("failure") is not None for case in cases)))
    suite.set("errors", str(sum(case.find("error") is not None for case in cases)))
    suite.set("skipped", str(sum(case.find("skipped") is not None for case in cases)))


def junit_xml(report: dict[str, Any]) -> str:
    root = ElementTree.Element("testsuites", name="conformance")
    scenarios = ElementTree.SubElement(
        root, "testsuite", name="conformance.scenarios", time=f"{report['duration_s']:.3f}"
    )
    properties = ElementTree.SubElement(scenarios, "properties")
    for name, value in (
        ("target", report["target"]),
        ("llm", report["llm"]["mode"]),
        ("level", report["level"]),
        ("outcome", report["outcome"]),
    ):
        ElementTree.SubElement(properties, "property", name=name, value=str(value))
    if report["fatal_error"]:
        case = ElementTree.SubElement(
            scenarios, "testcase", classname="conformance", name="run", time="0"
        )
        ElementTree.SubElement(case, "error", message=report["fatal_error"]).text = report[
            "fatal_error"
        ]
    for scenario in report["scenarios"]:
        _scenario_case(scenarios, scenario)
    for stale in report["baseline"]["stale"]:
        case = ElementTree.SubElement(
            scenarios, "testcase", classname="conformance.baseline", name=stale, time="0"
        )
        ElementTree.SubElement(
            case,
            "failure",
            message=f"stale baseline entry: {stale} no longer fails; remove it from the baseline",
        )
    _close_suite(scenarios)
    capabilities = ElementTree.SubElement(root, "testsuite", name="conformance.capabilities")
    for capability in report["capabilities"]:
        _capability_case(capabilities, capability)
    _close_suite(capabilities)
    ElementTree.indent(root)
    return ElementTree.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(junit_xml(report), encoding="utf-8")
