"""The kill matrix: the suite run against every faulty reference server, each pinned to checks.

A fault proves the checks it is pinned to (`Fault.checks`) when each of them fails (warns, for
SHOULD) and no other MUST check fails, save those its `may_also_break` allows.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pytest

from conformance.catalogue import item_check_id, matches, matching
from conformance.reference.proof import Check
from conformance.session.inprocess import run_in_process
from conformance.vocabulary import PROFILES

# A stalled stream must cost a zoo run one second, not the default fifteen.
ZOO_ARGS = ("--stream-idle-timeout=1", "--request-timeout=10", "--max-requests=2000")


@dataclass
class Outcome:
    """One run of the suite against one server, read back from its summary.json."""

    name: str
    exit_code: int
    verdicts: dict[str, str]
    seconds: float
    expected: tuple[str, ...] = ()
    allowed: tuple[str, ...] = ()
    messages: dict[str, list[str]] = field(default_factory=dict)
    # Check ID -> (level, verdict, message) of every check that ran; its worst record when it
    # ran once per model.
    checks: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    pinned: tuple[str, ...] = ()  # the fault's check patterns
    pinned_checks: tuple[str, ...] = ()  # the check IDs they match in the whole suite
    models: tuple[str, ...] = ()  # the models the model-dependent checks judged

    def missed(self) -> list[str]:
        """Pinned requirements that did not fail (or warn, for SHOULD)."""
        return [r for r in self.expected if self.verdicts.get(r) not in ("failed", "warned")]

    def collateral(self) -> list[str]:
        """The requirements of the MUST checks that failed outside the pinned and allowed ones."""
        return sorted({c.split("/")[0] for c in self.check_collateral()})

    @property
    def caught(self) -> bool:
        return bool(self.expected) and not self.missed()

    def missed_checks(self) -> list[str]:
        """Pinned checks that did not fail (or warn), with what they got instead."""
        return [
            f"{c} ({self.checks[c][1] if c in self.checks else 'did not run'})"
            for c in self.pinned_checks
            if self.checks.get(c, ("", "", ""))[1] not in ("failed", "warned")
        ]

    def check_collateral(self) -> dict[str, str]:
        """MUST checks that failed outside the pinned and allowed ones.

        A check that could not get the answer it needs (an `error`: the fault broke an
        earlier request) is not judged, which is right; only a failure is a false verdict.
        """
        excused = (*self.pinned, *self.allowed)
        return {
            c: message
            for c, (level, verdict, message) in sorted(self.checks.items())
            if level == "MUST" and verdict == "failed" and not any(matches(c, p) for p in excused)
        }

    def pin(self, patterns: tuple[str, ...], known: list[str] | None) -> None:
        """Expand the fault's check patterns against every check of the suite (else this run's)."""
        self.pinned = patterns
        self.pinned_checks = tuple(matching(known if known is not None else self.checks, patterns))


def run_suite(
    base_url: str,
    api_key: str,
    profile: str,
    extra: tuple[str, ...] = (),
    modules: tuple[str, ...] = ("conformance.contract",),
    only: tuple[str, ...] = (),
) -> Outcome:
    """Run the suite in this process and read its verdicts.

    `modules` and `only` (check ID patterns) narrow the run to some of its checks.
    """
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="apex-zoo-") as tmp:
        args = [
            "--pyargs", *modules,
            f"--base-url={base_url}", f"--profile={profile}", f"--report-dir={tmp}",
            "-q", "-p", "no:cacheprovider", "-o", "addopts=", *ZOO_ARGS, *extra,
        ]  # fmt: skip
        code, _ = run_in_process(args, api_key, [_Only(only)] if only else [])
        summary_path = Path(tmp) / "summary.json"
        summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    rows = summary.get("requirements", [])
    return Outcome(
        name=base_url,
        exit_code=code,
        verdicts={row["id"]: row["verdict"] for row in rows},
        seconds=time.monotonic() - started,
        messages={row["id"]: row["messages"] for row in rows if row["messages"]},
        checks=_worst_per_check(summary.get("checks", [])),
        models=tuple(sorted({c["model"] for c in summary.get("checks", []) if c.get("model")})),
    )


# A finding outranks a check that could not judge: the zoo asks whether a check caught the
# fault on any model, and that model's record must not hide behind another's `error`.
_RANK = ("skipped", "passed", "info", "error", "warned", "failed")


def _worst_per_check(records: list[dict[str, Any]]) -> dict[str, tuple[str, str, str]]:
    """Check ID -> (level, verdict, message) of its worst record: one per model, per check."""
    worst: dict[str, tuple[str, str, str]] = {}
    for c in records:
        ident = c.get("check")
        if not ident:
            continue
        seen = worst.get(ident)
        if seen is None or _rank(c["verdict"]) > _rank(seen[1]):
            worst[ident] = (c["level"], c["verdict"], c["message"])
    return worst


def _rank(verdict: str) -> int:
    return _RANK.index(verdict) if verdict in _RANK else -1


class _Only:
    """Deselects every check whose ID matches none of the patterns."""

    def __init__(self, patterns: tuple[str, ...]) -> None:
        self.patterns = patterns

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        keep: list[pytest.Item] = []
        drop: list[pytest.Item] = []
        for item in items:
            ident = item_check_id(item)
            wanted = ident is not None and any(matches(ident, p) for p in self.patterns)
            (keep if wanted else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep


def run_fault(
    origin: str, api_key: str, name: str, known: list[Check] | None = None, whole: bool = False
) -> Outcome:
    """Run the suite against one server of a zoo: a fault, a variant, or "clean".

    `known` is every check of the suite (catalogue.collect_checks): a pinned check that did
    not run then counts as missed, and the run takes the smallest profile that runs the
    pinned checks. `whole` ignores the fault's scope (see Fault.scope).
    """
    from conformance.reference.faults import FAULTS

    fault = FAULTS.get(name)
    prefix = "/clean" if name == "clean" else f"/faults/{name}"
    if fault is None:
        return _named(name, run_suite(f"{origin}{prefix}/v1", api_key, "full"))
    pinned = matching([c.id for c in known or ()], fault.checks)
    # The fault's own profile is a floor: a check may gate inside its body (paid fuzzing).
    profiles = {fault.profile, *(c.profile for c in known or () if c.id in pinned)}
    profile = max(profiles, key=PROFILES.index)
    # Fuzzing costs seconds per run: only faults pinned to a FUZZ check need it.
    fuzzed = any(p.startswith("FUZZ-") for p in (*fault.breaks, *fault.checks))
    # One request at a time: planning changes no verdict (tests/test_concurrency.py proves
    # it) and costs every run seconds; the conforming variants keep it, where it can
    # cause a false alarm. A fault's own options come later and so win.
    serial = ("--concurrency=1",)
    extra: tuple[str, ...] = serial + (() if fuzzed else ("-m", "not fuzz")) + fault.options
    only = () if whole else fault.scope
    outcome = _named(name, run_suite(f"{origin}{prefix}/v1", api_key, profile, extra, only=only))
    outcome.expected, outcome.allowed = fault.breaks, fault.may_also_break
    outcome.pin(fault.checks, [c.id for c in known] if known is not None else None)
    return outcome


def _named(name: str, outcome: Outcome) -> Outcome:
    outcome.name = name
    return outcome


def _run_one(job: tuple[str, str, str, list[Check]]) -> Outcome:
    return run_fault(*job)


def run_zoo(
    names: list[str], jobs: int = 2, progress: Callable[[Outcome, int, int], None] | None = None
) -> list[Outcome]:
    """Run the suite against each named server of one shared zoo, in `jobs` processes.

    `progress` hears of each outcome as it comes (done, of how many); the list keeps `names`' order.
    """
    from conformance.reference.app import create_zoo_app
    from conformance.reference.proof import collect_checks
    from conformance.reference.runner import ServerThread, generate_api_key

    known = collect_checks()
    key = generate_api_key()
    with ServerThread(create_zoo_app(key)) as server:
        work = [(server.origin, key, name, known) for name in names]
        # Spawned workers: a fork would copy the server thread's locks mid-flight.
        with ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=get_context("spawn")) as pool:
            futures = {pool.submit(_run_one, job): job[2] for job in work}
            done: dict[str, Outcome] = {}
            for future in as_completed(futures):
                done[futures[future]] = future.result()
                if progress is not None:
                    progress(done[futures[future]], len(done), len(work))
            return [done[name] for name in names]


def proven(outcome: Outcome) -> bool:
    """The fault is caught by its requirements and fails exactly its pinned checks."""
    return (
        outcome.caught
        and bool(outcome.pinned_checks)
        and not outcome.missed_checks()
        and not outcome.collateral()
        and not outcome.check_collateral()
    )


def format_matrix(outcomes: list[Outcome]) -> list[str]:
    lines = [f"{'fault':34} {'pinned requirement':22} {'checks':>6} proven  missed / collateral"]
    for o in outcomes:
        if not o.expected:
            continue
        wrong = [*o.missed_checks(), *o.collateral(), *o.check_collateral()]
        lines.append(
            f"{o.name:34} {','.join(o.expected):22} {len(o.pinned_checks):6} "
            f"{'yes' if proven(o) else 'NO':7} {', '.join(wrong[:4]) or '-'}"
        )
    faults = [o for o in outcomes if o.expected]
    good = sum(proven(o) for o in faults)
    score = 100.0 * good / len(faults) if faults else 0.0
    lines.append(f"mutation score: {good}/{len(faults)} = {score:.1f} %")
    return lines


# Servers that must pass: the clean one and its conforming variants, save the two slow
# ones, whose delays ZOO_ARGS' one-second stream idle timeout would call a stall
# (tests/test_variants.py runs them with the default timeouts).
CONFORMING = (
    "clean", "variant-freedoms", "variant-429", "variant-nulls", "variant-extras",
    "variant-framework-errors", "variant-close-errors", "variant-501-methods", "variant-gzip",
    "variant-sse-bytes", "variant-sse-multiline", "variant-keepalive", "variant-b64-images",
    "variant-big-models", "variant-routes", "variant-strict-fields", "variant-image-redirect",
    "variant-data-url-images",
)  # fmt: skip


def _unclean(outcome: Outcome) -> list[str]:
    """What a conforming server must never get: a failed, warned or error requirement."""
    return sorted(r for r, v in outcome.verdicts.items() if v in ("failed", "warned", "error"))


def main(jobs: int = 2, only: list[str] | None = None) -> int:
    """Print the kill matrix; non-zero below 100 % or on any false alarm."""
    from conformance.reference.faults import FAULTS

    started = time.monotonic()

    def show(outcome: Outcome, done: int, total: int) -> None:
        if outcome.expected:
            verdict = "proven" if proven(outcome) else "NOT PROVEN"
        else:
            bad = _unclean(outcome)
            verdict = f"FALSE ALARM on {', '.join(bad)}" if bad else "passes"
        print(f"[{done}/{total}] {outcome.name}: {verdict} ({outcome.seconds:.1f} s)", flush=True)

    outcomes = run_zoo([*CONFORMING, *(only or FAULTS)], jobs, show)
    conforming, faults = outcomes[: len(CONFORMING)], outcomes[len(CONFORMING) :]
    for line in format_matrix(faults):
        print(line)
    false_alarms = 0
    for outcome in conforming:
        bad = _unclean(outcome)
        false_alarms += len(bad)
        print(f"{outcome.name} (profile full, must pass): {bad or 'no failures or warnings'}")
    print(f"wall time: {time.monotonic() - started:.1f} s with {jobs} processes")
    perfect = all(proven(o) for o in faults)
    return 0 if perfect and not false_alarms else 1
