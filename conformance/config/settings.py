"""The run's configuration, read from pytest options and environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from conformance.vocabulary import PROFILES, FailOn, Profile

# Requests a whole run (all xdist workers together) may send before checks report
# "error: budget", per profile: about twice what a run against the reference sends.
DEFAULT_MAX_REQUESTS: dict[Profile, int] = {"smoke": 100, "standard": 300, "full": 1200}


@dataclass(frozen=True)
class Settings:
    """Everything a check needs to know about the run; the key never appears in repr."""

    base_url: str
    api_key: str = field(repr=False)
    embedded: bool
    profile: Profile = "standard"
    fail_on: FailOn = "must"
    chat_model: str | None = None
    image_model: str | None = None
    # Which models the model-dependent checks judge: "cheapest" (one chat and one image
    # model), "all", or a comma list of ids and globs ("anthropic/*").
    models: str = "cheapest"
    # The most the run may spend, in the price list's units (None: no cap but the budget).
    max_cost: float | None = None
    report_dir: Path = Path("reports")
    # A folder that keeps every run's summary, for the verdict strips and the trend page.
    history: Path | None = None
    request_timeout: float = 30.0
    stream_idle_timeout: float = 15.0
    max_requests: int = DEFAULT_MAX_REQUESTS["standard"]
    rate_limit: float | None = None
    # Requests in flight at once. A standard run sends about 150 requests in its first wave:
    # 100 at a time answer it in two latencies. The cost does not depend on it, and a 429
    # or 503 pauses the whole run and halves it, so a gateway that takes fewer at once
    # from one key only makes the run slower.
    concurrency: int = 100
    seed: int = 20261127
    # A PEM file of extra CA certificates every request trusts (a private CA), besides
    # the defaults (certifi, or SSL_CERT_FILE / SSL_CERT_DIR when set).
    ca_bundle: Path | None = None

    def includes(self, profile: Profile) -> bool:
        """True when this run's profile checks requirements of `profile`."""
        return PROFILES.index(self.profile) >= PROFILES.index(profile)


def env(name: str) -> str | None:
    """An environment variable, with empty values treated as unset."""
    value = os.environ.get(name, "").strip()
    return value or None
