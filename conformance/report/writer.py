"""Writes summary.json and gathers the run's facts for the HTML report and the terminal."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from conformance import __version__
from conformance.report.gate import overall
from conformance.report.matrix import Matrix, build_matrix
from conformance.state import RunState

SUMMARY_SCHEMA_VERSION = 1


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
        cost = Decimal(price.get("prompt", "0")) * spent["prompt_tokens"] + Decimal(
            price.get("completion", "0")
        ) * spent["completion_tokens"]
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
        "max_requests": s.max_requests * state.workers,
        "spend": spent,
        "estimated_cost": estimated_cost(state, spent),
    }


def write_reports(state: RunState) -> Matrix:
    """Build the matrix, write summary.json, and keep both on the state for the HTML hook."""
    matrix = build_matrix(state.records)
    facts = run_facts(state)
    facts["overall"] = overall(matrix, state.settings.fail_on)
    state.facts = facts
    state.matrix = matrix
    summary = {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "requirements": [row.as_dict() for row in matrix.rows],
        "totals": matrix.totals(),
        "run": facts,
        "checks": [record.as_dict() for record in state.records],
    }
    path = state.settings.report_dir / "summary.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return matrix
