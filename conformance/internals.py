"""Every name the suite takes from below the documented surface of its libraries.

The planning (conformance.session.planning) runs checks unreported through pytest's own
protocol, and the fuzzing reaches into Hypothesis and schemathesis. Those libraries may move
or rename these names in any release, so they are imported here alone: `check()` (run by
tests/test_internals.py, and by CI against the newest pytest release too) fails loudly,
naming the library, when one of them has moved or no longer means what the suite relies on.
"""

from __future__ import annotations

import inspect
from typing import Any

import hypothesis
import pytest

# pytest's own call of a test function: the fuzz hooks call it to collect a test's cases.
from _pytest.python import pytest_pyfunc_call as default_pyfunc_call

# pytest's whole protocol for one item (setup, call, teardown), without reporting when asked:
# the planning runs each check through it once unreported.
from _pytest.runner import SetupState, runtestprotocol

# The schemathesis pieces the checks and the case selection use (not in schemathesis.__all__).
from schemathesis.checks import not_a_server_error
from schemathesis.core import NotSet
from schemathesis.generation.hypothesis.builder import ApiOperationMark
from schemathesis.generation.meta import (
    REQUEST_SHAPE_PROBES,
    CoveragePhaseData,
    CoverageScenario,
    FuzzingPhaseData,
)
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

# Where Hypothesis keeps a test's settings; schemathesis sets it the same way, and
# `@hypothesis.settings` refuses a test that already has some.
SETTINGS_ATTRIBUTE = "_hypothesis_internal_use_settings"

__all__ = [
    "REQUEST_SHAPE_PROBES",
    "SETTINGS_ATTRIBUTE",
    "ApiOperationMark",
    "CoveragePhaseData",
    "CoverageScenario",
    "FuzzingPhaseData",
    "NotSet",
    "check",
    "content_type_conformance",
    "default_pyfunc_call",
    "forget_report_sections",
    "not_a_server_error",
    "response_schema_conformance",
    "runtestprotocol",
    "settings_of",
    "status_code_conformance",
    "teardown_fixtures",
]


def settings_of(test: Any) -> hypothesis.settings | None:
    """The Hypothesis settings a test carries, or None."""
    found: hypothesis.settings | None = getattr(test, SETTINGS_ATTRIBUTE, None)
    return found


def teardown_fixtures(session: pytest.Session) -> None:
    """Tear down every fixture set up so far, as pytest does after the session's last item."""
    session._setupstate.teardown_exact(None)


def forget_report_sections(item: pytest.Item) -> None:
    """Drop the captured output an unreported run of `item` left for its real report."""
    item._report_sections.clear()


def check() -> list[str]:
    """What no longer holds of the names above in the installed versions (empty: all holds)."""
    problems = []

    @hypothesis.settings(max_examples=7)
    def decorated() -> None: ...

    settings = settings_of(decorated)
    if settings is None or settings.max_examples != 7:
        problems.append(f"Hypothesis keeps a test's settings elsewhere than {SETTINGS_ATTRIBUTE}")
    if getattr(default_pyfunc_call, "__module__", "") != "_pytest.python":
        problems.append("pytest's own pytest_pyfunc_call is no longer _pytest.python's")
    if CoverageScenario.UNSPECIFIED_HTTP_METHOD not in REQUEST_SHAPE_PROBES:
        problems.append("schemathesis' REQUEST_SHAPE_PROBES no longer lists the shape probes")
    operation: Any = object()
    ApiOperationMark.set(decorated, operation)
    if ApiOperationMark.get(decorated) is not operation:
        problems.append("schemathesis' ApiOperationMark no longer marks a test's operation")
    problems += pytest_problems()
    return problems


def pytest_problems(
    session: pytest.Session | None = None, item: pytest.Item | None = None
) -> list[str]:
    """What no longer holds of the planning's pytest names; with a live session and item
    (a self-test's own), of their attributes too."""
    problems = []
    if "log" not in inspect.signature(runtestprotocol).parameters:
        problems.append("pytest's runtestprotocol no longer takes log=")
    if not callable(getattr(SetupState, "teardown_exact", None)):
        problems.append("pytest's SetupState no longer has teardown_exact")
    if session is not None and not isinstance(getattr(session, "_setupstate", None), SetupState):
        problems.append("pytest's Session no longer keeps its SetupState in _setupstate")
    if item is not None and not isinstance(getattr(item, "_report_sections", None), list):
        problems.append("pytest's Item no longer keeps its captured output in _report_sections")
    return problems
