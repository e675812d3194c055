"""Verdicts per level and the gate's exit codes, seen through real runs of the suite."""

from __future__ import annotations

from conformance.reference.zoo import run_suite
from conformance.vocabulary import EXIT_COULD_NOT_JUDGE


def test_clean_reference_passes_standard(standard_run):
    assert standard_run.exit_code == 0
    bad = {r: v for r, v in standard_run.verdicts.items() if v in ("failed", "warned", "error")}
    assert not bad, standard_run.messages


def test_should_failure_warns_and_fails_only_under_should(zoo):
    origin, key = zoo
    url = f"{origin}/faults/auth-400/v1"
    default = run_suite(url, key, "smoke")
    assert default.exit_code == 0
    assert default.verdicts["AUTH-07"] == "warned"
    strict = run_suite(url, key, "smoke", ("--fail-on=should",))
    assert strict.exit_code == 1
    assert strict.verdicts["AUTH-07"] == "failed"


def test_must_failure_fails_the_run(zoo):
    origin, key = zoo
    outcome = run_suite(f"{origin}/faults/auth-accept-any-key/v1", key, "smoke")
    assert outcome.exit_code == 1
    assert outcome.verdicts["AUTH-02"] == "failed"


def test_unreachable_target_cannot_be_judged():
    # Port 9 (discard) is closed on loopback: every request is refused.
    outcome = run_suite("http://127.0.0.1:9/v1", "ak-" + "x" * 45, "smoke")
    assert outcome.exit_code == EXIT_COULD_NOT_JUDGE
    assert "failed" not in outcome.verdicts.values()
    assert "passed" not in outcome.verdicts.values()
