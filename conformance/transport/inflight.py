"""The requests a process has on the wire, for the live progress line."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class InFlight:
    """The requests this process has on the wire; the client reports each one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[int, float] = {}
        self._next = 0

    @contextmanager
    def request(self) -> Iterator[None]:
        with self._lock:
            token, self._next = self._next, self._next + 1
            self._open[token] = time.monotonic()
        try:
            yield
        finally:
            with self._lock:
                del self._open[token]

    def snapshot(self) -> tuple[int, float]:
        """How many are in flight, and how long the oldest has been."""
        with self._lock:
            oldest = min(self._open.values(), default=None)
        return len(self._open), (time.monotonic() - oldest) if oldest is not None else 0.0


IN_FLIGHT = InFlight()
