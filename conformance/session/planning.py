"""The run's requests sent ahead of the checks that judge them (--concurrency).

Every check runs once unreported with the client planning (conformance.transport.dispatch):
the first request it needs that has no answer yet is sent, on the dispatcher's pool, and the
check stops there. As soon as the answer it waits for is in, the check runs again and
reaches its next request; the others go on arriving meanwhile. A request that depends on an
answer (the stop word taken from a reply, an image URL) so waits for exactly that answer and
no other. When no check waits for anything, pytest's own loop runs every check for real,
and each finds its answers there.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import pytest

from conformance.internals import forget_report_sections, runtestprotocol, teardown_fixtures
from conformance.transport.dispatch import Dispatcher, Pending
from conformance.transport.limits import Spend

# A chain of dependent requests longer than this is a bug in a check, not a plan: such a
# check is left to send the rest of its requests itself, one after another.
MAX_WAVES = 50


@dataclass
class Waves:
    """What planning did, for the report and the benchmark's physical limit.

    A request's wave is its place in the longest chain of answers it waited for: the first
    wave waits for none, the second for one of the first, and so on.
    """

    concurrency: int
    # Requests sent before planning (preflight, model choice), and how many of them had to
    # wait for one another (the chat and the image probes go side by side).
    before: int = 0
    before_rounds: int = 0
    sizes: list[int] = field(default_factory=list)
    # The requests count when planning ended; the run's total minus it were sent by the
    # checks themselves, one at a time (a failure sent again, a Hypothesis shrink).
    planned_until: int = 0
    passes: int = 0  # how many times some checks ran unreported

    def as_dict(self, total_requests: int) -> dict[str, Any]:
        return {
            "concurrency": self.concurrency,
            "requests_before_waves": self.before,
            "rounds_before_waves": self.before_rounds,
            "requests_per_wave": self.sizes,
            "requests_after_waves": total_requests - self.planned_until,
            "planning_passes": self.passes,
        }


class _Stopped:
    """Notes the checks that stopped at a request still on its way, and that request."""

    def __init__(self) -> None:
        self.waiting: dict[str, Hashable] = {}
        self.passes = 0

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        report = yield
        if call.excinfo is not None and call.excinfo.errisinstance(Pending):
            self.waiting[item.nodeid] = call.excinfo.value.args[0]
        return report


def plan(
    session: pytest.Session,
    dispatch: Dispatcher,
    spend: Spend,
    timeline: list[tuple[float, float]],
) -> Waves:
    """Send the requests of `session.items` ahead; the items are left as they were.

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
            _plan_items(session, dispatch, items, stopped)
        dispatch.settle()
    finally:
        waves.planned_until = spend.requests
        waves.sizes = dispatch.wave_sizes()
        dispatch.planning = False
        session.config.pluginmanager.unregister(stopped)
        teardown_fixtures(session)
        for item in session.items:
            if item.nodeid in saved:
                item.user_properties[:] = saved[item.nodeid]
            forget_report_sections(item)
    waves.passes = stopped.passes
    return waves


def _plan_items(
    session: pytest.Session, dispatch: Dispatcher, items: list[pytest.Item], stopped: _Stopped
) -> None:
    """Run the checks that can go on, until none waits for an answer."""
    ready, waited_for = items, dict[str, Hashable]()
    while ready:
        stopped.passes += 1
        for index, item in enumerate(ready):
            # What this check sends now waits for the answer it waited for last.
            dispatch.wave = dispatch.wave_of(waited_for.pop(item.nodeid, None)) + 1
            following = ready[index + 1] if index + 1 < len(ready) else None
            runtestprotocol(item, log=False, nextitem=following)
        # Fixtures that stopped at a request cache that stop: the next pass sets them up anew.
        teardown_fixtures(session)
        waited_for.update(stopped.waiting)
        stopped.waiting.clear()
        for nodeid in [n for n, key in waited_for.items() if dispatch.wave_of(key) >= MAX_WAVES]:
            del waited_for[nodeid]
        answered = dispatch.wait_for(set(waited_for.values()))
        ready = [i for i in items if i.nodeid in waited_for and waited_for[i.nodeid] in answered]


def longest_chain(intervals: list[tuple[float, float]]) -> int:
    """The most requests of `intervals` that ran one after another, none overlapping."""
    ordered = sorted(intervals, key=lambda interval: interval[1])
    chain: list[int] = []
    for index, (start, _) in enumerate(ordered):
        before = [chain[j] for j in range(index) if ordered[j][1] <= start]
        chain.append(1 + max(before, default=0))
    return max(chain, default=0)
