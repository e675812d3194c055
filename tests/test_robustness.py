"""Against servers that rate-limit, stall, reset, flood or lag: clear verdicts, no hangs."""

from __future__ import annotations

import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from conformance.config.settings import Settings
from conformance.reference.app import create_app
from conformance.reference.runner import ServerThread, generate_api_key
from conformance.reference.zoo import run_suite
from conformance.transport.client import ApexClient, CouldNotJudge, _retry_delay
from conformance.transport.exchange import Exchange
from conformance.transport.limits import Budget, RateLimiter, Spend
from conformance.vocabulary import EXIT_COULD_NOT_JUDGE, EXIT_NOT_JUDGED
from tests.misbehaving import OVERSIZED_BYTES, RateLimited, Slow, raw_server

KEY = "ak-" + "r" * 45


def client_for(base_url: str, **changes) -> ApexClient:
    settings = Settings(base_url=base_url, api_key=KEY, embedded=False, **changes)
    limits = Budget(settings.max_requests), RateLimiter(settings.rate_limit)
    return ApexClient(settings, Spend(), *limits)


def answered(status: int, **headers: str) -> Exchange:
    return Exchange("GET", "u", {}, None, "k", status=status, response_headers=headers)


def test_retry_after_forms():
    assert _retry_delay(answered(200)) is None
    assert _retry_delay(answered(429, **{"retry-after": "2"})) == 2.0
    assert _retry_delay(answered(503, **{"retry-after-ms": "250"})) == 0.25
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=3), usegmt=True)
    assert 1.0 < _retry_delay(answered(429, **{"retry-after": later})) <= 3.0


def test_oversized_body_is_capped_not_swallowed():
    with raw_server("oversized") as url:
        tracemalloc.start()
        exchange = client_for(url).call("GET", "/models")
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert exchange.truncated and len(exchange.body) < OVERSIZED_BYTES
    assert peak < 64 * 1024 * 1024
    with pytest.raises(ValueError, match="larger than the suite's cap"):
        exchange.json()


def test_reset_mid_body_is_the_targets_failure():
    with raw_server("reset") as url:
        exchange = client_for(url).call("GET", "/models")
    assert exchange.status == 200 and exchange.broken
    with pytest.raises(ValueError, match="did not arrive whole"):
        exchange.json()
    assert "broke off" in exchange.transcript()


def test_invalid_utf8_is_reported():
    with raw_server("invalid-utf8") as url:
        exchange = client_for(url).call("GET", "/models")
    with pytest.raises(ValueError, match="expected a JSON body"):
        exchange.json()


def test_silent_server_times_out_as_error():
    with raw_server("silent") as url:
        started = time.monotonic()
        with pytest.raises(CouldNotJudge, match="timeout"):
            client_for(url, request_timeout=1.0).call("GET", "/models")
    # The silent server hangs up after 10 s: well before that, even on a loaded machine.
    assert time.monotonic() - started < 6


def test_silent_target_gets_one_message_and_exit_7():
    with raw_server("silent") as url:
        started = time.monotonic()
        outcome = run_suite(url, KEY, "standard", ("--request-timeout=1",))
    assert outcome.exit_code == EXIT_COULD_NOT_JUDGE
    # One timed-out request ends the run: a run that went on would wait 1 s per request.
    assert time.monotonic() - started < 30


def test_rate_limit_spaces_requests():
    key = generate_api_key()
    with ServerThread(create_app(key)) as server:
        client = client_for(server.base_url, rate_limit=20.0)
        client.settings.__dict__["api_key"] = key
        started = time.monotonic()
        for n in range(6):
            client.call("GET", f"/models?n={n}")
    assert time.monotonic() - started >= 0.25


def test_rate_limited_target_passes_after_retries():
    key = generate_api_key()
    app = RateLimited(create_app(key), every=2, headers=[(b"retry-after-ms", b"20")])
    with ServerThread(app) as server:
        outcome = run_suite(server.base_url, key, "smoke", ("-m", "not fuzz"))
    bad = {r: v for r, v in outcome.verdicts.items() if v in ("failed", "warned", "error")}
    assert outcome.exit_code == 0 and not bad, outcome.messages


def test_always_429_is_an_error_never_a_failure():
    key = generate_api_key()
    app = RateLimited(create_app(key), every=1, headers=[(b"retry-after", b"0")])
    with ServerThread(app) as server:
        outcome = run_suite(server.base_url, key, "smoke", ("-m", "not fuzz"))
    assert outcome.exit_code == EXIT_COULD_NOT_JUDGE
    assert "failed" not in outcome.verdicts.values()


def test_slow_but_correct_target_passes():
    key = generate_api_key()
    with ServerThread(Slow(create_app(key), 2.0)) as server:
        # The zoo runner's 1 s idle timeout would be shorter than the 2 s lag.
        modules = ("conformance.contract.test_models", "conformance.contract.test_stream")
        outcome = run_suite(server.base_url, key, "smoke", ("--stream-idle-timeout=15",), modules)
    judged = {r: v for r, v in outcome.verdicts.items() if r.startswith(("MODELS", "SSE"))}
    # Two modules ran, so the rest of the gate was not judged: never a pass.
    assert outcome.exit_code == EXIT_NOT_JUDGED
    assert not [r for r, v in judged.items() if v in ("failed", "warned", "error")], (
        outcome.messages
    )


def test_budget_exhaustion_is_error_not_pass(reference):
    base_url, key = reference
    outcome = run_suite(base_url, key, "standard", ("--max-requests=15", "-m", "not fuzz"))
    errors = [msgs for r, msgs in outcome.messages.items() if outcome.verdicts[r] == "error"]
    assert errors and all(any("budget" in m for m in msgs) for msgs in errors)
    assert "failed" not in outcome.verdicts.values()


def test_xdist_gives_the_same_verdicts(reference, standard_run):
    base_url, key = reference
    parallel = run_suite(base_url, key, "standard", ("-n", "2"))
    assert parallel.exit_code == standard_run.exit_code
    assert parallel.verdicts == standard_run.verdicts


def test_same_target_and_seed_give_the_same_verdicts(reference, standard_run):
    base_url, key = reference
    runs = [run_suite(base_url, key, "standard").verdicts for _ in range(4)]
    assert all(verdicts == standard_run.verdicts for verdicts in runs)


def test_tls_failure_is_one_clear_message(reference):
    # An https URL to a plain-HTTP server: the TLS handshake fails before any answer.
    base_url, key = reference
    outcome = run_suite(base_url.replace("http://", "https://"), key, "smoke")
    assert outcome.exit_code == EXIT_COULD_NOT_JUDGE
    assert "passed" not in outcome.verdicts.values()
