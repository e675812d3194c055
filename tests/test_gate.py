"""Verdicts per level and the gate's exit codes, seen through real runs of the suite."""

from __future__ import annotations

from conformance.catalogue import requirements
from conformance.reference.zoo import run_suite
from conformance.report import records
from conformance.report.gate import Gate, decide
from conformance.report.matrix import build_matrix
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


def _record(req: str, verdict: str, message: str = "") -> records.TestRecord:
    level = requirements()[req].level
    return records.TestRecord(
        f"conformance/contract/x.py::{req}", [req], level, verdict, message=message
    )


def _gate(checks: list[records.TestRecord], fail_on: str = "should") -> Gate:
    judged = {r.requirements[0] for r in checks}
    rest = [_record(req.id, "passed") for req in requirements().values() if req.id not in judged]
    return decide(build_matrix([*checks, *rest]), fail_on, "full")


def test_not_applicable_skip_does_not_hold_the_gate():
    # SSE-14 compares a stream with a reproducible reply: a real LLM may offer none.
    skipped = _record("SSE-14", "skipped", "the target's replies differ: nothing to compare")
    assert _gate([skipped]).verdict == "passed"


def test_error_or_no_check_is_not_judged():
    errored = _record("CHAT-08", "error", "budget: the run's limit of 20 requests is spent")
    assert _gate([errored]).verdict == "not-judged"
    everything_but_chat_08 = [
        _record(req.id, "passed") for req in requirements().values() if req.id != "CHAT-08"
    ]
    gate = decide(build_matrix(everything_but_chat_08), "must", "full")
    assert gate.verdict == "not-judged"
    assert gate.not_judged == ["CHAT-08"]
