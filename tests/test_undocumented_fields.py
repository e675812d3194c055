"""A request field the document does not define: refusing it is never a finding.

A gateway in front of the reference refuses `stream_options` with each status a real
server uses (400 from OpenAI-style validation, 422 from FastAPI/pydantic, 404 from a router
that takes an unknown field for an unknown route): the check that sends it is skipped as
not applicable, never failed or warned. A 5xx to it is CHAT-22's SHOULD, and no MUST check
judges it.
"""

from __future__ import annotations

import json

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from conformance.reference import ServerThread, create_app, generate_api_key
from conformance.reference.variants import read_body, replay_body
from conformance.reference.zoo import run_suite

CHECKS = ("SSE-13/*", "CHAT-22/*", "CHAT-08/*", "SSE-03/*", "SSE-07/*")


def refusing(status: int, key: str) -> ASGIApp:
    """The reference, behind a front that answers `status` to any body with stream_options."""
    inner = create_app(key)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await inner(scope, receive, send)
            return
        raw = await read_body(receive)
        if b'"stream_options"' in raw:
            error = {"message": "Extra inputs are not permitted", "type": "invalid_request_error",
                     "param": "stream_options", "code": None}  # fmt: skip
            body = json.dumps({"error": error}).encode()
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await inner(scope, replay_body(raw, receive), send)

    return app


@pytest.mark.parametrize("status", [400, 404, 422, 500])
def test_refused_undocumented_field_is_not_applicable(status):
    key = generate_api_key()
    with ServerThread(refusing(status, key)) as server:
        outcome = run_suite(server.base_url, key, "standard", ("-m", "not fuzz"), only=CHECKS)
    _, verdict, message = outcome.checks["SSE-13/usage-chunk-sent"]
    assert verdict == "skipped" and message.startswith("not applicable"), message
    assert f"HTTP {status}" in message
    expected = "warned" if status >= 500 else "passed"
    assert outcome.checks["CHAT-22/stream-options-tolerated"][1] == expected
    # The chunk rules and max_tokens are judged on the same stream without the field.
    others = {
        c: v for c, (_, v, _) in outcome.checks.items() if not c.startswith(("SSE-13", "CHAT-22"))
    }
    assert others and set(others.values()) == {"passed"}, others
