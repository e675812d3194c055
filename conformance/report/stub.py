"""Reports for a run that stopped before pytest could write its own (a usage error at start).

Every exit path leaves summary.json, conformance.html and junit.xml that say what happened,
and an earlier run's files are removed first so they never look current.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from pathlib import Path

from conformance import __version__
from conformance.report.html import banner_html, page
from conformance.report.junit import junit_xml

REPORT_FILES = ("summary.json", "conformance.html", "junit.xml")
# The run's evidence (conformance.evidence), cleared with the reports so it is never stale.
EVIDENCE_FILES = ("recording.har.gz", "conformance.har")


def clear_reports(report_dir: Path) -> None:
    """Remove an earlier run's reports from the folder this run writes to."""
    for name in (*REPORT_FILES, *EVIDENCE_FILES):
        (report_dir / name).unlink(missing_ok=True)


def write_stub_reports(report_dir: Path, outcome: str, reason: str, target: str = "-") -> None:
    """All three reports for a run that ended with `outcome` before any check ran."""
    from conformance.report.summary import ReportInputs, summarize, write_summary

    clear_reports(report_dir)
    # What is known before the options are: the option that failed may be any of them.
    run = {
        "target": target,
        "suite_version": __version__,
        "report_dir": str(report_dir),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "fail_on": "must",
        "profile": "standard",
    }
    _, summary = summarize([], run, ReportInputs(), (outcome, reason))
    write_summary(report_dir, summary)
    body = f'<div class="apex" id="apex-compliance">{banner_html(summary)}'
    body += f"<p>No check ran: {escape(summary['run']['stopped'])}</p></div>"
    (report_dir / "conformance.html").write_text(page(body), "utf-8")
    (report_dir / "junit.xml").write_bytes(junit_xml(summary))
