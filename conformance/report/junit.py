"""junit.xml, rendered from summary.json alone: one test case a check, and the gate's outcome.

JUnit readers see raw check outcomes (a waived failure is still a failure here); a run that
judged nothing, or not all, gets one more case, `apex-conformance.gate`, that says why.
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

from conformance.transport.redact import redact_text

# What each check verdict is to a JUnit reader; the rest (passed, warned, info) pass.
_ELEMENT = {"failed": "failure", "error": "error", "skipped": "skipped"}


def junit_xml(summary: dict[str, Any]) -> bytes:
    """The JUnit document of a run, from its summary."""
    suite = ElementTree.Element("testsuite", name="apex-conformance")
    props = ElementTree.SubElement(suite, "properties")
    gate = summary["gate"]
    for name, value in (("gate", gate["verdict"]), ("exit_code", gate["exit_code"])):
        ElementTree.SubElement(props, "property", name=name, value=str(value))
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for check in summary["checks"]:
        _case(suite, check, counts)
    if gate["verdict"] not in ("passed", "failed"):
        text = f"{gate['verdict'].upper()}: " + "\n".join(gate["reasons"])
        case = ElementTree.SubElement(suite, "testcase", classname="apex-conformance", name="gate")
        ElementTree.SubElement(case, "failure", message=text.splitlines()[0]).text = text
        counts["tests"] += 1
        counts["failures"] += 1
    for name, count in counts.items():
        suite.set(name, str(count))
    root = ElementTree.Element("testsuites")
    root.append(suite)
    text = ElementTree.tostring(root, encoding="unicode", xml_declaration=True)
    return redact_text(text).encode("utf-8")


def _case(suite: ElementTree.Element, check: dict[str, Any], counts: dict[str, int]) -> None:
    path, _, name = check["nodeid"].partition("::")
    classname = path.removesuffix(".py").replace("/", ".")
    case = ElementTree.SubElement(
        suite, "testcase", classname=classname, name=name, time=f"{check['duration']:.3f}"
    )
    props = ElementTree.SubElement(case, "properties")
    for key in ("requirements", "level", "check", "verdict"):
        value = check.get(key, "")
        value = ",".join(value) if isinstance(value, list) else str(value)
        ElementTree.SubElement(props, "property", name=key, value=value)
    counts["tests"] += 1
    element = _ELEMENT.get(check["verdict"])
    if element is None:
        return
    counts[{"failure": "failures", "error": "errors", "skipped": "skipped"}[element]] += 1
    message = check.get("message") or check["verdict"]
    detail = ElementTree.SubElement(case, element, message=message.splitlines()[0][:300])
    if element != "skipped":
        detail.text = "\n\n".join(
            p for p in (message, check.get("transcript"), check.get("curl")) if p
        )
