"""Ctrl-C: stop sending at once, never end green, and leave without a traceback.

pytest turns the first SIGINT into KeyboardInterrupt in the main thread, but the requests
the run sends on its pool threads, or that wait for their turn at the rate limit, would go
on going out; a check that catches the exception on its way could even let the run end as
if nothing happened. So the first Ctrl-C also halts the transport and marks the run
interrupted for the gate; a second one, while the reports of the first are being written,
leaves at once with the exit code of an interrupted run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from conformance.report.stub import write_stub_reports
from conformance.vocabulary import EXIT_INTERRUPTED


class Interrupts:
    """The run's SIGINT handler, installed for the run and restored after it."""

    def __init__(self, halted: threading.Event, report_dir: Path | None) -> None:
        self.halted = halted
        self.report_dir = report_dir
        self.interrupted = False
        # The pytest session, once there is one: its loop stops at the next check even if
        # something on the way catches the KeyboardInterrupt.
        self.session: Any = None
        self._previous: Any = None

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signals reach the main thread only: nothing to handle here
        self._previous = signal.signal(signal.SIGINT, self._handle)

    def restore(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.interrupted:
            self._leave_now()
        self.interrupted = True
        self.halted.set()
        if self.session is not None:
            self.session.shouldstop = "interrupted (Ctrl-C)"
        raise KeyboardInterrupt

    def _leave_now(self) -> None:
        sys.stderr.write("\napex-conformance: interrupted again: leaving now\n")
        if self.report_dir is not None:
            # Leaving is what matters now: a report that cannot be written is not a reason
            # to stay.
            with contextlib.suppress(Exception):
                write_stub_reports(
                    self.report_dir,
                    "interrupted",
                    "the run was interrupted twice: no verdict was kept",
                )
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)
