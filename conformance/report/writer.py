"""Writes summary.json and gathers the run's facts for the HTML report and the terminal."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pytest

from conformance import __version__
from conformance.redact import REDACTED, redact_text
from conformance.report.diff import CompareFileError, diff_summaries, load_previous
from conformance.report.gate import Gate, decide
from conformance.report.matrix import build_matrix
from conformance.report.waivers import Waiver, WaiverFileError, apply_waivers, load_waivers
from conformance.settings import Settings
from conformance.state import RunState

# Additive changes (new keys) keep the version; renaming or removing a key bumps it.
SUMMARY_SCHEMA_VERSION = 1


@dataclass
class ReportInputs:
    """The run's --waivers and --compare files, loaded."""

    waivers_path: str | None = None
    compare_path: str | None = None
    waivers: list[Waiver] = field(default_factory=list)
    previous: dict[str, Any] | None = None


def spend_totals(state: RunState) -> dict[str, int]:
    total = dict(state.spend.as_dict())
    for worker in state.worker_spend:
        for key, value in worker.items():
            total[key] = total.get(key, 0) + value
    return total


def estimated_cost(state: RunState, spent: dict[str, int]) -> str | None:
    """Cost from /models pricing, in the price list's own (unasserted) unit."""
    models = state.models
    if models is None or models.chat is None:
        return None
    price = models.price(models.chat)
    try:
        cost = (
            Decimal(price.get("prompt", "0")) * spent["prompt_tokens"]
            + Decimal(price.get("completion", "0")) * spent["completion_tokens"]
        )
        if models.image:
            cost += Decimal(models.price(models.image).get("image", "0")) * spent["images"]
    except InvalidOperation:
        return None
    return f"{cost:.6f} (price-list units x tokens; the unit is not asserted)"


def run_facts(state: RunState) -> dict[str, Any]:
    s = state.settings
    finished = datetime.now(UTC)
    spent = spend_totals(state)
    models = state.models
    return {
        "target": s.base_url,
        "embedded": s.embedded,
        "suite_version": __version__,
        "profile": s.profile,
        "fail_on": s.fail_on,
        "seed": s.seed,
        "chat_model": models.chat if models else None,
        "image_model": models.image if models else None,
        "model_choice": list(models.notes) if models else [],
        "started": state.started.isoformat(timespec="seconds"),
        "duration_s": round((finished - state.started).total_seconds(), 2),
        "workers": state.workers,
        "max_requests": s.max_requests,
        "spend": spent,
        "estimated_cost": estimated_cost(state, spent),
        "report_dir": str(s.report_dir),
        "config": configuration(s),
    }


def configuration(settings: Settings) -> dict[str, Any]:
    """Every setting of the run, as plain data, with the key replaced by [REDACTED]."""
    values = dataclasses.asdict(settings)
    values["api_key"] = REDACTED
    return {k: str(v) if isinstance(v, Path) else v for k, v in values.items()}


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


def write_reports(
    state: RunState, inputs: ReportInputs | None = None, other_failures: int = 0
) -> Gate:
    """Build the matrix, apply waivers, diff, decide the gate and write summary.json.

    The summary stays on the state: the HTML and the terminal are rendered from it alone.
    """
    inputs = inputs or ReportInputs()
    outcome, why = state.stopped or ("", "")
    matrix = build_matrix(state.records, why or None)
    waivers = apply_waivers(matrix, inputs.waivers, state.started.date())
    rows = [row.as_dict() for row in matrix.rows]
    diff = None
    if inputs.previous is not None:
        diff = diff_summaries(inputs.previous, rows, inputs.compare_path or "")
    if outcome:
        gate = Gate(outcome, state.settings.fail_on, [why])
    else:
        gate = decide(
            matrix,
            state.settings.fail_on,
            state.settings.profile,
            other_failures=other_failures,
            waivers=waivers,
        )
    run = run_facts(state)
    run["unreachable"] = why if outcome == "could-not-judge" else None
    run["stopped"] = why or None
    run["overall"] = gate.verdict
    run["waivers_file"] = inputs.waivers_path
    summary = {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "requirements": rows,
        "totals": matrix.totals(),
        "gate": gate.as_dict(),
        "waivers": [result.as_dict() for result in waivers],
        "diff": diff,
        "run": run,
        "checks": [record.as_dict() for record in state.records],
    }
    write_summary(state.settings.report_dir, summary)
    state.summary = json.loads(redact_text(json.dumps(summary)))
    return gate


def write_summary(report_dir: Path, summary: dict[str, Any]) -> None:
    path = report_dir / "summary.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    # Records are redacted when built; this pass also covers run facts and waiver text.
    text = redact_text(json.dumps(summary, indent=2, ensure_ascii=False))
    path.write_text(text + "\n", "utf-8")
