"""Streaming chat completions: framing, chunks, termination, timing, and stream: false."""

from __future__ import annotations

import json

import pytest

from conformance import payloads, schemas
from conformance.checks import json_object, shown

CHAT = "/chat/completions"
FINISH_REASONS = set(schemas.enum("FinishReason"))


@pytest.fixture(scope="module")
def streamed(apex, chat_model):
    """The basic chat request with stream: true, read event by event."""
    return apex.stream(CHAT, payloads.chat(chat_model, stream=True))


def _require_stream(streamed):
    if not 200 <= streamed.status < 300 or streamed.media_type != "text/event-stream":
        pytest.skip("no event stream to inspect; SSE-02 judges it")


@pytest.fixture(scope="module")
def chunks(streamed):
    """The JSON objects the stream carried, in order; skips when framing left none."""
    _require_stream(streamed)
    parsed = []
    for event in streamed.data_events():
        if event.data == "[DONE]":
            continue
        try:
            value = json.loads(event.data)
        except ValueError:
            pytest.skip("events are not JSON; SSE-03 judges it")
        if isinstance(value, dict) and "error" not in value:
            parsed.append(value)
    if not parsed:
        pytest.skip("no chunk objects in the stream; SSE-03 judges it")
    return parsed


def _choices(chunk):
    choices = chunk.get("choices")
    return [c for c in choices if isinstance(c, dict)] if isinstance(choices, list) else []


def streamed_text(chunks, index=0):
    text = []
    for chunk in chunks:
        for choice in _choices(chunk):
            delta = choice.get("delta")
            if choice.get("index", 0) == index and isinstance(delta, dict):
                content = delta.get("content")
                text.append(content if isinstance(content, str) else "")
    return "".join(text)


@pytest.mark.requirement("SSE-01")
@pytest.mark.parametrize("stream", [None, False], ids=["omitted", "false"])
def test_no_stream_gives_json(apex, chat_model, stream):
    extra = {} if stream is None else {"stream": stream}
    exchange = apex.call("POST", CHAT, json_body=payloads.chat(chat_model, **extra))
    assert exchange.media_type != "text/event-stream", (
        f"expected one JSON body, got an event stream: {shown(exchange)}"
    )
    if 200 <= exchange.status < 300:
        json_object(exchange)


@pytest.mark.requirement("SSE-02")
def test_event_stream_content_type(streamed):
    assert streamed.status == 200, f"expected 200 for a streamed request; got {shown(streamed)}"
    assert streamed.media_type == "text/event-stream", (
        f"expected Content-Type text/event-stream; got {streamed.content_type!r}"
    )


@pytest.mark.requirement("SSE-03")
def test_framing_and_json_events(streamed):
    _require_stream(streamed)
    problems = [f"{i.message}" for i in streamed.issues]
    if streamed.broken:
        problems.append(f"the stream broke off: {streamed.broken}")
    events = streamed.data_events()
    if not events and streamed.stalled_after is None:
        problems.append(f"the stream carried no data event ({len(streamed.body)} bytes)")
    for number, event in enumerate(events, 1):
        if event.data == "[DONE]":
            continue
        try:
            value = json.loads(event.data)
        except ValueError as exc:
            problems.append(
                f"event {number} (ending at byte {event.offset}) is not JSON: "
                f"{event.data[:120]!r} ({exc})"
            )
            continue
        if not isinstance(value, dict):
            problems.append(f"event {number} is JSON {type(value).__name__}, expected an object")
    assert not problems, "the event stream is not valid:\n" + "\n".join(problems[:10])


@pytest.mark.requirement("SSE-04")
def test_stream_does_not_stall(streamed, apex_settings):
    _require_stream(streamed)
    assert streamed.stalled_after is None, (
        f"the stream went silent for more than {apex_settings.stream_idle_timeout:g} s "
        f"after {len(streamed.events)} events ({streamed.stalled_after:.1f} s in); "
        "the suite gave up on it"
    )


@pytest.mark.requirement("SSE-05")
def test_chunk_object_and_id(chunks):
    objects = {c.get("object") for c in chunks}
    ids = {c.get("id") for c in chunks}
    assert objects == {"chat.completion.chunk"}, (
        f'expected every chunk object "chat.completion.chunk"; got {objects}'
    )
    assert len(ids) == 1 and isinstance(next(iter(ids)), str), (
        f"expected one id on every chunk; got {sorted(map(str, ids))[:5]}"
    )


@pytest.mark.requirement("SSE-06")
def test_role_first(chunks):
    first = next((c for c in chunks if _choices(c)), None)
    assert first is not None, "no chunk carries choices"
    delta = _choices(first)[0].get("delta") or {}
    assert delta.get("role") == "assistant", (
        f'expected the first delta to carry role "assistant"; got {delta!r}'
    )


@pytest.mark.requirement("SSE-07")
def test_one_finish_reason(chunks):
    finished: dict[int, int] = {}
    problems = []
    for position, chunk in enumerate(chunks):
        for choice in _choices(chunk):
            index = choice.get("index", 0)
            delta = choice.get("delta") or {}
            if index in finished and isinstance(delta, dict) and delta.get("content"):
                problems.append(f"chunk {position} carries content after choice {index} finished")
            reason = choice.get("finish_reason")
            if reason is not None:
                if reason not in FINISH_REASONS:
                    problems.append(
                        f"chunk {position}: finish_reason {reason!r} is not one of "
                        f"{sorted(FINISH_REASONS)}"
                    )
                if index in finished:
                    problems.append(
                        f"choice {index} has a second finish_reason "
                        f"(chunks {finished[index]} and {position})"
                    )
                finished.setdefault(index, position)
    if not finished:
        problems.append("no chunk carries a finish_reason")
    assert not problems, "\n".join(problems[:10])


@pytest.mark.requirement("SSE-08")
def test_done_last(streamed):
    _require_stream(streamed)
    events = streamed.data_events()
    data = [e.data for e in events]
    assert "[DONE]" in data, f"the stream never sent data: [DONE] ({len(data)} data events)"
    assert data[-1] == "[DONE]", f"events follow [DONE]: {data[data.index('[DONE]') + 1 :][:3]}"


@pytest.mark.requirement("SSE-09")
def test_streamed_text_like_reply(apex, chat_model, chunks):
    reply = apex.call("POST", CHAT, json_body=payloads.chat(chat_model))
    body = reply.json_or_none() if 200 <= reply.status < 300 else None
    try:
        content = body["choices"][0]["message"]["content"]
    except (TypeError, KeyError, IndexError):
        pytest.skip("no non-stream reply to compare with; CHAT-03 judges it")
    text = streamed_text(chunks)
    if isinstance(content, str) and content:
        assert text, (
            f"the streamed text is empty; the same request without stream gave {content[:80]!r}"
        )


@pytest.mark.requirement("SSE-10")
def test_invalid_stream_request_gets_json(apex, chat_model):
    body = payloads.chat(chat_model, stream=True, temperature=5)
    exchange = apex.call("POST", CHAT, json_body=body)
    assert 400 <= exchange.status < 500, f"expected a 4xx for temperature 5; got {shown(exchange)}"
    assert exchange.media_type != "text/event-stream", (
        f"the rejection came as an event stream, expected a JSON error body: {shown(exchange)}"
    )
    json_object(exchange)


@pytest.mark.requirement("SSE-11")
def test_stream_timing(streamed, observe):
    first = "-" if streamed.first_event_after is None else f"{streamed.first_event_after:.3f} s"
    observe(
        f"{len(streamed.events)} events; first after {first}, all after {streamed.elapsed:.3f} s"
    )
