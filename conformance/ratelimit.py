"""A requests-per-second limiter for the run."""

from __future__ import annotations

import threading
import time


class RateLimiter:
    """Spaces requests at least 1/rate seconds apart; no limit when rate is None."""

    def __init__(self, rate: float | None) -> None:
        self._interval = 1.0 / rate if rate else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self._interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self._interval
        if start > now:
            time.sleep(start - now)
