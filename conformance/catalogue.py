"""The requirement catalogue (requirements.yaml), loaded once."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml

Level = Literal["MUST", "SHOULD", "INFO"]

AREAS = {
    "http": "HTTP",
    "errors": "Errors",
    "auth": "Authentication",
    "models": "Models",
    "chat": "Chat completions",
    "streaming": "Streaming (SSE)",
    "images": "Image generation",
    "fuzzing": "Schema fuzzing",
}


@dataclass(frozen=True)
class Requirement:
    id: str
    level: Level
    area: str
    rule: str
    source: str
    profile: str
    # The checks that judge it (file::function under conformance/contract/) and the
    # reference faults that prove those checks can fail; self-tests keep both true.
    tests: tuple[str, ...] = ()
    proven_by: tuple[str, ...] = ()


@cache
def requirements() -> dict[str, Requirement]:
    """Every requirement by ID, in catalogue order."""
    text = resources.files("conformance").joinpath("requirements.yaml").read_text("utf-8")
    entries = yaml.safe_load(text)["requirements"]
    return {entry["id"]: _requirement(entry) for entry in entries}


def _requirement(entry: dict[str, Any]) -> Requirement:
    return Requirement(
        id=entry["id"],
        level=entry["level"],
        area=entry["area"],
        rule=entry["rule"],
        source=entry["source"],
        profile=entry["profile"],
        tests=tuple(entry.get("tests", ())),
        proven_by=tuple(entry.get("proven_by", ())),
    )
