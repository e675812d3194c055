"""The live progress line: shown while requests are in flight, quiet under -q, sparse in logs."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest

from conformance.config.settings import Settings
from conformance.reference.app import create_app
from conformance.reference.runner import ServerThread, generate_api_key
from conformance.session.progress import live_progress
from conformance.transport.client import ApexClient
from conformance.transport.inflight import InFlight
from conformance.transport.limits import Budget, RateLimiter, Spend
from tests.misbehaving import Slow


class Terminal:
    def __init__(self, tty: bool) -> None:
        self.isatty = tty
        self.rewritten: list[str] = []
        self.lines: list[str] = []

    def rewrite(self, line: str, erase: bool = False) -> None:
        self.rewritten.append(line)

    def write_line(self, line: str) -> None:
        self.lines.append(line)

    def write(self, text: str) -> None:
        pass


def config_for(terminal: Terminal, verbosity: int = 0) -> Any:
    return SimpleNamespace(
        pluginmanager=SimpleNamespace(get_plugin=lambda name: terminal),
        get_verbosity=lambda: verbosity,
    )


def wait_with_one_in_flight(terminal: Terminal, verbosity: int = 0, tty_every: float = 0.05):
    spend, in_flight = Spend(requests=3), InFlight(4)
    config = config_for(terminal, verbosity)
    shown = live_progress(config, spend, 100, in_flight, tty_every, quiet_for=0.0)
    with shown, in_flight.slot():
        time.sleep(0.5)


def test_a_terminal_gets_a_line_that_rewrites_itself_and_is_erased():
    terminal = Terminal(tty=True)
    wait_with_one_in_flight(terminal)
    shown = [line for line in terminal.rewritten if line]
    assert shown, "no progress line while a request was in flight"
    assert "3 requests sent, 2 answered (budget 100)" in shown[-1]
    assert "1 in flight, the oldest for" in shown[-1]
    assert terminal.rewritten[-1] == ""  # erased: the output goes on from a clean line
    assert not terminal.lines


def test_a_log_gets_plain_lines():
    terminal = Terminal(tty=False)
    wait_with_one_in_flight(terminal)
    assert terminal.lines and not terminal.rewritten


def test_quiet_shows_nothing():
    terminal = Terminal(tty=True)
    wait_with_one_in_flight(terminal, verbosity=-1)
    assert not terminal.rewritten and not terminal.lines


@pytest.mark.parametrize("stream", [False, True])
def test_the_client_reports_its_request_in_flight(stream):
    key = generate_api_key()
    seen: list[tuple[int, float]] = []
    with ServerThread(Slow(create_app(key), 0.6)) as server:
        settings = Settings(base_url=server.base_url, api_key=key, embedded=False)
        client = ApexClient(settings, Spend(), Budget(10), RateLimiter(None))
        body = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
        call = (
            (lambda: client.stream("/chat/completions", {**body, "stream": True}))
            if stream
            else (lambda: client.call("GET", "/models"))
        )
        worker = threading.Thread(target=call)
        worker.start()
        time.sleep(0.3)
        seen.append(client.inflight.snapshot())
        worker.join()
        client.close()
    assert seen[0][0] >= 1 and seen[0][1] > 0
    assert client.inflight.snapshot()[0] == 0
