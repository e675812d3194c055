"""Faults of reach: a route to a handler that skips the key check (faults.py, auth-reach-*).

Real gateways authenticate in one place and route in another: a path normalised after the
key check (a doubled slash, a trailing slash, letter case), HEAD or another method let
through, a connection remembered as authenticated. Each fault opens one such way.
"""

from __future__ import annotations

import re
from collections.abc import MutableSet

from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from conformance.reference.faults import Faults

_REACHED = "apex_reach_normalised"  # scope key: the path was rewritten, auth is skipped
_REWRITES = {
    "auth-reach-double-slash": lambda path: re.sub("/{2,}", "/", path),
    "auth-reach-trailing-slash": lambda path: path.rstrip("/") or "/",
    "auth-reach-case": str.lower,
}


class _Normalise:
    """Rewrites the path the way a fault's router would, and marks the request for it."""

    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app = app
        self.rewrites = [rewrite for name, rewrite in _REWRITES.items() if name in faults]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            for rewrite in self.rewrites:
                path = rewrite(path)
            if path != scope["path"]:
                scope = {**scope, "path": path, "raw_path": path.encode(), _REACHED: True}
        await self.app(scope, receive, send)


def middleware(faults: Faults) -> list[Middleware]:
    if any(name in faults for name in _REWRITES):
        return [Middleware(_Normalise, faults=faults)]
    return []


def model_methods(faults: Faults) -> list[str]:
    """The methods GET /v1/models answers: POST too under auth-reach-method."""
    return ["GET", "POST"] if "auth-reach-method" in faults else ["GET"]


def bypassed(request: Request, faults: Faults, trusted: MutableSet[object]) -> bool:
    """Whether a reach fault lets this request past the key check."""
    connection = request.scope.get("client")
    return bool(
        request.scope.get(_REACHED)
        or ("auth-reach-head" in faults and request.method == "HEAD")
        or (
            "auth-reach-method" in faults
            and request.method == "POST"
            and request.url.path.endswith("/models")
        )
        or (
            "auth-reach-keepalive" in faults
            and connection is not None
            and tuple(connection) in trusted
        )
    )


def remember(request: Request, faults: Faults, trusted: MutableSet[object]) -> None:
    """Under auth-reach-keepalive, trust the connection a valid key came on."""
    connection = request.scope.get("client")
    if "auth-reach-keepalive" in faults and connection is not None:
        trusted.add(tuple(connection))
