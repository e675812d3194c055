"""Invalid requests, each pinned to the requirement that says it must be rejected.

The surface files check each case's own requirement; test_errors.py checks every case
against the error rules. The client's cache sends each request only once per run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from conformance import payloads
from conformance.client import ApexClient
from conformance.discovery import Models
from conformance.exchange import Exchange

Body = dict[str, Any] | bytes


@dataclass(frozen=True)
class Case:
    requirement: str
    path: str
    what: str
    build: Callable[[Models], Body]
    profile: str = "standard"
    unknown_model: bool = False  # the model is unknown: 404 is as right as 400 (interpretation 4)

    def body(self, models: Models) -> Body:
        needed = models.chat if self.path == CHAT else models.image
        if needed is None:
            kind = "chat" if self.path == CHAT else "image"
            pytest.skip(f"no {kind} model to build this request with: " + "; ".join(models.notes))
        return self.build(models)

    def send(self, client: ApexClient, models: Models) -> Exchange:
        built = self.body(models)
        if isinstance(built, bytes):
            return client.call("POST", self.path, content=built)
        return client.call("POST", self.path, json_body=built)

    def param(self, *, own_requirement: bool) -> Any:
        name = f"{self.path.strip('/').split('/')[0]}:{self.what}"
        marks = [pytest.mark.profile(self.profile)]
        if own_requirement:
            marks.append(pytest.mark.requirement(self.requirement))
        return pytest.param(self, id=name, marks=marks)


CHAT = "/chat/completions"
IMAGES = "/images/generations"


def _changed(
    base: Callable[[Models], dict[str, Any]], changes: dict[str, Any]
) -> Callable[[Models], Body]:
    def build(models: Models) -> Body:
        body = base(models)
        for key, value in changes.items():
            if value is _DROP:
                body.pop(key, None)
            else:
                body[key] = value
        return body

    return build


def _chat(**changes: Any) -> Callable[[Models], Body]:
    return _changed(lambda models: payloads.chat(str(models.chat)), changes)


def _image(**changes: Any) -> Callable[[Models], Body]:
    def base(models: Models) -> dict[str, Any]:
        # Start from the request the model accepted, so only the change is wrong with it.
        body = dict(models.image_request or payloads.image(str(models.image)))
        body.pop("n", None)
        return body

    return _changed(base, changes)


def _bare(model: str | None) -> str:
    return str(model).split("/", 1)[-1]


_DROP = object()
UNKNOWN_PROVIDER_MODEL = "apex-conformance/no-such-model-7f3a"

CASES: tuple[Case, ...] = (
    Case("HTTP-03", CHAT, "malformed JSON", lambda m: b'{"model": "x", "messages": [', "smoke"),
    Case("HTTP-03", IMAGES, "malformed JSON", lambda m: b'{"model": ', "smoke"),
    Case("CHAT-12", CHAT, "temperature -0.1", _chat(temperature=-0.1)),
    Case("CHAT-12", CHAT, "temperature 2.1", _chat(temperature=2.1)),
    Case("CHAT-12", CHAT, 'temperature "hot"', _chat(temperature="hot")),
    Case("CHAT-13", CHAT, "top_p 1.5", _chat(top_p=1.5)),
    Case("CHAT-13", CHAT, "top_p -0.1", _chat(top_p=-0.1), "full"),
    Case("CHAT-14", CHAT, "max_tokens 0", _chat(max_tokens=0)),
    Case("CHAT-14", CHAT, "max_tokens -5", _chat(max_tokens=-5)),
    Case("CHAT-14", CHAT, "max_tokens 1.5", _chat(max_tokens=1.5)),
    Case("CHAT-15", CHAT, 'max_tokens "16"', _chat(max_tokens="16"), "full"),
    Case("CHAT-16", CHAT, "5 stop sequences", _chat(stop=["a1", "b2", "c3", "d4", "e5"])),
    Case("CHAT-17", CHAT, "model missing", _chat(model=_DROP), "smoke"),
    Case("CHAT-17", CHAT, "messages missing", _chat(messages=_DROP), "smoke"),
    Case("CHAT-17", CHAT, "messages a string", _chat(messages="Say OK.")),
    Case("CHAT-17", CHAT, "model a number", _chat(model=42)),
    Case("CHAT-18", CHAT, "messages empty", _chat(messages=[])),
    Case("CHAT-18", CHAT, "message without role", _chat(messages=[{"content": "Say OK."}])),
    Case("CHAT-18", CHAT, "message without content", _chat(messages=[{"role": "user"}]), "full"),
    Case(
        "CHAT-19", CHAT, "bare model id", lambda m: _chat(model=_bare(m.chat))(m), "standard", True
    ),
    Case("CHAT-20", CHAT, "unknown model", _chat(model=UNKNOWN_PROVIDER_MODEL), "smoke", True),
    Case("IMG-08", IMAGES, 'size "123x456"', _image(size="123x456")),
    Case("IMG-08", IMAGES, 'size "1024"', _image(size="1024"), "full"),
    Case("IMG-09", IMAGES, 'quality "ultra"', _image(quality="ultra")),
    Case("IMG-10", IMAGES, "n 0", _image(n=0)),
    Case("IMG-10", IMAGES, "n -1", _image(n=-1), "full"),
    Case("IMG-10", IMAGES, "n 1.5", _image(n=1.5)),
    Case("IMG-11", IMAGES, "prompt missing", _image(prompt=_DROP), "smoke"),
    Case("IMG-11", IMAGES, "model missing", _image(model=_DROP)),
    Case("IMG-11", IMAGES, "prompt a number", _image(prompt=42), "full"),
    Case(
        "IMG-12",
        IMAGES,
        "bare model id",
        lambda m: _image(model=_bare(m.image))(m),
        "standard",
        True,
    ),
    Case("IMG-12", IMAGES, "unknown model", _image(model=UNKNOWN_PROVIDER_MODEL), "standard", True),
    Case("IMG-13", IMAGES, 'n "1"', _image(n="1"), "full"),
)


def rejection_params(path: str) -> list[Any]:
    """The cases for one endpoint, each marked with the requirement it proves."""
    return [case.param(own_requirement=True) for case in CASES if case.path == path]


def all_cases() -> list[Any]:
    """Every case, unmarked, for the checks that apply to any rejection."""
    return [case.param(own_requirement=False) for case in CASES]
