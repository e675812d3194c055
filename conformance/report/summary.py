"""summary.json: the run's records, facts, gate, waivers and diff in one document, the only
input of every report (HTML and terminal)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from conformance.report.diff import CompareFileError, diff_summaries, load_previous
from conformance.report.gate import Gate, decide
from conformance.report.matrix import build_matrix
from conformance.report.models import model_entries
from conformance.report.records import TestRecord
from conformance.report.waivers import Waiver, WaiverFileError, apply_waivers, load_waivers
from conformance.transport.redact import redact_text

# Additive changes (new keys) keep the version; renaming or removing a key bumps it.
SUMMARY_SCHEMA_VERSION = 1


@dataclass
class ReportInputs:
    """The run's --waivers and --compare files, loaded."""

    waivers_path: str | None = None
    compare_path: str | None = None
    waivers: list[Waiver] = field(default_factory=list)
    previous: dict[str, Any] | None = None


def load_inputs(waivers_path: str | None, compare_path: str | None) -> ReportInputs:
    """Load --waivers and --compare before any request; a malformed file is a usage error."""
    inputs = ReportInputs(waivers_path=waivers_path, compare_path=compare_path)
    errors = []
    if waivers_path:
        try:
            inputs.waivers = load_waivers(waivers_path)
        except WaiverFileError as exc:
            errors.append(str(exc))
    if compare_path:
        try:
            inputs.previous = load_previous(compare_path)
        except CompareFileError as exc:
            errors.append(str(exc))
    if errors:
        raise pytest.UsageError("\n".join(errors))
    return inputs


def summarize(
    records: list[TestRecord],
    run: dict[str, Any],
    inputs: ReportInputs,
    stopped: tuple[str, str] | None = None,
    other_failures: int = 0,
    latency: dict[str, Any] | None = None,
) -> tuple[Gate, dict[str, Any]]:
    """The gate and summary.json's content, from the checks' records and the run's facts.

    `run` holds the run's facts (run_facts in conformance.session.finish); `stopped`,
    why the run ended before judging (gate outcome word, message); `latency`, the
    per-model latency profile (report.latency).
    """
    outcome, why = stopped or ("", "")
    matrix = build_matrix(records, why or None)
    started = date.fromisoformat(str(run["started"])[:10])
    waivers = apply_waivers(matrix, inputs.waivers, started)
    rows = [row.as_dict() for row in matrix.rows]
    diff = None
    if inputs.previous is not None:
        checks = [record.as_dict() for record in records]
        diff = diff_summaries(inputs.previous, rows, inputs.compare_path or "", checks)
    if outcome:
        gate = Gate(outcome, run["fail_on"], [why])
    else:
        gate = decide(
            matrix, run["fail_on"], run["profile"], other_failures=other_failures, waivers=waivers
        )
    run = {
        **run,
        "unreachable": why if outcome == "could-not-judge" else None,
        "stopped": why or None,
        "overall": gate.verdict,
        "waivers_file": inputs.waivers_path,
    }
    summary = {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "requirements": rows,
        "totals": matrix.totals(),
        "gate": gate.as_dict(),
        "waivers": [result.as_dict() for result in waivers],
        "diff": diff,
        "run": run,
        "checks": [record.as_dict() for record in records],
        "models": model_entries(records, [tuple(m) for m in run.get("selected_models", [])], {}),
        "latency": latency or {},
    }
    # Records are redacted when built; this pass also covers run facts and waiver text.
    return gate, json.loads(redact_text(json.dumps(summary, ensure_ascii=False)))


def write_summary(report_dir: Path, summary: dict[str, Any]) -> None:
    path = report_dir / "summary.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = redact_text(json.dumps(summary, indent=2, ensure_ascii=False))
    path.write_text(text + "\n", "utf-8")
