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
