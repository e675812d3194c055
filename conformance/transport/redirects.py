"""Following the redirects of a download (an image URL), as an HTTP client does."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx

from conformance.transport.exchange import Exchange

# The codes browsers and HTTP libraries follow (RFC 9110 15.4); a GET stays a GET on each.
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
# curl's and requests' habit is 30 or 50; a CDN or a signed-URL service needs one or two.
MAX_REDIRECTS = 5


@dataclass
class Download:
    """Every exchange of one download, the first request first; `problem` says why the
    redirects led nowhere (a loop, too many, a redirect without a Location), else None."""

    hops: list[Exchange]
    problem: str | None = None

    @property
    def final(self) -> Exchange:
        return self.hops[-1]

    @property
    def redirected(self) -> bool:
        return len(self.hops) > 1

    def chain(self) -> str:
        """The hops in a line: `GET <url> -> 302 -> <url> -> 200`."""
        parts = [f"GET {self.hops[0].url}"]
        for number, hop in enumerate(self.hops):
            if number:
                parts.append(hop.url)
            parts.append(str(hop.status))
        return " -> ".join(parts)


def follow(url: str, get: Callable[[str], Exchange], limit: int = MAX_REDIRECTS) -> Download:
    """GET `url` with `get`, then each Location it is redirected to, up to `limit` redirects.

    A Location may be absolute or relative (resolved against the URL that gave it). A URL
    seen before in the chain is a loop, and is not requested again.
    """
    hops: list[Exchange] = []
    seen = {url}
    current = url
    while True:
        exchange = get(current)
        hops.append(exchange)
        if exchange.status not in REDIRECT_CODES:
            return Download(hops)
        location = exchange.response_headers.get("location", "").strip()
        if not location:
            return Download(hops, f"HTTP {exchange.status} without a Location header")
        if len(hops) > limit:
            return Download(hops, f"more than {limit} redirects")
        target = _resolve(current, location)
        if target is None:
            return Download(hops, f"a redirect to {location!r}, not an http(s) URL")
        if target in seen:
            return Download(hops, f"a redirect loop: {target} was already requested")
        seen.add(target)
        current = target


def _resolve(base: str, location: str) -> str | None:
    try:
        target = httpx.URL(base).join(location).copy_with(fragment=None)
    except (httpx.InvalidURL, ValueError):
        return None
    return str(target) if target.scheme in ("http", "https") and target.host else None
