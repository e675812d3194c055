"""Why the suite got no answer to judge: never the target's fault, never a verdict."""

from __future__ import annotations


class CouldNotJudge(Exception):
    """The suite could not get an answer to judge: the target is not to blame."""


class BudgetExhausted(CouldNotJudge):
    """The run's request budget is spent."""


class StaleConnection(CouldNotJudge):
    """A reused keep-alive connection was gone before any byte of the answer arrived."""


class Halted(CouldNotJudge):
    """The run was stopped (Ctrl-C): no request goes out any more."""
