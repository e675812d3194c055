"""The requirement catalogue (requirements.yaml), loaded once."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

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


@cache
def requirements() -> dict[str, Requirement]:
    """Every requirement by ID, in catalogue order."""
    text = resources.files("conformance").joinpath("requirements.yaml").read_text("utf-8")
    entries = yaml.safe_load(text)["requirements"]
    return {entry["id"]: Requirement(**entry) for entry in entries}
