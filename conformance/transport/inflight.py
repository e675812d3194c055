"""How many requests are in flight at once: as many as the target shows it sustains.

A gateway in staging with one replica, a local engine that serves one request at a time or
a rate-capped key answers the suite's own load with timeouts, dropped streams, 429 and 503.
Those are the suite's doing, not the target's, so the number in flight adapts (additive
increase, multiplicative decrease, as TCP does): it starts low, grows while the answers come
back as fast as they did with fewer in flight, and halves on any sign of strain. A request
that met such a sign while others were in flight is sent again alone before it becomes a
verdict (conformance.transport.client), so the verdicts are those of a serial run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from conformance.transport.errors import Halted

# Requests in flight at the start: few enough for a one-slot engine to queue them all well
# within the request timeout, enough that a fast target reaches the ceiling in a few rounds.
START = 4
# An answer "comes back as fast" when it took at most this many times the quickest answer of
# its kind, plus the slack (scheduling noise on a loaded machine).
LATENCY_HOLDS = 2.0
LATENCY_SLACK = 0.05


@dataclass
class Ticket:
    """One request's place in flight."""

    epoch: int  # the decrease count when it started: one decrease per round of strain
    started: float
    crowded: bool = False  # another request was in flight at some moment of its life


class InFlight:
    """The requests in flight: an adaptive limit, a way to send one alone, and the halt."""

    def __init__(self, ceiling: int, halted: threading.Event | None = None) -> None:
        self.ceiling = max(1, ceiling)
        self.limit = float(min(START, self.ceiling))
        self.halted = halted or threading.Event()
        # The figures the report states.
        self.peak = 0  # the most requests in flight at once
        self.strains = 0  # decreases of the limit
        self.alone_resends = 0
        self._threshold = float(self.ceiling)  # slow start below it, then one per round
        self._epoch = 0
        self._active: set[int] = set()
        self._tickets: dict[int, Ticket] = {}
        self._alone = False
        self._alone_waiting = 0
        self._quickest: dict[Any, float] = {}
        self._turn = threading.Condition()

    @contextmanager
    def slot(self) -> Iterator[Ticket]:
        """Hold one place in flight for the whole exchange."""
        with self._turn:
            while not self.halted.is_set() and (
                self._alone or self._alone_waiting or len(self._active) >= int(self.limit)
            ):
                self._turn.wait(0.25)
            self._check_halt()
            ticket = Ticket(self._epoch, time.monotonic())
            self._enter(ticket)
        try:
            yield ticket
        finally:
            self._leave(ticket)

    @contextmanager
    def alone(self) -> Iterator[Ticket]:
        """Hold the only place in flight: every other request waits until this one is done."""
        with self._turn:
            self._alone_waiting += 1
            try:
                while not self.halted.is_set() and (self._alone or self._active):
                    self._turn.wait(0.25)
            finally:
                self._alone_waiting -= 1
            self._check_halt()
            self._alone = True
            self.alone_resends += 1
            ticket = Ticket(self._epoch, time.monotonic())
            self._enter(ticket)
        try:
            yield ticket
        finally:
            with self._turn:
                self._alone = False
            self._leave(ticket)

    def kept_pace(self, ticket: Ticket, kind: Any, seconds: float) -> None:
        """An answer came back well: grow the limit if it came as fast as its kind can."""
        with self._turn:
            quickest = min(self._quickest.get(kind, seconds), seconds)
            self._quickest[kind] = quickest
            if seconds > LATENCY_HOLDS * quickest + LATENCY_SLACK:
                return  # answers slow down as more go out at once: the target is queueing
            if self.limit < self._threshold:
                self.limit += 1  # slow start: doubles every round of answers
            else:
                self.limit += 1 / self.limit
            self.limit = min(self.limit, float(self.ceiling))

    def strained(self, ticket: Ticket) -> None:
        """A timeout, a broken connection or stream, a 5xx, 429 or 503: halve the limit, once
        for all the requests of the round that was in flight when it went wrong."""
        with self._turn:
            if ticket.epoch != self._epoch:
                return
            self._epoch += 1
            self.strains += 1
            self.limit = max(1.0, int(self.limit) / 2)
            self._threshold = self.limit

    def snapshot(self) -> tuple[int, float]:
        """How many requests are in flight, and how long the oldest has been (the progress
        line)."""
        with self._turn:
            oldest = min((t.started for t in self._tickets.values()), default=None)
            count = len(self._active)
        return count, (time.monotonic() - oldest) if oldest is not None else 0.0

    def halt(self) -> None:
        """Stop sending: every request waiting for a place gives up at once."""
        self.halted.set()
        with self._turn:
            self._turn.notify_all()

    def as_dict(self) -> dict[str, Any]:
        return {
            "ceiling": self.ceiling,
            "peak": self.peak,
            "final_limit": int(self.limit),
            "decreases": self.strains,
            "sent_again_alone": self.alone_resends,
        }

    def _check_halt(self) -> None:
        if self.halted.is_set():
            raise Halted("the run was interrupted: no request is sent any more")

    def _enter(self, ticket: Ticket) -> None:
        self._tickets[id(ticket)] = ticket
        self._active.add(id(ticket))
        self.peak = max(self.peak, len(self._active))
        if len(self._active) > 1:
            for other in self._active:
                self._tickets[other].crowded = True

    def _leave(self, ticket: Ticket) -> None:
        with self._turn:
            self._active.discard(id(ticket))
            self._tickets.pop(id(ticket), None)
            self._turn.notify_all()
