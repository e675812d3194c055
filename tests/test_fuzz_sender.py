"""The fuzz cases go through the suite's one client: its retries, its spend, its answers.

A gateway that now and then asks the client to come back later (503 or 429 with a retry
delay) must not fail the fuzz checks, and what the fuzz cases received must be seen by the
checks that judge every answer of the run and by the latency profile.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conformance.fuzzing.conversion import as_response, wire_request
from conformance.reference.app import create_app
from conformance.reference.runner import ServerThread, generate_api_key
from conformance.spec.payloads import SYSTEM
from conformance.spec.schemas import spec_path
from conformance.transport.exchange import CONFIGURED_KEY, Exchange
from tests.misbehaving import RateLimited
from tests.test_reports import Run, run_with_reports

# One request in eleven is refused: often enough to meet many fuzz cases, and a prime,
# so that it does not fall on the same check at every concurrency.
EVERY = 11
RETRY_LATER = {
    "503-retry-after": (503, [(b"retry-after", b"0")]),
    "429-retry-after-ms": (429, [(b"retry-after-ms", b"0")]),
}


def test_a_case_is_sent_as_schemathesis_would_less_its_bookkeeping():
    operation = schemathesis.openapi.from_path(spec_path())["/chat/completions"]["POST"]
    # A lone surrogate, as Hypothesis generates them: sendable only as a JSON escape.
    body = {"model": "m", "messages": [{"role": "user", "content": "café \ud83d"}]}
    first, second = (operation.Case(body=body, media_type="application/json") for _ in "12")
    request = wire_request(first, "http://127.0.0.1:9/v1")
    assert request.method == "POST"
    assert request.url == "http://127.0.0.1:9/v1/chat/completions"
    # No per-case id, no user agent of another client: the same body is the same request.
    assert request.headers == (("Content-Type", "application/json"),)
    assert request.content is not None and json.loads(request.content) == body
    assert wire_request(second, "http://127.0.0.1:9/v1") == request


def test_an_answer_becomes_the_response_schemathesis_judges():
    exchange = Exchange(
        "POST", "http://127.0.0.1:9/v1/chat/completions", {"Content-Type": "application/json"},
        b'{"model": "m"}', CONFIGURED_KEY, status=201, body=b'{"id": "x"}', elapsed=0.25,
        # The client keeps bodies decoded, and a header may carry UTF-8.
        response_headers={"content-type": "application/json", "content-encoding": "gzip",
                          "x-note": "café"},
    )  # fmt: skip
    response = as_response(exchange)
    assert (response.status_code, response.content, response.elapsed) == (201, b'{"id": "x"}', 0.25)
    assert response.headers["x-note"] == ["café"]
    assert "content-encoding" not in response.headers
    assert response.request.body == b'{"model": "m"}'
    assert response.request.url == exchange.url


def checks(run: Run) -> dict[str, str]:
    """Check ID (with its node id, as a model-dependent check runs per model) -> verdict."""
    return {f"{c['check']} {c['nodeid']}": c["verdict"] for c in run.summary["checks"]}


@pytest.mark.parametrize("name", sorted(RETRY_LATER))
def test_a_gateway_that_asks_to_retry_now_and_then_passes_at_every_concurrency(tmp_path, name):
    status, headers = RETRY_LATER[name]
    key = generate_api_key()
    seen: dict[str, dict[str, str]] = {}
    for level in ("100", "1"):
        app = RateLimited(create_app(key), every=EVERY, headers=headers, status=status)
        with ServerThread(app) as server:
            run = run_with_reports(server.base_url, key, tmp_path / level, f"--concurrency={level}")
        assert app.count >= EVERY * 10, "the run met too few refusals to test anything"
        verdicts = checks(run)
        bad = {c: v for c, v in verdicts.items() if v in ("failed", "error", "warned")}
        assert not bad, run.output[-3000:]
        assert run.exit_code == 0, run.output[-3000:]
        fuzz = [c for c in verdicts if c.startswith("FUZZ-")]
        assert fuzz and all(verdicts[c] in ("passed", "skipped") for c in fuzz)
        # Every request the gateway received is in the spend, its refusals included.
        assert run.summary["run"]["spend"]["requests"] == app.count
        seen[level] = verdicts
    assert seen["100"] == seen["1"]


class UsageLostOffScript:
    """Wraps an app: leaves `usage` out of the chat completions it gives to requests unlike
    the suite's own checks' (whose first message is the suite's system prompt), as a gateway
    that breaks CHAT-06 on one code path only. Counts the generations it answered with 2xx."""

    def __init__(self, app: ASGIApp) -> None:
        self.app, self.dropped, self.generations = app, 0, 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received = await _whole_request(receive)
        start: Message = {}
        held = b""

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # what comes after the body: the disconnect
            replayed = True
            return {"type": "http.request", "body": received, "more_body": False}

        async def rewrite(message: Message) -> None:
            nonlocal start, held
            if message["type"] == "http.response.start":
                path, status = scope["path"], message["status"]
                if path.endswith(("/chat/completions", "/images/generations")) and status < 300:
                    self.generations += 1
                if dict(message["headers"]).get(b"content-type", b"").startswith(b"text/event"):
                    await send(message)  # a stream goes through as it comes
                else:
                    start = message  # sent with the body, whose length may change
                return
            if not start:
                await send(message)
                return
            held += message.get("body", b"")
            if message.get("more_body", False):
                return
            body = self._off_script(scope["path"], received, held)
            headers = [(k, v) for k, v in start["headers"] if k != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, replay, rewrite)

    def _off_script(self, path: str, request: bytes, body: bytes) -> bytes:
        if not path.endswith("/chat/completions"):
            return body
        try:
            sent, answer = json.loads(request), json.loads(body)
        except ValueError:
            return body  # a stream, or a request that is no JSON
        messages = sent.get("messages") if isinstance(sent, dict) else None
        first = messages[0] if isinstance(messages, list) and messages else None
        if first == SYSTEM or not isinstance(answer, dict) or "usage" not in answer:
            return body
        self.dropped += 1
        del answer["usage"]
        return json.dumps(answer).encode()


async def _whole_request(receive: Receive) -> bytes:
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    return body


@pytest.fixture
def off_script() -> Iterator[tuple[str, str, UsageLostOffScript]]:
    key = generate_api_key()
    app = UsageLostOffScript(create_app(key))
    with ServerThread(app) as server:
        yield server.base_url, key, app


def test_every_answer_checks_and_the_latency_profile_see_the_fuzz_answers(
    off_script, tmp_path: Path
):
    url, key, app = off_script
    run = run_with_reports(url, key, tmp_path)
    assert app.dropped > 0, "no fuzz case got an answer: the test tested nothing"
    verdicts = {c["check"]: c["verdict"] for c in run.summary["checks"]}
    # Only the fuzz cases are answered without usage: the check that judges every answer
    # sees them, the targeted usage checks (the suite's own requests) pass.
    assert verdicts["CHAT-06/every-answer-usage"] == "failed"
    assert verdicts["CHAT-06/usage-present"] == "passed"
    failed = sorted(c for c, v in verdicts.items() if v in ("failed", "error"))
    assert failed == ["CHAT-06/every-answer-usage", "FUZZ-02/fuzz-positive/post-chat-completions"]
    record = next(c for c in run.summary["checks"] if c["check"] == "CHAT-06/every-answer-usage")
    assert SYSTEM["content"] not in record["transcript"]  # the fuzz request, not a check's
    # The failing fuzz case's own exchange is its transcript, redacted, with a curl line.
    fuzz = next(c for c in run.summary["checks"] if c["check"] == failed[1])
    assert "> POST " in fuzz["transcript"] and '"usage"' not in fuzz["transcript"].split("\n<")[-1]
    assert "Authorization: [REDACTED]" in fuzz["transcript"] and key not in fuzz["transcript"]
    assert fuzz["curl"].startswith("curl ") and "$APEX_API_KEY" in fuzz["curl"]
    # Every generation answered is one sample of the latency profile, the fuzz cases' too.
    profile = run.summary["latency"]
    assert sum(model["count"] for model in profile.values()) == app.generations
