"""Running the reference server: in a background thread (tests) or in the foreground (CLI)."""

from __future__ import annotations

import secrets
import socket
import string
import threading
import time
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp

from conformance.reference.app import create_app

HOST = "127.0.0.1"
_KEY_ALPHABET = string.ascii_letters + string.digits


def generate_api_key() -> str:
    """A fresh key of the documented form: "ak-" and 45 URL-safe alphanumerics (48 chars)."""
    return "ak-" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(45))


def _config(app: ASGIApp) -> uvicorn.Config:
    # log_config=None: leave the host process's logging alone; no access log.
    return uvicorn.Config(
        app,
        log_config=None,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,  # an open (stalled) stream must not block shutdown
    )


def _bind(port: int) -> socket.socket:
    # proto IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted connections only then,
    # and without it every keep-alive response stalls 40 ms on delayed ACKs.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    return sock


class ServerThread:
    """Serves an ASGI app on 127.0.0.1 and a free port, from a daemon thread.

    Use as a context manager; `origin` is "http://127.0.0.1:PORT", `base_url` adds "/v1".
    """

    def __init__(self, app: ASGIApp, *, startup_timeout: float = 10.0) -> None:
        self.app = app
        self.startup_timeout = startup_timeout
        self._sock = _bind(0)
        self.port: int = self._sock.getsockname()[1]
        self.origin = f"http://{HOST}:{self.port}"
        self.base_url = f"{self.origin}/v1"
        self._server = uvicorn.Server(_config(app))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def start(self) -> None:
        """Start serving; return once the server accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + self.startup_timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"reference server did not start on {self.origin}")
            time.sleep(0.01)

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the server to exit and wait for its thread."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._sock.close()

    def __enter__(self) -> ServerThread:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve(port: int, api_key: str, faults: list[str]) -> None:
    """Serve the reference app on 127.0.0.1:`port` until interrupted (port 0: any free one).

    Prints the base URL; never the key.
    """
    app = create_app(api_key, faults)  # ValueError on an unknown fault, before binding
    sock = _bind(port)
    label = f" (faults: {', '.join(faults)})" if faults else ""
    print(f"ApexApi reference server: http://{HOST}:{sock.getsockname()[1]}/v1{label}", flush=True)
    try:
        uvicorn.Server(_config(app)).run(sockets=[sock])
    finally:
        sock.close()
