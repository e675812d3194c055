"""Limits the whole run shares, xdist workers included: the request budget and the rate."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path


class _LockedFile:
    """A small text file several processes read and update under an exclusive lock."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def update(self, change: object) -> str:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            old = os.read(fd, 64).decode() or "0"
            new = change(old)  # type: ignore[operator]
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            os.write(fd, str(new).encode())
            return old
        finally:
            os.close(fd)


class Budget:
    """The run's request budget: in memory, or in a file the workers share."""

    def __init__(self, limit: int, shared_dir: Path | None = None) -> None:
        self.limit = limit
        self._file = _LockedFile(shared_dir / "requests") if shared_dir else None
        self._used = 0

    def take(self) -> bool:
        """Count one request; False when the budget is already spent."""
        if self._file is None:
            if self._used >= self.limit:
                return False
            self._used += 1
            return True
        old = self._file.update(lambda v: int(v) + 1 if int(v) < self.limit else int(v))
        return int(old) < self.limit


class RateLimiter:
    """Spaces the run's requests at least 1/rate seconds apart (no limit when rate is None)."""

    def __init__(self, rate: float | None, shared_dir: Path | None = None) -> None:
        self._interval = 1.0 / rate if rate else 0.0
        self._file = _LockedFile(shared_dir / "next-slot") if shared_dir else None
        self._next = 0.0

    def wait(self) -> None:
        if not self._interval:
            return
        now = time.time()
        if self._file is None:
            start = max(now, self._next)
            self._next = start + self._interval
        else:
            # Wall-clock time, because monotonic clocks are not comparable across processes.
            old = self._file.update(lambda v: max(now, float(v)) + self._interval)
            start = max(now, float(old))
        if start > now:
            time.sleep(start - now)
