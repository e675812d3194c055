"""Servers that are real OpenAI-format APIs with one thing missing, renamed or moved.

Each wraps the reference app (ASGI middleware), so everything else about them conforms.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import trustme
import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conformance.reference.runner import HOST, ServerThread, _bind
from conformance.reference.served_models import CHAT_MODELS, IMAGE_MODELS


class Without:
    """The reference without some of its endpoints (default: GET /v1/models): its router
    answers each one's 404 itself."""

    def __init__(self, app: ASGIApp, *paths: str) -> None:
        self.app = app
        self.paths = paths or ("/v1/models",)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "").rstrip("/")
        if scope["type"] == "http" and any(path.endswith(p) for p in self.paths):
            scope = {**scope, "path": path + "-not-here"}
        await self.app(scope, receive, send)


class Renamed:
    """A gateway that serves the reference's models under other names and prices.

    `routes` maps each listed id to the reference model each endpoint ("chat", "images")
    routes it to (an endpoint it is missing from refuses it as an unknown model);
    `pricing` gives each listed id's price object. A request's model is rewritten to the
    reference's id and its answer back to the listed one, so nothing in a name tells its
    kind. `seen` records (endpoint, listed model) of every request.
    """

    def __init__(
        self,
        app: ASGIApp,
        routes: dict[str, dict[str, str]],
        pricing: dict[str, dict[str, str]],
    ) -> None:
        self.app = app
        self.routes = routes
        self.pricing = pricing
        self.seen: list[tuple[str, str]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "GET" and scope["path"].rstrip("/").endswith("/v1/models"):
            await self.app(scope, receive, self._listing(send))  # the reference's auth
            return
        endpoint = "images" if "/images/" in scope["path"] else "chat"
        renamed: dict[str, str] = {}  # the reference id -> the listed id, for the answer
        await self.app(
            scope, self._requests(receive, endpoint, renamed), self._answers(send, renamed)
        )

    def _listing(self, send: Send) -> Send:
        """The reference's answer to GET /v1/models, its list replaced when it is a 200."""
        data = [
            {"id": i, "object": "model", "created": 1710000000, "owned_by": i.split("/")[0],
             "pricing": self.pricing[i]}
            for i in self.routes
        ]  # fmt: skip
        body = json.dumps({"object": "list", "data": data}).encode()
        ours = False

        async def replaced(message: Message) -> None:
            nonlocal ours
            if message["type"] == "http.response.start" and message["status"] == 200:
                ours = True
                headers = [(k, v) for k, v in message["headers"] if k != b"content-length"]
                headers.append((b"content-length", b"%d" % len(body)))
                await send({**message, "headers": headers})
            elif message["type"] == "http.response.body" and ours:
                if not message.get("more_body"):
                    await send({"type": "http.response.body", "body": body})
            else:
                await send(message)

        return replaced

    def _requests(self, receive: Receive, endpoint: str, renamed: dict[str, str]) -> Receive:
        chunks: list[bytes] = []

        async def rewritten() -> Message:
            message = await receive()
            if message["type"] != "http.request":
                return message
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return {**message, "body": b""}
            return {**message, "body": self._forward(b"".join(chunks), endpoint, renamed)}

        return rewritten

    def _forward(self, raw: bytes, endpoint: str, renamed: dict[str, str]) -> bytes:
        try:
            body: Any = json.loads(raw)
        except ValueError:
            return raw
        model = body.get("model") if isinstance(body, dict) else None
        if not isinstance(model, str):
            return raw
        self.seen.append((endpoint, model))
        if model in self.routes:
            # Unknown to the reference when this endpoint does not serve it: its 404.
            real = self.routes[model].get(endpoint, "unserved/" + model.replace("/", "-"))
            renamed[real] = model
            body["model"] = real
        elif model in (*CHAT_MODELS, *IMAGE_MODELS):
            body["model"] = "unlisted/" + model  # not served under its real name
        else:
            return raw
        return json.dumps(body).encode()

    def _answers(self, send: Send, renamed: dict[str, str]) -> Send:
        held: list[Message] = []
        parts: list[bytes] = []

        def back(body: bytes) -> bytes:
            for real, listed in renamed.items():
                body = body.replace(real.encode(), listed.encode())
            return body

        async def rewritten(message: Message) -> None:
            if message["type"] == "http.response.start":
                held.append(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            start = held[0]
            if not any(k.lower() == b"content-length" for k, _ in start["headers"]):
                if len(held) == 1:  # a stream: send its head once, rename each event
                    held.append(start)
                    await send(start)
                await send({**message, "body": back(message.get("body", b""))})
                return
            parts.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = back(b"".join(parts))
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            headers.append((b"content-length", b"%d" % len(body)))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        return rewritten


@contextmanager
def serving(app: ASGIApp) -> Iterator[str]:
    """Serve an app over plain HTTP on loopback; yields its base URL (…/v1)."""
    with ServerThread(app) as server:
        yield server.base_url


class TlsServer:
    """Serves an app over HTTPS with a certificate from a private CA made by trustme."""

    def __init__(self, app: ASGIApp, folder: Path) -> None:
        self.ca = trustme.CA()
        cert = self.ca.issue_cert(HOST)
        self.ca_file = folder / "private-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        key_file, chain_file = folder / "server.key", folder / "server.pem"
        cert.private_key_pem.write_to_path(str(key_file))
        cert.cert_chain_pems[0].write_to_path(str(chain_file))
        for blob in cert.cert_chain_pems[1:]:
            blob.write_to_path(str(chain_file), append=True)
        self._sock = _bind(0)
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(
            app, log_config=None, log_level="critical", access_log=False, lifespan="off",
            timeout_graceful_shutdown=2, ssl_keyfile=str(key_file), ssl_certfile=str(chain_file),
        )  # fmt: skip
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def __enter__(self) -> TlsServer:
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the TLS server did not start")
            threading.Event().wait(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._sock.close()


class HugeListing:
    """The reference whose GET /v1/models body is valid JSON of `size` bytes (padded)."""

    def __init__(self, app: ASGIApp, size: int) -> None:
        self.app = app
        self.size = size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (scope["type"] == "http" and scope["path"].rstrip("/").endswith("/v1/models")):
            await self.app(scope, receive, send)
            return
        head = b'{"object": "list", "data": []}'
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % self.size)]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": head, "more_body": True})
        chunk, left = b" " * 2**20, self.size - len(head)
        while left > 0:
            piece = chunk[: min(left, len(chunk))]
            left -= len(piece)
            await send({"type": "http.response.body", "body": piece, "more_body": left > 0})


def catch_all(status: int, body: bytes) -> ASGIApp:
    """Not an API: every POST to any path gets the same JSON answer, every GET a 404."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        code, content = (
            (404, b'{"detail": "Not Found"}') if scope["method"] == "GET" else (status, body)
        )
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % len(content)),
        ]
        await send({"type": "http.response.start", "status": code, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    return app
