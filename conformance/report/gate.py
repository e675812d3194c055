"""The nightly gate: the run's verdict, exit status and the reasons for both."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conformance.report.matrix import Matrix, Row
from conformance.report.waivers import WaiverResult
from conformance.vocabulary import OUTCOMES, PROFILES


@dataclass(frozen=True)
class Gate:
    """The overall verdict, the failed and unjudged requirement IDs, and why."""

    verdict: str
    fail_on: str
    reasons: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # gated requirements that failed
    not_judged: list[str] = field(default_factory=list)  # gated requirements with no verdict
    # The models whose checks failed a failed requirement (model-dependent ones only).
    failed_models: dict[str, list[str]] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return OUTCOMES[self.verdict][0]

    def as_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "exit_code": self.exit_code,
            "fail_on": self.fail_on,
            "gated_levels": sorted(gated_levels(self.fail_on)),
            "reasons": self.reasons,
            "failed": self.failed,
            "not_judged": self.not_judged,
            "failed_models": self.failed_models,
        }


def gated_levels(fail_on: str) -> set[str]:
    return {"MUST", "SHOULD"} if fail_on == "should" else {"MUST"}


def in_profile(row: Row, profile: str) -> bool:
    return PROFILES.index(row.requirement.profile) <= PROFILES.index(profile)


def decide(
    matrix: Matrix,
    fail_on: str,
    profile: str = "full",
    *,
    other_failures: int = 0,
    waivers: list[WaiverResult] | None = None,
) -> Gate:
    """Failed beats not-judged: a broken gated rule is news even when little else ran.

    Passed needs every gated requirement of the profile judged: an `error` (budget, rate
    limit, timeouts, no model found) or a requirement no check ran for is never a pass.
    """
    levels = gated_levels(fail_on)
    gated = [row for row in matrix.rows if row.level in levels and in_profile(row, profile)]
    failed = [row for row in gated if row.verdict == "failed"]
    models = {row.id: found for row in failed if (found := _failing_models(row))}
    reasons = [
        f"{row.level} requirement {row.id} failed"
        + (f" for {', '.join(models[row.id])}" if row.id in models else "")
        + f": {row.requirement.rule}"
        for row in failed
    ]
    reasons += [result.message for result in waivers or () if result.fails_gate]
    if other_failures:
        reasons.append(f"{other_failures} test(s) failed outside the requirement catalogue")
    failed_ids = [row.id for row in failed]
    if failed or reasons:
        return Gate("failed", fail_on, reasons, failed_ids, failed_models=models)
    # Skipped after its checks ran means not applicable to this target (a stream compared
    # only where the target is reproducible, say): shown as skipped, never as passed. No
    # check at all (deselected, not collected) is not judged, like an error.
    unjudged = [
        row
        for row in gated
        if row.verdict == "error" or (row.verdict == "skipped" and not row.checks)
    ]
    if not matrix.judged():
        why = next((row.note for row in matrix.rows if row.verdict == "error" and row.note), "")
        cause = why or "no MUST or SHOULD requirement got a verdict (all skipped or errored)"
        return Gate("could-not-judge", fail_on, [cause], not_judged=[r.id for r in unjudged])
    if unjudged:
        return Gate(
            "not-judged", fail_on, _unjudged_reasons(unjudged), not_judged=[r.id for r in unjudged]
        )
    return Gate("passed", fail_on, [])


def _failing_models(row: Row) -> list[str]:
    return sorted({c.model for c in row.checks if c.verdict == "failed" and c.model})


def _unjudged_reasons(rows: list[Row]) -> list[str]:
    """One line per distinct cause, naming the requirements it left without a verdict."""
    by_cause: dict[str, list[str]] = {}
    for row in rows:
        by_cause.setdefault(unjudged_cause(row), []).append(row.id)
    return [
        f"not judged ({len(ids)}): {', '.join(ids)}: {cause}" for cause, ids in by_cause.items()
    ]


def unjudged_cause(row: Row) -> str:
    """Why a requirement has no verdict, in one line."""
    if row.note:
        return row.note.splitlines()[0]
    message = next((c.message for c in row.checks if c.verdict == row.verdict and c.message), "")
    return message.splitlines()[0][:200] if message else f"every check {row.verdict}"
