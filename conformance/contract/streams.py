"""Reading chat completion streams, and the judgements test_stream.py makes on them."""

from __future__ import annotations

import json
from itertools import accumulate

from conformance.spec import payloads
from conformance.spec.schemas import is_integer

USAGE_FIELDS = ("prompt_tokens", "completion_tokens", "total_tokens")


def is_event_stream(exchange):
    return 200 <= exchange.status < 300 and exchange.media_type == "text/event-stream"


def objects_of(exchange):
    """The JSON objects of the data events, in order ([DONE] and non-JSON left out)."""
    found = []
    for event in exchange.data_events():
        try:
            value = json.loads(event.data)
        except ValueError:
            continue
        if isinstance(value, dict):
            found.append(value)
    return found


def chunks_of(exchange):
    """The chunk objects: every JSON object but error events (SSE-12 judges those)."""
    return [o for o in objects_of(exchange) if o.get("error") is None]


def choices_of(chunk):
    choices = chunk.get("choices")
    return [c for c in choices if isinstance(c, dict)] if isinstance(choices, list) else []


def text_pieces(chunks, index=0):
    """The non-empty content deltas of choice `index`, in order."""
    found = []
    for chunk in chunks:
        for choice in choices_of(chunk):
            delta = choice.get("delta")
            if choice.get("index", 0) == index and isinstance(delta, dict):
                content = delta.get("content")
                if isinstance(content, str) and content:
                    found.append(content)
    return found


def usages_of(chunks):
    """Every usage a stream carried (null is OpenAI's "not on this chunk")."""
    return [c["usage"] for c in chunks if c.get("usage") is not None]


def int_usage(usage):
    return isinstance(usage, dict) and all(is_integer(usage.get(f)) for f in USAGE_FIELDS)


def finish_reasons(chunks):
    return [
        c.get("finish_reason") for ch in chunks for c in choices_of(ch) if c.get("finish_reason")
    ]


def stream_stop(pieces):
    """A stop sequence taken from the streamed reply, split across two deltas if it can be.

    A server that looks for stop sequences in each delta alone misses one that spans two;
    one taken from the target's own reply shows whether stop is honoured on any target.
    Boundaries nearest the middle first; at least one character from each delta, no
    surrounding whitespace, not at the start of the reply (that would leave nothing).
    """
    text = "".join(pieces)
    bounds = list(accumulate(len(p) for p in pieces))[:-1]
    middle = (len(bounds) - 1) / 2
    for number in sorted(range(len(bounds)), key=lambda i: abs(i - middle)):
        candidate = pieces[number][-2:] + pieces[number + 1][:2]
        plain = candidate == candidate.strip() and candidate.isprintable()
        if plain and any(c.isalnum() for c in candidate) and text.find(candidate) > 0:
            return candidate
    return payloads.stop_word(text)


def cut_by_max_tokens(reasons, usage):
    """Whether a reply used all of max_tokens: finish_reason "length", or the tokens say so."""
    tokens = usage.get("completion_tokens") if isinstance(usage, dict) else None
    return "length" in reasons or (is_integer(tokens) and tokens >= payloads.MAX_TOKENS)


def delta_defect(pieces, reply):
    """How the streamed deltas differ from `reply` by a repeated or a dropped delta, or None.

    Only these two shapes are named: a run of whole deltas that repeats the text just before
    it, deltas equal to their predecessor, or text missing at a delta boundary, with the rest
    equal to the reply on both sides. Any other difference is not taken for a delta fault.
    """
    text = "".join(pieces)
    bounds = sorted(set(accumulate((len(p) for p in pieces), initial=0)))
    if len(text) > len(reply):
        extra = len(text) - len(reply)
        for start in bounds:
            run = text[start : start + extra]
            if (
                start + extra in bounds
                and run.strip()
                and text[:start].endswith(run)
                and text[:start] + text[start + extra :] == reply
            ):
                return f"the stream repeats {run!r} at character {start}"
        kept = [p for n, p in enumerate(pieces) if n == 0 or p != pieces[n - 1] or not p.strip()]
        if "".join(kept) == reply:
            return f"{len(pieces) - len(kept)} deltas repeat the delta before them"
        return None
    missing = len(reply) - len(text)
    for start in bounds:
        gap = reply[start : start + missing]
        if (
            gap.strip()
            and reply[:start] == text[:start]
            and reply[start + missing :] == text[start:]
        ):
            return f"{gap!r} is missing from the stream at character {start}, between two deltas"
    return None
