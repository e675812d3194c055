"""POST /chat/completions: the response shape, usage, max_tokens, bounds, stop, rejections."""

from __future__ import annotations

import re

import pytest

from conformance import payloads
from conformance.checks import accepted, conforms, is_int, json_object, rejected, shown
from conformance.contract.cases import CHAT, rejection_params


@pytest.fixture(scope="module")
def completion(apex, chat_model):
    """The basic request (system + user message, max_tokens 16) and its JSON answer."""
    exchange = apex.call("POST", CHAT, json_body=payloads.chat(chat_model))
    accepted(exchange, "a minimal chat request with a listed model")
    return exchange, json_object(exchange)


@pytest.fixture(scope="module")
def counting(apex, chat_model):
    """A request whose natural reply is far longer than max_tokens 16."""
    body = payloads.chat(chat_model, payloads.COUNT_PROMPT, temperature=0)
    exchange = apex.call("POST", CHAT, json_body=body)
    accepted(exchange, "a chat request with temperature 0 and max_tokens 16")
    return exchange, json_object(exchange)


def first_choice(body):
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        pytest.skip("no choices to inspect; CHAT-03 judges the shape")
    return choices[0]


def usage_of(body):
    usage = body.get("usage")
    fields = ("prompt_tokens", "completion_tokens", "total_tokens")
    if not isinstance(usage, dict) or not all(is_int(usage.get(f)) for f in fields):
        pytest.skip("no integer usage to inspect; CHAT-06 judges it")
    return usage


@pytest.mark.requirement("CHAT-01")
def test_minimal_request_answered(completion):
    exchange, body = completion
    assert "choices" in body, f"expected a chat completion object; got {shown(exchange)}"


@pytest.mark.requirement("CHAT-02")
def test_completion_identity(completion):
    _, body = completion
    conforms("ChatCompletion", body, "the completion", ("$.id", "$.object", "$.created"))


@pytest.mark.requirement("CHAT-03")
def test_choices_shape(completion):
    _, body = completion
    conforms("ChatCompletion", body, "choices", ("$.choices",), ("$.choices[*].finish_reason",))


@pytest.mark.requirement("CHAT-04")
@pytest.mark.parametrize("which", ["minimal", "counting"])
def test_finish_reason_known(completion, counting, which):
    _, body = completion if which == "minimal" else counting
    first_choice(body)
    conforms("ChatCompletion", body, "finish_reason", ("$.choices[*].finish_reason",))


@pytest.mark.requirement("CHAT-05")
def test_model_echoed(completion, chat_model):
    _, body = completion
    echoed = body.get("model")
    # A dated snapshot suffix (openai/gpt-4o-2024-08-06) names the same model.
    pattern = rf"^{re.escape(chat_model)}([-:@.].+)?$"
    assert isinstance(echoed, str) and re.match(pattern, echoed), (
        f"response model is {echoed!r}, expected the requested {chat_model!r}"
    )


@pytest.mark.requirement("CHAT-06")
def test_usage_present(completion):
    _, body = completion
    conforms("ChatCompletion", body, "usage", ("$.usage",))


@pytest.mark.requirement("CHAT-07")
@pytest.mark.parametrize("which", ["minimal", "counting"])
def test_usage_total(completion, counting, which):
    _, body = completion if which == "minimal" else counting
    usage = usage_of(body)
    expected = usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["total_tokens"] == expected, (
        f"total_tokens is {usage['total_tokens']}, expected prompt_tokens + completion_tokens "
        f"= {usage['prompt_tokens']} + {usage['completion_tokens']} = {expected}"
    )


@pytest.mark.requirement("CHAT-08")
def test_max_tokens_honoured(counting):
    _, body = counting
    usage = usage_of(body)
    assert usage["completion_tokens"] <= payloads.MAX_TOKENS, (
        f"completion_tokens is {usage['completion_tokens']} with max_tokens {payloads.MAX_TOKENS}"
    )


@pytest.mark.requirement("CHAT-09")
def test_cut_reply_says_length(counting):
    _, body = counting
    usage = usage_of(body)
    reason = first_choice(body).get("finish_reason")
    if usage["completion_tokens"] < payloads.MAX_TOKENS and reason != "length":
        pytest.skip(f"the reply ended by itself ({usage['completion_tokens']} tokens); not cut off")
    assert reason == "length", (
        f"a reply of {usage['completion_tokens']} tokens with max_tokens {payloads.MAX_TOKENS} "
        f'has finish_reason {reason!r}, expected "length"'
    )


@pytest.mark.requirement("CHAT-10")
@pytest.mark.parametrize("temperature", [0, 2])
def test_temperature_bounds_accepted(apex, chat_model, temperature):
    body = payloads.chat(chat_model, temperature=temperature)
    accepted(
        apex.call("POST", CHAT, json_body=body), f"temperature {temperature} (bounds are inclusive)"
    )


@pytest.mark.requirement("CHAT-11")
@pytest.mark.parametrize(
    "stop", ["END", ["END1", "END2", "END3", "END4"]], ids=["string", "4 strings"]
)
def test_stop_forms_accepted(apex, chat_model, stop):
    body = payloads.chat(chat_model, stop=stop)
    accepted(apex.call("POST", CHAT, json_body=body), f"stop {stop!r}")


@pytest.mark.parametrize("case", rejection_params(CHAT))
def test_invalid_request_rejected(apex, apex_models, case):
    rejected(case.send(apex, apex_models), case.what)


@pytest.mark.requirement("CHAT-21")
def test_stop_sequence_honoured(apex, chat_model):
    body = payloads.chat(chat_model, payloads.STOP_PROMPT, temperature=0, stop=["gamma"])
    exchange = apex.call("POST", CHAT, json_body=body)
    accepted(exchange, 'a request with stop ["gamma"]')
    content = first_choice(json_object(exchange)).get("message", {}).get("content") or ""
    assert "gamma" not in content, f'the reply contains the stop sequence "gamma": {content!r}'


@pytest.mark.requirement("CHAT-22")
def test_unknown_field_tolerated(apex, chat_model):
    body = payloads.chat(chat_model, apex_conformance_unknown_field=True)
    exchange = apex.call("POST", CHAT, json_body=body)
    assert exchange.status < 500, (
        f"an unknown request field caused a server error: {shown(exchange)}"
    )
