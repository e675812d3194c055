"""POST /chat/completions: the response shape, usage, max_tokens, bounds, stop, rejections."""

from __future__ import annotations

import json
import re

import pytest

from conformance.contract.assertions import (
    accepted,
    conforms,
    json_object,
    rejected,
    reply_text,
    shown,
)
from conformance.contract.cases import CHAT, rejection_params
from conformance.spec import payloads
from conformance.spec.schemas import is_integer, problems_at

# Stop forms whose acceptance the document states (CHAT-11), then the two unusual strings.
ACCEPTED_STOPS = ("string", "array of 1", "array of 2", "array of 3", "array of 4")
NON_ASCII_STOP = "non-ASCII string"
WHITESPACE_STOP = "whitespace string"
STOP_CASES = (*payloads.stop_forms("x"), NON_ASCII_STOP, WHITESPACE_STOP)


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


@pytest.fixture(scope="module")
def stop_words(apex, chat_model):
    """Stop words taken from the target's own replies to the same prompts without stop.

    A target that ignores stop then shows it whatever it answers, even a fixed text. When a
    reply offers no word (or no answer came), a fixed word is used: its absence is still judged.
    """
    plain = reply_text(apex.call("POST", CHAT, json_body=payloads.stop_baseline(chat_model)))
    # The same body as the non-ASCII check (HTTP-05) sends, so the run pays for it once.
    body = payloads.chat(chat_model, payloads.NON_ASCII_PROMPT)
    other = reply_text(apex.call("POST", CHAT, json_body=body))
    return (
        payloads.stop_word(plain or "") or payloads.FALLBACK_STOP_WORD,
        payloads.stop_word(other or "", non_ascii=True) or payloads.FALLBACK_NON_ASCII_STOP,
    )


def stop_request(chat_model, stop_words, case):
    """The request of one stop case: its prompt's baseline body, plus the stop."""
    word, non_ascii_word = stop_words
    if case == NON_ASCII_STOP:
        return payloads.chat(chat_model, payloads.NON_ASCII_PROMPT, stop=non_ascii_word)
    stop = payloads.WHITESPACE_STOP if case == WHITESPACE_STOP else payloads.stop_forms(word)[case]
    return {**payloads.stop_baseline(chat_model), "stop": stop}


def first_choice(body):
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        pytest.skip("no choices to inspect; CHAT-03 judges the shape")
    return choices[0]


def usage_of(body):
    usage = body.get("usage")
    fields = ("prompt_tokens", "completion_tokens", "total_tokens")
    if not isinstance(usage, dict) or not all(is_integer(usage.get(f)) for f in fields):
        pytest.skip("no integer usage to inspect; CHAT-06 judges it")
    return usage


@pytest.mark.requirement("CHAT-01")
def test_minimal_request_answered(apex, chat_model):
    # Not through the `completion` fixture: a refusal (a missing endpoint, a broken route)
    # is this check's failure, where the checks that read the answer cannot judge.
    exchange = apex.call("POST", CHAT, json_body=payloads.chat(chat_model))
    accepted(exchange, "a minimal chat request with a listed model")
    body = json_object(exchange)
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
def test_cut_reply_says_length(apex, chat_model, counting):
    exchange, body = counting
    used = usage_of(body)["completion_tokens"]
    if used > payloads.MAX_TOKENS:
        pytest.skip(f"the reply ({used} tokens) went past max_tokens: CHAT-08's failure")
    if used < payloads.MAX_TOKENS:
        pytest.skip(f"the reply ended by itself ({used} tokens); not cut off")
    # A reply exactly max_tokens long may have ended there by itself: cut off means the
    # same request with room for twice as many tokens says more (judged by the text).
    roomier = payloads.chat(
        chat_model, payloads.COUNT_PROMPT, temperature=0, max_tokens=2 * payloads.MAX_TOKENS
    )
    longer, text = reply_text(apex.call("POST", CHAT, json_body=roomier)), reply_text(exchange)
    if longer is None or text is None:
        pytest.skip("no reply text to compare; could not tell whether the reply was cut off")
    if len(longer) <= len(text):
        pytest.skip(f"with max_tokens {2 * payloads.MAX_TOKENS} the reply is no longer; not cut")
    reason = first_choice(body).get("finish_reason")
    assert reason == "length", (
        f"a reply cut off at max_tokens {payloads.MAX_TOKENS} ({used} tokens; with room for "
        f'more it goes on) has finish_reason {reason!r}, expected "length"'
    )


@pytest.mark.requirement("CHAT-10")
@pytest.mark.parametrize("temperature", [0, 0.0, 2, 2.0])  # JSON 2 and 2.0 alike
def test_temperature_bounds_accepted(apex, chat_model, temperature):
    body = payloads.chat(chat_model, temperature=temperature)
    accepted(
        apex.call("POST", CHAT, json_body=body), f"temperature {temperature} (bounds are inclusive)"
    )


@pytest.mark.requirement("CHAT-11")
@pytest.mark.parametrize("case", ACCEPTED_STOPS)
def test_stop_forms_accepted(apex, chat_model, stop_words, case):
    body = stop_request(chat_model, stop_words, case)
    accepted(apex.call("POST", CHAT, json_body=body), f"stop {body['stop']!r} ({case})")


@pytest.mark.parametrize("case", rejection_params(CHAT))
def test_invalid_request_rejected(apex, apex_models, case):
    rejected(case.send(apex, apex_models), case.what)


@pytest.mark.requirement("CHAT-21")
@pytest.mark.parametrize("case", STOP_CASES)
def test_stop_sequence_honoured(apex, chat_model, stop_words, case):
    body = stop_request(chat_model, stop_words, case)
    exchange = apex.call("POST", CHAT, json_body=body)
    if not 200 <= exchange.status < 300:
        pytest.skip(f"stop {body['stop']!r} got HTTP {exchange.status}; CHAT-11/CHAT-23 judge it")
    content = reply_text(exchange)
    if content is None:
        pytest.skip("no reply text to inspect; CHAT-03 judges the shape")
    stops = [body["stop"]] if isinstance(body["stop"], str) else body["stop"]
    found = [stop for stop in stops if stop in content]
    assert not found, (
        f"with stop {body['stop']!r} the reply contains the stop sequence {found[0]!r}: {content!r}"
    )


# Valid requests from the edges of the documented domain: a 4xx is the target's right
# (a max_tokens above the model's limit), a 5xx never is.
LARGE_MAX_TOKENS = (1_000_000, 2**31)
VALID_EDGES = (
    *(f"max_tokens {n}" for n in LARGE_MAX_TOKENS),
    "non-BMP text",
    "non-BMP text as JSON escapes",
    *(f"stop {case}" for case in STOP_CASES),
)


@pytest.mark.requirement("CHAT-23")
@pytest.mark.parametrize("case", VALID_EDGES)
def test_valid_input_no_server_error(apex, chat_model, stop_words, case):
    if case.startswith("stop "):
        exchange = apex.call("POST", CHAT, json_body=stop_request(chat_model, stop_words, case[5:]))
    elif case.startswith("max_tokens "):
        # A reply of a word or two: the request costs little even where the limit is taken.
        body = payloads.chat(chat_model, payloads.SHORT_PROMPT, max_tokens=int(case[11:]))
        exchange = apex.call("POST", CHAT, json_body=body)
    else:
        body = payloads.chat(chat_model, payloads.NON_BMP_PROMPT)
        if case.endswith("escapes"):  # \ud83d\ude42: the same text as a surrogate pair
            exchange = apex.call("POST", CHAT, content=json.dumps(body).encode("ascii"))
        else:
            exchange = apex.call("POST", CHAT, json_body=body)
    assert exchange.status < 500, f"a valid request ({case}) got a server error: {shown(exchange)}"


# Each request a check sends with a field the document does not define is sent here too
# (the same body, so answered from the cache): a 4xx is the target's right, a 5xx is not.
@pytest.mark.requirement("CHAT-22")
@pytest.mark.profile("full")
def test_unknown_field_tolerated(apex, chat_model):
    body = payloads.chat(chat_model, **payloads.UNKNOWN_FIELD)
    exchange = apex.call("POST", CHAT, json_body=body)
    assert exchange.status < 500, (
        f"an unknown request field caused a server error: {shown(exchange)}"
    )


@pytest.mark.requirement("CHAT-22")
def test_stream_options_tolerated(apex, chat_model):
    exchange = apex.stream(CHAT, payloads.include_usage_stream(chat_model))
    status = exchange.status
    assert status < 500, (
        f"stream_options.include_usage, which the document does not define, caused a server "
        f"error: {shown(exchange)}"
    )


# Every answer, not only the fixtures': a target may break a rule on one code path only
# (answers cut by stop, by max_tokens, ...). after_all runs them last, so they see what
# every check received; under xdist, what this worker received.
def chat_answers(apex):
    """Every 2xx non-stream chat completion the client holds, with its JSON body."""
    answers = []
    for exchange in apex.answers():
        if exchange.method != "POST" or not exchange.url.endswith(CHAT):
            continue
        sent = _json(exchange.request_body)
        if not 200 <= exchange.status < 300 or (isinstance(sent, dict) and sent.get("stream")):
            continue
        body = exchange.json_or_none()
        # Non-JSON (CHAT-01, SSE-01) and a 200 carrying an error (ERR-02) are judged elsewhere.
        if isinstance(body, dict) and not ("error" in body and "choices" not in body):
            answers.append((exchange, body))
    if not answers:
        pytest.skip("no chat completion was received to inspect")
    return answers


def judge_every_answer(apex, what, problems_of):
    """Fail naming each answer `problems_of` finds fault with; show them in the transcript."""
    offending = []
    answers = chat_answers(apex)
    for exchange, body in answers:
        problems = problems_of(body)
        if problems:
            offending.append(f"- {_request_line(exchange)}\n    " + "\n    ".join(problems[:5]))
            apex.touched.append(exchange)
    assert not offending, (
        f"{len(offending)} of {len(answers)} chat answers break the rule on {what}:\n"
        + "\n".join(offending[:10])
    )


@pytest.mark.after_all
@pytest.mark.requirement("CHAT-02")
def test_every_answer_identity(apex):
    judge_every_answer(
        apex,
        "id, object and created",
        lambda body: problems_at("ChatCompletion", body, ("$.id", "$.object", "$.created")),
    )


@pytest.mark.after_all
@pytest.mark.requirement("CHAT-03")
def test_every_answer_choices(apex):
    judge_every_answer(
        apex,
        "choices (index, role, string content)",
        lambda body: problems_at(
            "ChatCompletion", body, ("$.choices",), ("$.choices[*].finish_reason",)
        ),
    )


@pytest.mark.after_all
@pytest.mark.requirement("CHAT-06")
def test_every_answer_usage(apex):
    judge_every_answer(
        apex, "usage", lambda body: problems_at("ChatCompletion", body, ("$.usage",))
    )


@pytest.mark.after_all
@pytest.mark.requirement("CHAT-07")
def test_every_answer_usage_total(apex):
    def wrong_total(body):
        usage = body.get("usage")
        fields = ("prompt_tokens", "completion_tokens", "total_tokens")
        if not isinstance(usage, dict) or not all(is_integer(usage.get(f)) for f in fields):
            return []  # CHAT-06 judges missing or non-integer usage
        prompt, completion, total = (usage[f] for f in fields)
        if total == prompt + completion:
            return []
        return [f"total_tokens {total} != prompt_tokens {prompt} + completion_tokens {completion}"]

    judge_every_answer(apex, "total_tokens", wrong_total)


def _json(raw):
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _request_line(exchange):
    """The request in a line: its last message and its parameters (the part that differs)."""
    sent = _json(exchange.request_body)
    if not isinstance(sent, dict):
        return f"{exchange.method} {exchange.url} (body not JSON) -> HTTP {exchange.status}"
    messages = sent.get("messages")
    last = messages[-1] if isinstance(messages, list) and messages else None
    prompt = str(last.get("content") if isinstance(last, dict) else last)
    prompt = prompt if len(prompt) <= 40 else prompt[:40] + "..."
    params = {k: v for k, v in sent.items() if k not in ("model", "messages")}
    shown_params = json.dumps(params, ensure_ascii=False)
    return f"prompt {prompt!r} with {shown_params} -> HTTP {exchange.status}"
