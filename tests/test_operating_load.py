"""The suite's own load is never the target's fault: a one-slot engine, a target that fails
only when crowded, and Ctrl-C, which stops the sending at once."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from conformance.config.settings import Settings
from conformance.reference.app import create_app, create_zoo_app
from conformance.reference.faults import FAULTS
from conformance.reference.runner import ServerThread, generate_api_key
from conformance.reference.variants import read_body, replay_body
from conformance.transport.client import ApexClient
from conformance.transport.dispatch import Dispatcher, Pending
from conformance.transport.limits import Budget, RateLimiter, Spend
from conformance.vocabulary import EXIT_INTERRUPTED
from tests.engines import Interrupting, SingleSlot
from tests.misbehaving import Slow
from tests.test_concurrency import comparable
from tests.test_reports import fault_url, run_with_reports

DEFAULT = 100  # --concurrency's default


@pytest.fixture(scope="module")
def single_slot() -> Iterator[tuple[str, str, SingleSlot]]:
    key = generate_api_key()
    engine = SingleSlot(create_zoo_app(key), service=0.01)
    with ServerThread(engine) as server:
        yield server.origin, key, engine


def test_a_one_slot_engine_gets_the_verdicts_of_a_serial_run(single_slot, tmp_path):
    origin, key, _ = single_slot
    seen = {}
    for level in (DEFAULT, 1):
        run = run_with_reports(
            f"{origin}/clean/v1", key, tmp_path / str(level), "--profile=full", "--fail-on=should",
            f"--concurrency={level}",
        )  # fmt: skip
        assert run.exit_code == 0, run.output[-3000:]
        seen[level] = comparable(run.report_dir)
        if level == DEFAULT:
            load = run.summary["run"]["load"]
            assert load["peak"] > 1, load  # the run did crowd the engine
    assert seen[DEFAULT] == seen[1]


@pytest.mark.parametrize("fault", ["sse-ignore-stop", "chat-500-stop"])
def test_a_faulty_one_slot_engine_fails_its_rule_alone_at_every_level(single_slot, tmp_path, fault):
    origin, key, _ = single_slot
    failed = {}
    for level in (DEFAULT, 1):
        run = run_with_reports(
            fault_url(origin, fault), key, tmp_path / str(level), f"--concurrency={level}"
        )
        assert run.exit_code == 1, run.output[-3000:]
        failed[level] = sorted(
            r["id"] for r in run.summary["requirements"] if r["verdict"] == "failed"
        )
    assert failed[DEFAULT] == failed[1]
    assert (
        set(FAULTS[fault].breaks)
        <= set(failed[1])
        <= {*FAULTS[fault].breaks, *FAULTS[fault].may_also_break, *_pinned(fault)}
    )


def _pinned(fault: str) -> set[str]:
    """The requirements of the checks a fault is pinned to (those the families catch too)."""
    return {pattern.split("/")[0] for pattern in FAULTS[fault].checks}


def test_a_stream_ended_early_by_the_next_request_is_sent_again_alone(tmp_path):
    key = generate_api_key()
    engine = Interrupting(Slow(create_app(key), 0.05))
    seen = {}
    with ServerThread(engine) as server:
        for level in (DEFAULT, 1):
            run = run_with_reports(
                server.base_url, key, tmp_path / str(level), f"--concurrency={level}",
                "--fail-on=should",
            )  # fmt: skip
            assert run.exit_code == 0, run.output[-3000:]
            seen[level] = comparable(run.report_dir)
    assert engine.cut > 0  # the crowd did end streams early
    assert seen[DEFAULT] == seen[1]


class SlowWhenCrowded:
    """Answers at once when alone, and only after `delay` when another request is in flight;
    a request whose client left stops counting (as an engine that notices it would)."""

    def __init__(self, app: ASGIApp, delay: float) -> None:
        self.app, self.delay, self.in_flight = app, delay, 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = await read_body(receive)
        self.in_flight += 1
        try:
            await asyncio.sleep(0.05)  # long enough for the requests sent together to meet
            if self.in_flight > 1:
                gone = asyncio.ensure_future(receive())
                done, _ = await asyncio.wait({gone}, timeout=self.delay)
                if done:
                    return  # the client gave up waiting
                gone.cancel()
        finally:
            self.in_flight -= 1
        await self.app(scope, replay_body(raw, receive), send)


def test_a_timeout_met_in_a_crowd_is_sent_again_alone_and_judged():
    key = generate_api_key()
    app = SlowWhenCrowded(create_app(key), delay=5)
    with ServerThread(app) as server:
        settings = Settings(
            base_url=server.base_url, api_key=key, embedded=True, request_timeout=1.0
        )
        client = ApexClient(settings, Spend(), Budget(50), RateLimiter(None), Dispatcher(8))
        client.dispatch.planning = True
        paths = [f"/models?n={n}" for n in range(3)]
        for path in paths:
            with pytest.raises(Pending):
                client.call("GET", path)
        client.dispatch.settle()
        client.dispatch.planning = False
        statuses = [client.call("GET", path).status for path in paths]
        client.close()
    assert statuses == [200, 200, 200]
    assert client.spend.sent_alone >= 1
    assert client.inflight.strains >= 1
    # Each first attempt, and a resend for each that timed out: never more.
    assert client.spend.requests == 3 + client.spend.sent_alone <= 6


class Arrivals:
    """Notes when each request arrives, each held a little so that they pile up."""

    def __init__(self, app: ASGIApp) -> None:
        self.app, self.times = app, list[float]()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.times.append(time.monotonic())
            await asyncio.sleep(0.2)
        await self.app(scope, receive, send)


def _start_run(base_url: str, key: str, report_dir: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "--pyargs", "conformance.contract", "-p",
         "no:cacheprovider", f"--base-url={base_url}", f"--report-dir={report_dir}",
         "--rate-limit=5"],
        env={**os.environ, "APEX_API_KEY": key}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
        # A job started in the background inherits SIGINT ignored: give Ctrl-C back.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip


def _wait_for_checks(proc: subprocess.Popen[str], arrivals: Arrivals) -> list[str]:
    """Read the run's output until its checks are sending (after the collection)."""
    assert proc.stdout is not None
    seen = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not any("collected" in line for line in seen):
        seen.append(proc.stdout.readline())
    sent = len(arrivals.times)
    while time.monotonic() < deadline and len(arrivals.times) < sent + 3:
        time.sleep(0.05)
    return seen


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_stops_sending_at_once_and_never_ends_green(tmp_path, presses):
    key = generate_api_key()
    arrivals = Arrivals(create_app(key))
    report_dir = tmp_path / "r"
    with ServerThread(arrivals) as server:
        proc = _start_run(server.base_url, key, str(report_dir))
        seen = _wait_for_checks(proc, arrivals)
        pressed = time.monotonic()
        for _ in range(presses):
            proc.send_signal(signal.SIGINT)
            time.sleep(0.05)
        rest, _ = proc.communicate(timeout=60)
        output = "".join(seen) + rest
    # A request admitted before the signal may reach the server a moment later; none that
    # waited for its turn at the rate limit (one every 0.2 s) may go out afterwards.
    late = [t - pressed for t in arrivals.times if t > pressed + 0.15]
    assert late == [], output[-2000:]
    assert proc.returncode == EXIT_INTERRUPTED, output[-2000:]
    assert "Traceback" not in output
    summary = json.loads((report_dir / "summary.json").read_text())
    assert summary["gate"]["verdict"] == "interrupted"
