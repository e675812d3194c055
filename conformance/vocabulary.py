"""The suite's words, in one place: levels, profiles, verdicts, gate outcomes, exit codes.

Every other module takes these from here. Imports nothing of the suite.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

Level = Literal["MUST", "SHOULD", "INFO"]
LEVELS: tuple[Level, ...] = ("MUST", "SHOULD", "INFO")
# A check with several requirements is judged at the strictest of their levels.
LEVEL_RANK: dict[str, int] = {"INFO": 0, "SHOULD": 1, "MUST": 2}

Profile = Literal["smoke", "standard", "full"]
# Each profile checks everything the ones before it check.
PROFILES: tuple[Profile, ...] = ("smoke", "standard", "full")
FailOn = Literal["must", "should"]
FAIL_ON: tuple[FailOn, ...] = ("must", "should")

# A check's (and a requirement's) verdicts, in the order the reports show them.
VERDICT_WORDS = ("passed", "failed", "warned", "skipped", "error", "info", "waived")

# A requirement's verdict is the worst of its checks' verdicts; this is the order of "worse".
SEVERITY: dict[str, int] = {
    "skipped": 0,
    "info": 1,
    "passed": 2,
    "warned": 3,
    "error": 4,
    "failed": 5,
}

# Exit codes, documented in the README. 2, 3 and 4 are pytest's own codes for the same cases.
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INTERRUPTED = 2
EXIT_INTERNAL_ERROR = 3
EXIT_USAGE = 4
# The target could not be judged at all: unreachable, not an API, the key refused everywhere.
EXIT_COULD_NOT_JUDGE = 7
# The run ran, but a requirement the gate covers got no verdict (budget, rate limit, timeouts).
EXIT_NOT_JUDGED = 8

# The gate's outcome words, their exit codes and the banner's headline for each.
OUTCOMES: dict[str, tuple[int, str]] = {
    "passed": (EXIT_OK, "PASSED"),
    "failed": (EXIT_FAILED, "FAILED"),
    "not-judged": (EXIT_NOT_JUDGED, "NOT JUDGED"),
    "could-not-judge": (EXIT_COULD_NOT_JUDGE, "COULD NOT JUDGE"),
    "usage-error": (EXIT_USAGE, "USAGE ERROR"),
    "interrupted": (EXIT_INTERRUPTED, "INTERRUPTED"),
    "internal-error": (EXIT_INTERNAL_ERROR, "INTERNAL ERROR"),
}


def headline(outcome: str) -> str:
    return OUTCOMES[outcome][1]


def combine(verdicts: Iterable[str]) -> str:
    """The worst verdict, or "skipped" when there is none."""
    return max(verdicts, key=SEVERITY.__getitem__, default="skipped")
