"""Reports for a run that stopped before pytest could write its own (a usage error at start).

Every exit path leaves summary.json, conformance.html and junit.xml that say what happened,
and an earlier run's files are removed first so they never look current.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from conformance import __version__
from conformance.report.gate import Gate
from conformance.report.html import STYLE, banner_html
from conformance.report.junit import junit_xml
from conformance.report.matrix import build_matrix
from conformance.transport.redact import redact_text

REPORT_FILES = ("summary.json", "conformance.html", "junit.xml")


def clear_reports(report_dir: Path) -> None:
    """Remove an earlier run's reports from the folder this run writes to."""
    for name in REPORT_FILES:
        (report_dir / name).unlink(missing_ok=True)


def write_stub_reports(report_dir: Path, outcome: str, reason: str) -> None:
    """All three reports for a run that ended with `outcome` before any check ran."""
    from conformance.report.summary import SUMMARY_SCHEMA_VERSION, write_summary

    reason = redact_text(reason)
    clear_reports(report_dir)
    matrix = build_matrix([], reason)
    gate = Gate(outcome, "must", [reason])
    summary = {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "requirements": [row.as_dict() for row in matrix.rows],
        "totals": matrix.totals(),
        "gate": gate.as_dict(),
        "waivers": [],
        "diff": None,
        "run": {
            "target": "-",
            "suite_version": __version__,
            "report_dir": str(report_dir),
            "overall": outcome,
            "stopped": reason,
        },
        "checks": [],
    }
    write_summary(report_dir, summary)
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>ApexApi compliance report</title>{STYLE}</head><body>"
        '<h1>ApexApi compliance report</h1><div class="apex" id="apex-compliance">'
        f"{banner_html(summary)}<p>No check ran: {escape(reason)}</p></div></body></html>"
    )
    (report_dir / "conformance.html").write_text(page, "utf-8")
    (report_dir / "junit.xml").write_bytes(junit_xml(summary))
