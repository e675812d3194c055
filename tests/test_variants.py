"""Conforming variants: the legal choices real OpenAI-format servers make never draw a verdict.

Each variant (conformance/reference/variants.py) is first shown to do what it says on the
wire, so that its passing run means something; then the whole suite runs against it with
the full profile and --fail-on=should, and must find nothing and judge all that it judges
on the clean reference.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import time
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

import conformance.contract
from conformance.catalogue import requirements
from conformance.reference.faults import VARIANTS
from conformance.reference.variants import RATE_LIMIT_EVERY
from conformance.reference.zoo import Outcome, run_suite
from conformance.spec import schemas

# The defaults of the options (zoo runs shorten them): a variant's latency is legal
# within them, and a variant is judged as a real target would be.
VARIANT_ARGS = ("--stream-idle-timeout=15", "--request-timeout=30", "--fail-on=should")
CONTRACT = sorted(p.stem for p in Path(conformance.contract.__file__).parent.glob("test_*.py"))
# Modules each run leaves out, and why (every other variant runs the whole suite).
LEFT_OUT: dict[str, tuple[str, ...]] = {
    # The delay is the same before every answer, so generated requests meet no latency the
    # targeted checks do not; they would add a minute of waiting.
    "variant-slow-first-byte": ("test_fuzz",),
    # Two seconds before each of the run's ~500 answers is 17 minutes (a whole run, fuzzing
    # included, passed in 1044 s). Time is judged by the stream idle timeout, which counts
    # from the request (test_stream), and by the request timeout, which the requests of
    # test_stream and test_models meet; the other modules use the same client.
    "variant-slow": tuple(m for m in CONTRACT if m not in ("test_stream", "test_models")),
}
# Checks a variant's legal choice makes not applicable: each skips, saying so, and its
# requirement is judged by no other check of the run.
NOT_APPLICABLE: dict[str, tuple[str, ...]] = {
    # SSE-13 asks for stream_options.include_usage, which the document does not define.
    "variant-strict-fields": ("SSE-13/usage-chunk-sent",),
}
CHAT = {
    "model": "openai/gpt-4o-mini",
    "messages": [{"role": "user", "content": "Hi"}],
    "max_tokens": 16,
}
IMAGE = {"model": "openai/dall-e-2", "prompt": "a red square", "size": "256x256"}


def _run(origin: str, key: str, name: str) -> Outcome:
    prefix = "/clean" if name == "clean" else f"/faults/{name}"
    left_out = LEFT_OUT.get(name, ())
    modules = tuple(f"conformance.contract.{m}" for m in CONTRACT if m not in left_out)
    outcome = run_suite(f"{origin}{prefix}/v1", key, "full", VARIANT_ARGS, modules)
    outcome.name = name
    return outcome


@cache
def _clean(origin: str, key: str) -> Outcome:
    return _run(origin, key, "clean")


def _in_scope(requirement: str, left_out: tuple[str, ...]) -> bool:
    tests = requirements()[requirement].tests
    return any(test.split(".py::")[0] not in left_out for test in tests)


def _by_message(outcome: Outcome, ids: dict[str, str]) -> str:
    """Each distinct message once, after the requirements that gave it."""
    grouped: dict[str, list[str]] = {}
    for requirement in ids:
        for message in outcome.messages.get(requirement, []):
            grouped.setdefault(message, []).append(requirement)
    return "\n".join(f"{', '.join(dict.fromkeys(r))}: {m}" for m, r in grouped.items())


@pytest.mark.parametrize("name", ["clean", *sorted(VARIANTS)])
def test_conforming_server_passes_full_profile(zoo, name):
    origin, key = zoo
    clean = _clean(origin, key)
    outcome = clean if name == "clean" else _run(origin, key, name)
    bad = {r: v for r, v in outcome.verdicts.items() if v in ("failed", "warned", "error")}
    assert not bad, f"{name}: {bad}\n" + _by_message(outcome, bad)
    left_out = LEFT_OUT.get(name, ())
    not_applicable = NOT_APPLICABLE.get(name, ())
    for check in not_applicable:
        _, verdict, message = outcome.checks[check]
        assert verdict == "skipped" and message.startswith("not applicable"), (check, message)
    unjudged = sorted(
        r
        for r, v in outcome.verdicts.items()
        if v == "skipped"
        and clean.verdicts.get(r) != "skipped"
        and _in_scope(r, left_out)
        and not any(check.startswith(f"{r}/") for check in not_applicable)
    )
    assert not unjudged, f"{name}: judged on the clean server, not on this one: {unjudged}"
    # A run that leaves modules out cannot judge their requirements: "not judged" (8).
    assert outcome.exit_code in ((0, 8) if left_out else (0,)), outcome.messages


def test_every_route_conforms_when_every_model_is_judged(zoo):
    """variant-routes with --models=all: each route, not only the cheapest, draws no verdict."""
    origin, key = zoo
    modules = tuple(f"conformance.contract.{m}" for m in CONTRACT)
    args = (*VARIANT_ARGS, "--models=all")
    outcome = run_suite(f"{origin}/faults/variant-routes/v1", key, "full", args, modules)
    bad = {r: v for r, v in outcome.verdicts.items() if v in ("failed", "warned", "error")}
    assert not bad, f"{bad}\n" + _by_message(outcome, bad)
    listed = httpx.get(
        f"{origin}/faults/variant-routes/v1/models", headers={"Authorization": f"Bearer {key}"}
    ).json()["data"]
    assert set(outcome.models) == {e["id"] for e in listed}
    assert outcome.exit_code == 0, outcome.messages


# --- each variant does what it says -------------------------------------------------------
@pytest.fixture(scope="module")
def client(zoo) -> Iterator[Callable[[str], httpx.Client]]:
    origin, key = zoo
    opened: list[httpx.Client] = []

    def make(name: str) -> httpx.Client:
        opened.append(
            httpx.Client(
                base_url=f"{origin}/faults/{name}/v1",
                headers={"Authorization": f"Bearer {key}"},
                timeout=10,
            )
        )
        return opened[-1]

    yield make
    for c in opened:
        c.close()


def _raw_stream(c: httpx.Client, body: dict[str, Any] | None = None) -> list[bytes]:
    with c.stream("POST", "/chat/completions", json={**CHAT, "stream": True, **(body or {})}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        return list(r.iter_raw())


def _chunks(raw: bytes) -> list[dict[str, Any]]:
    from conformance.transport.sse import read_events

    events, issues = read_events([raw])
    assert not issues
    return [json.loads(e.data) for e in events if e.data != "[DONE]"]


def show_slow(c: httpx.Client) -> None:
    started = time.monotonic()
    assert c.get("/models").status_code == 200
    assert time.monotonic() - started >= 2.0


def show_slow_first_byte(c: httpx.Client) -> None:
    started = time.monotonic()
    with c.stream("POST", "/chat/completions", json={**CHAT, "stream": True}) as response:
        headers_after = time.monotonic() - started
        next(response.iter_raw())
        first_byte_after = time.monotonic() - started
    assert first_byte_after >= 1.0, f"first byte after {first_byte_after:.2f} s"
    # The delay is between the headers and the first byte (half of it at least, for a
    # loaded machine may deliver the headers late).
    gap = first_byte_after - headers_after
    assert gap >= 0.5, f"headers after {headers_after:.2f} s, first byte {gap:.2f} s later"


def show_429(c: httpx.Client) -> None:
    statuses = [c.get("/models") for _ in range(RATE_LIMIT_EVERY)]
    limited = [r for r in statuses if r.status_code == 429]
    assert len(limited) == 1 and "retry-after" not in limited[0].headers
    assert limited[0].json()["error"]["message"]


def show_nulls(c: httpx.Client) -> None:
    choice = c.post("/chat/completions", json=CHAT).json()["choices"][0]
    assert choice["logprobs"] is None and choice["message"]["refusal"] is None
    (item,) = c.post("/images/generations", json=IMAGE).json()["data"]
    assert item["b64_json"] is None and item["revised_prompt"] is None and item["url"]
    chunks = _chunks(b"".join(_raw_stream(c)))
    assert all("usage" in chunk and chunk["usage"] is None for chunk in chunks)
    assert chunks[-1]["choices"][0]["delta"] == {
        "role": None, "content": None, "refusal": None, "tool_calls": None, "function_call": None
    }  # fmt: skip
    listed = c.get("/models").json()["data"]
    assert any(entry["pricing"]["image"] is None for entry in listed)


def show_extras(c: httpx.Client) -> None:
    response = c.post("/chat/completions", json=CHAT)
    assert response.headers["x-request-id"] and response.headers["set-cookie"]
    body = response.json()
    assert "x_gateway" in body and "x_gateway" in body["choices"][0]["message"]
    assert "x_gateway" in body["usage"]
    assert all("x_gateway" in chunk for chunk in _chunks(b"".join(_raw_stream(c))))


def show_framework_errors(c: httpx.Client) -> None:
    response = c.post("/chat/completions", json={**CHAT, "temperature": 5})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"] and error["code"] == "400" and error["type"] == "BadRequestError"
    assert error["detail"][0]["loc"] == ["body", "temperature"]


def show_close_errors(c: httpx.Client) -> None:
    refused = c.get("/models", headers={"Authorization": "Bearer ak-nope"})
    assert refused.status_code == 401 and refused.headers["connection"] == "close"
    assert c.get("/models").headers.get("connection") != "close"


def show_501_methods(c: httpx.Client) -> None:
    assert c.request("QUERY", "/chat/completions").status_code == 501
    not_allowed = c.delete("/chat/completions")
    assert not_allowed.status_code == 405 and "allow" not in not_allowed.headers
    assert c.post("/chat/completions", json=CHAT).status_code == 200


def show_gzip(c: httpx.Client) -> None:
    with c.stream("GET", "/models") as response:
        assert response.headers["content-encoding"] == "gzip"
        assert json.loads(gzip.decompress(b"".join(response.iter_raw())))["object"] == "list"
    with c.stream("POST", "/chat/completions", json={**CHAT, "stream": True}) as response:
        assert response.headers["content-encoding"] == "gzip"
        assert b"data: [DONE]" in gzip.decompress(b"".join(response.iter_raw()))


def show_sse_bytes(c: httpx.Client) -> None:
    # Writes of one byte may still meet in one TCP read; the ASGI messages may not.
    from conformance.reference.app import create_app

    key = c.headers["authorization"].split()[-1]
    app = create_app(key, ["variant-sse-bytes"])
    bodies = _asgi_bodies(app, key, {**CHAT, "stream": True})
    assert len(bodies) > 100 and all(len(body) <= 1 for body in bodies)


def show_sse_multiline(c: httpx.Client) -> None:
    raw = b"".join(_raw_stream(c))
    first = raw.split(b"\n\n")[0]
    assert first.count(b"data: ") > 3
    assert _chunks(raw)[0]["choices"][0]["delta"]["role"] == "assistant"


def show_keepalive(c: httpx.Client) -> None:
    raw = b"".join(_raw_stream(c))
    assert raw.startswith(b": OPENROUTER PROCESSING\n\n") and raw.count(b": keep-alive\n") > 3


def show_b64_images(c: httpx.Client) -> None:
    (item,) = c.post("/images/generations", json=IMAGE).json()["data"]
    assert "url" not in item
    image = Image.open(io.BytesIO(base64.b64decode(item["b64_json"])))
    assert image.format == "GIF" and image.size == (256, 256)


def show_big_models(c: httpx.Client) -> None:
    listed = c.get("/models").json()["data"]
    assert len(listed) > 300
    chat_model = next(e["id"] for e in listed if e["id"].startswith("meta-llama/"))
    answer = c.post("/chat/completions", json={**CHAT, "model": chat_model})
    assert answer.status_code == 200 and answer.json()["model"] == chat_model
    image_model = next(e["id"] for e in listed if "flux" in e["id"])
    for size in ("256x256", "1792x1024"):
        body = {**IMAGE, "model": image_model, "size": size}
        assert c.post("/images/generations", json=body).status_code == 200
    unlisted = c.post("/chat/completions", json={**CHAT, "model": "meta-llama/model-99-x"})
    assert unlisted.status_code == 404


def show_routes(c: httpx.Client) -> None:
    listed = {e["id"]: e for e in c.get("/models").json()["data"]}
    routes = ("anthropic/claude-3-haiku", "mistral/mistral-small", "meta/llama-3-8b")

    def price(model: str) -> float:
        return sum(float(listed[model]["pricing"][k]) for k in ("prompt", "completion"))

    for model in routes:
        assert price(model) > price(CHAT["model"]), model
        answer = c.post("/chat/completions", json={**CHAT, "model": model, "stop": "reference"})
        assert answer.json()["model"] == model
        assert "reference" not in answer.json()["choices"][0]["message"]["content"]
        chunks = _chunks(b"".join(_raw_stream(c, {"model": model, "stop": "reference"})))
        assert {chunk["model"] for chunk in chunks} == {model}
        assert "reference" not in "".join(
            ch["choices"][0]["delta"].get("content") or "" for ch in chunks if ch["choices"]
        )


def show_strict_fields(c: httpx.Client) -> None:
    refused = [
        c.post("/chat/completions", json={**CHAT, **extra})
        for extra in (
            {"stream": True, "stream_options": {"include_usage": True}},
            {"user": "someone"},
            {"n": 1},
            {"messages": [{"role": "user", "content": "Hi", "name": "ann"}]},
            {"messages": [{"role": "developer", "content": "Hi"}]},
            {"messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]},
        )
    ]
    refused.append(c.post("/images/generations", json={**IMAGE, "response_format": "url"}))
    for response in refused:
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["message"] and {"type", "param", "code"} <= error.keys()
    documented = {"temperature": 0.5, "top_p": 1, "stream": False, "stop": ["zzz"]}
    nulls = dict.fromkeys(("temperature", "top_p", "max_tokens", "stream", "stop"))
    conversation = {"messages": [{"role": "system", "content": "Be terse."},
                                 {"role": "assistant", "content": "Hi"},
                                 {"role": "user", "content": "Hi"}]}  # fmt: skip
    for extra in (documented, nulls, conversation):
        assert c.post("/chat/completions", json={**CHAT, **extra}).status_code == 200, extra
    image_nulls = dict.fromkeys(("n", "size", "quality"))
    for extra in ({"n": 1, "quality": "standard"}, image_nulls):
        assert c.post("/images/generations", json={**IMAGE, **extra}).status_code == 200, extra


def show_data_url_images(c: httpx.Client) -> None:
    (item,) = c.post("/images/generations", json=IMAGE).json()["data"]
    header, _, payload = item["url"].partition(",")
    assert header == "data:image/png;base64" and "b64_json" not in item
    assert Image.open(io.BytesIO(base64.b64decode(payload))).size == (256, 256)


def show_image_redirect(c: httpx.Client) -> None:
    codes: set[int] = set()
    forms: set[str] = set()
    lengths: set[int] = set()
    with httpx.Client(timeout=10) as anonymous:  # image URLs need no key
        for _ in range(4):
            for item in c.post("/images/generations", json={**IMAGE, "n": 2}).json()["data"]:
                url, response = item["url"], anonymous.get(item["url"])
                hops = 0
                while response.status_code != 200:
                    location = response.headers["location"]
                    codes.add(response.status_code)
                    forms.add("url" if "://" in location else location[:1].replace(".", "rel"))
                    url = str(httpx.URL(url).join(location))
                    response, hops = anonymous.get(url), hops + 1
                lengths.add(hops)
                assert response.content.startswith(b"\x89PNG") and "/cdn/0/" in url
    assert codes == {301, 302, 303, 307, 308} and forms == {"url", "/", "rel"}
    assert lengths == {1, 2}


def show_no_usage_chunk(c: httpx.Client) -> None:
    body = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
    with c.stream("POST", "/chat/completions", json=body) as response:
        assert response.status_code == 200
        assert '"usage"' not in response.read().decode()


def show_freedoms(c: httpx.Client) -> None:
    assert c.post("/chat/completions", json=CHAT).json()["id"].startswith("gen-")


SHOWS: dict[str, Callable[[httpx.Client], None]] = {
    name: globals()[f"show_{name.removeprefix('variant-').replace('-', '_')}"] for name in VARIANTS
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_variant_shows_itself(client, name):
    SHOWS[name](client(name))


def _asgi_bodies(app: Any, key: str, body: dict[str, Any]) -> list[bytes]:
    """The body messages `app` sends for a POST /v1/chat/completions, straight from ASGI."""
    import anyio

    raw = json.dumps(body).encode()
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/v1/chat/completions", "raw_path": b"/v1/chat/completions",
        "query_string": b"", "root_path": "", "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "headers": [(b"authorization", f"Bearer {key}".encode()),
                    (b"content-type", b"application/json")],
    }  # fmt: skip
    sent: list[bytes] = []
    received = False

    async def receive() -> dict[str, Any]:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": raw, "more_body": False}
        await anyio.sleep_forever()
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body" and message.get("body"):
            sent.append(message["body"])

    anyio.run(app, scope, receive, send)
    return sent


# --- null is absent in every response schema ------------------------------------------------
def _response_components() -> set[str]:
    spec = schemas.spec()
    found: set[str] = set()
    pending = [
        json.dumps(operation["responses"])
        for path in spec["paths"].values()
        for operation in path.values()
    ]
    pending += [json.dumps(spec["components"]["responses"])]
    while pending:
        text = pending.pop()
        for name in spec["components"]["schemas"]:
            if f'"#/components/schemas/{name}"' in text and name not in found:
                found.add(name)
                pending.append(json.dumps(spec["components"]["schemas"][name]))
    return found


def _admits_null(schema: dict[str, Any]) -> bool:
    kinds = schema.get("type", [])
    branches = schema.get("oneOf", []) + schema.get("anyOf", [])
    return "null" in kinds or any(b.get("type") == "null" for b in branches)


def test_optional_response_fields_admit_null_required_ones_do_not():
    components = schemas.spec()["components"]["schemas"]
    wrong = []
    for name in sorted(_response_components()):
        required = set(components[name].get("required", ()))
        for prop, schema in components[name].get("properties", {}).items():
            if name == "ChatCompletionStreamEvent":
                continue  # SSE fields, not JSON: a field is there or not
            if _admits_null(schema) == (prop in required):
                wrong.append(f"{name}.{prop} ({'required' if prop in required else 'optional'})")
    assert not wrong, "null must mean absent: " + ", ".join(wrong)


def test_an_image_needs_one_non_null_source():
    assert schemas.validate("Image", {"url": "https://x/y.png", "b64_json": None}) == []
    assert schemas.validate("Image", {"url": None, "b64_json": "R0lGOA=="}) == []
    assert schemas.validate("Image", {"url": None, "b64_json": None, "revised_prompt": None})
