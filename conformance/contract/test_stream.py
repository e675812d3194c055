"""Streaming chat completions: framing, chunks, termination, usage, max_tokens, stop, deltas.

A stream obeys every rule the JSON answer obeys. The chunk rules are judged on every stream
this module receives (a plain one, one cut by max_tokens, the stop streams), so a rule that
one code path of the target keeps and another breaks still shows.
"""

from __future__ import annotations

import json

import pytest

from conformance.contract.assertions import (
    json_object,
    reply_text,
    shown,
    took,
    undocumented_taken,
)
from conformance.contract.streams import (
    USAGE_FIELDS,
    choices_of,
    chunks_of,
    cut_by_max_tokens,
    delta_defect,
    finish_reasons,
    int_usage,
    is_event_stream,
    objects_of,
    stream_stop,
    text_pieces,
    usages_of,
)
from conformance.spec import payloads, schemas
from conformance.spec.schemas import is_integer

CHAT = "/chat/completions"
FINISH_REASONS = set(schemas.enum("FinishReason"))
# No mainstream tokenizer makes one token of two whitespace-separated words (BPE splits on
# whitespace first, SentencePiece too by default), so a reply has no more words than tokens.
# The factor leaves room for tokenizers with multi-word tokens: a reply fails on its words
# alone only far past the limit; usage.completion_tokens judges the rest.
WORDS_PER_TOKEN = 2
STOP_FORMS = ("string", "array")


def counting_body(chat_model, **extra):
    """test_chat.py's counting request (cut by max_tokens 16), with `extra` fields."""
    return payloads.chat(chat_model, payloads.COUNT_PROMPT, temperature=0, **extra)


@pytest.fixture(scope="module")
def streamed(apex, chat_model):
    """The basic chat request with stream: true, read event by event."""
    return apex.stream(CHAT, payloads.chat(chat_model, stream=True))


@pytest.fixture(scope="module")
def counting_stream(apex, chat_model):
    """The counting request streamed with include_usage: a reply cut by max_tokens, and usage."""
    exchange = apex.stream(CHAT, payloads.include_usage_stream(chat_model))
    if not took(exchange):
        # stream_options is OpenAI's, not the document's, and a target may refuse it: the
        # chunk rules and max_tokens are judged on the stream without it.
        exchange = apex.stream(CHAT, counting_body(chat_model, stream=True))
    return exchange


@pytest.fixture(scope="module")
def stop_baseline(apex, chat_model):
    """The stop request of test_chat.py streamed without stop: its reply supplies the stop."""
    return apex.stream(CHAT, {**payloads.stop_baseline(chat_model), "stream": True})


@pytest.fixture(scope="module")
def stop_sequence(stop_baseline):
    """A stop sequence from the baseline stream's own text (None when it has none)."""
    if not is_event_stream(stop_baseline):
        return None
    return stream_stop(text_pieces(chunks_of(stop_baseline)))


def stop_request(chat_model, form, stop):
    value = stop if form == "string" else [*payloads.STOP_DECOYS, stop]
    return {**payloads.stop_baseline(chat_model), "stream": True, "stop": value}


@pytest.fixture(scope="module")
def streams(apex, chat_model, streamed, counting_stream, stop_baseline, stop_sequence):
    """Every event stream of this module by label: the chunk rules hold in each."""
    found = {"basic": streamed, "counting": counting_stream, "stop baseline": stop_baseline}
    if stop_sequence is not None:
        for form in STOP_FORMS:
            body = stop_request(chat_model, form, stop_sequence)
            found[f"stop {form}"] = apex.stream(CHAT, body)
    return {label: exchange for label, exchange in found.items() if is_event_stream(exchange)}


def judge_each(streams, judge):
    """Run `judge(exchange)` (a list of problems) on every stream; skip when there is none."""
    if not streams:
        pytest.skip("no event stream to inspect; SSE-02 judges it")
    problems = [f"{label} stream: {p}" for label, ex in streams.items() for p in judge(ex)]
    assert not problems, "\n".join(problems[:10])


# --- the checks -----------------------------------------------------------------------------
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


def _framing(exchange):
    problems = [issue.message for issue in exchange.issues]
    if exchange.broken:
        problems.append(f"the stream broke off: {exchange.broken}")
    events = exchange.data_events()
    if not events and exchange.stalled_after is None:
        problems.append(f"the stream carried no data event ({len(exchange.body)} bytes)")
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
    return problems


@pytest.mark.requirement("SSE-03")
def test_framing_and_json_events(streams):
    judge_each(streams, _framing)


@pytest.mark.requirement("SSE-04")
def test_stream_does_not_stall(streams, apex_settings):
    idle = apex_settings.stream_idle_timeout

    def judge(exchange):
        if exchange.stalled_after is None:
            return []
        return [
            f"went silent for more than {idle:g} s after {len(exchange.events)} events "
            f"({exchange.stalled_after:.1f} s in); the suite gave up on it"
        ]

    judge_each(streams, judge)


@pytest.mark.requirement("SSE-05")
def test_chunk_object(streams):
    def judge(exchange):
        kinds = {c.get("object") for c in chunks_of(exchange)}
        if kinds <= {"chat.completion.chunk"}:
            return []
        return [
            f'expected every chunk object "chat.completion.chunk"; got {sorted(map(str, kinds))}'
        ]

    judge_each(streams, judge)


@pytest.mark.requirement("SSE-05")
def test_chunk_ids_agree(streams):
    def judge(exchange):
        ids = [c.get("id") for c in chunks_of(exchange)]
        if not ids or (isinstance(ids[0], str) and ids[0] and set(ids) == {ids[0]}):
            return []
        odd = [f"chunk {n}: {i!r}" for n, i in enumerate(ids) if i != ids[0]]
        return [f"expected one id on every chunk, {ids[0]!r} first; then {', '.join(odd[:3])}"]

    judge_each(streams, judge)


@pytest.mark.requirement("SSE-06")
def test_role_first(streams):
    def judge(exchange):
        first = next((c for c in chunks_of(exchange) if choices_of(c)), None)
        if first is None:
            return ["no chunk carries choices"]
        delta = choices_of(first)[0].get("delta") or {}
        if isinstance(delta, dict) and delta.get("role") == "assistant":
            return []
        return [f'expected the first delta to carry role "assistant"; got {delta!r}']

    judge_each(streams, judge)


@pytest.mark.requirement("SSE-07")
def test_one_finish_reason(streams):
    def judge(exchange):
        finished: dict[object, int] = {}
        problems = []
        for position, chunk in enumerate(chunks_of(exchange)):
            for choice in choices_of(chunk):
                index, reason = choice.get("index", 0), choice.get("finish_reason")
                if reason is None:
                    continue
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
        return problems if finished else [*problems, "no chunk carries a finish_reason"]

    judge_each(streams, judge)


@pytest.mark.requirement("SSE-07")
def test_no_content_after_finish(streams):
    def judge(exchange):
        finished: set[object] = set()
        problems = []
        for position, chunk in enumerate(chunks_of(exchange)):
            for choice in choices_of(chunk):
                index, delta = choice.get("index", 0), choice.get("delta")
                if index in finished and isinstance(delta, dict) and delta.get("content"):
                    problems.append(
                        f"chunk {position} carries content {delta['content'][:40]!r} "
                        f"after choice {index} finished"
                    )
                if choice.get("finish_reason") is not None:
                    finished.add(index)
        return problems

    judge_each(streams, judge)


@pytest.mark.requirement("SSE-08")
def test_done_sent(streams):
    def judge(exchange):
        data = [e.data for e in exchange.data_events()]
        return [] if "[DONE]" in data else [f"never sent data: [DONE] ({len(data)} data events)"]

    judge_each(streams, judge)


@pytest.mark.requirement("SSE-08")
def test_nothing_after_done(streams):
    def judge(exchange):
        data = [e.data for e in exchange.data_events()]
        after = data[data.index("[DONE]") + 1 :] if "[DONE]" in data else []
        if not after:
            return []
        # Clients stop reading at [DONE]: whatever follows is lost to them.
        return [f"{len(after)} events follow [DONE], first {after[0][:120]!r}"]

    judge_each(streams, judge)


@pytest.mark.requirement("SSE-09")
def test_streamed_text_like_reply(apex, chat_model, streamed):
    if not is_event_stream(streamed):
        pytest.skip("no event stream to inspect; SSE-02 judges it")
    reply = apex.call("POST", CHAT, json_body=payloads.chat(chat_model))
    content = reply_text(reply)
    if content is None:
        pytest.skip("no non-stream reply to compare with; CHAT-03 judges it")
    if content:
        assert text_pieces(chunks_of(streamed)), (
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


@pytest.mark.requirement("SSE-12")
def test_no_error_event(streams):
    def judge(exchange):
        errors = [o["error"] for o in objects_of(exchange) if o.get("error") is not None]
        if not errors:
            return []
        # Accepted with 200, then failed: the status promised an answer the stream withdrew.
        return [f"a 200 stream carries an error event: {json.dumps(errors[0])[:200]}"]

    judge_each(streams, judge)


@pytest.mark.requirement("SSE-13")
def test_usage_chunk_sent(apex, chat_model, observe):
    exchange = apex.stream(CHAT, payloads.include_usage_stream(chat_model))
    undocumented_taken(exchange, "stream_options.include_usage")
    if not is_event_stream(exchange):
        pytest.skip("no event stream to inspect; SSE-02 judges it")
    if usages_of(chunks_of(exchange)):
        observe("stream_options.include_usage honoured: a chunk carries the usage")
    else:
        observe("stream_options.include_usage taken and ignored: no chunk carries usage")


def _usage_fields(exchange):
    problems = []
    for usage in usages_of(chunks_of(exchange)):
        if not isinstance(usage, dict):
            problems.append(f"usage is {usage!r}, expected an object")
            continue
        wrong = {
            f: usage.get(f) for f in USAGE_FIELDS if not is_integer(usage.get(f)) or usage[f] < 0
        }
        if wrong:
            problems.append(f"usage fields are not non-negative integers: {wrong}")
    return problems


@pytest.mark.requirement("CHAT-06")
def test_stream_usage_fields(streams):
    if not any(usages_of(chunks_of(ex)) for ex in streams.values()):
        pytest.skip("no stream carried usage; SSE-13 judges the usage chunk")
    judge_each(streams, _usage_fields)


@pytest.mark.requirement("CHAT-07")
def test_stream_usage_total(streams):
    def judge(exchange):
        problems = []
        for usage in filter(int_usage, usages_of(chunks_of(exchange))):
            expected = usage["prompt_tokens"] + usage["completion_tokens"]
            if usage["total_tokens"] != expected:
                problems.append(
                    f"total_tokens is {usage['total_tokens']}, expected prompt_tokens + "
                    f"completion_tokens = {usage['prompt_tokens']} + "
                    f"{usage['completion_tokens']} = {expected}"
                )
        return problems

    if not any(filter(int_usage, usages_of(chunks_of(ex))) for ex in streams.values()):
        pytest.skip("no stream carried integer usage; CHAT-06 and SSE-13 judge it")
    judge_each(streams, judge)


@pytest.mark.requirement("CHAT-08")
def test_stream_max_tokens_honoured(streams):
    limit = payloads.MAX_TOKENS

    def judge(exchange):
        chunks = chunks_of(exchange)
        problems = []
        counted = [u["completion_tokens"] for u in usages_of(chunks) if int_usage(u)]
        if counted and counted[-1] > limit:
            problems.append(f"usage.completion_tokens is {counted[-1]} with max_tokens {limit}")
        words = len("".join(text_pieces(chunks)).split())
        if words > WORDS_PER_TOKEN * limit:
            problems.append(
                f"the streamed text has {words} words with max_tokens {limit} (a word is "
                "at least one token)"
            )
        return problems

    judge_each(streams, judge)


@pytest.mark.requirement("CHAT-21")
@pytest.mark.parametrize("form", STOP_FORMS)
def test_stream_stop_honoured(apex, chat_model, stop_sequence, form):
    if stop_sequence is None:
        pytest.skip("the streamed reply without stop offers no stop sequence; SSE-09 judges it")
    body = stop_request(chat_model, form, stop_sequence)
    exchange = apex.stream(CHAT, body)
    if not is_event_stream(exchange):
        pytest.skip(f"no event stream with stop to inspect ({shown(exchange)}); CHAT-11 judges it")
    text = "".join(text_pieces(chunks_of(exchange)))
    stops = body["stop"] if isinstance(body["stop"], list) else [body["stop"]]
    found = [s for s in stops if s in text]
    assert not found, f"the streamed reply with stop {body['stop']!r} contains {found}: {text!r}"


@pytest.mark.requirement("SSE-14")
def test_deltas_not_repeated_or_dropped(apex, chat_model, counting_stream):
    # A real LLM is not deterministic, not even at temperature 0, so the streamed text is
    # compared with the non-stream reply only when two non-stream answers to the same request
    # agree, both replies used all of max_tokens (so neither can be one token longer), and
    # the difference is exactly a repeated or a dropped delta (delta_defect).
    if not is_event_stream(counting_stream):
        pytest.skip("no event stream to inspect; SSE-02 judges it")
    chunks = chunks_of(counting_stream)
    ended = finish_reasons(chunks) and not counting_stream.broken
    if not ended or counting_stream.stalled_after is not None:
        pytest.skip("the stream did not end normally; SSE-04, SSE-07 and SSE-12 judge it")
    first = apex.call("POST", CHAT, json_body=counting_body(chat_model))
    reply = reply_text(first)
    if reply is None:
        pytest.skip("no non-stream reply to compare with; CHAT-03 judges it")
    again = reply_text(apex.call("POST", CHAT, json_body=counting_body(chat_model, stream=False)))
    if again != reply:
        pytest.skip("two non-stream answers to the same request differ: nothing fixed to compare")
    body = first.json_or_none()
    stream_usage = next(iter(usages_of(chunks)[-1:]), None)
    reply_cut = cut_by_max_tokens([body["choices"][0].get("finish_reason")], body.get("usage"))
    if not (reply_cut and cut_by_max_tokens(finish_reasons(chunks), stream_usage)):
        pytest.skip("a reply ended before max_tokens, so a shorter or longer one may be legal")
    defect = delta_defect(text_pieces(chunks), reply)
    assert defect is None, (
        f"{defect}; otherwise the streamed text is exactly the non-stream reply {reply!r}"
    )
