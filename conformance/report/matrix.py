"""The compliance matrix: one row per requirement with its verdict and the checks behind it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from conformance.catalogue import Requirement, requirements
from conformance.report.records import TestRecord
from conformance.vocabulary import LEVELS, VERDICT_WORDS, combine

if TYPE_CHECKING:
    from conformance.report.waivers import Waiver

# How the reason of a check skipped by the run's profile begins (plugin.py writes it).
PROFILE_SKIP = "checked in --profile="


@dataclass
class Row:
    requirement: Requirement
    verdict: str
    checks: list[TestRecord] = field(default_factory=list)
    note: str = ""
    waiver: Waiver | None = None
    waived_verdict: str = ""  # the verdict a waiver covered ("failed" or "warned")

    @property
    def id(self) -> str:
        return self.requirement.id

    @property
    def level(self) -> str:
        return self.requirement.level

    def waive(self, waiver: Waiver) -> None:
        self.waived_verdict, self.verdict, self.waiver = self.verdict, "waived", waiver

    def as_dict(self) -> dict[str, Any]:
        req = self.requirement
        return {
            "id": req.id,
            "level": req.level,
            "area": req.area,
            "rule": req.rule,
            "source": req.source,
            "verdict": self.verdict,
            "note": self.note,
            "tests": sorted({c.nodeid for c in self.checks}),
            "messages": [c.message for c in self.checks if c.verdict not in ("passed", "skipped")][
                :5
            ],
            "waived_verdict": self.waived_verdict or None,
            "waiver": self.waiver.as_dict() if self.waiver else None,
            "proven_by": list(req.proven_by),
            "profile": req.profile,
        }


@dataclass
class Matrix:
    rows: list[Row]

    def totals(self) -> dict[str, dict[str, int]]:
        """Verdict counts per level."""
        counts: dict[str, Counter[str]] = {}
        for row in self.rows:
            counts.setdefault(row.level, Counter())[row.verdict] += 1
        return {
            level: {word: counts.get(level, Counter())[word] for word in VERDICT_WORDS}
            for level in LEVELS
        }

    def judged(self) -> bool:
        """True when at least one MUST or SHOULD requirement got a real verdict."""
        return any(
            row.verdict in ("passed", "failed", "warned", "waived")
            for row in self.rows
            if row.level != "INFO"
        )

    def with_verdict(self, *verdicts: str) -> list[Row]:
        return [row for row in self.rows if row.verdict in verdicts]

    @classmethod
    def from_summary(cls, summary: dict[str, Any]) -> Matrix:
        """The matrix a summary.json holds: reports are rendered from it alone."""
        from conformance.report.waivers import Waiver

        checks = [TestRecord(**c) for c in summary["checks"]]
        rows = []
        for item in summary["requirements"]:
            requirement = Requirement(
                id=item["id"],
                level=item["level"],
                area=item["area"],
                rule=item["rule"],
                source=item["source"],
                profile=item.get("profile", ""),
                proven_by=tuple(item.get("proven_by", ())),
            )
            mine = [c for c in checks if item["id"] in c.requirements]
            waiver = item.get("waiver")
            rows.append(
                Row(
                    requirement,
                    item["verdict"],
                    mine,
                    item["note"],
                    Waiver.from_dict(waiver) if waiver else None,
                    item.get("waived_verdict") or "",
                )
            )
        return cls(rows)


def build_matrix(checks: list[TestRecord], stopped: str | None = None) -> Matrix:
    """Rows in catalogue order; with `stopped` (why the run ended early), every requirement
    that no check judged is an error naming that cause."""
    by_id: dict[str, list[TestRecord]] = {}
    for check in checks:
        for req_id in check.requirements:
            by_id.setdefault(req_id, []).append(check)
    rows = []
    for req in requirements().values():
        mine = by_id.get(req.id, [])
        verdict = combine(c.verdict for c in mine)
        if req.level == "INFO" and verdict not in ("error", "skipped"):
            verdict = "info"
        note = "" if mine else "no check ran (deselected or not collected)"
        if verdict == "skipped" and mine:
            # The reason every report shows for a requirement without a verdict.
            note = next((c.message for c in mine if c.message), "")
        if (
            stopped
            and verdict in ("skipped", "error")
            and not any(c.verdict == "skipped" and c.message.startswith(PROFILE_SKIP) for c in mine)
        ):
            verdict, note = "error", stopped
        rows.append(Row(req, verdict, mine, note))
    return Matrix(rows)
