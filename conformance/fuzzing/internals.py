"""Every name the fuzzing takes from below the documented surface of its libraries.

pytest, Hypothesis and schemathesis may move or rename these in any release, so they are
imported here alone: `check()` (run by tests/test_fuzz_internals.py, and so by CI against
the newest releases) fails loudly, naming the library, when one of them has moved or no
longer means what the fuzzing relies on.
"""

from __future__ import annotations

from typing import Any

import hypothesis

# pytest's own call of a test function: the fuzz hooks call it to collect a test's cases.
from _pytest.python import pytest_pyfunc_call as default_pyfunc_call

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
    "not_a_server_error",
    "response_schema_conformance",
    "settings_of",
    "status_code_conformance",
]


def settings_of(test: Any) -> hypothesis.settings | None:
    """The Hypothesis settings a test carries, or None."""
    found: hypothesis.settings | None = getattr(test, SETTINGS_ATTRIBUTE, None)
    return found


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
    return problems
