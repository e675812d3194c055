"""The deterministic chat model: an echo plus filler, cut by stop sequences and max_tokens.

One tokenizer serves prompt counts, completion counts, truncation and streaming, so
usage arithmetic is exact everywhere.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from conformance.reference.errors import InjectedCrash, invalid
from conformance.reference.faults import Faults
from conformance.reference.validation import ChatRequest

# Long enough (44 tokens) that max_tokens 16 always truncates, whatever the user wrote.
FILLER = (
    "This reply comes from the ApexApi reference server, which answers every request "
    "deterministically: it repeats the last user message and then adds this fixed text, "
    "long enough that a small max_tokens limit always cuts it short before the end."
)
# The one answer of a canned bot (chat-ignore-stop-fixed-reply): shorter than any max_tokens.
FIXED_REPLY = "Hello! How can I help you today?"
PER_MESSAGE_TOKENS = 3  # framing overhead per message, as OpenAI counts it
LARGE_MAX_TOKENS = 100_000  # above it, chat-500-large-max-tokens crashes
_TOKEN = re.compile(r"\S+")
_PIECE = re.compile(r"\s*\S+")
FINISH_REASONS = ("stop", "length", "tool_calls", "content_filter", "function_call")


@dataclass(frozen=True)
class Completion:
    """What the model produced for one request."""

    id: str
    created: int
    content: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int


def tokenize(text: str) -> list[str]:
    """The server's tokens: whitespace-separated words."""
    return _TOKEN.findall(text)


def pieces(content: str) -> list[str]:
    """`content` split into one piece per token (with its leading space); they join to it."""
    parts = _PIECE.findall(content)
    tail = content[len("".join(parts)) :]  # whitespace after the last token
    if tail:
        parts = [*parts[:-1], parts[-1] + tail] if parts else [tail]
    return parts


def reply_text(request: ChatRequest) -> str:
    """The whole, uncut reply: "Echo: " + the last user message + the filler."""
    user = [m.text for m in request.messages if m.role == "user"]
    return f"Echo: {user[-1] if user else ''} {FILLER}"


def complete(request: ChatRequest, faults: Faults) -> Completion:
    """Run the model: cut at the first stop sequence, then at max_tokens."""
    _crash_or_refuse(request, faults)
    content, finish = reply_text(request), "stop"
    if "chat-ignore-stop-fixed-reply" in faults:
        content = FIXED_REPLY
    stops = _applied_stops(request.stop, faults)
    cuts = [i for s in stops if s and (i := content.find(s)) >= 0]
    if cuts:
        content = content[: min(cuts)]  # the earliest start, so no stop survives whole
    limit = None if "chat-ignore-max-tokens" in faults else request.max_tokens
    if limit is not None and len(tokenize(content)) > limit:
        content = _first_tokens(content, max(limit, 0))
        finish = "stop" if "chat-stop-on-length" in faults else "length"
    if "chat-bad-finish-reason" in faults:
        finish = "done"
    prefix = "gen-" if "variant-freedoms" in faults else "chatcmpl-"
    return Completion(
        id=prefix + uuid.uuid4().hex[:24],
        created=int(time.time()),
        content=content,
        finish_reason=finish,
        prompt_tokens=sum(len(tokenize(m.text)) + PER_MESSAGE_TOKENS for m in request.messages),
        completion_tokens=len(tokenize(content)),
    )


def _crash_or_refuse(request: ChatRequest, faults: Faults) -> None:
    """The faults that fail a valid request outright: a 500, or a 400 for a legal stop array."""
    stops, limit = request.stop, request.max_tokens
    crash = (
        ("chat-500-large-max-tokens" in faults and limit is not None and limit > LARGE_MAX_TOKENS)
        or ("chat-500-non-bmp" in faults and any(_non_bmp(m.text) for m in request.messages))
        or ("chat-500-stop" in faults and bool(stops))
        or ("chat-500-whitespace-stop" in faults and any(not s.strip() for s in stops))
    )
    if crash:
        raise InjectedCrash("a chat fault crashed on a valid request")
    if "chat-one-stop-only" in faults and len(stops) > 1:
        raise invalid("stop", "Only one stop sequence is supported.", "unsupported_value")


def _applied_stops(stops: tuple[str, ...], faults: Faults) -> tuple[str, ...]:
    """The stop sequences the model honours: all of them, unless a fault drops some."""
    if "chat-ignore-stop" in faults or "chat-ignore-stop-fixed-reply" in faults:
        return ()
    if "chat-stop-first-only" in faults:
        return stops[:1]
    if "chat-stop-last-only" in faults:
        return stops[-1:]
    if "chat-stop-ascii-only" in faults:
        return tuple(s for s in stops if s.isascii())
    if "chat-stop-strip" in faults:
        return tuple(s.strip() for s in stops)  # a whitespace stop becomes "" and cuts nothing
    return stops


def _non_bmp(text: str) -> bool:
    return any(ord(char) > 0xFFFF for char in text)


def usage(completion: Completion, faults: Faults) -> dict[str, int]:
    """The usage object; total is prompt + completion (off by one under chat-wrong-total)."""
    total = completion.prompt_tokens + completion.completion_tokens
    if "chat-wrong-total" in faults:
        total += 1
    return {
        "prompt_tokens": completion.prompt_tokens,
        "completion_tokens": completion.completion_tokens,
        "total_tokens": total,
    }


def completion_body(request: ChatRequest, completion: Completion, faults: Faults) -> dict[str, Any]:
    """The non-stream chat.completion object."""
    model: str | None = request.model
    if "chat-model-mismatch" in faults:
        # Not a dated suffix of the request: a plainly different model.
        model = "openai/gpt-3.5-turbo" if model != "openai/gpt-3.5-turbo" else "openai/gpt-4o"
    if "chat-model-null" in faults:
        model = None
    cut = completion.finish_reason == "length"
    message: dict[str, Any] = {
        "role": "user" if "chat-user-role" in faults else "assistant",
        "content": None if cut and "chat-length-content-null" in faults else completion.content,
    }
    # The "-on-stop" faults break one code path only: answers to requests that carry stop.
    stop_path = bool(request.stop)
    float_created = stop_path and "chat-created-float-on-stop" in faults
    body: dict[str, Any] = {
        "id": completion.id,
        "object": "chat.completions" if "chat-wrong-object" in faults else "chat.completion",
        "created": time.time() if float_created else completion.created,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": completion.finish_reason}],
    }
    if "chat-no-usage" not in faults and not (stop_path and "chat-no-usage-on-stop" in faults):
        body["usage"] = usage(completion, faults)
        if stop_path and "chat-wrong-total-on-stop" in faults:
            body["usage"]["total_tokens"] += 1
    if "chat-not-a-completion" in faults:
        # A bare text answer in place of choices: not a chat completion object.
        body["output"] = body.pop("choices")[0]["message"]["content"]
    if "variant-freedoms" in faults:
        body["system_fingerprint"] = "fp_reference"
        body["provider"] = "reference"
        body["choices"][0]["logprobs"] = None
        body["choices"][0]["native_finish_reason"] = completion.finish_reason
        message["refusal"] = None
        if "usage" in body:
            body["usage"]["cost"] = 0.0
    return body


def _first_tokens(text: str, count: int) -> str:
    """`text` up to the end of its `count`-th token, spacing kept."""
    if count == 0:
        return ""
    return text[: list(_TOKEN.finditer(text))[count - 1].end()]
