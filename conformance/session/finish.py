"""The end of a run: its facts gathered from the session's state, then summary.json written."""

from __future__ import annotations

import dataclasses
import itertools
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from conformance import __version__
from conformance.config.settings import Settings
from conformance.report.gate import Gate
from conformance.report.history import history_section, load_runs, save_run
from conformance.report.junit import junit_xml
from conformance.report.latency import Kind, LatencySample, latency_profile
from conformance.report.summary import ReportInputs, summarize, write_summary
from conformance.session.model_choice import Models
from conformance.session.state import RunState
from conformance.transport.exchange import Exchange, StreamExchange
from conformance.transport.limits import usage_of
from conformance.transport.redact import REDACTED


def spend_totals(state: RunState) -> dict[str, int]:
    total = dict(state.spend.as_dict())
    for worker in state.worker_spend:
        for key, value in worker.items():
            total[key] = total.get(key, 0) + value
    return total


def estimated_cost(state: RunState) -> str | None:
    """Cost by the /models prices of each answer's model, in the list's own (unasserted) unit."""
    if state.models is None:
        return None
    total = state.budget.cost.spent + sum(Decimal(c) for c in state.worker_cost)
    return f"{total:.6f} (price-list units x tokens; the unit is not asserted)"


def selected_models(models: Models | None) -> list[list[str]]:
    """(id, surface) of every model the model-dependent checks judged, in order."""
    if models is None:
        return []
    if models.per_model:
        return [[m, "chat"] for m in models.chats] + [[m, "image"] for m in models.images]
    return [[m, s] for m, s in ((models.chat, "chat"), (models.image, "image")) if m]


def latency_samples(exchanges: list[Exchange]) -> list[LatencySample]:
    """One sample per answered generation of the run: no request is made for them."""
    samples = []
    for exchange in exchanges:
        kind: Kind = "image" if exchange.url.endswith("/images/generations") else "chat"
        model = exchange.requested_model
        if not 200 <= exchange.status < 300 or not model or not exchange.url.endswith(GENERATE):
            continue
        first_token, gaps, tokens = None, [], None
        if isinstance(exchange, StreamExchange):
            kind = "stream"
            times = [event.received_at for event in exchange.data_events()]
            gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
            first_token = next(
                (e.received_at for e in exchange.data_events() if _carries_text(e.data)), None
            )
        if kind != "image":
            tokens = usage_of(exchange).completion_tokens or None
        samples.append(
            LatencySample(
                model=model, kind=kind, total_s=exchange.elapsed,
                headers_s=exchange.headers_after, first_token_s=first_token,
                gaps_s=tuple(gaps), completion_tokens=tokens,
            )
        )  # fmt: skip
    return samples


GENERATE = ("/chat/completions", "/images/generations")


def _carries_text(data: str) -> bool:
    try:
        choices = json.loads(data).get("choices") or [{}]
        return bool(choices[0].get("delta", {}).get("content"))
    except (ValueError, AttributeError, TypeError, IndexError):
        return False


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
        "models": s.models,
        "selected_models": selected_models(models),
        "chat_model": models.chat if models else None,
        "image_model": models.image if models else None,
        "model_choice": list(models.notes) if models else [],
        "started": state.started.isoformat(timespec="seconds"),
        "duration_s": round((finished - state.started).total_seconds(), 2),
        # Start-up, collection, preflight and model choice: the time before the first check.
        "setup_s": (
            round(state.checks_started - state.started_clock, 2) if state.checks_started else None
        ),
        "workers": state.workers,
        "max_requests": s.max_requests,
        "spend": spent,
        # How the requests went out: in waves (--concurrency above 1) or one at a time.
        "requests_in_flight": state.waves.as_dict(spent["requests"]) if state.waves else None,
        # How much load the target sustained (conformance.transport.inflight).
        "load": state.client.inflight.as_dict() if state.has_client else None,
        "estimated_cost": estimated_cost(state),
        "max_cost": s.max_cost,
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
    samples = latency_samples(state.client.answers(own=True) if state._client else [])
    samples += [LatencySample(**sample) for sample in state.worker_latency]
    gate, state.summary = summarize(
        state.records,
        run_facts(state),
        inputs or ReportInputs(),
        state.stopped,
        other_failures,
        latency_profile(samples),
    )
    history = state.settings.history
    if history is not None:
        past, _ = load_runs(history)
        state.summary["history"] = history_section(state.summary, past)
    write_summary(state.settings.report_dir, state.summary)
    (state.settings.report_dir / "junit.xml").write_bytes(junit_xml(state.summary))
    if history is not None:
        save_run(history, state.summary)
    return gate
