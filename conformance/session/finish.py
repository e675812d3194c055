"""The end of a run: its facts gathered from the session's state, then summary.json written."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from conformance import __version__
from conformance.config.settings import Settings
from conformance.report.gate import Gate
from conformance.report.junit import junit_xml
from conformance.report.summary import ReportInputs, summarize, write_summary
from conformance.session.state import RunState
from conformance.transport.redact import REDACTED


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
        # How the requests went out: in waves (--concurrency above 1) or one at a time.
        "requests_in_flight": state.waves.as_dict(spent["requests"]) if state.waves else None,
        "estimated_cost": estimated_cost(state, spent),
        "report_dir": str(s.report_dir),
        "config": configuration(s),
    }


def configuration(settings: Settings) -> dict[str, Any]:
    """Every setting of the run, as plain data, with the key replaced by [REDACTED]."""
    values = dataclasses.asdict(settings)
    values["api_key"] = REDACTED
    return {k: str(v) if isinstance(v, Path) else v for k, v in values.items()}


def write_reports(
    state: RunState, inputs: ReportInputs | None = None, other_failures: int = 0
) -> Gate:
    """Summarize the run and write summary.json and junit.xml; the summary stays on the
    state, for the HTML hook and the terminal, which are rendered from it alone."""
    gate, state.summary = summarize(
        state.records, run_facts(state), inputs or ReportInputs(), state.stopped, other_failures
    )
    write_summary(state.settings.report_dir, state.summary)
    (state.settings.report_dir / "junit.xml").write_bytes(junit_xml(state.summary))
    return gate
