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

from conformance.reference.faults import Faults
from conformance.reference.validation import ChatRequest

# Long enough (44 tokens) that max_tokens 16 always truncates, whatever the user wrote.
FILLER = (
    "This reply comes from the ApexApi reference server, which answers every request "
    "deterministically: it repeats the last user message and then adds this fixed text, "
    "long enough that a small max_tokens limit always cuts it short before the end."
)
PER_MESSAGE_TOKENS = 3  # framing overhead per message, as OpenAI counts it
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
    content, finish = reply_text(request), "stop"
    stops = () if "chat-ignore-stop" in faults else request.stop
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
    message: dict[str, Any] = {
        "role": "user" if "chat-user-role" in faults else "assistant",
        "content": completion.content,
    }
    body: dict[str, Any] = {
        "id": completion.id,
        "object": "chat.completions" if "chat-wrong-object" in faults else "chat.completion",
        "created": completion.created,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": completion.finish_reason}],
    }
    if "chat-no-usage" not in faults:
        body["usage"] = usage(completion, faults)
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
