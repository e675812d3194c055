"""Invalid requests, each pinned to the requirement that says it must be rejected.

The surface files check each case's own requirement; test_http_errors.py checks every case
against the error rules. The client's cache sends each request only once per run. Each case
is a change to a valid body, so the reference's generated faults (case_faults.py) can match it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from conformance.session.model_choice import Models
from conformance.spec import payloads
from conformance.transport.client import ApexClient, CouldNotJudge
from conformance.transport.exchange import Exchange

Body = dict[str, Any] | bytes
# A change to a valid body: field -> new value, DROP (leave it out) or BARE_MODEL; or the
# whole body as raw bytes. The reference's generated faults match requests by it.
Change = dict[str, Any] | bytes


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


DROP = _Marker("DROP")  # the field is left out
BARE_MODEL = _Marker("BARE_MODEL")  # the model's id without its provider/ prefix
UNKNOWN_PROVIDER_MODEL = "apex-conformance/no-such-model-7f3a"
CHAT = "/chat/completions"
IMAGES = "/images/generations"


@dataclass(frozen=True)
class Case:
    requirement: str
    path: str
    what: str
    change: Change
    profile: str = "standard"
    unknown_model: bool = False  # the model is unknown: 404 is as right as 400 (interpretation 4)

    @property
    def id(self) -> str:
        """The pytest id, e.g. "chat:temperature 2.1"."""
        return f"{self.path.strip('/').split('/')[0]}:{self.what}"

    def body(self, models: Models) -> Body:
        needed = models.chat if self.path == CHAT else models.image
        if needed is None:
            kind = "chat" if self.path == CHAT else "image"
            raise CouldNotJudge(
                f"no {kind} model to build this request with: {'; '.join(models.notes)}; "
                f"pass --{kind}-model=<id>"
            )
        if isinstance(self.change, bytes):
            return self.change
        body = _base(self.path, models)
        for key, value in self.change.items():
            if value is DROP:
                body.pop(key, None)
            else:
                body[key] = str(needed).split("/", 1)[-1] if value is BARE_MODEL else value
        return body

    def send(self, client: ApexClient, models: Models) -> Exchange:
        built = self.body(models)
        if isinstance(built, bytes):
            return client.call("POST", self.path, content=built)
        return client.call("POST", self.path, json_body=built)

    def param(self, *, own_requirement: bool) -> Any:
        marks = [pytest.mark.profile(self.profile)]
        if own_requirement:
            marks.append(pytest.mark.requirement(self.requirement))
        return pytest.param(self, id=self.id, marks=marks)


def _base(path: str, models: Models) -> dict[str, Any]:
    if path == CHAT:
        return payloads.chat(str(models.chat))
    # Start from the request the model accepted, so only the change is wrong with it.
    body = dict(models.image_request or payloads.image(str(models.image)))
    body.pop("n", None)
    return body


def _chat(requirement: str, what: str, profile: str = "standard", **change: Any) -> Case:
    return Case(requirement, CHAT, what, change, profile)


def _image(requirement: str, what: str, profile: str = "standard", **change: Any) -> Case:
    return Case(requirement, IMAGES, what, change, profile)


# String values are named "string ..." so that no two cases share a check ID (n -1, n "1").
CASES: tuple[Case, ...] = (
    Case("HTTP-03", CHAT, "malformed JSON", b'{"model": "x", "messages": [', "smoke"),
    Case("HTTP-03", IMAGES, "malformed JSON", b'{"model": ', "smoke"),
    _chat("CHAT-12", "temperature -0.1", temperature=-0.1),
    _chat("CHAT-12", "temperature 2.1", temperature=2.1),
    # Just past the bounds, at float precision: a float32 or rounded comparison lets them in.
    _chat("CHAT-12", "temperature 2.0000001", temperature=2.0000001),
    _chat("CHAT-12", "temperature -0.0000001", temperature=-0.0000001),
    _chat("CHAT-12", 'temperature string "hot"', temperature="hot"),
    # A numeric string is not a number (coercion is tolerated for integers only, CHAT-15).
    _chat("CHAT-12", 'temperature string "0.5"', temperature="0.5"),
    _chat("CHAT-13", "top_p 1.5", top_p=1.5),
    _chat("CHAT-13", "top_p -0.1", "full", top_p=-0.1),
    _chat("CHAT-14", "max_tokens 0", max_tokens=0),
    _chat("CHAT-14", "max_tokens -5", max_tokens=-5),
    _chat("CHAT-14", "max_tokens 1.5", max_tokens=1.5),
    _chat("CHAT-15", 'max_tokens string "16"', "full", max_tokens="16"),
    _chat("CHAT-16", "5 stop sequences", stop=["a1", "b2", "c3", "d4", "e5"]),
    _chat("CHAT-17", "model missing", "smoke", model=DROP),
    _chat("CHAT-17", "messages missing", "smoke", messages=DROP),
    _chat("CHAT-17", "messages a string", messages="Say OK."),
    _chat("CHAT-17", "model a number", model=42),
    _chat("CHAT-18", "messages empty", messages=[]),
    _chat("CHAT-18", "message without role", messages=[{"content": "Say OK."}]),
    _chat("CHAT-18", "message without content", "full", messages=[{"role": "user"}]),
    Case("CHAT-19", CHAT, "bare model id", {"model": BARE_MODEL}, "standard", True),
    Case("CHAT-20", CHAT, "unknown model", {"model": UNKNOWN_PROVIDER_MODEL}, "smoke", True),
    _chat("CHAT-24", 'stream string "true"', stream="true"),
    _chat("CHAT-24", "stream 1", stream=1),
    _image("IMG-08", 'size "123x456"', size="123x456"),
    _image("IMG-08", 'size "1024"', "full", size="1024"),
    # Two documented dimensions, but not a documented pair.
    _image("IMG-08", 'size "1792x1792"', size="1792x1792"),
    _image("IMG-08", 'size "256x1024"', size="256x1024"),
    _image("IMG-09", 'quality "ultra"', quality="ultra"),
    _image("IMG-10", "n 0", n=0),
    _image("IMG-10", "n -1", "full", n=-1),
    _image("IMG-10", "n 1.5", n=1.5),
    _image("IMG-11", "prompt missing", "smoke", prompt=DROP),
    _image("IMG-11", "model missing", model=DROP),
    _image("IMG-11", "prompt a number", "full", prompt=42),
    Case("IMG-12", IMAGES, "bare model id", {"model": BARE_MODEL}, "standard", True),
    Case("IMG-12", IMAGES, "unknown model", {"model": UNKNOWN_PROVIDER_MODEL}, "standard", True),
    _image("IMG-13", 'n string "1"', "full", n="1"),
)


def rejection_params(path: str) -> list[Any]:
    """The cases for one endpoint, each marked with the requirement it proves."""
    return [case.param(own_requirement=True) for case in CASES if case.path == path]


def all_cases() -> list[Any]:
    """Every case, unmarked, for the checks that apply to any rejection."""
    return [case.param(own_requirement=False) for case in CASES]
