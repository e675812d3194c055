"""What each field of an answer means, checked on every answer the run received.

A field can have the right type and the wrong meaning: completion_tokens above max_tokens,
a stop sequence in the reply, created in milliseconds. Each invariant below is one field's
meaning as the document states (MUST) or implies (SHOULD), judged on every chat answer,
JSON and streamed, of every check: each model, each parameter combination, the answers
sent ahead under concurrent load and the later ones on kept-alive connections. The paths
no other check is sure to take are sent first (`paths`), so every path is always judged.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from conformance.contract.cases import CHAT, IMAGES
from conformance.contract.streams import choices_of, chunks_of, int_usage, text_pieces, usages_of
from conformance.spec import payloads
from conformance.spec.schemas import enum, is_integer
from conformance.transport.exchange import StreamExchange

# An answer's created is the time it was made: a day either way allows any clock skew.
CREATED_SLACK = 86_400
FINISH_REASONS = enum("FinishReason")
# Paths of a chat answer no other check is sure to take: streamed and JSON, short and long
# replies; each sent twice with another prompt, so the later one rides a kept-alive connection.
PATHS = {
    f"{mode} {length} {turn}": {
        "stream": mode == "stream",
        "prompt": (payloads.SHORT_PROMPT if length == "short" else payloads.COUNT_PROMPT)
        + ("" if turn == "first" else " Thanks."),
    }
    for mode in ("json", "stream")
    for length in ("short", "long")
    for turn in ("first", "again")
}


def _json(raw):
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def chat_answers(apex, model):
    """(request body, kind, objects) of every 2xx chat answer for `model`: its body, or its
    stream chunks. Per model: under --models each model's check judges its own answers."""
    found = []
    for exchange in apex.answers():
        sent = _json(exchange.request_body)
        if exchange.method != "POST" or not exchange.url.endswith(CHAT):
            continue
        if exchange.requested_model != model:
            continue
        if not 200 <= exchange.status < 300 or not isinstance(sent, dict):
            continue
        if isinstance(exchange, StreamExchange):
            found.append((exchange, sent, "stream", chunks_of(exchange)))
            continue
        body = exchange.json_or_none()
        if isinstance(body, dict) and "choices" in body and not sent.get("stream"):
            found.append((exchange, sent, "json", [body]))
    return found


def judge(apex, model, what, problems_of):
    """Fail naming every answer `problems_of(sent, kind, objects)` finds fault with."""
    answers = chat_answers(apex, model)
    if not answers:
        pytest.skip("no chat answer was received to inspect")
    offending = []
    for exchange, sent, kind, objects in answers:
        problems = problems_of(sent, kind, objects)
        if problems:
            params = {k: v for k, v in sent.items() if k not in ("model", "messages")}
            offending.append(f"- {kind} answer to {json.dumps(params)}: " + "; ".join(problems[:3]))
            apex.touched.append(exchange)
    assert not offending, (
        f"{len(offending)} of {len(answers)} chat answers break the meaning of {what}:\n"
        + "\n".join(offending[:10])
    )


@pytest.fixture(scope="module")
def paths(apex, chat_model):
    """Send the chat paths of PATHS (the answers join every other check's); the model whose
    answers the checks judge."""
    for path in PATHS.values():
        body = payloads.chat(chat_model, path["prompt"])
        if path["stream"]:
            apex.stream(CHAT, {**body, "stream": True})
        else:
            apex.call("POST", CHAT, json_body=body)
    return chat_model


def _choices(kind, objects):
    return [c for o in objects for c in choices_of(o)]


def _content(kind, objects):
    if kind == "stream":
        return "".join(text_pieces(objects))
    message = (_choices(kind, objects) or [{}])[0].get("message")
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, str) else ""


def _usages(kind, objects):
    return usages_of(objects) if kind == "stream" else [o.get("usage") for o in objects]


@pytest.mark.after_all
@pytest.mark.family("invariant")
@pytest.mark.requirement("CHAT-08")
def test_every_answer_within_max_tokens(apex, paths):
    def over(sent, kind, objects):
        limit = sent.get("max_tokens")
        if not is_integer(limit) or limit < 1:
            return []  # an invalid max_tokens: its rejection is judged elsewhere
        used = [u["completion_tokens"] for u in _usages(kind, objects) if int_usage(u)]
        return [f"completion_tokens {n} > max_tokens {limit}" for n in used if n > limit]

    judge(apex, paths, "max_tokens (completion_tokens never above it)", over)


@pytest.mark.after_all
@pytest.mark.family("invariant")
@pytest.mark.requirement("CHAT-21")
def test_every_answer_without_stop(apex, paths):
    def contains(sent, kind, objects):
        stop = sent.get("stop")
        stops = [stop] if isinstance(stop, str) else stop if isinstance(stop, list) else []
        text = _content(kind, objects)
        return [f"the reply contains the stop sequence {s!r}" for s in stops if s and s in text]

    judge(apex, paths, "stop (the reply holds none of its sequences)", contains)


@pytest.mark.after_all
@pytest.mark.family("invariant")
@pytest.mark.requirement("CHAT-04")
def test_every_answer_finish_reason(apex, paths):
    def unknown(sent, kind, objects):
        reasons = [c.get("finish_reason") for c in _choices(kind, objects)]
        # A chunk's finish_reason is null until the last; an answer's never is.
        return [
            f"finish_reason {r!r} is none of {', '.join(FINISH_REASONS)}"
            for r in reasons
            if r not in FINISH_REASONS and not (kind == "stream" and r is None)
        ]

    judge(apex, paths, "finish_reason", unknown)


@pytest.mark.after_all
@pytest.mark.family("invariant")
@pytest.mark.requirement("CHAT-05")
def test_every_answer_model_echoed(apex, paths):
    def other(sent, kind, objects):
        asked = sent.get("model")
        if not isinstance(asked, str):
            return []
        pattern = re.compile(rf"^{re.escape(asked)}([-:@.].+)?$")  # a dated suffix is the same
        # A chunk may leave model out (null is "not given"); a JSON answer names it.
        echoed = {o.get("model") for o in objects if kind == "json" or o.get("model") is not None}
        return [
            f"model {m!r}, not the requested {asked!r}"
            for m in echoed
            if not (isinstance(m, str) and pattern.match(m))
        ]

    judge(apex, paths, "model (the requested one)", other)


@pytest.mark.after_all
@pytest.mark.family("invariant")
@pytest.mark.requirement("CHAT-27")
def test_every_answer_created_recent(apex, paths):
    now = time.time()

    def implausible(sent, kind, objects):
        stamps = {o.get("created") for o in objects}
        return [
            f"created {c!r} is not a Unix time in seconds near now ({int(now)})"
            for c in stamps
            if is_integer(c) and abs(c - now) > CREATED_SLACK
        ]

    judge(apex, paths, "created (the Unix time of the answer)", implausible)


@pytest.mark.after_all
@pytest.mark.family("invariant")
@pytest.mark.requirement("CHAT-07")
def test_every_stream_usage_total(apex, paths):
    def wrong(sent, kind, objects):
        if kind != "stream":
            return []  # CHAT-07/every-answer-usage-total judges the JSON answers
        return [
            f"total_tokens {u['total_tokens']} != {u['prompt_tokens']} + {u['completion_tokens']}"
            for u in usages_of(objects)
            if int_usage(u) and u["total_tokens"] != u["prompt_tokens"] + u["completion_tokens"]
        ]

    judge(apex, paths, "a stream's usage (total = prompt + completion)", wrong)


@pytest.mark.after_all
@pytest.mark.family("invariant")
@pytest.mark.requirement("IMG-02")
def test_every_image_answer_count(apex):
    offending, judged = [], 0
    for exchange in apex.answers():
        sent = _json(exchange.request_body)
        if exchange.method != "POST" or not exchange.url.endswith(IMAGES):
            continue
        body = exchange.json_or_none() if 200 <= exchange.status < 300 else None
        if not isinstance(sent, dict) or not isinstance(body, dict):
            continue
        n = sent.get("n", 1)
        data = body.get("data")
        if not is_integer(n) or not isinstance(data, list):
            continue  # an invalid n, or no data array: judged elsewhere
        judged += 1
        if len(data) != n:
            offending.append(f"- n {n} -> {len(data)} images ({json.dumps(sent)[:120]})")
            apex.touched.append(exchange)
    if not judged:
        pytest.skip("no image answer was received to inspect")
    assert not offending, (
        f"{len(offending)} of {judged} image answers hold another number of images than n:\n"
        + "\n".join(offending[:10])
    )
