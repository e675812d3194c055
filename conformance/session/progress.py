"""A live line while the run waits on its requests and pytest prints nothing (the preflight,
the model choice, the planned waves): requests sent and answered against the budget, the
time so far, and how long the oldest request in flight has waited.

On a terminal the line rewrites itself every second once a wait passes two seconds; in a CI
log (no terminal) a plain line comes every thirty seconds; under -q nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from conformance.transport.inflight import InFlight
from conformance.transport.limits import Spend

TTY_EVERY = 1.0
LOG_EVERY = 30.0
QUIET_FOR = 2.0  # a wait shorter than this shows nothing


def progress_line(spend: Spend, budget: int, elapsed: float, in_flight: InFlight) -> str:
    count, oldest = in_flight.snapshot()
    answered = max(0, spend.requests - count)
    line = (
        f"apex-conformance: {spend.requests} requests sent, {answered} answered"
        f" (budget {budget}), {elapsed:.0f} s"
    )
    return line + (f"; {count} in flight, the oldest for {oldest:.0f} s" if count else "")


@contextmanager
def live_progress(
    config: pytest.Config,
    spend: Spend,
    budget: int,
    in_flight: InFlight,
    every: float | None = None,
    quiet_for: float = QUIET_FOR,
) -> Iterator[None]:
    """Show the progress line while the body runs (nothing under -q or without a terminal
    reporter)."""
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    if terminal is None or config.get_verbosity() < 0:
        yield
        return
    tty = _isatty(terminal)
    interval = every if every is not None else (TTY_EVERY if tty else LOG_EVERY)
    started = time.monotonic()
    done = threading.Event()
    shown = False

    def show() -> None:
        nonlocal shown
        while not done.wait(interval):
            elapsed = time.monotonic() - started
            if elapsed < quiet_for:
                continue
            line = progress_line(spend, budget, elapsed, in_flight)
            if tty:
                terminal.rewrite(line, erase=True)
            else:
                terminal.write_line(line)
            shown = True

    thread = threading.Thread(target=show, name="apex-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        if shown and tty:
            terminal.rewrite("", erase=True)
            terminal.write("\r")


def _isatty(terminal: Any) -> bool:
    value = getattr(terminal, "isatty", False)
    return bool(value() if callable(value) else value)
