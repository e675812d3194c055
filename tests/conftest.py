"""Shared fixtures of the self-tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.reference.app import create_app
from conformance.reference.runner import ServerThread, generate_api_key
from conformance.reference.zoo import Outcome, run_suite


@pytest.fixture(scope="session")
def reference() -> Iterator[tuple[str, str]]:
    """A clean reference server: (base_url, api_key)."""
    key = generate_api_key()
    with ServerThread(create_app(key)) as server:
        yield server.base_url, key


@pytest.fixture(scope="session")
def standard_run(reference: tuple[str, str]) -> Outcome:
    """One standard-profile run of the suite against the clean reference."""
    base_url, key = reference
    return run_suite(base_url, key, "standard")


@pytest.fixture(scope="session")
def zoo() -> Iterator[tuple[str, str]]:
    """One server hosting the clean reference and every fault: (origin, api_key)."""
    from conformance.reference.app import create_zoo_app

    key = generate_api_key()
    with ServerThread(create_zoo_app(key)) as server:
        yield server.origin, key
