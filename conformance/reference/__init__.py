"""A conforming ApexApi reference server, plus a zoo of deliberately broken variants.

The suite proves its checks against these: the clean app must pass everything, and
each fault must trip the requirement it is pinned to.
"""

from __future__ import annotations

from conformance.reference.app import create_app, create_zoo_app
from conformance.reference.faults import FAULTS, VARIANTS, Fault
from conformance.reference.runner import ServerThread, generate_api_key, serve

__all__ = [
    "FAULTS",
    "VARIANTS",
    "Fault",
    "ServerThread",
    "create_app",
    "create_zoo_app",
    "generate_api_key",
    "serve",
]
