"""pytest hooks: a fuzz test first generates and sends all of its cases, then judges them.

They are judged in their order; at the first that does not pass, Hypothesis runs the test
again for real (the answers come from the client's cache) and shrinks it. With a seed,
Hypothesis generates the same cases until one fails, so the verdicts are those of judging
each case as it comes; and every run sends the same cases, whatever its --concurrency
(planned runs send them in a wave, see conformance.session.planning).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from conformance.fuzzing.sending import Fuzzer, RecordedCases
from conformance.internals import default_pyfunc_call


class PlannedFuzzTests:
    """While the session plans: record (and send ahead) every case of a fuzz test."""

    def __init__(self) -> None:
        self.recorded: dict[str, RecordedCases] = {}

    @pytest.hookimpl(wrapper=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> Any:
        fuzzer = pyfuncitem.funcargs.get("fuzzer")
        if not isinstance(fuzzer, Fuzzer) or not fuzzer.planning:
            return (yield)
        return (yield from _recording(fuzzer, self.recorded, pyfuncitem.nodeid))


class ReplayedFuzzTests:
    """The judging half of PlannedFuzzTests (pluggy runs one hook function per plugin)."""

    def __init__(self, planned: PlannedFuzzTests) -> None:
        self.planned = planned

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> bool | None:
        fuzzer = pyfuncitem.funcargs.get("fuzzer")
        if not isinstance(fuzzer, Fuzzer) or fuzzer.planning:
            return None
        recorded = self.planned.recorded.get(pyfuncitem.nodeid)
        if recorded is None or not recorded.complete:
            # Not planned (--concurrency=1): generate and send them all now, one by one.
            recorded = fuzzer.recording = RecordedCases()
            try:
                default_pyfunc_call(pyfuncitem)  # a skip or an error is the test's outcome
            finally:
                fuzzer.recording = None
        if not fuzzer.judge_recorded(recorded):
            return None  # pytest runs the test again, and Hypothesis shrinks the failure
        return True


def _recording(
    fuzzer: Fuzzer, into: dict[str, RecordedCases], nodeid: str
) -> Generator[None, Any, Any]:
    recording = fuzzer.recording = into[nodeid] = RecordedCases()
    try:
        result = yield
    finally:
        fuzzer.recording = None
    recording.complete = True
    return result
