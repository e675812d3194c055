"""The embedded reference server the suite runs against when no --base-url is given."""

from __future__ import annotations

from conformance.config.target import Target
from conformance.reference.app import create_app
from conformance.reference.runner import ServerThread, generate_api_key


def start_embedded(faults: tuple[str, ...] = ()) -> Target:
    """Start the reference ApexApi server in this process on a free loopback port."""
    key = generate_api_key()
    server = ServerThread(create_app(key, faults=faults))
    server.__enter__()
    return Target(server.base_url, key, embedded=True, server=server)
