"""Server-Sent Events for streamed chat completions (and the faults that break them)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import anyio
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from conformance.reference.chat import Completion, complete, pieces, tokenize, usage
from conformance.reference.errors import ApiError
from conformance.reference.faults import Faults
from conformance.reference.responses import dump_json
from conformance.reference.validation import ChatRequest

STALL_SECONDS = 120.0
_HEADERS = {"Cache-Control": "no-cache"}


def stream_response(request: ChatRequest, completion: Completion, faults: Faults) -> Response:
    """The streamed form of `completion`: role chunk, one chunk per token, finish, [DONE]."""
    payloads = _payloads(request, completion, faults)
    frames = [_frame(i, data, faults) for i, data in enumerate(payloads)]
    if "variant-freedoms" in faults:
        # A comment-only block first, and one more after the role chunk (WHATWG ignores both).
        frames.insert(0, ": keep-alive\r\n\r\n")
        frames.insert(2, ": keep-alive\r\n\r\n")
    if "sse-stall" in faults:
        return _StallResponse(frames[0].encode("utf-8"))
    media_type = "text/plain" if "sse-wrong-content-type" in faults else "text/event-stream"
    return StreamingResponse(_write(frames, faults), media_type=media_type, headers=_HEADERS)


def error_stream(err: ApiError) -> Response:
    """An error sent as an event stream (only the sse-error-as-stream fault does this)."""
    body = f"data: {dump_json(err.envelope()).decode('utf-8')}\n\n"
    return Response(body, err.status, headers=_HEADERS, media_type="text/event-stream")


def _payloads(request: ChatRequest, completion: Completion, faults: Faults) -> list[str]:
    """The data of every event, in order."""
    freedoms = "variant-freedoms" in faults
    # OpenRouter always sends usage.
    with_usage = (request.include_usage and "variant-no-usage-chunk" not in faults) or freedoms
    completion, parts = _streamed(request, completion, faults)

    kind = "chat.completion" if "sse-chunk-object" in faults else "chat.completion.chunk"

    def chunk(choices: list[dict[str, Any]]) -> dict[str, Any]:
        new_id = "sse-changing-id" in faults
        out: dict[str, Any] = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}" if new_id else completion.id,
            "object": kind,
            "created": completion.created,
            "model": request.model,
            "choices": choices,
        }
        if with_usage:
            out["usage"] = None  # OpenAI: null on every chunk but the usage chunk
        if freedoms:
            out["system_fingerprint"] = "fp_reference"
            out["provider"] = "reference"
        return out

    def delta(content: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return chunk([{"index": 0, "delta": content, "finish_reason": finish}])

    first = {"content": ""} if "sse-no-role" in faults else {"role": "assistant", "content": ""}
    empty = "sse-empty-content" in faults
    contents = _delivered([delta({"content": "" if empty else piece}) for piece in parts], faults)
    if "sse-error-event" in faults and len(contents) > 2:
        # Accepted with 200, then failed: two deltas, an error event, the end.
        return [*_dumped([delta(first), *contents[:2]], faults), _ERROR_EVENT, "[DONE]"]
    late = contents.pop() if "sse-late-delta" in faults and contents else None
    finish = delta({}, completion.finish_reason)
    if "sse-finish-chunk-id" in faults:
        finish["id"] = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    chunks = [delta(first), *contents, finish]
    if late is not None:
        chunks.append(late)  # the last content, after the finish chunk
    if "sse-two-finish-reasons" in faults:
        chunks.append(delta({}, completion.finish_reason))
    if with_usage:
        chunks.append({**chunk([]), "usage": _stream_usage(completion, faults)})
    payloads = _dumped(chunks, faults)
    if "sse-early-done" in faults:
        payloads.insert(1 + len(contents), "[DONE]")  # before the finish chunk: nothing closes it
    elif "sse-no-done" not in faults:
        payloads.append("[DONE]")
    return payloads


_ERROR_EVENT = dump_json(
    {
        "error": {
            "message": "The upstream provider failed while generating.",
            "type": "server_error",
            "param": None,
            "code": "upstream_error",
        }
    }
).decode("utf-8")


def _dumped(chunks: list[dict[str, Any]], faults: Faults) -> list[str]:
    not_json = "sse-not-json" in faults
    return [repr(c) if not_json else dump_json(c).decode("utf-8") for c in chunks]


def _streamed(
    request: ChatRequest, completion: Completion, faults: Faults
) -> tuple[Completion, list[str]]:
    """The completion a stream carries and its pieces: stream-only faults redo the model run."""
    if "sse-ignore-max-tokens" in faults:
        completion = complete(replace(request, max_tokens=None), faults)
    if "sse-ignore-stop" in faults or "sse-stop-per-chunk" in faults:
        completion = complete(replace(request, stop=()), faults)
    elif "sse-stop-first-only" in faults:
        completion = complete(replace(request, stop=request.stop[:1]), faults)
    parts = pieces(completion.content)
    if "sse-stop-per-chunk" in faults:
        # Each delta is searched on its own, so a stop sequence split across two slips by.
        for number, piece in enumerate(parts):
            cuts = [i for s in request.stop if s and (i := piece.find(s)) >= 0]
            if cuts:
                parts = [*parts[:number], piece[: min(cuts)]]
                content = "".join(parts)
                completion = replace(
                    completion,
                    content=content,
                    finish_reason="stop",
                    completion_tokens=len(tokenize(content)),
                )
                break
    return completion, [p for p in parts if p]


def _delivered(contents: list[dict[str, Any]], faults: Faults) -> list[dict[str, Any]]:
    """The content chunks as sent: the repeated and dropped delta faults touch the third."""
    if "sse-repeated-delta" in faults and len(contents) > 2:
        return [*contents[:3], contents[2], *contents[3:]]
    if "sse-dropped-delta" in faults and len(contents) > 2:
        return [*contents[:2], *contents[3:]]
    return contents


def _stream_usage(completion: Completion, faults: Faults) -> dict[str, Any]:
    counts: dict[str, Any] = usage(completion, faults)
    if "sse-usage-total" in faults:
        counts["total_tokens"] += 1
    if "sse-usage-strings" in faults:
        counts = {name: str(value) for name, value in counts.items()}
    return counts


def _frame(index: int, data: str, faults: Faults) -> str:
    """One event's bytes on the wire."""
    if "variant-freedoms" in faults:
        retry = "retry: 3000\r\n" if index == 0 else ""
        return f": tick\r\n{retry}id: {index}\r\nevent: message\r\ndata:{data}\r\n\r\n"
    end = "\n" if "sse-no-blank-line" in faults else "\n\n"
    return f"data: {data}{end}"


async def _write(frames: list[str], faults: Faults) -> AsyncIterator[bytes]:
    for frame in frames:
        raw = frame.encode("utf-8")
        if "variant-freedoms" in faults:
            # Two writes per event, split mid-line (and maybe mid-character).
            half = len(raw) // 2
            yield raw[:half]
            await anyio.sleep(0)
            yield raw[half:]
        else:
            yield raw


class _StallResponse(Response):
    """Sends the first event, then nothing until the client leaves or STALL_SECONDS pass."""

    def __init__(self, first: bytes) -> None:
        # Set up like StreamingResponse: no body, so no Content-Length header.
        self.status_code = 200
        self.media_type = "text/event-stream"
        self.background = None
        self.init_headers(_HEADERS)
        self.first = first

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = {"type": "http.response.start", "status": 200, "headers": self.raw_headers}
        await send(start)
        await send({"type": "http.response.body", "body": self.first, "more_body": True})
        with anyio.move_on_after(STALL_SECONDS):
            while (await receive())["type"] != "http.disconnect":
                pass
        with contextlib.suppress(OSError):  # the client may be gone: nothing left to tell it
            await send({"type": "http.response.body", "body": b"", "more_body": False})
