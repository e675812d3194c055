"""What a run may spend and did spend: the request budget and the rate, which the whole run
shares (xdist workers included), and the requests, tokens and images it used."""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from conformance.spec.schemas import is_integer
from conformance.transport.exchange import Exchange, StreamExchange


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

    def read(self) -> str | None:
        """The value, or None while nobody has written one (the file does not exist)."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            return os.read(fd, 64).decode() or None
        finally:
            os.close(fd)


class CostMeter:
    """What the run's answers cost by the target's /models prices, against --max-cost.

    Charged as answers arrive, checked before each request: the requests already in flight
    when the cap is reached still count. Each process keeps its own (xdist workers too).
    """

    def __init__(self, cap: float | None = None) -> None:
        self.cap = Decimal(str(cap)) if cap is not None else None
        self.prices: dict[str, dict[str, str]] = {}
        self.spent = Decimal(0)
        self._lock = threading.Lock()

    def charge(self, model: str, used: Spend) -> None:
        """Add what the tokens and images of one answer for `model` cost."""
        price = self.prices.get(model, {})
        try:
            amount = (
                Decimal(price.get("prompt") or 0) * used.prompt_tokens
                + Decimal(price.get("completion") or 0) * used.completion_tokens
                + Decimal(price.get("image") or 0) * used.images
            )
        except InvalidOperation:
            return  # a price that is no number: the run's spend is still capped by requests
        with self._lock:
            self.spent += amount

    def exhausted(self) -> bool:
        return self.cap is not None and self.spent >= self.cap


class Budget:
    """The run's request budget (in memory, or in a file the workers share) and its cost."""

    def __init__(
        self, limit: int, shared_dir: Path | None = None, max_cost: float | None = None
    ) -> None:
        self.limit = limit
        self.cost = CostMeter(max_cost)
        self._file = _LockedFile(shared_dir / "requests") if shared_dir else None
        self._used = 0
        self._lock = threading.Lock()

    def take(self) -> bool:
        """Count one request; False when the budget is already spent."""
        if self._file is None:
            with self._lock:
                if self._used >= self.limit:
                    return False
                self._used += 1
                return True
        old = self._file.update(lambda v: int(v) + 1 if int(v) < self.limit else int(v))
        return int(old) < self.limit


class RateLimiter:
    """Spaces the run's requests at least 1/rate seconds apart (no limit when rate is None),
    and pauses the whole run when the target says it is overloaded (429, 503). Its `halted`
    event stops every wait at once (Ctrl-C)."""

    def __init__(self, rate: float | None, shared_dir: Path | None = None) -> None:
        self._interval = 1.0 / rate if rate else 0.0
        self._file = _LockedFile(shared_dir / "next-slot") if shared_dir else None
        self._pause_file = _LockedFile(shared_dir / "paused-until") if shared_dir else None
        self._next = 0.0
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self.halted = threading.Event()

    def wait(self) -> None:
        # Wall-clock time, because monotonic clocks are not comparable across processes.
        now = time.time()
        start = max(now, self._resume_at())
        if self._interval:
            if self._file is None:
                with self._lock:
                    start = max(start, self._next)
                    self._next = start + self._interval
            else:
                slot = start
                old = self._file.update(lambda v: max(slot, float(v)) + self._interval)
                start = max(start, float(old))
        if start > now:
            self.halted.wait(start - now)

    def pause(self, seconds: float) -> None:
        """No request of the run goes out for `seconds`."""
        until = time.time() + seconds
        if self._pause_file is None:
            with self._lock:
                self._paused_until = max(self._paused_until, until)
        else:
            self._pause_file.update(lambda v: max(float(v), until))

    def _resume_at(self) -> float:
        if self._pause_file is None:
            return self._paused_until
        # Read, never rewritten: with no pause ever recorded (no file yet) a request costs
        # one failed open, and a pause any worker records is seen by the next request.
        value = self._pause_file.read()
        return float(value) if value else 0.0


# One lock for every Spend: a dataclass field holding a lock would break asdict().
_SPEND_LOCK = threading.Lock()


@dataclass
class Spend:
    """Counters for one process; the plugin adds up the workers' counters."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    images: int = 0
    # Requests sent again on a fresh connection after a reused one was found closed; each
    # is also counted in `requests` (and took a slot of the budget).
    connection_retries: int = 0
    # Requests sent again alone after a sign of strain met while others were in flight
    # (conformance.transport.inflight); each is also counted in `requests`.
    sent_alone: int = 0

    def count(self, name: str) -> None:
        """One more request (or connection retry); sending threads share the counters."""
        with _SPEND_LOCK:
            setattr(self, name, getattr(self, name) + 1)

    def observe(self, exchange: Exchange) -> Spend:
        """Add the tokens and images a successful answer reports; those of this answer."""
        used = usage_of(exchange)
        with _SPEND_LOCK:
            self.prompt_tokens += used.prompt_tokens
            self.completion_tokens += used.completion_tokens
            self.images += used.images
        return used

    def _add_usage(self, body: Any) -> None:
        usage = body.get("usage") if isinstance(body, dict) else None
        if not isinstance(usage, dict):
            return
        for name in ("prompt_tokens", "completion_tokens"):
            value = usage.get(name)
            if is_integer(value):
                setattr(self, name, getattr(self, name) + int(value))

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def usage_of(exchange: Exchange) -> Spend:
    """The tokens and images one successful answer reports (streams: all their chunks)."""
    used = Spend()
    if not 200 <= exchange.status < 300:
        return used
    if isinstance(exchange, StreamExchange):
        for event in exchange.data_events():
            used._add_usage(_loads(event.data))
    elif exchange.url.endswith("/chat/completions"):
        used._add_usage(exchange.json_or_none())
    elif exchange.url.endswith("/images/generations"):
        body = exchange.json_or_none()
        if isinstance(body, dict) and isinstance(body.get("data"), list):
            used.images = len(body["data"])
    return used


def _loads(data: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None
