"""Servers that misbehave below the API: they stall, reset, flood, rate-limit or lag."""

from __future__ import annotations

import asyncio
import http.server
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from starlette.types import ASGIApp, Receive, Scope, Send

OVERSIZED_BYTES = 30 * 1024 * 1024


class _Handler(socketserver.BaseRequestHandler):
    mode = ""

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(5)
        try:
            sock.recv(65536)  # the request; its content does not matter here
        except OSError:
            return
        getattr(self, "_" + self.server.mode.replace("-", "_"))(sock)  # type: ignore[attr-defined]

    def _head(self, sock: socket.socket, extra: str = "") -> None:
        sock.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{extra}\r\n".encode())

    def _reset(self, sock: socket.socket) -> None:
        self._head(sock, "Content-Length: 1000\r\n")
        sock.sendall(b'{"object": "list", "data": [')
        # SO_LINGER with a zero timeout turns close() into a TCP reset.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()

    def _oversized(self, sock: socket.socket) -> None:
        self._head(sock, f"Content-Length: {OVERSIZED_BYTES}\r\n")
        chunk = b" " * 65536
        try:
            for _ in range(OVERSIZED_BYTES // len(chunk)):
                sock.sendall(chunk)
        except OSError:
            pass  # the client stopped reading at its cap

    def _invalid_utf8(self, sock: socket.socket) -> None:
        body = b'{"object": "list", "data": ["\xff\xfe"]}'
        self._head(sock, f"Content-Length: {len(body)}\r\n")
        sock.sendall(body)

    def _silent(self, sock: socket.socket) -> None:
        time.sleep(10)  # accepts, reads, never answers


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, mode: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode = mode


@contextmanager
def raw_server(mode: str) -> Iterator[str]:
    """A raw TCP server in one of the modes above; yields its base URL."""
    server = _Server(mode)
    with _serving(server) as origin:
        yield origin + "/v1"


class RateLimited:
    """Wraps an app: every `every`-th request gets `status` (429, 503) with the given retry
    headers."""

    def __init__(
        self, app: ASGIApp, every: int, headers: list[tuple[bytes, bytes]], status: int = 429
    ) -> None:
        self.app, self.every, self.headers, self.count = app, every, headers, 0
        self.status = status

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.count += 1
        if self.every and self.count % self.every:
            await self.app(scope, receive, send)
            return
        body = b'{"error": {"message": "slow down", "type": "rate_limit_error", "code": null}}'
        headers = [(b"content-type", b"application/json"), *self.headers]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class Slow:
    """Wraps an app: every response starts after `delay` seconds."""

    def __init__(self, app: ASGIApp, delay: float) -> None:
        self.app, self.delay = app, delay

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await asyncio.sleep(self.delay)
        await self.app(scope, receive, send)


class _HtmlPage(http.server.BaseHTTPRequestHandler):
    """A web site, not an API: every path answers with the same HTML page."""

    PAGE = b"<!doctype html><html><body><h1>Welcome to our site</h1></body></html>"

    def _answer(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.PAGE)))
        self.end_headers()
        self.wfile.write(self.PAGE)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def html_site() -> Iterator[str]:
    """A web server that is no API at all; yields its origin (no /v1)."""
    with _serving(http.server.ThreadingHTTPServer(("127.0.0.1", 0), _HtmlPage)) as origin:
        yield origin


@contextmanager
def _serving(server: socketserver.TCPServer) -> Iterator[str]:
    """Serve from a daemon thread until the block ends; yields the server's origin."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class InFlightCap:
    """A gateway that allows `cap` requests of a key in flight and answers 429 beyond.

    Each request takes `delay` seconds, so a concurrent run does overlap.
    """

    def __init__(self, app: ASGIApp, cap: int, delay: float) -> None:
        self.app, self.cap, self.delay = app, cap, delay
        self.in_flight = self.refused = self.served = self.most = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.cap:
            self.refused += 1
            body = b'{"error": {"message": "too many requests in flight", "type": "rate_limit"}}'
            headers = [(b"content-type", b"application/json"), (b"retry-after", b"1")]
            await send({"type": "http.response.start", "status": 429, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
            await self.app(scope, receive, send)
            self.served += 1
        finally:
            self.in_flight -= 1


class Counting:
    """Wraps an app: counts its HTTP requests, each held 10 ms so that they overlap."""

    def __init__(self, app: ASGIApp) -> None:
        self.app, self.requests = app, 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.requests += 1
            await asyncio.sleep(0.01)
        await self.app(scope, receive, send)
