"""The run's shared state, kept on the pytest config."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conformance.config.settings import Settings
from conformance.config.target import Target
from conformance.transport.client import ApexClient, CouldNotJudge
from conformance.transport.dispatch import Dispatcher
from conformance.transport.limits import Budget, RateLimiter, Spend, usage_of

if TYPE_CHECKING:
    from conformance.report.records import TestRecord
    from conformance.session.interrupt import Interrupts
    from conformance.session.model_choice import Models
    from conformance.session.planning import Waves


@dataclass
class RunState:
    """Settings, target, client and the records the report is built from."""

    settings: Settings
    target: Target
    workers: int = 1
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    spend: Spend = field(default_factory=Spend)
    records: list[TestRecord] = field(default_factory=list)
    worker_spend: list[dict[str, int]] = field(default_factory=list)
    # The xdist workers' latency samples (report.latency.LatencySample as dicts).
    worker_latency: list[dict[str, Any]] = field(default_factory=list)
    worker_cost: list[str] = field(default_factory=list)  # each worker's CostMeter.spent
    models: Models | None = None
    # summary.json's content once the reports are written; the HTML and terminal read it.
    summary: dict[str, Any] | None = None
    # Why the run ended before judging (gate outcome word, message), e.g. the preflight.
    stopped: tuple[str, str] | None = None
    # How the requests went out ahead of the checks (--concurrency), when they did.
    waves: Waves | None = None
    # time.monotonic() when the checks began (after the preflight and the model choice).
    checks_started: float | None = None
    started_clock: float = field(default_factory=time.monotonic)
    # Why the models could not be chosen, kept so that no one asks the target twice.
    models_error: CouldNotJudge | None = None
    # The run's Ctrl-C handler (the controller's and each worker's own).
    interrupts: Interrupts | None = None
    _choosing: threading.Thread | None = None
    _client: ApexClient | None = None

    # A folder the controller and its xdist workers share for the budget and the rate.
    shared_dir: Path | None = None
    budget: Budget = field(init=False)
    limiter: RateLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.budget = Budget(self.settings.max_requests, self.shared_dir, self.settings.max_cost)
        self.limiter = RateLimiter(self.settings.rate_limit, self.shared_dir)

    @property
    def has_client(self) -> bool:
        return self._client is not None

    @property
    def client(self) -> ApexClient:
        if self._client is None:
            dispatch = Dispatcher(self.settings.concurrency)
            self._client = ApexClient(
                self.settings, self.spend, self.budget, self.limiter, dispatch
            )
        return self._client

    def choose_models_meanwhile(self) -> None:
        """Start choosing the models on a thread: its requests wait on the network while
        pytest collects the checks on the CPU. `chosen_models` waits for it."""
        self._choosing = threading.Thread(
            target=self._choose, name="apex-model-choice", daemon=True
        )
        self._choosing.start()

    def chosen_models(self) -> Models:
        """The run's models, chosen on first use (the controller chose them under xdist)."""
        if self._choosing is not None:
            self._choosing.join()
            self._choosing = None
        if self.models is None and self.models_error is None:
            self._choose()
        if self.models_error is not None:
            raise self.models_error
        assert self.models is not None
        return self.models

    def _choose(self) -> None:
        from conformance.session.model_choice import choose_models

        try:
            self.use_models(choose_models(self.client))
        except CouldNotJudge as exc:
            self.models_error = exc

    def use_models(self, models: Models) -> None:
        """The run's models, whose listed prices --max-cost charges by."""
        self.models = models
        meter = self.budget.cost
        meter.prices = {str(e["id"]): models.price(str(e["id"])) for e in models.listing}
        # The answers the preflight and the choice itself received cost money too.
        for exchange in self.client.answers(own=True):
            meter.charge(exchange.requested_model, usage_of(exchange))

    def close(self, *, interrupted: bool = False) -> None:
        if self._client is not None:
            self._client.close(interrupted=interrupted)
        self.target.stop()


STATE = pytest.StashKey[RunState]()


def run_state(config: pytest.Config) -> RunState:
    """The run's state; raises a usage error outside a conformance run."""
    try:
        return config.stash[STATE]
    except KeyError:
        raise pytest.UsageError("the apex-conformance plugin is not active in this run") from None
