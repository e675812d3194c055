"""The three reports of one failing run agree, and the diff against a previous run is right.

`run_with_reports` is shared with test_waivers, test_no_key_leak and test_report_browser.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest

from conformance.catalogue import requirements
from conformance.reference.zoo import ZOO_ARGS
from conformance.report.diff import diff_summaries
from conformance.session.inprocess import run_in_process

STOP_FAULT = "chat-ignore-stop"  # breaks CHAT-21, a MUST, in the standard profile
# No deselection: a requirement no check judged makes the run "not judged" (exit 8).
FAST: tuple[str, ...] = ()


@dataclass
class Run:
    """One in-process run of the suite: exit code, everything it printed, its report files."""

    exit_code: int
    output: str
    report_dir: Path

    @cached_property
    def summary(self) -> dict[str, Any]:
        return json.loads((self.report_dir / "summary.json").read_text("utf-8"))

    @cached_property
    def html(self) -> str:
        return (self.report_dir / "conformance.html").read_text("utf-8")

    @cached_property
    def junit(self) -> str:
        return (self.report_dir / "junit.xml").read_text("utf-8")

    def verdicts(self) -> dict[str, str]:
        return {row["id"]: row["verdict"] for row in self.summary["requirements"]}

    def html_verdicts(self) -> dict[str, str]:
        """Verdicts as the HTML matrix shows them: <tr id="req-ID" class="r-VERDICT">."""
        return dict(re.findall(r'<tr id="req-([A-Z]+-\d+)" class="r-([a-z]+)"', self.html))


def run_with_reports(
    url: str, key: str, report_dir: Path, *args: str, plugins: tuple[object, ...] = ()
) -> Run:
    """Run the suite in this process, keeping its reports and its terminal output."""
    argv = [
        "--pyargs", "conformance.contract", f"--base-url={url}", f"--report-dir={report_dir}",
        "-p", "no:cacheprovider", "-o", "addopts=", *ZOO_ARGS, *args,
    ]  # fmt: skip
    code, output = run_in_process(argv, key, plugins)
    return Run(code, output, report_dir)


def fault_url(origin: str, fault: str) -> str:
    return f"{origin}/faults/{fault}/v1"


def previous_summary() -> dict[str, Any]:
    """A plausible earlier summary: all passed, one level different, one ID since removed."""
    rows = [
        {"id": r.id, "level": r.level, "verdict": "info" if r.level == "INFO" else "passed"}
        for r in requirements().values()
        if r.id != "HTTP-05"
    ]
    rows[1]["level"] = "MUST" if rows[1]["level"] != "MUST" else "SHOULD"
    rows.append({"id": "OLD-01", "level": "SHOULD", "verdict": "failed"})
    return {
        "schema_version": 1,
        "requirements": rows,
        "run": {"started": "2026-11-26T00:00:00+00:00"},
    }


@pytest.fixture(scope="module")
def stop_run(zoo, tmp_path_factory) -> Run:
    origin, key = zoo
    tmp = tmp_path_factory.mktemp("stop-run")
    previous = tmp / "previous-summary.json"
    previous.write_text(json.dumps(previous_summary()))
    return run_with_reports(
        fault_url(origin, STOP_FAULT), key, tmp / "reports", *FAST, f"--compare={previous}"
    )


def test_one_must_fault_fails_the_run(stop_run):
    assert stop_run.exit_code == 1, stop_run.output[-3000:]
    assert stop_run.summary["gate"]["verdict"] == "failed"
    assert any("CHAT-21" in reason for reason in stop_run.summary["gate"]["reasons"])


def test_matrix_shows_exactly_that_requirement_failed(stop_run):
    failed = {req for req, v in stop_run.verdicts().items() if v == "failed"}
    assert failed == {"CHAT-21"}
    assert stop_run.html_verdicts() == stop_run.verdicts()
    assert "Overall: FAILED: 1 MUST requirement failed" in stop_run.html
    assert "  FAILED CHAT-21 [MUST]" in stop_run.output
    assert "overall: FAILED (exit 1)" in stop_run.output


def test_junit_agrees_with_the_matrix(stop_run):
    root = ET.fromstring(stop_run.junit)
    failing: set[str] = set()
    for case in root.iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        if "requirements" not in props:
            continue
        assert props["level"] in ("MUST", "SHOULD", "INFO"), case.get("name")
        if case.find("failure") is not None:
            failing.update(str(props["requirements"]).split(","))
            assert props["level"] == "MUST"
    assert failing == {"CHAT-21"}
    row = next(r for r in stop_run.summary["requirements"] if r["id"] == "CHAT-21")
    stop_checks = "conformance/contract/test_chat.py::test_stop_sequence_honoured"
    assert any(test.startswith(stop_checks) for test in row["tests"])


def test_failure_carries_transcript_and_curl(stop_run):
    check = next(c for c in stop_run.summary["checks"] if c["verdict"] == "failed")
    assert '"stop": ' in check["transcript"]
    assert check["curl"].startswith("curl -sS -X POST ")
    # Pastes and runs as is: the shell fills in the key, which is in no report.
    assert '-H "Authorization: Bearer $APEX_API_KEY"' in check["curl"]
    detail = stop_run.html.split('id="req-CHAT-21"', 1)[1].split('<tr id="req-CHAT-22"', 1)[0]
    assert 'class="transcript"' in detail
    assert "&quot;stop&quot;: " in detail
    assert "Reproduce" in detail
    assert "proven by: chat-ignore-stop" in detail


def test_summary_json_shape(stop_run):
    summary = stop_run.summary
    assert summary["schema_version"] == 1
    assert [r["id"] for r in summary["requirements"]] == list(requirements())
    row = summary["requirements"][0]
    expected = {"id", "level", "area", "rule", "source", "verdict", "tests", "waiver", "proven_by"}
    assert expected <= row.keys()
    assert summary["totals"]["MUST"]["failed"] == 1
    assert {"target", "suite_version", "profile", "fail_on", "seed", "spend", "started"} <= (
        summary["run"].keys()
    )
    assert summary["gate"]["exit_code"] == stop_run.exit_code


def test_diff_lists_the_newly_failing_requirement(stop_run):
    diff = stop_run.summary["diff"]
    assert diff["newly_failing"] == ["CHAT-21"]
    assert diff["added"] == ["HTTP-05"]
    assert diff["removed"] == ["OLD-01"]
    assert [c["id"] for c in diff["level_changed"]] == [list(requirements())[1]]
    assert "newly failing: CHAT-21 (passed -> failed)" in stop_run.output
    section = stop_run.html.split('id="apex-diff"', 1)[1]
    assert re.search(
        r'class="d-newly-failing"><td>newly failing</td><td><a href="#req-CHAT-21"', section
    )


def test_report_sections_come_in_order(stop_run):
    html = stop_run.html
    marks = [
        "apex-overall",
        "Needs attention",
        'id="apex-diff"',
        'id="req-HTTP-01"',
        'id="apex-run"',
    ]
    positions = [html.index(mark) for mark in marks]
    assert positions == sorted(positions)


def test_diff_of_unit_summaries():
    previous = {
        "requirements": [
            {"id": "A-01", "level": "MUST", "verdict": "passed"},
            {"id": "A-02", "level": "MUST", "verdict": "failed"},
            {"id": "A-03", "level": "SHOULD", "verdict": "skipped"},
            {"id": "A-04", "level": "SHOULD", "verdict": "passed"},
        ]
    }
    current = [
        {"id": "A-01", "level": "MUST", "verdict": "failed"},
        {"id": "A-02", "level": "MUST", "verdict": "passed"},
        {
            "id": "A-03",
            "level": "SHOULD",
            "verdict": "passed",
        },  # was not judged: not "newly passing"
        {"id": "A-05", "level": "MUST", "verdict": "waived"},
    ]
    previous["requirements"].append({"id": "A-06", "level": "MUST", "verdict": "passed"})
    current.append({"id": "A-06", "level": "MUST", "verdict": "waived"})  # a waived failure is news
    diff = diff_summaries(previous, current, "prev.json")
    assert diff["newly_failing"] == ["A-01", "A-06"]
    assert diff["newly_passing"] == ["A-02"]
    assert diff["added"] == ["A-05"]
    assert diff["removed"] == ["A-04"]
    assert diff["level_changed"] == []


def test_unreadable_compare_file_is_a_usage_error(zoo, tmp_path):
    origin, key = zoo
    bad = tmp_path / "previous.json"
    bad.write_text('{"not": "a summary"}')
    run = run_with_reports(
        f"{origin}/clean/v1",
        key,
        tmp_path / "reports",
        "--profile=smoke",
        "-k",
        "models",
        f"--compare={bad}",
    )
    assert run.exit_code == 4
    assert "not an apex-conformance summary.json" in run.output


def test_nightly_workflow_is_ready_to_copy():
    import yaml

    root = Path(__file__).resolve().parents[1]
    workflow = yaml.safe_load((root / "examples" / "nightly.yml").read_text("utf-8"))
    triggers = workflow[True]  # YAML 1.1 reads the bare key `on` as true
    assert {"schedule", "workflow_dispatch"} <= triggers.keys()
    steps = workflow["jobs"]["conformance"]["steps"]
    uses = [step.get("uses", "") for step in steps]
    assert "actions/setup-python@v5" in uses
    assert steps[uses.index("actions/setup-python@v5")]["with"]["python-version"] == "3.11"
    suite = next(step for step in steps if step.get("id") == "suite")
    assert suite["env"]["APEX_API_KEY"] == "${{ secrets.APEX_API_KEY }}"
    assert suite["env"]["APEX_BASE_URL"] == "${{ vars.APEX_BASE_URL }}"
    assert 'apex-conformance run "${args[@]}"' in suite["run"]
    upload = steps[uses.index("actions/upload-artifact@v4")]
    assert upload["if"] == "always()"
    assert all(
        f"reports/{name}" in upload["with"]["path"]
        for name in ("conformance.html", "junit.xml", "summary.json")
    )


def test_report_rerenders_from_summary_alone(stop_run, tmp_path):
    from conformance.cli import main

    summary = stop_run.report_dir / "summary.json"
    assert main(["report", str(summary), f"--out={tmp_path}"]) == 0
    page = (tmp_path / "conformance.html").read_text("utf-8")
    assert "Overall: FAILED: 1 MUST requirement failed" in page
    assert '<tr id="req-CHAT-21" class="r-failed">' in page
    assert "&quot;stop&quot;" in page  # the failing check's transcript
    assert json.loads(summary.read_text())["run"]["config"]["api_key"] == "[REDACTED]"
