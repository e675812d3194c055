"""Transport honesty: a kept-alive connection the server closed is retried once, counted.

Each server here is a few lines of raw sockets on loopback, so the test decides exactly when
a connection closes: a close that crosses the next request on the wire (what an idle timeout
or a close-after-5xx looks like to a client) is modelled by closing only once that request
has arrived, without a byte of answer.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from conformance.config.settings import Settings
from conformance.config.target import Target
from conformance.session.state import RunState
from conformance.transport.client import ApexClient, BudgetExhausted, CouldNotJudge
from conformance.transport.limits import Budget, RateLimiter, Spend

KEY = "ak-" + "t" * 45
JSON_OK = b'{"object": "list", "data": []}'
JSON_500 = b'{"error": {"message": "boom", "type": "server_error", "param": null, "code": null}}'
SSE_OK = b'data: {"id": "c", "object": "chat.completion.chunk", "choices": []}\n\ndata: [DONE]\n\n'


def _answer(status: str, body: bytes, media: str = "application/json") -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: {media}\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def _read_request(sock: socket.socket, buffer: bytearray) -> bool:
    """Read one whole request (head and Content-Length body) off `buffer`; False at EOF."""
    while b"\r\n\r\n" not in buffer:
        data = sock.recv(65536)
        if not data:
            return False
        buffer += data
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        data = sock.recv(65536)
        if not data:
            return False
        rest += data
    buffer[:] = rest[length:]
    return True


class _Server:
    """Serves one `mode` on 127.0.0.1; counts connections and requests."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.connections = 0
        self.requests = 0
        self.answered = 0
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen()
        self._stop = threading.Event()
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}/v1"

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._connection, args=(sock,), daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self._listener.close()

    def _connection(self, sock: socket.socket) -> None:
        sock.settimeout(5)
        buffer = bytearray()
        served = 0  # requests answered on this connection
        with sock:
            try:
                while _read_request(sock, buffer):
                    self.requests += 1
                    if not self._serve(sock, served, buffer):
                        return
                    served += 1
            except OSError:
                return

    def _serve(self, sock: socket.socket, served: int, buffer: bytearray) -> bool:
        """Answer (True: keep the connection) or drop the request just read (False)."""
        mode = self.mode
        if mode in ("drop-reused", "reset-reused", "drop-reused-stream") and served >= 1:
            if mode == "reset-reused":
                # SO_LINGER with a zero timeout turns close() into a TCP reset.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False
        if mode == "always-drop" and self.answered >= 1:
            return False
        if mode == "silent-reused" and served >= 1:
            self._stop.wait(3)
            return False
        if mode == "started-reused" and served >= 1:
            sock.sendall(_answer("200 OK", JSON_OK)[:-10])  # head and part of the body
            return False
        self.answered += 1
        if mode == "close-after-5xx":
            sock.sendall(_answer("500 Internal Server Error", JSON_500))
            # The close crosses the client's next request: wait for it, then close unanswered.
            buffer += sock.recv(65536)
            return False
        if mode.endswith("-stream"):
            sock.sendall(_answer("200 OK", SSE_OK, "text/event-stream"))
        else:
            sock.sendall(_answer("200 OK", JSON_OK))
        # close-after-answer closes right after answering, with no Connection: close header.
        return mode != "close-after-answer"


@contextmanager
def server(mode: str) -> Iterator[_Server]:
    srv = _Server(mode)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.close()
        thread.join(5)


def client_for(url: str, budget: int = 50, timeout: float = 5.0) -> ApexClient:
    settings = Settings(
        base_url=url,
        api_key=KEY,
        embedded=False,
        request_timeout=timeout,
        stream_idle_timeout=timeout,
        max_requests=budget,
    )
    return ApexClient(settings, Spend(), Budget(budget), RateLimiter(None))


def paths(count: int) -> list[str]:
    # Distinct paths: identical requests would be answered from the client's cache.
    return [f"/models?n={i}" for i in range(count)]


@pytest.mark.parametrize("mode", ["drop-reused", "reset-reused"])
def test_reused_connection_dropped_before_answer_is_retried_once(mode):
    with server(mode) as srv:
        apex = client_for(srv.url)
        statuses = [apex.call("GET", path).status for path in paths(3)]
    assert statuses == [200, 200, 200]
    # Requests 2 and 3 each found their kept-alive connection closed and were sent again.
    assert apex.spend.connection_retries == 2
    assert apex.spend.requests == 5
    assert srv.connections == 3


def test_stream_on_dropped_connection_is_retried():
    with server("drop-reused-stream") as srv:
        apex = client_for(srv.url)
        first = apex.stream("/chat/completions", {"stream": True, "n": 1})
        second = apex.stream("/chat/completions", {"stream": True, "n": 2})
    assert [e.data for e in second.data_events()] == [e.data for e in first.data_events()]
    assert second.status == 200 and second.broken is None
    assert apex.spend.connection_retries == 1


def test_close_after_every_5xx_is_no_error():
    with server("close-after-5xx") as srv:
        apex = client_for(srv.url)
        statuses = [apex.call("GET", path).status for path in paths(4)]
    assert statuses == [500, 500, 500, 500]  # each a real answer, for the checks to judge
    assert apex.spend.connection_retries == 3
    assert srv.answered == 4


def test_close_right_after_answering_is_no_error():
    # httpcore sees the close of an idle connection before reusing it, or the retry covers
    # the race: either way every request is answered.
    with server("close-after-answer") as srv:
        apex = client_for(srv.url)
        statuses = [apex.call("GET", path).status for path in paths(4)]
    assert statuses == [200, 200, 200, 200]
    assert apex.spend.connection_retries <= 3
    assert apex.spend.requests == 4 + apex.spend.connection_retries


def test_server_that_always_drops_is_an_error_after_one_retry():
    with server("always-drop") as srv:
        apex = client_for(srv.url)
        assert apex.call("GET", "/models").status == 200
        with pytest.raises(CouldNotJudge, match="after one retry") as caught:
            apex.call("GET", "/models?again")
        # The fresh connection of the retry was dropped too: not resent a second time.
        with pytest.raises(CouldNotJudge) as fresh:
            apex.call("GET", "/models?fresh")
    assert "Server disconnected" in str(caught.value)
    assert "retry" not in str(fresh.value)
    assert apex.spend.connection_retries == 1
    assert srv.requests == 4


def test_answer_that_had_started_is_not_retried():
    with server("started-reused") as srv:
        apex = client_for(srv.url)
        apex.call("GET", "/models")
        exchange = apex.call("GET", "/models?cut")
    assert exchange.status == 200 and exchange.broken  # the target's failure, judged
    assert apex.spend.connection_retries == 0
    assert srv.requests == 2


def test_timeout_on_reused_connection_is_not_retried():
    with server("silent-reused") as srv:
        apex = client_for(srv.url, timeout=1.5)  # the server is silent for 3 s
        apex.call("GET", "/models")
        with pytest.raises(CouldNotJudge, match="timeout"):
            apex.call("GET", "/models?slow")
    assert apex.spend.connection_retries == 0
    assert srv.requests == 2


def test_retry_takes_a_budget_slot():
    with server("drop-reused") as srv:
        apex = client_for(srv.url, budget=2)
        apex.call("GET", "/models")
        with pytest.raises(BudgetExhausted):
            apex.call("GET", "/models?again")
    assert apex.spend.connection_retries == 1
    assert apex.spend.requests == 2


def test_retries_reach_the_summary():
    from conformance.session.finish import spend_totals

    state = RunState(
        settings=Settings(base_url="http://x/v1", api_key=KEY, embedded=False),
        target=Target("http://x/v1", KEY, embedded=False),
    )
    state.spend.connection_retries = 2
    state.worker_spend.append({**Spend().as_dict(), "connection_retries": 1})
    assert spend_totals(state)["connection_retries"] == 3
