"""The requirement catalogue (requirements.yaml), loaded once, and the check IDs of its checks.

conformance/reference/proof.py keeps each entry's `tests:` and `proven_by:` true.
Imports nothing of the suite but the vocabulary.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import yaml

from conformance.vocabulary import Level

if TYPE_CHECKING:
    import pytest


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
    # The generated families (contract/families.py) that check it: family -> profile -> size.
    families: dict[str, dict[str, int]] | None = None


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
        families=entry.get("families"),
    )


# --- check IDs ------------------------------------------------------------------------


def slug(text: str) -> str:
    """Lower case, every run of non-alphanumerics one "-", none at either end."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def check_id(requirement: str, function: str, param: str | None = None) -> str:
    """`REQ/func-slug[/param-slug]`: AUTH-05/credentials-refused/chat-last-character-changed."""
    parts = [requirement, function.removeprefix("test_").replace("_", "-")]
    if param:
        parts.append(slug(param))
    return "/".join(parts)


def requirement_ids(item: pytest.Item) -> list[str]:
    """The requirement IDs a check is marked with, the closest (its parameter's) first."""
    return [str(i) for mark in item.iter_markers("requirement") for i in mark.args]


def item_check_id(item: pytest.Item) -> str | None:
    """The check ID of a collected contract check; None when it judges no requirement."""
    ids = requirement_ids(item)
    if not ids:
        return None
    function, _, param = item.name.partition("[")
    callspec = getattr(item, "callspec", None)
    # schemathesis parametrizes without a callspec: its id is only in the item's name.
    if callspec is None:
        return check_id(ids[0], function, param[:-1])
    return check_id(ids[0], function, _without_model(callspec.id, callspec.params))


# The fixtures --models parametrizes (conformance/contract/conftest.py): the model is the
# record's `model`, not part of the check's ID, which stays the same for every model.
MODEL_PARAMETERS = {"chat_model": "chat", "image_model": "image"}  # fixture -> surface


def _without_model(param_id: str, params: dict[str, object]) -> str:
    for name in MODEL_PARAMETERS:
        model = params.get(name)
        if isinstance(model, str):
            parts = param_id.split(f"-{model}-")
            if len(parts) == 2:
                return "-".join(parts)
            param_id = param_id.removeprefix(f"{model}-").removesuffix(f"-{model}")
            param_id = "" if param_id == model else param_id
    return param_id


def matches(check: str, pattern: str) -> bool:
    """Whether a check ID matches a fault's pattern; a bare requirement ID means all its checks."""
    return fnmatchcase(check, pattern if "/" in pattern else f"{pattern}/*")


def matching(checks: Iterable[str], patterns: Iterable[str]) -> list[str]:
    wanted = tuple(patterns)
    return [c for c in checks if any(matches(c, p) for p in wanted)]
