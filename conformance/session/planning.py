"""The run's requests sent in waves before the checks judge them (--concurrency).

Every check runs once unreported with the client planning (conformance.transport.dispatch):
the first request it needs that has no answer yet goes out in the current wave and the
check stops there. Once the wave is answered, the stopped checks run again and reach their
next request. When no check asks for anything new, pytest's own loop runs every check for
real, and each finds its answers waiting. A request that depends on an answer (the stop
word taken from a reply, an image URL) so waits for exactly that answer and no other.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import pytest
from _pytest.runner import runtestprotocol

from conformance.transport.dispatch import Dispatcher, Pending
from conformance.transport.limits import Spend

# A chain of dependent requests longer than this is a bug in a check, not a plan.
MAX_WAVES = 50


@dataclass
class Waves:
    """What planning did, for the report and the benchmark's physical limit."""

    concurrency: int
    # Requests sent before planning (preflight, model choice), and how many of them had to
    # wait for one another (the chat and the image probes go side by side).
    before: int = 0
    before_rounds: int = 0
    sizes: list[int] = field(default_factory=list)
    # The requests count when planning ended; the run's total minus it were sent by the
    # checks themselves, one at a time (a failure sent again, a Hypothesis shrink).
    planned_until: int = 0

    def as_dict(self, total_requests: int) -> dict[str, Any]:
        return {
            "concurrency": self.concurrency,
            "requests_before_waves": self.before,
            "rounds_before_waves": self.before_rounds,
            "requests_per_wave": self.sizes,
            "requests_after_waves": total_requests - self.planned_until,
        }


class _Stopped:
    """Notes the checks that stopped at a request still on its way."""

    def __init__(self) -> None:
        self.nodeids: set[str] = set()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        report = yield
        if call.excinfo is not None and call.excinfo.errisinstance(Pending):
            self.nodeids.add(item.nodeid)
        return report


def plan(
    session: pytest.Session,
    dispatch: Dispatcher,
    spend: Spend,
    timeline: list[tuple[float, float]],
) -> Waves:
    """Send the requests of `session.items` in waves; the items are left as they were.

    `timeline` holds (start, end) of the requests sent so far.
    """
    waves = Waves(dispatch.concurrency, spend.requests, longest_chain(timeline))
    # Checks that judge every answer of the run send nothing of their own.
    items = [item for item in session.items if item.get_closest_marker("after_all") is None]
    saved = {item.nodeid: list(item.user_properties) for item in items}
    stopped = _Stopped()
    session.config.pluginmanager.register(stopped, "apex-planning")
    dispatch.planning = True
    try:
        with warnings.catch_warnings():
            # The real run shows a check's warnings; its planning runs would repeat them.
            warnings.simplefilter("ignore")
            while items and len(waves.sizes) < MAX_WAVES:
                stopped.nodeids.clear()
                before = dispatch.submitted
                _run_unreported(session, items)
                dispatch.settle()
                sent = dispatch.submitted - before
                if not sent:
                    break
                waves.sizes.append(sent)
                items = [item for item in items if item.nodeid in stopped.nodeids]
    finally:
        waves.planned_until = spend.requests
        dispatch.planning = False
        session.config.pluginmanager.unregister(stopped)
        session._setupstate.teardown_exact(None)
        for item in session.items:
            if item.nodeid in saved:
                item.user_properties[:] = saved[item.nodeid]
            item._report_sections.clear()
    return waves


def longest_chain(intervals: list[tuple[float, float]]) -> int:
    """The most requests of `intervals` that ran one after another, none overlapping."""
    ordered = sorted(intervals, key=lambda interval: interval[1])
    chain: list[int] = []
    for index, (start, _) in enumerate(ordered):
        before = [chain[j] for j in range(index) if ordered[j][1] <= start]
        chain.append(1 + max(before, default=0))
    return max(chain, default=0)


def _run_unreported(session: pytest.Session, items: list[pytest.Item]) -> None:
    for index, item in enumerate(items):
        following = items[index + 1] if index + 1 < len(items) else None
        runtestprotocol(item, log=False, nextitem=following)
    # Fixtures that stopped at a request cache that stop: the next wave sets them up anew.
    session._setupstate.teardown_exact(None)
