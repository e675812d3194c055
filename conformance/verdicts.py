"""Verdict words, how checks combine into a requirement's verdict, and the gate."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

Verdict = Literal["passed", "failed", "warned", "skipped", "error", "info", "waived"]

# A requirement's verdict is the worst of its checks' verdicts; this is the order of "worse".
SEVERITY: dict[str, int] = {
    "skipped": 0,
    "info": 1,
    "passed": 2,
    "warned": 3,
    "error": 4,
    "failed": 5,
}

EXIT_OK = 0
EXIT_FAILED = 1
# Documented in the README: the suite could not judge the target at all.
EXIT_COULD_NOT_JUDGE = 7


def combine(verdicts: Iterable[str]) -> str:
    """The worst verdict, or "skipped" when there is none."""
    return max(verdicts, key=SEVERITY.__getitem__, default="skipped")
