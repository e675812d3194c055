"""Servers that behave like real engines under load: one generation at a time."""

from __future__ import annotations

import asyncio
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conformance.reference.variants import read_body, replay_body

_GENERATING = ("/chat/completions", "/images/generations")


class Interrupting:
    """An engine that generates for one request at a time and, like llama.cpp's server by
    default, ends the stream in progress when another request arrives: well formed, with
    `data: [DONE]`, but without its finish_reason."""

    def __init__(self, app: ASGIApp) -> None:
        self.app, self.cut = app, 0
        self._streaming: list[dict[str, bool]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        for stream in self._streaming:
            stream["interrupted"] = True
        state = {"interrupted": False, "done": False}
        self._streaming.append(state)

        async def cutting(message: Message) -> None:
            if state["done"]:
                return
            if message["type"] == "http.response.body" and state["interrupted"]:
                state["done"] = True
                self.cut += 1
                await send({"type": "http.response.body", "body": b"data: [DONE]\n\n"})
                return
            await send(message)

        try:
            await self.app(scope, receive, cutting)
        finally:
            self._streaming.remove(state)


class SingleSlot:
    """An engine that generates for one request at a time, like a local llama.cpp server or a
    one-replica staging deployment.

    One more request waits its turn; others wait too, in line, each taking `service`
    seconds. A stream that arrives while the slot and the place in line are both taken is
    dropped after its headers (the peer closes the connection), as engines that interrupt
    or shed streams do.
    """

    def __init__(self, app: ASGIApp, service: float) -> None:
        self.app, self.service = app, service
        self.waiting = self.dropped = self.most_waiting = 0
        self._slot = asyncio.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or scope["method"] != "POST" or not path.endswith(_GENERATING):
            await self.app(scope, receive, send)
            return
        raw = await read_body(receive)
        if self._slot.locked() and self.waiting >= 1 and _streamed(raw):
            self.dropped += 1
            headers = [(b"content-type", b"text/event-stream")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            # An exception after the headers: the server aborts the connection mid-answer.
            raise ConnectionAbortedError("over capacity: stream dropped")
        self.waiting += 1
        self.most_waiting = max(self.most_waiting, self.waiting)
        try:
            await self._slot.acquire()
        finally:
            self.waiting -= 1
        try:
            await asyncio.sleep(self.service)
            await self.app(scope, replay_body(raw, receive), send)
        finally:
            self._slot.release()


def _streamed(raw: bytes) -> bool:
    try:
        body = json.loads(raw)
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("stream") is True
