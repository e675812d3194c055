"""Independent requests sent concurrently, ahead of the checks that will judge them.

The session plans a run in waves (conformance.session.planning): it runs the checks once
with `planning` on, and every request a check asks for whose answer is not there yet goes
to a thread pool while the check stops with `Pending`. When the wave's answers are in,
the checks that stopped run again and reach their next request, until none asks for a
new one. The real run then finds every answer waiting. A check thus sends exactly the
requests it sends in a serial run, and the run's cost does not depend on the concurrency.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

T = TypeVar("T")
# Seconds within which answers count as arriving together (one pass of the waiting checks).
TOGETHER = 0.05


class Pending(Exception):
    """A planned check needs an answer that is still on its way.

    An Exception, as pytest caches only those for a fixture's scope (a BaseException would
    leave the fixture half set up); no check catches Exception as a whole.
    """


class Dispatcher:
    """A thread pool and the requests in flight, keyed like the client's cache."""

    def __init__(self, concurrency: int) -> None:
        self.concurrency = concurrency
        self.planning = False
        self.submitted = 0  # requests sent ahead of their checks so far
        # The wave of what is sent ahead now (set by the planner), and of each such request.
        self.wave = 1
        self._waves: dict[Hashable, int] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._inflight: dict[Hashable, Future[Any]] = {}  # the futures of sends of any T
        self._lock = threading.Lock()

    @property
    def concurrent(self) -> bool:
        return self.concurrency > 1

    def obtain(self, key: Hashable, send: Callable[[], T]) -> T:
        """The answer for `key`: sent now, or taken from the request already in flight.

        While planning, a request not answered yet is queued and the caller stops with
        `Pending`.
        """
        answer = self._obtain(key, send, defer=False)
        assert answer is not None  # only a deferred request can be left unanswered
        return answer

    def prefetch(self, key: Hashable, send: Callable[[], T]) -> T | None:
        """Like `obtain`, but while planning an unanswered request gives None, no `Pending`:
        for a caller whose requests do not depend on each other (the fuzz cases)."""
        return self._obtain(key, send, defer=True)

    def _obtain(self, key: Hashable, send: Callable[[], T], *, defer: bool) -> T | None:
        mine: Future[Any] | None = None
        with self._lock:
            future = self._inflight.get(key)
            if self.planning and future is None:
                self._inflight[key] = self._executor().submit(send)
                self._waves[key] = self.wave
                self.submitted += 1
            elif future is None:
                # Sent by this thread; another that wants it meanwhile waits for this answer.
                mine = self._inflight[key] = Future()
        if self.planning:
            if future is not None and future.done():
                if defer and future.exception() is not None:
                    return None  # its taker meets the error when the run judges it
                # An answer, or the error a serial run would have stopped this check at.
                answer: T = future.result()
                return answer
            if defer:
                return None
            raise Pending(key)
        if mine is not None:
            return self._send_here(key, mine, send)
        assert future is not None
        with self._lock:
            # The first taker gets a failure, as in a serial run; a later one sends again.
            self._inflight.pop(key, None)
        taken: T = future.result()
        return taken

    def _send_here(self, key: Hashable, mine: Future[Any], send: Callable[[], T]) -> T:
        try:
            answer = send()
        except BaseException as exc:
            mine.set_exception(exc)
            raise
        else:
            mine.set_result(answer)
            return answer
        finally:
            with self._lock:
                if self._inflight.get(key) is mine:
                    del self._inflight[key]

    def wave_of(self, key: Hashable | None) -> int:
        """The wave `key` was sent ahead in; 0 for one sent otherwise (or none)."""
        return self._waves.get(key, 0) if key is not None else 0

    def wave_sizes(self) -> list[int]:
        """How many requests went ahead in each wave, the first wave first."""
        waves = list(self._waves.values())
        return [waves.count(n) for n in range(1, max(waves, default=0) + 1)]

    def wait_for(self, keys: set[Hashable]) -> set[Hashable]:
        """Block until one of `keys` is answered; all of them answered by then (and within a
        moment after, so that answers arriving together are taken together)."""
        with self._lock:
            futures = {self._inflight[k]: k for k in keys if k in self._inflight}
        pending = {f for f in futures if not f.done()}
        if pending and len(pending) == len(futures):
            _, pending = wait(pending, return_when=FIRST_COMPLETED)
            wait(pending, timeout=TOGETHER)
        return {key for future, key in futures.items() if future.done()}

    def settle(self) -> None:
        """Wait until every request in flight is answered."""
        with self._lock:
            pending = {f for f in self._inflight.values() if not f.done()}
        while pending:
            _, pending = wait(pending, return_when=FIRST_COMPLETED)

    def close(self, *, wait_for_sends: bool = True) -> None:
        """Stop the pool; after Ctrl-C, without waiting for the requests on their way."""
        if self._pool is not None:
            self._pool.shutdown(wait=wait_for_sends, cancel_futures=True)
            self._pool = None

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="apex-send")
        return self._pool
