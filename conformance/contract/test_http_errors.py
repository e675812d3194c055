"""HTTP-level rules and the error rules that apply to every rejected request."""

from __future__ import annotations

import pytest

from conformance.contract.assertions import json_object, shown
from conformance.contract.cases import Case, all_cases
from conformance.session.model_choice import MISSING_PATH
from conformance.spec import payloads


def _exchange(apex, apex_models, source):
    """The answer to a rejection case, or to one of the other requests that must fail."""
    if isinstance(source, Case):
        return source.send(apex, apex_models)
    if source == "no key":
        return apex.call("GET", "/models", credential=apex.credential(None, "no header"))
    return apex.call("POST", MISSING_PATH, json_body={"model": apex_models.chat})


SOURCES = [
    *all_cases(),
    pytest.param("no key", id="models:no key"),
    pytest.param("unknown path", id="unknown path"),
]


def _refused(exchange):
    if not 400 <= exchange.status < 500:
        pytest.skip(
            f"not refused with a 4xx (HTTP {exchange.status}); the rejection check reports it"
        )


@pytest.mark.requirement("HTTP-01")
def test_https(apex_settings, observe):
    scheme = apex_settings.base_url.split(":", 1)[0]
    assert scheme == "https", f"the target is served over {scheme}, not https"
    observe("served over https")


@pytest.mark.requirement("HTTP-02")
@pytest.mark.parametrize("source", ["models", "chat", *SOURCES])
def test_json_content_type(apex, apex_models, source):
    if source == "models":
        exchange = apex.call("GET", "/models")
    elif source == "chat":
        exchange = apex.call(
            "POST", "/chat/completions", json_body=payloads.chat(apex_models.chat or "")
        )
    else:
        exchange = _exchange(apex, apex_models, source)
    if exchange.status >= 500:
        pytest.skip("a server error; ERR-01 judges it")
    media = exchange.media_type
    assert media == "application/json" or media.endswith("+json"), (
        f"expected Content-Type application/json; got {exchange.content_type!r}\n{shown(exchange)}"
    )


@pytest.mark.requirement("HTTP-04")
def test_unknown_path_404(apex, apex_models):
    exchange = _exchange(apex, apex_models, "unknown path")
    assert exchange.status == 404, f"expected 404 for an unknown path; got {shown(exchange)}"


@pytest.mark.requirement("HTTP-05")
def test_non_ascii_round_trip(apex, chat_model):
    body = payloads.chat(chat_model, payloads.NON_ASCII_PROMPT)
    exchange = apex.call("POST", "/chat/completions", json_body=body)
    assert 200 <= exchange.status < 300, (
        f"a prompt with non-ASCII text was not answered: {shown(exchange)}"
    )
    try:
        exchange.body.decode("utf-8")
    except UnicodeDecodeError as exc:
        pytest.fail(f"the response is not valid UTF-8: {exc}")
    json_object(exchange)


@pytest.mark.requirement("ERR-01")
@pytest.mark.parametrize("source", SOURCES)
def test_no_server_error(apex, apex_models, source):
    exchange = _exchange(apex, apex_models, source)
    assert exchange.status < 500, f"invalid input caused a server error: {shown(exchange)}"


@pytest.mark.requirement("ERR-02")
@pytest.mark.parametrize("source", SOURCES)
def test_no_error_with_200(apex, apex_models, source):
    exchange = _exchange(apex, apex_models, source)
    body = exchange.json_or_none()
    carries_error = isinstance(body, dict) and "error" in body
    assert not (200 <= exchange.status < 300 and carries_error), (
        f"an error came back with a success status: {shown(exchange)}"
    )


@pytest.mark.requirement("ERR-03")
@pytest.mark.parametrize("source", SOURCES)
def test_error_envelope(apex, apex_models, source):
    exchange = _exchange(apex, apex_models, source)
    _refused(exchange)
    body = exchange.json_or_none()
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    assert isinstance(message, str) and message, (
        f'expected {{"error": {{"message": "...", ...}}}}; got {shown(exchange)}'
    )


@pytest.mark.requirement("ERR-04")
@pytest.mark.parametrize("source", SOURCES)
def test_error_keys(apex, apex_models, source):
    exchange = _exchange(apex, apex_models, source)
    _refused(exchange)
    body = exchange.json_or_none()
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        pytest.skip("no error object; ERR-03 judges the envelope")
    missing = [key for key in ("type", "param", "code") if key not in error]
    assert not missing, (
        f"the error object lacks {missing} (OpenAI sends all four keys): {shown(exchange)}"
    )
    assert error["code"] is None or isinstance(error["code"], str | int), (
        f"error.code is {error['code']!r}"
    )


@pytest.mark.requirement("ERR-05")
@pytest.mark.parametrize("case", all_cases())
def test_rejection_status(apex, apex_models, case):
    exchange = case.send(apex, apex_models)
    _refused(exchange)
    allowed = (400, 404) if case.unknown_model else (400,)
    assert exchange.status in allowed, (
        f"expected {' or '.join(map(str, allowed))} for {case.what}; got {shown(exchange)}"
    )
