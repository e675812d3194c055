"""--concurrency: the same verdicts, spend and reports at every level, within every limit."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.config.settings import Settings
from conformance.reference.app import create_app
from conformance.reference.runner import ServerThread, generate_api_key
from conformance.transport.client import ApexClient, CouldNotJudge
from conformance.transport.dispatch import Dispatcher, Pending
from conformance.transport.errors import Halted
from conformance.transport.inflight import START, InFlight
from conformance.transport.limits import Budget, RateLimiter, Spend
from tests.misbehaving import Counting, InFlightCap
from tests.test_reports import STOP_FAULT, fault_url, run_with_reports

LEVELS = (1, 4, 32)
# What may differ between two runs of the same checks: how long things took, and the names
# the reference gives its answers and image files, and when it made them.
_TIMING = re.compile(
    r"\d+\.\d+ ?s\b|(elapsed|headers_after)=[\d.e-]+|img-[0-9a-f]+|chatcmpl-[0-9a-f]+"
    r"|\"created\": ?\d+"
)


def _words(message: str) -> str:
    # pytest's introspection after the suite's own words quotes object reprs, timings
    # included, cut to a width that moves with them.
    return _TIMING.sub("T", message.split("\nassert ")[0])


def comparable(report_dir: Path) -> dict[str, Any]:
    """summary.json and junit.xml without timings and run-specific facts."""
    summary = json.loads((report_dir / "summary.json").read_text("utf-8"))
    checks = sorted(
        (c["nodeid"], c["verdict"], _words(c["message"]), _TIMING.sub("T", c["curl"]))
        for c in summary["checks"]
    )
    rows = [
        (r["id"], r["verdict"], [_words(m) for m in r["messages"]]) for r in summary["requirements"]
    ]
    spend = dict(summary["run"]["spend"])
    # What a crowd costs on top: requests sent again alone after a sign of strain, or on a
    # fresh connection after the target dropped one.
    spend["requests"] -= spend.pop("sent_alone") + spend.pop("connection_retries")
    junit = (report_dir / "junit.xml").read_text("utf-8")
    outcomes = sorted(re.findall(r'<testcase [^>]*name="([^"]+)"[^>]*>\s*<(\w+)', junit))
    return {
        "checks": checks,
        "rows": rows,
        "spend": spend,
        "gate": summary["gate"],
        "totals": summary["totals"],
        "junit": outcomes,
    }


# A fuzz failure too: its real run falls back from the planned cases to Hypothesis, which
# shrinks as in a serial run.
FUZZ_FAULT = "chat-accept-temperature-3"


@pytest.mark.parametrize("server", ["reference", STOP_FAULT, FUZZ_FAULT])
def test_verdicts_spend_and_reports_agree_at_every_level(request, tmp_path, server):
    if server == "reference":
        url, key = request.getfixturevalue("reference")
    else:
        origin, key = request.getfixturevalue("zoo")
        url = fault_url(origin, server)
    seen = {}
    for level in LEVELS:
        run = run_with_reports(url, key, tmp_path / str(level), f"--concurrency={level}")
        assert run.exit_code == (0 if server == "reference" else 1), run.output[-2000:]
        seen[level] = comparable(run.report_dir)
        flight = run.summary["run"]["requests_in_flight"]
        assert (flight is None) == (level == 1)
    assert seen[1]["spend"]["requests"] > 100
    for level in LEVELS[1:]:
        for part in seen[1]:
            assert seen[level][part] == seen[1][part], f"{part} differs at --concurrency={level}"


@pytest.fixture
def capped() -> Iterator[tuple[str, str, InFlightCap]]:
    key = generate_api_key()
    app = InFlightCap(create_app(key), cap=4, delay=0.05)
    with ServerThread(app) as server:
        yield server.base_url, key, app


def test_a_gateway_that_caps_requests_in_flight_gets_no_false_failure(capped, tmp_path):
    url, key, app = capped
    run = run_with_reports(url, key, tmp_path, "--concurrency=32")
    assert run.exit_code == 0, run.output[-3000:]
    assert app.refused > 0, "the run never went over the cap: it tested nothing"
    bad = [c["check"] for c in run.summary["checks"] if c["verdict"] in ("failed", "error")]
    assert bad == []
    # The 429s are paid requests too, and counted; the rest is the usual run.
    assert run.summary["run"]["spend"]["requests"] == app.served + app.refused


@pytest.mark.parametrize("limit", [25, 60])
def test_the_budget_holds_with_every_request_in_flight(tmp_path, limit):
    key = generate_api_key()
    app = Counting(create_app(key))
    with ServerThread(app) as server:
        run = run_with_reports(
            server.base_url, key, tmp_path, f"--max-requests={limit}", "--concurrency=32"
        )
    assert run.exit_code == 8, run.output[-2000:]
    assert app.requests == run.summary["run"]["spend"]["requests"] == limit
    assert "budget" in " ".join(run.summary["gate"]["reasons"])


@pytest.fixture
def counted() -> Iterator[tuple[ApexClient, Counting]]:
    key = generate_api_key()
    app = Counting(create_app(key))
    with ServerThread(app) as server:
        settings = Settings(base_url=server.base_url, api_key=key, embedded=True)
        client = ApexClient(
            settings, Spend(), Budget(50), RateLimiter(None), Dispatcher(concurrency=4)
        )
        yield client, app
        client.close()


def test_two_checks_wanting_one_answer_at_once_get_one_request(counted):
    client, app = counted
    client.dispatch.planning = True
    for _ in range(2):
        with pytest.raises(Pending):
            client.call("GET", "/models")
    client.dispatch.settle()
    client.dispatch.planning = False
    first, second = client.call("GET", "/models"), client.call("GET", "/models")
    assert first is second and first.status == 200
    assert app.requests == client.spend.requests == 1


def test_a_request_that_failed_while_planned_is_sent_again_like_a_serial_run():
    # Port 9 (discard) has no listener here: every request fails to connect.
    settings = Settings(base_url="http://127.0.0.1:9/v1", api_key="ak-x", embedded=False)
    client = ApexClient(settings, Spend(), Budget(50), RateLimiter(None), Dispatcher(4))
    client.dispatch.planning = True
    with pytest.raises(Pending):
        client.call("GET", "/models")
    client.dispatch.settle()
    client.dispatch.planning = False
    # The check that planned it meets its failure, as in a serial run, and the next check
    # that asks sends it again, as in a serial run: two requests, as serially.
    for _ in range(2):
        with pytest.raises(CouldNotJudge, match="connection"):
            client.call("GET", "/models")
    assert client.spend.requests == 2
    client.close()


def test_an_overloaded_target_pauses_the_whole_run():
    limiter = RateLimiter(None)
    limiter.pause(0.2)
    started = time.monotonic()
    limiter.wait()
    assert time.monotonic() - started >= 0.15


def test_strain_halves_the_requests_in_flight_once_per_round():
    inflight = InFlight(100)
    assert inflight.limit == START
    with inflight.slot() as a, inflight.slot() as b:
        inflight.strained(a)
        inflight.strained(b)  # the same round: halved once
    assert inflight.limit == START / 2
    with inflight.slot() as c:
        inflight.strained(c)  # a request of the next round: halved again
    assert inflight.limit == START / 4


def test_the_limit_grows_while_answers_keep_their_pace_and_not_when_they_queue():
    inflight = InFlight(100)
    for _ in range(10):
        with inflight.slot() as ticket:
            inflight.kept_pace(ticket, "chat", 0.1)
    assert inflight.limit == START + 10
    for _ in range(10):
        with inflight.slot() as ticket:
            inflight.kept_pace(ticket, "chat", 0.5)  # five times slower: a queue
    assert inflight.limit == START + 10
    assert InFlight(2).limit == 2  # never above --concurrency


def test_a_request_sent_alone_waits_for_the_others_and_holds_them_off():
    inflight = InFlight(4)
    order: list[str] = []
    with inflight.slot():
        alone = threading.Thread(target=_alone, args=(inflight, order))
        alone.start()
        time.sleep(0.3)
        order.append("other done")
    alone.join(5)
    assert order == ["other done", "alone"]


def _alone(inflight, order):
    with inflight.alone() as ticket:
        assert not ticket.crowded
        order.append("alone")


def test_halting_wakes_every_waiting_request():
    inflight = InFlight(1)
    errors: list[BaseException] = []

    def wait_for_a_place():
        try:
            with inflight.slot():
                pass
        except Halted as exc:
            errors.append(exc)

    with inflight.slot():
        waiting = threading.Thread(target=wait_for_a_place)
        waiting.start()
        time.sleep(0.1)
        inflight.halt()
        waiting.join(2)
    assert len(errors) == 1


@pytest.mark.parametrize("limit", ["-x", "--max-requests=60", "--max-cost=0.00001"])
def test_where_order_decides_the_verdicts_every_level_agrees(request, tmp_path, limit):
    # -x stops at the first failure, and a spent budget at the check a serial run reaches:
    # requests sent ahead would change both.
    origin, key = request.getfixturevalue("zoo")
    seen = {}
    for level in (1, 32):
        run = run_with_reports(
            fault_url(origin, STOP_FAULT), key, tmp_path / str(level), limit,
            f"--concurrency={level}",
        )  # fmt: skip
        assert run.exit_code in (1, 8), run.output[-2000:]
        seen[level] = comparable(run.report_dir)
    assert seen[32] == seen[1]
