"""The private names of pytest, Hypothesis and schemathesis the suite relies on still hold.

They all live in conformance/internals.py; a release that moves one fails here, by name,
before a run can fail in a way nobody understands. CI runs this file against the newest
pytest release too.
"""

from __future__ import annotations

import pytest

from conformance import internals


def test_the_private_names_still_mean_what_the_suite_relies_on():
    assert internals.check() == []


def test_a_live_session_and_item_keep_what_the_planning_uses(request: pytest.FixtureRequest):
    assert internals.pytest_problems(request.session, request.node) == []
    assert internals.pytest_problems(request.session, object()) != []  # type: ignore[arg-type]


def test_the_default_test_call_is_pytests_own(pytestconfig: pytest.Config):
    python = pytestconfig.pluginmanager.get_plugin("python")
    assert python is not None
    assert python.pytest_pyfunc_call is internals.default_pyfunc_call


def test_the_check_can_fail(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(internals, "SETTINGS_ATTRIBUTE", "_moved_elsewhere")
    assert any("Hypothesis" in problem for problem in internals.check())
