"""The kill matrix: the suite run against every faulty reference server, each pinned to a rule."""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from conformance.catalogue import requirements

# A stalled stream must cost a mutant run one second, not the default fifteen.
MUTANT_ARGS = ("--stream-idle-timeout=1", "--request-timeout=10", "--max-requests=2000")


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

    def missed(self) -> list[str]:
        """Pinned requirements that did not fail (or warn, for SHOULD)."""
        return [r for r in self.expected if self.verdicts.get(r) not in ("failed", "warned")]

    def collateral(self) -> list[str]:
        """MUST requirements that failed although the fault does not break them."""
        catalogue = requirements()
        return sorted(
            r
            for r, v in self.verdicts.items()
            if v in ("failed", "error")
            and catalogue[r].level == "MUST"
            and r not in self.expected
            and r not in self.allowed
        )

    @property
    def caught(self) -> bool:
        return bool(self.expected) and not self.missed()


def run_suite(
    base_url: str,
    api_key: str,
    profile: str,
    extra: tuple[str, ...] = (),
    modules: tuple[str, ...] = ("conformance.contract",),
) -> Outcome:
    """Run the conformance suite (or some of its modules) in this process and read its verdicts."""
    import pytest

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="apex-mutant-") as tmp:
        os.environ["APEX_API_KEY"] = api_key  # never on a command line
        args = [
            "--pyargs", *modules,
            f"--base-url={base_url}", f"--profile={profile}", f"--report-dir={tmp}",
            "-q", "-p", "no:cacheprovider", "-o", "addopts=", *MUTANT_ARGS, *extra,
        ]  # fmt: skip
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            code = int(pytest.main(args))
        summary_path = Path(tmp) / "summary.json"
        summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    rows = summary.get("requirements", [])
    return Outcome(
        name=base_url,
        exit_code=code,
        verdicts={row["id"]: row["verdict"] for row in rows},
        seconds=time.monotonic() - started,
        messages={row["id"]: row["messages"] for row in rows if row["messages"]},
    )


def run_fault(origin: str, api_key: str, name: str) -> Outcome:
    """Run the suite against one server of a zoo: a fault, a variant, or "clean"."""
    from conformance.reference.faults import FAULTS

    fault = FAULTS.get(name)
    prefix = "/clean" if name == "clean" else f"/faults/{name}"
    profile = fault.profile if fault is not None else "full"
    # Full-profile faults only need the targeted checks: their fuzzing adds minutes.
    extra: tuple[str, ...] = ("-m", "not fuzz") if fault is not None and profile == "full" else ()
    outcome = run_suite(f"{origin}{prefix}/v1", api_key, profile, extra)
    outcome.name = name
    if fault is not None:
        outcome.expected, outcome.allowed = fault.breaks, fault.may_also_break
    return outcome


def _run_one(job: tuple[str, str, str]) -> Outcome:
    return run_fault(*job)


def run_zoo(names: list[str], jobs: int = 2) -> list[Outcome]:
    """Run the suite against each named server of one shared zoo, in `jobs` processes."""
    from conformance.reference.app import create_zoo_app
    from conformance.reference.runner import ServerThread, generate_api_key

    key = generate_api_key()
    with ServerThread(create_zoo_app(key)) as server:
        work = [(server.origin, key, name) for name in names]
        # Spawned workers: a fork would copy the server thread's locks mid-flight.
        with ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=get_context("spawn")) as pool:
            return list(pool.map(_run_one, work))


def format_matrix(outcomes: list[Outcome]) -> list[str]:
    lines = [f"{'fault':34} {'pinned requirement':22} {'verdicts':22} caught  collateral"]
    for o in outcomes:
        if not o.expected:
            continue
        shown = ",".join(o.verdicts.get(r, "-") for r in o.expected)
        lines.append(
            f"{o.name:34} {','.join(o.expected):22} {shown:22} "
            f"{'yes' if o.caught else 'NO':7} {','.join(o.collateral()) or '-'}"
        )
    faults = [o for o in outcomes if o.expected]
    caught = sum(o.caught for o in faults)
    score = 100.0 * caught / len(faults) if faults else 0.0
    lines.append(f"mutation score: {caught}/{len(faults)} = {score:.1f} %")
    return lines


CONFORMING = ("clean", "variant-freedoms")


def main(jobs: int = 2, only: list[str] | None = None) -> int:
    """Print the kill matrix; non-zero below 100 % or on any false alarm."""
    from conformance.reference.faults import FAULTS

    started = time.monotonic()
    outcomes = run_zoo([*CONFORMING, *(only or FAULTS)], jobs)
    conforming, faults = outcomes[: len(CONFORMING)], outcomes[len(CONFORMING) :]
    for line in format_matrix(faults):
        print(line)
    false_alarms = 0
    for outcome in conforming:
        bad = sorted(r for r, v in outcome.verdicts.items() if v in ("failed", "warned", "error"))
        false_alarms += len(bad)
        print(f"{outcome.name} (profile full, must pass): {bad or 'no failures or warnings'}")
    print(f"wall time: {time.monotonic() - started:.1f} s with {jobs} processes")
    perfect = all(o.caught and not o.collateral() for o in faults)
    return 0 if perfect and not false_alarms else 1
