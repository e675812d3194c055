"""The nightly gate: the run's verdict, exit status and the reasons for both."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conformance.report.matrix import Matrix
from conformance.report.waivers import WaiverResult
from conformance.verdicts import EXIT_COULD_NOT_JUDGE, EXIT_FAILED, EXIT_OK


@dataclass(frozen=True)
class Gate:
    """The overall verdict (passed, failed or could-not-judge), the failed IDs, and why."""

    verdict: str
    exit_code: int
    fail_on: str
    reasons: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # gated requirements that failed

    def as_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "exit_code": self.exit_code,
            "fail_on": self.fail_on,
            "gated_levels": sorted(gated_levels(self.fail_on)),
            "reasons": self.reasons,
            "failed": self.failed,
        }


def gated_levels(fail_on: str) -> set[str]:
    return {"MUST", "SHOULD"} if fail_on == "should" else {"MUST"}


def decide(
    matrix: Matrix,
    fail_on: str,
    *,
    other_failures: int = 0,
    waivers: list[WaiverResult] | None = None,
) -> Gate:
    """Failed beats could-not-judge: a broken gated rule is news even when little else ran."""
    levels = gated_levels(fail_on)
    failed = [row for row in matrix.rows if row.verdict == "failed" and row.level in levels]
    reasons = [f"{row.level} requirement {row.id} failed: {row.requirement.rule}" for row in failed]
    reasons += [result.message for result in waivers or () if result.fails_gate]
    if other_failures:
        reasons.append(f"{other_failures} test(s) failed outside the requirement catalogue")
    if failed or other_failures:
        return Gate("failed", EXIT_FAILED, fail_on, reasons, [row.id for row in failed])
    if not matrix.judged():
        # An unreachable target makes waiver problems moot until the next judged run.
        why = next((row.note for row in matrix.rows if row.verdict == "error" and row.note), "")
        cause = why or "no MUST or SHOULD requirement got a verdict (all skipped or errored)"
        return Gate("could-not-judge", EXIT_COULD_NOT_JUDGE, fail_on, [cause, *reasons])
    if reasons:
        return Gate("failed", EXIT_FAILED, fail_on, reasons, [row.id for row in failed])
    return Gate("passed", EXIT_OK, fail_on, [])
