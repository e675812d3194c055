"""The mutation score per family: the suite run against every generated mutant (mutants.py).

`python -m conformance.reference.mutation_score` runs them all (or those named) in the
zoo and prints, per family, how many are proven: caught by exactly the checks they are
pinned to, with no other MUST check failing.
"""

from __future__ import annotations

import sys

from conformance.reference.mutants import ACCEPTING, ANSWERING, COUNTING, REFUSING, family_of
from conformance.reference.zoo import proven, run_zoo


def main(argv: list[str] | None = None) -> int:
    """Run the suite against every mutant (or those named) and print the score per family."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m conformance.reference.mutation_score")
    parser.add_argument("names", nargs="*", help="mutants to run (default: all)")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    names = args.names or [*ACCEPTING, *REFUSING, *ANSWERING, *COUNTING]
    outcomes = run_zoo(names, args.jobs)
    score: dict[str, list[int]] = {}
    for outcome in outcomes:
        family = family_of(outcome.name) or "hand-written"
        tally = score.setdefault(family, [0, 0])
        tally[0] += proven(outcome)
        tally[1] += 1
        if not proven(outcome):
            wrong = [*outcome.missed_checks(), *outcome.check_collateral()]
            print(f"NOT PROVEN {outcome.name}: {', '.join(wrong[:4])}")
    for family, (good, total) in sorted(score.items()):
        print(f"{family:20} {good:4}/{total:<4} = {100.0 * good / total:5.1f} %")
    return 0 if all(good == total for good, total in score.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
