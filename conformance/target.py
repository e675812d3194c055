"""Where the run points: a deployment given by --base-url, or the embedded reference server."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any


@dataclass
class Target:
    """The base URL and key the checks use, and the server to stop when embedded."""

    base_url: str
    api_key: str
    embedded: bool
    server: AbstractContextManager[Any] | None = None

    def describe(self) -> str:
        kind = "embedded reference server on loopback" if self.embedded else "deployment"
        return f"{self.base_url} ({kind})"

    def stop(self) -> None:
        if self.server is not None:
            self.server.__exit__(None, None, None)
            self.server = None


def start_embedded(faults: tuple[str, ...] = ()) -> Target:
    """Start the reference ApexApi server in this process on a free loopback port."""
    from conformance.reference.app import create_app
    from conformance.reference.runner import ServerThread, generate_api_key

    key = generate_api_key()
    server = ServerThread(create_app(key, faults=faults))
    server.__enter__()
    return Target(server.base_url, key, embedded=True, server=server)
