"""Self-tests of the reference server and its fault zoo, with httpx against a live server.

The clean app must follow interpretation.md to the letter; each fault must change exactly
the behaviour its description names; the variants must stay conforming.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from conformance.reference import (
    FAULTS,
    VARIANTS,
    ServerThread,
    create_app,
    create_zoo_app,
    generate_api_key,
)
from conformance.reference.case_faults import CASE_FAULTS
from conformance.reference.chat import FINISH_REASONS, tokenize
from conformance.reference.png import png_size
from conformance.reference.served_models import CHAT_MODELS, IMAGE_MODELS
from conformance.reference.variants import STOP_IGNORING_ROUTE
from conformance.transport.sse import read_events

KEY = generate_api_key()
OTHER_KEY = generate_api_key()
OMIT = object()  # a body value meaning "leave this field out"
REQUIREMENTS = Path(__file__).parents[1] / "conformance" / "requirements.yaml"
PROFILES = ("smoke", "standard", "full")

CHAT: dict[str, Any] = {
    "model": "openai/gpt-4o-mini",
    "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
}
OFFERS = ("256x256", "512x512", "1024x1024", "1024x1792", "1792x1024", "standard", "hd")
IMAGE: dict[str, Any] = {"model": "openai/dall-e-2", "prompt": "a red square", "size": "256x256"}


# --- fixtures and helpers ---------------------------------------------------------------


@pytest.fixture(scope="module")
def zoo_server() -> Iterator[ServerThread]:
    with ServerThread(create_zoo_app(KEY)) as server:
        yield server


def _client(zoo_server: ServerThread, mount: str = "clean") -> httpx.Client:
    base_url = f"{zoo_server.origin}/{mount}/v1"
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {KEY}"}, timeout=10)


@pytest.fixture(scope="module")
def api(zoo_server: ServerThread) -> Iterator[httpx.Client]:
    with _client(zoo_server) as client:
        yield client


def body_of(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = {**base, **changes}
    return {k: v for k, v in merged.items() if v is not OMIT}


def post_chat(c: httpx.Client, **changes: Any) -> httpx.Response:
    return c.post("/chat/completions", json=body_of(CHAT, changes))


def post_image(c: httpx.Client, **changes: Any) -> httpx.Response:
    return c.post("/images/generations", json=body_of(IMAGE, changes))


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def with_auth(c: httpx.Client, method: str, path: str, auth: str | None, **kw: Any):
    """Send with `auth` as the Authorization header (None: no header at all)."""
    request = c.build_request(method, path, **kw)
    if auth is None:
        del request.headers["Authorization"]
    else:
        request.headers["Authorization"] = auth
    return c.send(request)


def stream_data(c: httpx.Client, **changes: Any) -> tuple[httpx.Response, list[str]]:
    """A streamed chat request: the response and the data of every event, via the suite's
    own WHATWG reader, fed the bytes as they arrived."""
    body = body_of(CHAT, {"stream": True, **changes})
    with c.stream("POST", "/chat/completions", json=body) as response:
        events, _ = read_events(response.iter_raw())
    return response, [event.data for event in events]


def chunks_of(data: list[str]) -> list[dict[str, Any]]:
    return [json.loads(d) for d in data if d != "[DONE]"]


def joined(chunks: list[dict[str, Any]]) -> str:
    return "".join(ch["delta"].get("content") or "" for c in chunks for ch in c["choices"])


def finish_count(chunks: list[dict[str, Any]]) -> int:
    return sum(1 for c in chunks for ch in c["choices"] if ch["finish_reason"] is not None)


def assert_envelope(response: httpx.Response, status: int, param: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str)
    assert error["message"]
    if param is not None:
        assert error["param"] == param


def fetch_png(url: str) -> tuple[int, int] | None:
    response = httpx.get(url, timeout=10)  # no key: download URLs are not API requests
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    return png_size(response.content)


# --- validation: every invalid request of interpretation section 3 ----------------------

CHAT_INVALID = [
    ("model", {"model": OMIT}, 400),
    ("model", {"model": None}, 400),
    ("model", {"model": 4}, 400),
    ("model", {"model": ["openai/gpt-4o"]}, 400),
    ("model", {"model": "gpt-4o"}, 400),
    ("model", {"model": "openai/"}, 400),
    ("model", {"model": "open ai/gpt-4o"}, 400),
    ("model", {"model": "openai/no-such-model"}, 404),
    ("model", {"model": "openai/dall-e-3"}, 400),
    ("messages", {"messages": OMIT}, 400),
    ("messages", {"messages": "Hi"}, 400),
    ("messages", {"messages": {"role": "user", "content": "Hi"}}, 400),
    ("messages", {"messages": []}, 400),
    ("messages[0]", {"messages": ["Hi"]}, 400),
    ("messages[0].role", {"messages": [{"content": "Hi"}]}, 400),
    ("messages[0].role", {"messages": [{"role": "wizard", "content": "Hi"}]}, 400),
    ("messages[0].role", {"messages": [{"role": 1, "content": "Hi"}]}, 400),
    ("messages[0].content", {"messages": [{"role": "user"}]}, 400),
    ("messages[0].content", {"messages": [{"role": "user", "content": 5}]}, 400),
    ("messages[0].content", {"messages": [{"role": "user", "content": []}]}, 400),
    ("messages[0].content[0]", {"messages": [{"role": "user", "content": [{"type": "x"}]}]}, 400),
    ("temperature", {"temperature": -0.1}, 400),
    ("temperature", {"temperature": 2.1}, 400),
    ("temperature", {"temperature": 3}, 400),
    ("temperature", {"temperature": "hot"}, 400),
    ("temperature", {"temperature": "1"}, 400),
    ("temperature", {"temperature": True}, 400),
    ("top_p", {"top_p": 1.5}, 400),
    ("top_p", {"top_p": -0.1}, 400),
    ("top_p", {"top_p": "0.5"}, 400),
    ("max_tokens", {"max_tokens": 0}, 400),
    ("max_tokens", {"max_tokens": -5}, 400),
    ("max_tokens", {"max_tokens": 1.5}, 400),
    ("max_tokens", {"max_tokens": "16"}, 400),
    ("max_tokens", {"max_tokens": True}, 400),
    ("stream", {"stream": "yes"}, 400),
    ("stream", {"stream": 1}, 400),
    ("stop", {"stop": ["a", "b", "c", "d", "e"]}, 400),
    ("stop", {"stop": 5}, 400),
    ("stop", {"stop": ["a", 1]}, 400),
    ("stop", {"stop": {"a": 1}}, 400),
    ("stream_options", {"stream_options": "usage"}, 400),
    ("stream_options.include_usage", {"stream_options": {"include_usage": "yes"}}, 400),
]

IMAGE_INVALID = [
    ("model", {"model": OMIT}, 400),
    ("model", {"model": 3}, 400),
    ("model", {"model": "dall-e-3"}, 400),
    ("model", {"model": "openai/no-such-model"}, 404),
    ("model", {"model": "openai/gpt-4o"}, 400),
    ("prompt", {"prompt": OMIT}, 400),
    ("prompt", {"prompt": 5}, 400),
    ("prompt", {"prompt": ""}, 400),
    ("prompt", {"prompt": "   "}, 400),
    ("n", {"n": 0}, 400),
    ("n", {"n": -1}, 400),
    ("n", {"n": 1.5}, 400),
    ("n", {"n": "1"}, 400),
    ("n", {"n": True}, 400),
    ("n", {"n": 11}, 400),
    ("n", {"model": "openai/dall-e-3", "size": "1024x1024", "n": 2}, 400),
    ("size", {"size": "123x456"}, 400),
    ("size", {"size": "1024"}, 400),
    ("size", {"size": 1024}, 400),
    ("size", {"model": "openai/dall-e-3", "size": "256x256"}, 400),
    ("size", {"size": "1792x1024"}, 400),  # documented, but not a dall-e-2 size
    ("quality", {"quality": "ultra"}, 400),
    ("quality", {"quality": 1}, 400),
    ("quality", {"quality": "hd"}, 400),  # documented, but dall-e-2 has no hd
    ("response_format", {"response_format": "png"}, 400),
]


@pytest.mark.parametrize(("param", "changes", "status"), CHAT_INVALID)
def test_invalid_chat_request_is_rejected(api, param, changes, status):
    assert_envelope(post_chat(api, **changes), status, param)


@pytest.mark.parametrize(("param", "changes", "status"), IMAGE_INVALID)
def test_invalid_image_request_is_rejected(api, param, changes, status):
    assert_envelope(post_image(api, **changes), status, param)


def test_streamed_invalid_request_gets_a_json_error(api):
    assert_envelope(post_chat(api, stream=True, temperature=5), 400, "temperature")


GARBAGE = [
    b"",
    b"{",
    b'{"model": "openai/gpt-4o",',
    b"[]",
    b'"x"',
    b"null",
    b"42",
    b"true",
    b"NaN",
    b'{"model": NaN}',
    b'{"temperature": Infinity}',
    b"\xff\xfe\x00garbage",
    b"[" * 100_000,
    b'{"a":' * 50_000,
    b"1" * 5_000,  # more digits than Python will parse
]


@pytest.mark.parametrize("path", ["/chat/completions", "/images/generations"])
@pytest.mark.parametrize("raw", GARBAGE, ids=lambda raw: repr(raw[:12]))
def test_garbage_body_is_a_400(api, path, raw):
    response = api.post(path, content=raw, headers={"Content-Type": "application/json"})
    assert_envelope(response, 400)


JUNK = [None, True, 0, -1, 1e308, -1e308, 10**300, "", "x" * 10_000, [], {}, [[[]]], {"a": {}}]


@pytest.mark.parametrize(
    ("path", "base"), [("/chat/completions", CHAT), ("/images/generations", IMAGE)]
)
def test_junk_in_any_field_never_yields_a_5xx(api, path, base):
    fields = [*base, "temperature", "top_p", "max_tokens", "stream", "stop", "n", "size"]
    outcomes = {}
    for field in fields:
        for value in JUNK:
            response = api.post(path, json={**base, field: value})
            outcomes[f"{field}={str(value)[:20]}"] = response.status_code
            if response.status_code >= 400:
                assert "error" in response.json()
    assert not {k: s for k, s in outcomes.items() if s >= 500}


def test_nested_junk_is_rejected(api):
    body = {"model": {"a": [1, {"b": None}]}, "messages": [[[]]], "stop": [[["x"]]]}
    assert_envelope(api.post("/chat/completions", json=body), 400, "model")


ACCEPTED_CHAT = [
    {"temperature": 0},
    {"temperature": 2},
    {"temperature": 2.0, "top_p": 0},
    {"top_p": 1},
    {"max_tokens": 1},
    {"max_tokens": 16.0},  # an integer, as JSON Schema counts them
    {"max_tokens": None, "temperature": None, "stop": None, "stream": None},
    {"stop": "\n"},
    {"stop": ["a", "b", "c", "d"]},
    {"stop": []},
    {"stream": False},
    {"frobnicate": {"unknown": True}, "n": 1, "user": "u-1"},
    {"messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]},
    {"messages": [{"role": r, "content": "x"} for r in ("developer", "assistant", "tool", "user")]},
    {"model": "openai/gpt-4o"},
]


@pytest.mark.parametrize("changes", ACCEPTED_CHAT)
def test_valid_chat_request_is_accepted(api, changes):
    response = post_chat(api, **changes)
    assert response.status_code == 200, response.text


# --- routing and the crash safety net ---------------------------------------------------


def test_unknown_path_is_a_json_404(api):
    assert_envelope(api.get("/nope"), 404)
    assert_envelope(api.post("/chat/complete", json=CHAT), 404)


def test_wrong_method_is_a_json_405(api):
    response = api.get("/chat/completions")
    assert_envelope(response, 405)
    assert "POST" in response.headers["allow"]


def test_unexpected_exception_is_a_json_500(api, monkeypatch):
    def explode(*args: Any) -> None:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr("conformance.reference.app.complete", explode)
    response = post_chat(api)
    assert_envelope(response, 500)
    assert response.json()["error"]["type"] == "server_error"
    assert "boom" not in response.text


def test_oversized_body_is_a_413(api):
    response = api.post("/chat/completions", content=b" " * (4 * 1024 * 1024 + 1))
    assert_envelope(response, 413)


# --- authentication ---------------------------------------------------------------------

ENDPOINTS = [
    ("GET", "/models", None),
    ("POST", "/chat/completions", CHAT),
    ("POST", "/images/generations", IMAGE),
]
REJECTED_AUTH = {
    "missing": None,
    "unknown-key": f"Bearer {OTHER_KEY}",
    "one-char-changed": f"Bearer {KEY[:-1]}{'A' if KEY[-1] != 'A' else 'B'}",
    "longer-key": f"Bearer {KEY}x",
    "malformed-key": "Bearer sk-not-an-apexapi-key",
    "empty-credentials": "Bearer",
    "token-scheme": f"Token {KEY}",
    "basic-scheme": f"Basic {KEY}",
    "no-scheme": KEY,
    "two-keys": f"Bearer {KEY} {KEY}",
}
ACCEPTED_AUTH = {
    "bearer": f"Bearer {KEY}",
    "lower-case": f"bearer {KEY}",
    "upper-case": f"BEARER {KEY}",
    "extra-space": f"Bearer  {KEY}",
}


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS, ids=lambda v: str(v)[:20])
@pytest.mark.parametrize("auth", REJECTED_AUTH.values(), ids=REJECTED_AUTH.keys())
def test_bad_credentials_get_401(api, method, path, body, auth):
    response = with_auth(api, method, path, auth, json=body)
    assert_envelope(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    if auth is not None and auth.split(" ")[-1]:
        assert auth.split(" ")[-1] not in response.text  # never echo the submitted key


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS, ids=lambda v: str(v)[:20])
@pytest.mark.parametrize("auth", ACCEPTED_AUTH.values(), ids=ACCEPTED_AUTH.keys())
def test_good_credentials_are_accepted(api, method, path, body, auth):
    assert with_auth(api, method, path, auth, json=body).status_code == 200


def test_wrong_key_error_code(api):
    response = with_auth(api, "GET", "/models", f"Bearer {OTHER_KEY}")
    assert response.json()["error"]["code"] == "invalid_api_key"
    assert response.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize("raw", [b"{", b"[]", b'{"model": 1}'])
def test_auth_is_checked_before_the_body(api, raw):
    assert_envelope(with_auth(api, "POST", "/chat/completions", None, content=raw), 401)
    assert_envelope(with_auth(api, "POST", "/images/generations", "Bearer x", content=raw), 401)


def test_generated_keys_have_the_documented_form():
    keys = {generate_api_key() for _ in range(20)}
    assert len(keys) == 20
    assert all(len(k) == 48 and k.startswith("ak-") and k[3:].isalnum() for k in keys)


# --- models -----------------------------------------------------------------------------


def test_model_list(api):
    body = api.get("/models").json()
    assert body["object"] == "list"
    assert [m["id"] for m in body["data"]] == [*CHAT_MODELS, *IMAGE_MODELS]
    for model in body["data"]:
        assert model["object"] == "model"
        assert isinstance(model["created"], int)
        assert model["owned_by"] == model["id"].split("/")[0]
        assert all(isinstance(model["pricing"][k], str) for k in ("prompt", "completion"))
        assert all(float(v) >= 0 for v in model["pricing"].values())


# --- chat -------------------------------------------------------------------------------


def test_completion_shape(api):
    body = post_chat(api, model="openai/gpt-4o").json()
    assert body["id"].startswith("chatcmpl-")
    assert body["object"] == "chat.completion"
    assert isinstance(body["created"], int)
    assert body["model"] == "openai/gpt-4o"
    (choice,) = body["choices"]
    assert choice["index"] == 0
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"].startswith("Echo: Hi ")
    assert choice["finish_reason"] == "stop"


def test_replies_are_deterministic(api):
    first, second = post_chat(api).json(), post_chat(api).json()
    assert first["choices"] == second["choices"]
    assert first["usage"] == second["usage"]


def test_usage_is_exact(api):
    messages = [{"role": "system", "content": "one two"}, {"role": "user", "content": "a b c"}]
    body = post_chat(api, messages=messages).json()
    content = body["choices"][0]["message"]["content"]
    assert body["usage"] == {
        "prompt_tokens": (2 + 3) + (3 + 3),
        "completion_tokens": len(tokenize(content)),
        "total_tokens": 11 + len(tokenize(content)),
    }
    assert len(tokenize(content)) >= 40  # so max_tokens 16 always truncates


def test_max_tokens_truncates_with_length(api):
    full = post_chat(api).json()["choices"][0]["message"]["content"]
    body = post_chat(api, max_tokens=16).json()
    content = body["choices"][0]["message"]["content"]
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 16 == len(tokenize(content))
    assert full.startswith(content)
    assert content.split() == full.split()[:16]


@pytest.mark.parametrize("stop", ["reference", ["zzz", "reference", "server"], ["Echo"]])
def test_stop_sequences_cut_the_reply(api, stop):
    full = post_chat(api).json()["choices"][0]["message"]["content"]
    body = post_chat(api, stop=stop).json()
    content = body["choices"][0]["message"]["content"]
    stops = [stop] if isinstance(stop, str) else stop
    assert content == full[: min(full.index(s) for s in stops if s in full)]
    assert not any(s in content for s in stops)
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"]["completion_tokens"] == len(tokenize(content))


def test_stop_and_max_tokens_together(api):
    body = post_chat(api, stop="end.", max_tokens=16).json()
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 16


def test_non_ascii_round_trips(api):
    response = post_chat(api, messages=user("Reply exactly: café ☕ 東京"))
    assert response.status_code == 200
    content = json.loads(response.content.decode("utf-8"))["choices"][0]["message"]["content"]
    assert "café ☕ 東京" in content


# --- streaming --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes", [{}, {"max_tokens": 16}, {"stop": ["reference"]}, {"messages": user("héllo\n x")}]
)
def test_stream_matches_the_non_stream_reply(api, changes):
    expected = post_chat(api, **changes).json()
    response, data = stream_data(api, **changes)
    assert response.headers["content-type"].startswith("text/event-stream")
    assert data[-1] == "[DONE]"
    chunks = chunks_of(data)
    assert {c["id"] for c in chunks} == {chunks[0]["id"]}
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert {c["model"] for c in chunks} == {expected["model"]}
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert finish_count(chunks) == 1
    assert chunks[-1]["choices"][0]["finish_reason"] == expected["choices"][0]["finish_reason"]
    assert joined(chunks) == expected["choices"][0]["message"]["content"]
    # One chunk per token, between the role chunk and the finish chunk.
    assert len(chunks) - 2 == expected["usage"]["completion_tokens"]
    assert all("usage" not in c for c in chunks)


def test_stream_usage_chunk(api):
    expected = post_chat(api, max_tokens=16).json()
    _, data = stream_data(api, max_tokens=16, stream_options={"include_usage": True})
    chunks = chunks_of(data)
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == expected["usage"]
    assert all(c["usage"] is None for c in chunks[:-1])


# --- images -----------------------------------------------------------------------------


def test_image_urls_serve_real_pngs_of_the_requested_size(api, zoo_server):
    body = post_image(api, n=3, size="512x512").json()
    assert isinstance(body["created"], int)
    assert len(body["data"]) == 3
    for item in body["data"]:
        assert item["url"].startswith(f"{zoo_server.origin}/clean/v1/images/files/")
        assert item["revised_prompt"] == IMAGE["prompt"]
        assert fetch_png(item["url"]) == (512, 512)


@pytest.mark.parametrize(
    ("changes", "size"),
    [
        ({"model": "openai/dall-e-3", "size": OMIT}, (1024, 1024)),
        ({"model": "openai/dall-e-3", "size": "1792x1024", "quality": "hd"}, (1792, 1024)),
        ({"model": "openai/dall-e-3", "size": "1024x1792", "n": 1.0}, (1024, 1792)),
        ({"size": "256x256", "quality": "standard", "response_format": "url"}, (256, 256)),
    ],
)
def test_image_sizes(api, changes, size):
    (item,) = post_image(api, **changes).json()["data"]
    assert fetch_png(item["url"]) == size


def test_b64_json_images(api):
    body = post_image(api, n=2, response_format="b64_json").json()
    assert len(body["data"]) == 2
    for item in body["data"]:
        assert "url" not in item
        assert png_size(base64.b64decode(item["b64_json"])) == (256, 256)


def test_unknown_image_file_is_a_404(api):
    assert_envelope(api.get("/images/files/img-0000000000000000-9999x9999.png"), 404)
    assert_envelope(api.get("/images/files/whatever.png"), 404)


# --- the fault registry -----------------------------------------------------------------


def _requirements() -> dict[str, dict[str, Any]]:
    with REQUIREMENTS.open(encoding="utf-8") as f:
        return {r["id"]: r for r in yaml.safe_load(f)["requirements"]}


def test_fault_registry_is_consistent():
    requirements = _requirements()
    assert not FAULTS.keys() & VARIANTS.keys()
    for name, fault in FAULTS.items():
        assert fault.name == name
        assert fault.description.endswith(".")
        assert fault.breaks, name
        assert set(fault.breaks) <= requirements.keys(), name
        # may_also_break: requirement IDs or check ID patterns (REQ/func/param, fnmatch).
        allowed = {m.split("/")[0] for m in fault.may_also_break}
        assert all(fnmatch.filter(requirements, a) for a in allowed), name
        assert not set(fault.breaks) & set(fault.may_also_break), name
        pinned = requirements[fault.breaks[0]]
        assert pinned["level"] in ("MUST", "SHOULD"), name
        assert PROFILES.index(fault.profile) >= PROFILES.index(pinned["profile"]), name


def test_unknown_fault_name_is_refused():
    with pytest.raises(ValueError, match="no-such-fault"):
        create_app(KEY, ["no-such-fault"])


# --- each fault does what its description says ------------------------------------------


def _models(c: httpx.Client) -> list[dict[str, Any]]:
    return c.get("/models").json()["data"]


def _chat_json(c: httpx.Client, **changes: Any) -> dict[str, Any]:
    return post_chat(c, **changes).json()


def _content(c: httpx.Client, **changes: Any) -> str:
    return str(_chat_json(c, **changes)["choices"][0]["message"]["content"])


def _stalls(c: httpx.Client) -> bool:
    body = body_of(CHAT, {"stream": True})
    try:
        timeout = httpx.Timeout(5, read=0.5)
        with c.stream("POST", "/chat/completions", json=body, timeout=timeout) as response:
            for _ in response.iter_raw():
                pass
    except httpx.ReadTimeout:
        return True
    return False


def _first_image(c: httpx.Client, **changes: Any) -> dict[str, Any]:
    return post_image(c, **changes).json()["data"][0]


def _download(c: httpx.Client, max_redirects: int = 5) -> httpx.Response | None:
    """The first image's URL fetched as a client would (redirects followed); None for too many."""
    url = _first_image(c)["url"]
    try:
        with httpx.Client(follow_redirects=True, max_redirects=max_redirects, timeout=10) as h:
            return h.get(url)
    except httpx.TooManyRedirects:
        return None


Probe = Callable[[httpx.Client], bool]
Send = Callable[[httpx.Client], httpx.Response]
_HOT = {"temperature": 3}


def _models_as(auth: str | None, path: str = "/models") -> Send:
    # An absolute URL: httpx would drop the leading slashes of a path joined to base_url.
    return lambda c: with_auth(c, "GET", str(c.base_url).rstrip("/") + path, auth)


def _chat(**changes: Any) -> Send:
    return lambda c: post_chat(c, **changes)


def _image(**changes: Any) -> Send:
    return lambda c: post_image(c, **changes)


def _status(send: Send, status: int) -> Probe:
    return lambda c: send(c).status_code == status


def _media(send: Send, media_type: str) -> Probe:
    return lambda c: send(c).headers["content-type"].startswith(media_type)


def _streamed(check: Callable[[list[dict[str, Any]]], bool]) -> Probe:
    return lambda c: check(chunks_of(stream_data(c)[1]))


def _error_as_200(c: httpx.Client) -> bool:
    response = post_chat(c, **_HOT)
    return response.status_code == 200 and "error" in response.json()


def _offer(value: str) -> dict[str, Any]:
    """An image request naming one documented size or quality, with a model that has it."""
    if value in ("standard", "hd"):
        return {"model": "openai/dall-e-3", "size": OMIT, "quality": value}
    return {"model": "openai/dall-e-3" if "1792" in value else "openai/dall-e-2", "size": value}


def _stream_text(c: httpx.Client, **changes: Any) -> str:
    return joined(chunks_of(stream_data(c, **changes)[1]))


def _usage_chunk(c: httpx.Client) -> dict[str, Any] | None:
    chunks = chunks_of(stream_data(c, stream_options={"include_usage": True})[1])
    return next((ch["usage"] for ch in chunks if ch.get("usage")), None)


def _late_delta(chunks: list[dict[str, Any]]) -> bool:
    finished = next(i for i, ch in enumerate(chunks) if finish_count([ch]))
    return any(joined([ch]) for ch in chunks[finished + 1 :])


def _wrong_total(c: httpx.Client, **changes: Any) -> bool:
    usage = _chat_json(c, **changes)["usage"]
    return usage["total_tokens"] != usage["prompt_tokens"] + usage["completion_tokens"]


def _stop_ignored(c: httpx.Client, model: str) -> bool:
    response = post_chat(c, model=model, stop="reference")
    return response.status_code == 200 and (
        "reference" in response.json()["choices"][0]["message"]["content"]
    )


PROBES: dict[str, Probe] = {
    "auth-accept-any-key": _status(_models_as(f"Bearer {OTHER_KEY}"), 200),
    "auth-no-key-accepted": _status(_models_as(None), 200),
    "auth-models-public": lambda c: (
        _models_as(None)(c).status_code == 200
        and with_auth(c, "POST", "/chat/completions", None, json=CHAT).status_code == 401
    ),
    "auth-accept-malformed": _status(_models_as("Bearer sk-x"), 200),
    "auth-prefix-match": _status(_models_as(f"Bearer {KEY[:24]}{'x' * 24}"), 200),
    "auth-any-scheme": _status(_models_as(f"Token {KEY}"), 200),
    "auth-400": _status(_models_as(f"Bearer {OTHER_KEY}"), 400),
    "auth-case-sensitive-scheme": _status(_models_as(f"bearer {KEY}"), 401),
    "auth-reject-valid-images": _status(_image(), 401),
    "auth-echo-key": lambda c: OTHER_KEY in _models_as(f"Bearer {OTHER_KEY}")(c).text,
    "auth-key-case-insensitive": _status(_models_as(f"Bearer {KEY.upper()}"), 200),
    "auth-key-startswith": _status(_models_as(f"Bearer {KEY}xyz"), 200),
    "auth-key-prefix-optional": _status(_models_as(f"Bearer {KEY[3:]}"), 200),
    "auth-key-truncated-compare": _status(_models_as(f"Bearer {KEY[:24]}"), 200),
    "auth-key-off-by-one": _status(
        _models_as(f"Bearer {KEY[:-1]}{'b' if KEY[-1] == 'a' else 'a'}"), 200
    ),
    "auth-empty-token-accepted": _status(_models_as("Bearer"), 200),
    "auth-scheme-optional": _status(_models_as(KEY), 200),
    "auth-error-as-200": _status(_models_as(None), 200),
    "auth-404": _status(_models_as(f"Bearer {OTHER_KEY}"), 404),
    "auth-500-no-key": _status(_models_as(None), 500),
    "auth-scheme-two-spellings": lambda c: (
        _models_as(f"bearer {KEY}")(c).status_code == 200
        and _models_as(f"BEARER {KEY}")(c).status_code == 401
    ),
    "auth-echo-header": lambda c: KEY in _models_as(f"Token {KEY}")(c).text,
    "auth-reject-valid-chat": _status(_chat(), 401),
    "auth-reject-valid-models": _status(_models_as(f"Bearer {KEY}"), 401),
    "auth-after-validation": _status(
        lambda c: with_auth(c, "POST", "/chat/completions", None, content=b"{"), 400
    ),
    "http-500-malformed-json": _status(lambda c: c.post("/chat/completions", content=b"{"), 500),
    "http-unknown-path-400": _status(lambda c: c.get("/nope"), 400),
    "http-text-errors": _media(_chat(**_HOT), "text/plain"),
    "http-reject-non-ascii": _status(_chat(messages=user("café")), 400),
    "http-500-unknown-path": _status(lambda c: c.get("/nope"), 500),
    "http-unknown-path-200": _status(lambda c: c.get("/nope"), 200),
    "http-json-as-text": _media(lambda c: c.get("/models"), "text/plain"),
    "err-500-on-rejection": _status(_chat(**_HOT), 500),
    "err-422-unknown-model": _status(_chat(model="openai/nope"), 422),
    "err-error-as-200": _error_as_200,
    "err-no-envelope": lambda c: "error" not in _chat_json(c, **_HOT),
    "err-bare-envelope": lambda c: set(_chat_json(c, **_HOT).get("error", {})) == {"message"},
    "err-422": _status(_chat(**_HOT), 422),
    "err-500-unknown-model": _status(_chat(model="openai/nope"), 500),
    "models-no-pricing": lambda c: any("pricing" not in m for m in _models(c)),
    "models-numeric-prices": lambda c: any(
        not isinstance(p, str) for m in _models(c) for p in m["pricing"].values()
    ),
    "models-bare-id": lambda c: (
        any("/" not in m["id"] for m in _models(c))
        and post_chat(c, model="legacy-model").status_code == 200
    ),
    "models-owned-by-mismatch": lambda c: any(
        m["owned_by"] != m["id"].split("/")[0] for m in _models(c)
    ),
    "models-duplicate-ids": lambda c: len(_models(c)) != len({m["id"] for m in _models(c)}),
    "models-created-string": lambda c: any(isinstance(m["created"], str) for m in _models(c)),
    "models-wrong-list-object": lambda c: c.get("/models").json()["object"] != "list",
    "chat-not-a-completion": lambda c: "choices" not in _chat_json(c),
    "chat-model-null": lambda c: _chat_json(c)["model"] is None,
    "chat-wrong-object": lambda c: _chat_json(c)["object"] != "chat.completion",
    "chat-user-role": lambda c: _chat_json(c)["choices"][0]["message"]["role"] != "assistant",
    "chat-bad-finish-reason": lambda c: (
        _chat_json(c)["choices"][0]["finish_reason"] not in FINISH_REASONS
    ),
    "chat-model-mismatch": lambda c: _chat_json(c)["model"] != CHAT["model"],
    "chat-no-usage": lambda c: "usage" not in _chat_json(c),
    "chat-wrong-total": _wrong_total,
    "chat-ignore-max-tokens": lambda c: (
        _chat_json(c, max_tokens=16)["usage"]["completion_tokens"] > 16
    ),
    "chat-stop-on-length": lambda c: (
        _chat_json(c, max_tokens=16)["choices"][0]["finish_reason"] == "stop"
    ),
    "chat-reject-temperature-2": _status(_chat(temperature=2), 400),
    "chat-reject-temperature-0": _status(_chat(temperature=0.0), 400),
    "chat-temperature-float32": _status(_chat(temperature=2.0000001), 200),
    "chat-accept-negative-temperature": _status(_chat(temperature=-0.5), 200),
    "chat-coerce-temperature-string": _status(_chat(temperature="0.5"), 200),
    "chat-stream-truthy": _media(_chat(stream=1), "text/event-stream"),
    "sse-stream-false-streams": _media(_chat(stream=False), "text/event-stream"),
    "chat-accept-temperature-3": _status(_chat(temperature=3), 200),
    "chat-reject-string-stop": _status(_chat(stop="zzz"), 400),
    "chat-accept-5-stops": _status(_chat(stop=list("vwxyz")), 200),
    "chat-ignore-stop": lambda c: (
        "reference" in _chat_json(c, stop=["reference"])["choices"][0]["message"]["content"]
    ),
    "chat-accept-top-p-1.5": _status(_chat(top_p=1.5), 200),
    "chat-accept-max-tokens-0": _status(_chat(max_tokens=0), 200),
    "chat-coerce-max-tokens-string": _status(_chat(max_tokens="16"), 200),
    "chat-default-model": _status(_chat(model=OMIT), 200),
    "chat-accept-empty-messages": _status(_chat(messages=[]), 200),
    "chat-accept-bare-model": _status(_chat(model="gpt-4o"), 200),
    "chat-accept-unknown-model": _status(_chat(model="openai/nope"), 200),
    "chat-500-unknown-field": _status(_chat(frobnicate=1), 500),
    "chat-ignore-stop-fixed-reply": lambda c: "help" in _content(c, stop="help"),
    "chat-stop-first-only": lambda c: "reference" in _content(c, stop=["zzz", "reference"]),
    "chat-stop-last-only": lambda c: "reference" in _content(c, stop=["reference", "zzz"]),
    "chat-stop-ascii-only": lambda c: "naïve" in _content(c, messages=user("naïve"), stop="naïve"),
    "chat-stop-strip": lambda c: " " in _content(c, stop=" "),
    "chat-one-stop-only": _status(_chat(stop=["yyy", "zzz"]), 400),
    "chat-500-stop": _status(_chat(stop="zzz"), 500),
    "chat-500-whitespace-stop": _status(_chat(stop=["\n"]), 500),
    "chat-500-large-max-tokens": _status(_chat(max_tokens=1_000_000), 500),
    "chat-500-non-bmp": _status(_chat(messages=user("Hi 🙂")), 500),
    "chat-created-float-on-stop": lambda c: isinstance(_chat_json(c, stop="zzz")["created"], float),
    "chat-length-content-null": lambda c: (
        _chat_json(c, max_tokens=16)["choices"][0]["message"]["content"] is None
    ),
    "chat-no-usage-on-stop": lambda c: "usage" not in _chat_json(c, stop="zzz"),
    "chat-wrong-total-on-stop": lambda c: _wrong_total(c, stop="zzz"),
    "sse-stream-ignored": _media(_chat(stream=True), "application/json"),
    "sse-stream-default": _media(_chat(), "text/event-stream"),
    "sse-wrong-content-type": _media(_chat(stream=True), "text/plain"),
    "sse-not-json": lambda c: "'object'" in stream_data(c)[1][0],
    "sse-no-blank-line": lambda c: stream_data(c)[1] == [],
    "sse-stall": _stalls,
    "sse-changing-id": _streamed(lambda chunks: len({ch["id"] for ch in chunks}) > 1),
    "sse-no-role": _streamed(lambda chunks: "role" not in chunks[0]["choices"][0]["delta"]),
    "sse-two-finish-reasons": _streamed(lambda chunks: finish_count(chunks) == 2),
    "sse-no-done": lambda c: "[DONE]" not in stream_data(c)[1],
    "sse-empty-content": _streamed(lambda chunks: joined(chunks) == ""),
    "sse-error-as-stream": _media(_chat(stream=True, **_HOT), "text/event-stream"),
    "img-fewer-than-n": lambda c: len(post_image(c, n=3).json()["data"]) == 2,
    "img-fewer-above-2": lambda c: (
        len(post_image(c, n=3).json()["data"]) == 2 and len(post_image(c, n=2).json()["data"]) == 2
    ),
    **{
        f"img-empty-for-{value}": (
            lambda v: lambda c: post_image(c, **_offer(v)).json()["data"] == []
        )(value)
        for value in OFFERS
    },
    **{
        f"img-no-image-for-{value}": (
            lambda v: lambda c: _first_image(c, **_offer(v)).keys() == {"revised_prompt"}
        )(value)
        for value in OFFERS
    },
    "models-unlisted-images": lambda c: (
        not [m for m in _models(c) if "dall-e" in m["id"]] and post_image(c).status_code == 200
    ),
    "sse-chunk-object": _streamed(lambda chunks: chunks[0]["object"] == "chat.completion"),
    "sse-dropped-delta": lambda c: len(_stream_text(c)) < len(_content(c)),
    "sse-repeated-delta": lambda c: len(_stream_text(c)) > len(_content(c)),
    "sse-early-done": lambda c: stream_data(c)[1][-1] != "[DONE]",
    "sse-error-event": lambda c: any('"error"' in d for d in stream_data(c)[1]),
    "sse-finish-chunk-id": _streamed(lambda chunks: chunks[-1]["id"] != chunks[0]["id"]),
    "sse-ignore-max-tokens": lambda c: len(_stream_text(c, max_tokens=3).split()) > 3,
    "sse-ignore-stop": lambda c: "reference" in _stream_text(c, stop="reference"),
    "sse-stop-first-only": lambda c: "reference" in _stream_text(c, stop=["zzz", "reference"]),
    "sse-stop-per-chunk": lambda c: (
        "ApexApi reference" in _stream_text(c, stop="ApexApi reference")
    ),
    "sse-late-delta": _streamed(_late_delta),
    "routes-one-ignores-stop": lambda c: (
        _stop_ignored(c, STOP_IGNORING_ROUTE) and not _stop_ignored(c, CHAT["model"])
    ),
    "sse-usage-strings": lambda c: isinstance((_usage_chunk(c) or {}).get("prompt_tokens"), str),
    "sse-usage-total": lambda c: (
        (u := _usage_chunk(c) or {}).get("total_tokens", 0)
        != u.get("prompt_tokens", 0) + u.get("completion_tokens", 0)
    ),
    "img-no-endpoint": _status(_image(), 404),
    "img-no-url": lambda c: _first_image(c).keys() == {"revised_prompt"},
    "img-broken-url": lambda c: httpx.get(_first_image(c)["url"]).status_code == 404,
    "img-redirect-404": lambda c: (r := _download(c)) is not None and r.status_code == 404,
    "img-redirect-not-image": lambda c: (
        (r := _download(c)) is not None and r.headers["content-type"].startswith("text/html")
    ),
    "img-redirect-loop": lambda c: _download(c, max_redirects=20) is None,
    "img-redirect-too-many": lambda c: (
        _download(c) is None
        and (r := _download(c, max_redirects=6)) is not None
        and r.status_code == 200
    ),
    "img-data-url-not-image": lambda c: (
        _first_image(c)["url"] == "data:image/png;base64,aW1hZ2UgdW5hdmFpbGFibGU="
    ),
    "chat-500-stream-options": _status(_chat(stream_options={"include_usage": True}), 500),
    "img-wrong-size": lambda c: fetch_png(_first_image(c)["url"]) == (128, 128),
    "img-reject-1792": _status(_image(model="openai/dall-e-3", size="1792x1024"), 400),
    "img-reject-hd": _status(_image(model="openai/dall-e-3", size="1024x1024", quality="hd"), 400),
    "img-accept-any-size": _status(_image(size="123x456"), 200),
    "img-size-any-documented-edges": _status(_image(size="256x1024"), 200),
    "img-reject-256x256": _status(_image(size="256x256"), 400),
    "img-reject-512x512": _status(_image(size="512x512"), 400),
    "img-reject-1024x1024": _status(_image(size="1024x1024"), 400),
    "img-reject-1024x1792": _status(_image(model="openai/dall-e-3", size="1024x1792"), 400),
    "img-reject-standard-quality": _status(_image(quality="standard"), 400),
    "img-two-when-n-omitted": lambda c: len(post_image(c, n=OMIT).json()["data"]) == 2,
    "img-accept-unknown-quality": _status(_image(quality="ultra"), 200),
    "img-accept-n-0": _status(_image(n=0), 200),
    "img-accept-missing-prompt": _status(_image(prompt=OMIT), 200),
    "img-accept-unknown-model": _status(_image(model="openai/nope"), 200),
    "img-coerce-n-string": _status(_image(n="1"), 200),
    "img-no-created": lambda c: "created" not in post_image(c).json(),
    "auth-reach-double-slash": _status(_models_as(None, "//models"), 200),
    "auth-reach-trailing-slash": _status(_models_as(None, "/models/"), 200),
    "auth-reach-case": _status(_models_as(None, "/MODELS"), 200),
    "auth-reach-head": lambda c: with_auth(c, "HEAD", "/models", None).status_code == 200,
    "auth-reach-method": lambda c: with_auth(c, "POST", "/models", None).status_code == 200,
    # One client, so one kept-alive connection: a valid key first, then none.
    "auth-reach-keepalive": lambda c: (
        c.get("/models").status_code == 200 and _models_as(None)(c).status_code == 200
    ),
}


MUTANT_PREFIX = "mut-"


def _generated(name: str) -> bool:
    return name in CASE_FAULTS or name.startswith(MUTANT_PREFIX)


def test_every_fault_has_a_probe():
    # The generated faults are probed by tests/test_fault_zoo.py, each against its checks.
    assert PROBES.keys() == {name for name in FAULTS if not _generated(name)}


@pytest.mark.parametrize("name", [name for name in FAULTS if not _generated(name)])
def test_fault_changes_what_it_says(zoo_server, api, name):
    probe = PROBES[name]
    assert not probe(api), f"the clean server already shows {name}"
    with _client(zoo_server, f"faults/{name}") as faulty:
        assert probe(faulty), FAULTS[name].description


# --- the conforming variants ------------------------------------------------------------


def test_variant_freedoms_still_conforms(zoo_server):
    with _client(zoo_server, "faults/variant-freedoms") as c:
        assert with_auth(c, "GET", "/models", f"bearer {KEY}").status_code == 200
        models = c.get("/models")
        assert models.headers["content-type"] == "application/json; charset=utf-8"
        for model in models.json()["data"]:
            assert {"id", "object", "created", "owned_by", "pricing"} <= model.keys()
            assert all(isinstance(p, str) for p in model["pricing"].values())
        expected = _chat_json(c, max_tokens=16)
        assert expected["id"].startswith("gen-")
        assert expected["usage"]["completion_tokens"] == 16
        assert expected["choices"][0]["finish_reason"] == "length"
        body = body_of(CHAT, {"stream": True, "max_tokens": 16})
        with c.stream("POST", "/chat/completions", json=body) as response:
            raw = list(response.iter_raw())
        assert b"\r\n" in b"".join(raw)
        assert b"data:{" in b"".join(raw)
        events, issues = read_events(raw)
        assert not issues
        data = [e.data for e in events]
        assert data[-1] == "[DONE]"
        chunks = chunks_of(data)
        assert joined(chunks) == expected["choices"][0]["message"]["content"]
        assert finish_count(chunks) == 1
        assert chunks[-1]["choices"] == []
        unknown = post_chat(c, model="openai/nope")
        assert unknown.status_code == 400
        assert isinstance(unknown.json()["error"]["code"], int)
        (item,) = post_image(c).json()["data"]
        assert fetch_png(item["url"]) == (256, 256)


def test_variant_slow_delays_without_blocking(zoo_server):
    with _client(zoo_server, "faults/variant-slow") as c:
        statuses: list[int] = []
        started = time.monotonic()
        threads = [
            threading.Thread(target=lambda: statuses.append(c.get("/models").status_code))
            for _ in range(3)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
    assert statuses == [200, 200, 200]
    # Concurrent: three 2-second delays overlap (one after another they take 6 s); the
    # margin is for a loaded machine.
    assert 2.0 <= elapsed < 5.0


ROUTES = (STOP_IGNORING_ROUTE, "mistral/mistral-small", "meta/llama-3-8b")


@pytest.mark.parametrize("mount", ["variant-routes", "routes-one-ignores-stop"])
def test_routes_answer_under_their_id_and_one_fault_breaks_one(zoo_server, mount):
    with _client(zoo_server, f"faults/{mount}") as c:
        listed = {m["id"]: m for m in _models(c)}
        assert set(ROUTES) <= listed.keys() and set(CHAT_MODELS) <= listed.keys()
        for model in (*ROUTES, CHAT["model"]):
            assert listed[model]["owned_by"] == model.split("/")[0]
            assert _chat_json(c, model=model)["model"] == model
            data = stream_data(c, model=model, stop="reference")[1]
            assert {chunk["model"] for chunk in chunks_of(data)} == {model}
            broken = mount == "routes-one-ignores-stop" and model == STOP_IGNORING_ROUTE
            assert ("reference" in joined(chunks_of(data))) == broken, model
            assert _stop_ignored(c, model) == broken, model
            # The gateway still validates stop on the broken route: only valid requests lose it.
            assert post_chat(c, model=model, stop=list("vwxyz")).status_code == 400
