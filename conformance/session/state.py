"""The run's shared state, kept on the pytest config."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conformance.config.settings import Settings
from conformance.config.target import Target
from conformance.transport.client import ApexClient
from conformance.transport.limits import Budget, RateLimiter, Spend

if TYPE_CHECKING:
    from conformance.report.records import TestRecord
    from conformance.session.model_choice import Models


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
    models: Models | None = None
    # summary.json's content once the reports are written; the HTML and terminal read it.
    summary: dict[str, Any] | None = None
    # Why the run ended before judging (gate outcome word, message), e.g. the preflight.
    stopped: tuple[str, str] | None = None
    _client: ApexClient | None = None

    # A folder the controller and its xdist workers share for the budget and the rate.
    shared_dir: Path | None = None
    budget: Budget = field(init=False)
    limiter: RateLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.budget = Budget(self.settings.max_requests, self.shared_dir)
        self.limiter = RateLimiter(self.settings.rate_limit, self.shared_dir)

    @property
    def client(self) -> ApexClient:
        if self._client is None:
            self._client = ApexClient(self.settings, self.spend, self.budget, self.limiter)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        self.target.stop()


STATE = pytest.StashKey[RunState]()


def run_state(config: pytest.Config) -> RunState:
    """The run's state; raises a usage error outside a conformance run."""
    try:
        return config.stash[STATE]
    except KeyError:
        raise pytest.UsageError("the apex-conformance plugin is not active in this run") from None
