"""Latency-bound runs: the reference server answering every request after a fixed delay.

Imported by bench/run.py (section 6). For each latency and profile, the suite runs once
one request at a time (--concurrency=1) and once at the default concurrency; the table
shows both wall times beside the physical limit of that run: its longest chain of
requests that must wait for one another, times the latency. The chain is read from the
run's own summary.json (`run.requests_in_flight`): the rounds of requests before the waves
(the preflight, then the chat and image probes side by side), one per wave, and the
requests the checks sent themselves afterwards. The reference streams its events without
pauses, so a stream adds nothing measurable beyond its latency.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.config.settings import Settings
from conformance.reference.app import create_app
from conformance.reference.runner import ServerThread, generate_api_key
from conformance.reference.variants import Delay

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONCURRENCY = Settings.concurrency
LATENCIES = (0.5, 2.5)
PROFILES = ("standard", "full")


@dataclass
class LatencyRun:
    profile: str
    latency: float
    concurrency: int
    wall: float
    exit_code: int
    run: dict[str, Any] = field(default_factory=dict)
    verdicts: dict[str, str] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return int(self.run.get("spend", {}).get("requests", -1))

    @property
    def chain(self) -> int | None:
        """Requests that had to wait for one another: before, one per wave, after."""
        flight = self.run.get("requests_in_flight")
        if not flight:
            return None
        waves = len(flight["requests_per_wave"])
        return int(flight["rounds_before_waves"]) + waves + int(flight["requests_after_waves"])


def run_once(
    base_url: str, key: str, profile: str, latency: float, concurrency: int, seed: int
) -> LatencyRun:
    with tempfile.TemporaryDirectory(prefix="apex-bench-latency-") as tmp:
        command = [
            sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--base-url={base_url}",
            f"--profile={profile}", f"--concurrency={concurrency}", f"--seed={seed}",
            f"--report-dir={tmp}",
        ]  # fmt: skip
        env = {**clean_env(), "APEX_API_KEY": key}
        started = time.perf_counter()
        proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
        path = Path(tmp) / "summary.json"
        data = json.loads(path.read_text()) if path.exists() else {}
    verdicts = {row["id"]: row["verdict"] for row in data.get("requirements", [])}
    return LatencyRun(
        profile, latency, concurrency, wall, proc.returncode, data.get("run", {}), verdicts
    )


def clean_env() -> dict[str, str]:
    """This process's environment without what would point a run elsewhere or change its
    limits: the bench is about the reference it starts itself."""
    return {
        k: v for k, v in os.environ.items() if not k.startswith("APEX_") and k != "PYTEST_BASE_URL"
    }


def measure(
    latencies: Sequence[float], profiles: Sequence[str], seed: int, progress: Any
) -> list[LatencyRun]:
    """Every (latency, profile, concurrency) run.

    The serial runs wait on the network, not the CPU: they go out together, in the
    background. The concurrent runs use the CPU in bursts, so they take turns beside them,
    one at a time; on two cores each still has a core of its own.
    """
    runs: list[LatencyRun] = []
    for latency in latencies:
        key = generate_api_key()
        with (
            ServerThread(Delay(create_app(key), latency)) as server,
            ThreadPoolExecutor(len(profiles)) as pool,
        ):
            progress(f"latency {latency} s: serial runs in the background")
            serial = [
                pool.submit(run_once, server.base_url, key, p, latency, 1, seed) for p in profiles
            ]
            for profile in profiles:
                progress(f"latency {latency} s: {profile} at --concurrency={DEFAULT_CONCURRENCY}")
                runs.append(
                    run_once(server.base_url, key, profile, latency, DEFAULT_CONCURRENCY, seed)
                )
            progress(f"latency {latency} s: waiting for the serial runs")
            runs += [future.result() for future in serial]
    return runs


def rows(runs: list[LatencyRun]) -> list[list[object]]:
    """One row per (latency, profile): serial, default, limit and ratios, and agreement."""
    table = []
    by = {(r.latency, r.profile, r.concurrency): r for r in runs}
    for latency in sorted({r.latency for r in runs}):
        for profile in PROFILES:
            serial = by.get((latency, profile, 1))
            fast = by.get((latency, profile, DEFAULT_CONCURRENCY))
            if serial is None or fast is None:
                continue
            chain = fast.chain
            limit = chain * latency if chain is not None else float("nan")
            table.append(
                [
                    f"{latency:g} s", profile, serial.wall, fast.wall, limit,
                    fast.wall / limit, fast.wall / serial.wall,
                    f"{serial.requests}/{fast.requests}",
                    "same" if serial.verdicts == fast.verdicts else "DIFFER",
                    f"{serial.exit_code}/{fast.exit_code}",
                ]
            )  # fmt: skip
    return table


HEADERS = [
    "latency", "profile", "serial s", f"c={DEFAULT_CONCURRENCY} s", "limit s",
    "default/limit", "default/serial", "requests", "verdicts", "exits",
]  # fmt: skip
