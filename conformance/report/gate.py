"""The nightly gate: the run's exit status from the compliance matrix."""

from __future__ import annotations

from conformance.report.matrix import Matrix
from conformance.verdicts import EXIT_COULD_NOT_JUDGE, EXIT_FAILED, EXIT_OK


def gated_levels(fail_on: str) -> set[str]:
    return {"MUST", "SHOULD"} if fail_on == "should" else {"MUST"}


def overall(matrix: Matrix, fail_on: str) -> str:
    """passed, failed or could-not-judge."""
    levels = gated_levels(fail_on)
    if any(row.verdict == "failed" and row.level in levels for row in matrix.rows):
        return "failed"
    if not matrix.judged():
        return "could-not-judge"
    return "passed"


def exit_status(matrix: Matrix, fail_on: str, other_failures: bool) -> int:
    """0 passed, 1 a gated requirement failed, 7 the target could not be judged at all."""
    verdict = overall(matrix, fail_on)
    if verdict == "failed" or other_failures:
        return EXIT_FAILED
    if verdict == "could-not-judge":
        return EXIT_COULD_NOT_JUDGE
    return EXIT_OK
