"""A conforming ApexApi reference server, its conforming variants and its zoo of faults.

The suite proves its checks against these: the clean app and every variant must pass
everything, and each fault must fail exactly the checks it is pinned to (zoo.py runs
them, proof.py keeps requirements.yaml's proofs true).

May import: conformance.vocabulary, conformance.catalogue, conformance.spec and the
invalid-request cases of conformance.contract (the generated faults mirror them); zoo.py
and proof.py also run the suite through conformance.session.
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
