"""What a run spent on the target: requests, tokens, images and connection retries."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from conformance.exchange import Exchange, StreamExchange


@dataclass
class Spend:
    """Counters for one process; the plugin adds up the workers' counters."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    images: int = 0
    # Requests sent again on a fresh connection after a reused one was found closed; each
    # is also counted in `requests` (and took a slot of the budget).
    connection_retries: int = 0

    def observe(self, exchange: Exchange) -> None:
        """Add the tokens and images a successful answer reports."""
        if not 200 <= exchange.status < 300:
            return
        if isinstance(exchange, StreamExchange):
            for event in exchange.data_events():
                self._add_usage(_loads(event.data))
            return
        if exchange.url.endswith("/chat/completions"):
            self._add_usage(exchange.json_or_none())
        elif exchange.url.endswith("/images/generations"):
            body = exchange.json_or_none()
            if isinstance(body, dict) and isinstance(body.get("data"), list):
                self.images += len(body["data"])

    def _add_usage(self, body: Any) -> None:
        usage = body.get("usage") if isinstance(body, dict) else None
        if not isinstance(usage, dict):
            return
        for name in ("prompt_tokens", "completion_tokens"):
            value = usage.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _loads(data: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None
