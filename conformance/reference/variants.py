"""Conforming variants of the reference server: legal choices real OpenAI-format servers make.

Each variant is ASGI middleware around the clean app (only variant-freedoms,
variant-b64-images and variant-data-url-images live in the handlers). The suite must pass
every one of them with
`--profile=full --fail-on=should` (tests/test_variants.py): a verdict against one of them
is a false alarm.
"""

from __future__ import annotations

import io
import itertools
import json
import posixpath
from collections.abc import Callable, Iterable
from typing import Any

import anyio
from starlette.datastructures import URL, MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conformance.reference.errors import ApiError
from conformance.reference.faults import Faults
from conformance.reference.responses import dump_json
from conformance.reference.served_models import IMAGE_MODELS, provider_of
from conformance.reference.validation import validate_chat

SLOW_SECONDS = 2.0  # variant-slow: before every answer
FIRST_BYTE_SECONDS = 1.0  # variant-slow-first-byte: before the first byte of a generation
RATE_LIMIT_EVERY = 23  # variant-429: one request in this many is refused once

JsonEdit = Callable[[Any, Scope, int], Any]
# One whole SSE event (its bytes up to and including the blank line) to what is written
# instead: byte strings, and floats for pauses in seconds.
EventEdit = Callable[[bytes], Iterable[bytes | float]]
HeaderEdit = Callable[[MutableHeaders, Scope, int], None]


def middleware(faults: Faults) -> list[Middleware]:
    """The middleware of the variants named in `faults`, outermost first."""
    return [
        Middleware(cls, **options) for name, (cls, options) in _VARIANTS.items() if name in faults
    ]


def gif(width: int, height: int) -> bytes:
    """A solid width x height GIF (variant-b64-images: any image format is an image)."""
    from PIL import Image  # the suite's own dependency; only this variant needs it here

    out = io.BytesIO()
    Image.new("P", (width, height), 3).save(out, format="GIF")
    return out.getvalue()


# --- the rewriting machinery ------------------------------------------------------------
class _Rewrite:
    """Hands every JSON answer and every SSE event of the app below to edit functions."""

    def __init__(
        self,
        app: ASGIApp,
        json_edit: JsonEdit | None = None,
        event_edit: EventEdit | None = None,
        header_edit: HeaderEdit | None = None,
    ) -> None:
        self.app = app
        self.json_edit = json_edit
        self.event_edit = event_edit
        self.header_edit = header_edit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message = {}
        kind = ""
        buffer = bytearray()

        async def rewritten(message: Message) -> None:
            nonlocal start, kind
            if message["type"] == "http.response.start":
                start = message
                headers = MutableHeaders(scope=message)
                media = headers.get("content-type", "").partition(";")[0].strip()
                if media == "application/json" and self.json_edit:
                    kind = "json"
                    return  # sent with the body, whose length changes
                kind = "sse" if media == "text/event-stream" and self.event_edit else ""
                if self.header_edit:
                    self.header_edit(headers, scope, message["status"])
                await send(message)
                return
            if message["type"] != "http.response.body" or not kind:
                await send(message)
                return
            buffer.extend(message.get("body", b""))
            more = bool(message.get("more_body", False))
            if kind == "json":
                if not more:
                    await self._send_json(bytes(buffer), start, scope, send)
                return
            assert self.event_edit is not None
            while (end := buffer.find(b"\n\n")) >= 0:
                event = bytes(buffer[: end + 2])
                del buffer[: end + 2]
                for piece in self.event_edit(event):
                    if isinstance(piece, float):
                        await anyio.sleep(piece)
                    else:
                        await send({"type": "http.response.body", "body": piece, "more_body": True})
            if not more:
                await send(
                    {"type": "http.response.body", "body": bytes(buffer), "more_body": False}
                )

        await self.app(scope, receive, rewritten)

    async def _send_json(self, raw: bytes, start: Message, scope: Scope, send: Send) -> None:
        assert self.json_edit is not None
        status = int(start["status"])
        raw = dump_json(self.json_edit(json.loads(raw), scope, status))
        headers = MutableHeaders(scope=start)
        headers["content-length"] = str(len(raw))
        if self.header_edit:
            self.header_edit(headers, scope, status)
        await send(start)
        await send({"type": "http.response.body", "body": raw, "more_body": False})


def _data_edit(edit: Callable[[dict[str, Any]], None]) -> EventEdit:
    """An EventEdit that applies `edit` to the JSON object of each `data: {...}` event."""

    def apply(event: bytes) -> list[bytes | float]:
        prefix = b"data: {"
        if not event.startswith(prefix):
            return [event]
        chunk = json.loads(event[len(b"data: ") :])
        edit(chunk)
        return [b"data: " + dump_json(chunk) + b"\n\n"]

    return apply


def _path(scope: Scope) -> str:
    return str(scope.get("path", ""))


# --- variant-nulls: every optional field present as null ---------------------------------
def _nulls(body: Any, scope: Scope, status: int) -> Any:
    """OpenAI and vLLM send null for what they leave out; null is an absent field."""
    if not isinstance(body, dict):
        return body
    if body.get("object") == "chat.completion":
        body.setdefault("system_fingerprint", None)
        body["service_tier"] = None
        body["prompt_logprobs"] = None  # vLLM
        for choice in body.get("choices", []):
            choice.update(logprobs=None, stop_reason=None)
            choice["message"].update(
                refusal=None,
                tool_calls=None,
                function_call=None,
                audio=None,
                reasoning_content=None,
            )
        if isinstance(body.get("usage"), dict):
            body["usage"].update(prompt_tokens_details=None, completion_tokens_details=None)
    elif body.get("object") == "list":
        for entry in body.get("data", []):
            entry.update(description=None, context_length=None, root=None, parent=None)
            if "image" not in entry["pricing"]:
                entry["pricing"]["image"] = None  # LiteLLM-style: no image price
    elif "data" in body:  # an images answer
        for item in body["data"]:
            item.setdefault("url", None)
            item.setdefault("b64_json", None)
            item["revised_prompt"] = None
    elif isinstance(body.get("error"), dict):
        body["error"].update(param=None, code=None)
    return body


def _null_chunk(chunk: dict[str, Any]) -> None:
    chunk.setdefault("usage", None)
    chunk.setdefault("system_fingerprint", None)
    for choice in chunk.get("choices", []):
        choice.setdefault("logprobs", None)
        choice.setdefault("finish_reason", None)
        delta = choice["delta"]
        delta.setdefault("role", None)
        delta.setdefault("content", None)
        delta.update(refusal=None, tool_calls=None, function_call=None)


# --- variant-extras: extra headers and an extra field in every object --------------------
_EXTRA_HEADERS = {
    "x-request-id": "req_0123456789abcdef",
    "openai-processing-ms": "12",
    "openai-version": "2020-10-01",
    "x-ratelimit-limit-requests": "10000",
    "x-ratelimit-remaining-requests": "9999",
    "x-ratelimit-reset-requests": "6ms",
    "server": "apex-gateway/1.0",
    "via": "1.1 edge-proxy",
    "cache-control": "no-store",
    "strict-transport-security": "max-age=31536000",
    "access-control-allow-origin": "*",
    "set-cookie": "__cf_bm=abc; Path=/; HttpOnly",
    "alt-svc": 'h3=":443"; ma=86400',
}


def _extra_headers(headers: MutableHeaders, scope: Scope, status: int) -> None:
    for name, value in _EXTRA_HEADERS.items():
        headers.append(name, value)


def _extras(body: Any, scope: Scope, status: int) -> Any:
    _add_extra(body)
    return body


def _add_extra(value: Any) -> None:
    """Every object gains a field nobody documented (Groq's x_groq, OpenRouter's provider)."""
    if isinstance(value, dict):
        for inner in value.values():
            _add_extra(inner)
        value["x_gateway"] = {"region": "eu-west", "cached": False, "trace": None}
    elif isinstance(value, list):
        for inner in value:
            _add_extra(inner)


# --- variant-framework-errors: a FastAPI/pydantic validation body inside the envelope -----
def _framework_error(body: Any, scope: Scope, status: int) -> Any:
    error = body.get("error") if isinstance(body, dict) else None
    if status < 400 or not isinstance(error, dict):
        return body
    kinds = {400: "BadRequestError", 401: "AuthenticationError", 404: "NotFoundError"}
    param = error.get("param")
    error.update(
        type=kinds.get(status, "APIError"),
        code=str(status),  # LiteLLM sends the status as a string code
        detail=[
            {
                "loc": ["body", param] if param else ["body"],
                "msg": error["message"],
                "type": "value_error",
                "input": None,
            }
        ],
    )
    body["object"] = "error"  # vLLM's marker, beside the envelope
    return body


# --- variant-close-errors ----------------------------------------------------------------
def _close_on_error(headers: MutableHeaders, scope: Scope, status: int) -> None:
    if status >= 400:
        headers["connection"] = "close"


# --- variant-501-methods -----------------------------------------------------------------
class _Methods:
    """nginx-style: 405 without Allow for methods it knows, 501 for any other method."""

    KNOWN = frozenset({"PUT", "DELETE", "PATCH", "OPTIONS"})
    SERVED = frozenset({"GET", "HEAD", "POST"})

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope.get("method", "GET")
        if scope["type"] != "http" or method in self.SERVED:
            await self.app(scope, receive, send)
            return
        status = 405 if method in self.KNOWN else 501
        message = f"{method} is not {'allowed here' if status == 405 else 'implemented'}."
        error = {"message": message, "type": "invalid_request_error", "param": None, "code": None}
        await _send_json(send, status, {"error": error})


async def _send_json(send: Send, status: int, body: Any) -> None:
    raw = dump_json(body)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": raw, "more_body": False})


# --- SSE variants ------------------------------------------------------------------------
def _byte_by_byte(event: bytes) -> list[bytes | float]:
    """One write per byte: every split a TCP read can make, mid-character included."""
    return [event[i : i + 1] for i in range(len(event))]


def _multiline(event: bytes) -> list[bytes | float]:
    """The JSON of a chunk spread over several data: lines (WHATWG joins them with \\n)."""
    if not event.startswith(b"data: {"):
        return [event]
    chunk = json.loads(event[len(b"data: ") :])
    lines = json.dumps(chunk, indent=1, ensure_ascii=False).split("\n")
    return ["".join(f"data: {line}\n" for line in lines).encode("utf-8") + b"\n"]


def _keepalive(event: bytes) -> list[bytes | float]:
    """OpenRouter-style comments while the upstream thinks, before and between events."""
    pause = 0.02
    if event.startswith(b"data: {") and b'"role"' in event:
        # Waiting for the first token: a comment block, then comment lines glued on the event.
        return [b": OPENROUTER PROCESSING\n\n", pause, b": OPENROUTER PROCESSING\n\n", pause,
                b": keep-alive\n" + event]  # fmt: skip
    return [b": keep-alive\n\n", pause, event]


# --- variant-big-models: hundreds of priced entries, each of them served ------------------
_CHAT_BASE = "openai/gpt-4o-mini"
_PROVIDERS = (
    *("meta-llama", "mistralai", "qwen", "google", "anthropic", "deepseek", "cohere"),
    *("nvidia", "microsoft", "x-ai", "perplexity", "amazon", "ai21", "nousresearch"),
)


def _big_listing() -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for number, provider in itertools.product(range(24), _PROVIDERS):
        # Some cheaper than any base model, so the run picks one of them; some with an
        # image input price, as OpenRouter lists vision chat models.
        prompt = f"{0.00001 * (number + 1) + 0.000001 * len(provider):.7f}"
        pricing = {"prompt": prompt, "completion": f"{float(prompt) * 3:.7f}", "request": "0"}
        if number % 3 == 0:
            pricing["image"] = f"{0.001 * (number + 1):.4f}"
        model_id = f"{provider}/model-{number}-instruct"
        entries.append(_entry(model_id, pricing))
    for number in range(12):
        model_id = f"black-forest-labs/flux-{number}-schnell"
        pricing = {"prompt": "0", "completion": "0", "image": f"{0.003 + 0.001 * number:.3f}"}
        entries.append(_entry(model_id, pricing))
    return entries


def _entry(model_id: str, pricing: dict[str, str]) -> dict[str, Any]:
    return {
        "id": model_id,
        "object": "model",
        "created": 1720000000,
        "owned_by": provider_of(model_id),
        "pricing": pricing,
        "context_length": 131072,
    }


_BIG = _big_listing()
# A listed model serves what it is: chat models chat, image models draw (a vision chat
# model's image price is for images it reads, not ones it makes).
_BIG_IMAGE = frozenset(e["id"] for e in _BIG if e["id"].startswith("black-forest-labs/"))

# --- variant-routes: a gateway routing several providers, each dearer than the cheapest ----
STOP_IGNORING_ROUTE = "anthropic/claude-3-haiku"  # routes-one-ignores-stop
_ROUTES = [
    _entry(model_id, {"prompt": prompt, "completion": completion})
    for model_id, prompt, completion in (
        (STOP_IGNORING_ROUTE, "0.00025", "0.00125"),
        ("mistral/mistral-small", "0.0002", "0.0006"),
        ("meta/llama-3-8b", "0.0003", "0.0006"),
    )
]


def _image_base(body: dict[str, Any]) -> str:
    """The reference image model that supports this request, so every listed one serves it."""
    small = IMAGE_MODELS["openai/dall-e-2"]
    fits = (
        body.get("size", "1024x1024") in small.sizes
        and body.get("quality", "standard") in small.qualities
    )
    return small.id if fits else "openai/dall-e-3"


class _ExtraModels:
    """Lists `entries` beside the reference models and serves each by mapping it onto one of them.

    The routes of `ignores_stop` lose `stop` on the way to the model once the request is
    valid, as a broken provider adapter does (a fault, not a variant).
    """

    def __init__(
        self,
        app: ASGIApp,
        entries: list[dict[str, Any]],
        images: frozenset[str] = frozenset(),
        ignores_stop: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.entries = entries
        self.chats = frozenset(e["id"] for e in entries) - images
        self.images = images
        self.ignores_stop = ignores_stop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "GET" and _path(scope).endswith("/v1/models"):
            await _Rewrite(self.app, json_edit=self._listed)(scope, receive, send)
            return
        raw = await read_body(receive)
        is_chat = _path(scope).endswith("/chat/completions")
        requested = _mapped_model(raw, self.chats if is_chat else self.images)
        if requested is None:
            await self.app(scope, replay_body(raw, receive), send)
            return
        body = json.loads(raw)
        body["model"] = _CHAT_BASE if is_chat else _image_base(body)
        if requested in self.ignores_stop and _valid_chat(body):
            body.pop("stop", None)
        raw = dump_json(body)
        headers = [(k, v) for k, v in scope["headers"] if k != b"content-length"]
        scope = {**scope, "headers": [*headers, (b"content-length", str(len(raw)).encode())]}

        def rename(value: dict[str, Any]) -> None:
            if value.get("model") == body["model"]:
                value["model"] = requested

        def renamed(value: Any, scope: Scope, status: int) -> Any:
            if isinstance(value, dict):
                rename(value)
            return value

        rewrite = _Rewrite(self.app, json_edit=renamed, event_edit=_data_edit(rename))
        await rewrite(scope, replay_body(raw, receive), send)

    def _listed(self, body: Any, scope: Scope, status: int) -> Any:
        if status == 200 and isinstance(body, dict) and isinstance(body.get("data"), list):
            body["data"].extend(json.loads(json.dumps(self.entries)))
        return body


def _valid_chat(body: dict[str, Any]) -> bool:
    """The gateway's own validation, which a request passes before any adapter sees it."""
    try:
        validate_chat(body, frozenset())
    except ApiError:
        return False
    return True


def _mapped_model(raw: bytes, served: frozenset[str]) -> str | None:
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    model = body.get("model") if isinstance(body, dict) else None
    return model if isinstance(model, str) and model in served else None


async def read_body(receive: Receive) -> bytes:
    """The whole request body an ASGI app receives."""
    raw = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        raw.extend(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return bytes(raw)


def replay_body(raw: bytes, receive: Receive) -> Receive:
    """A receive that gives `raw` as the request body again, then what `receive` gives."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": raw, "more_body": False}

    return replayed


# --- variant-image-redirect: a CDN in front of the image files ----------------------------
_FILES = "/v1/images/files/"
_CDN = "/cdn/"
_REDIRECT_CODES = (302, 301, 303, 307, 308)
TOO_MANY_REDIRECTS = 6  # one more than the suite follows (conformance.transport.redirects)
_SIGN_IN_PAGE = b"<!doctype html><title>Sign in</title><form action=/login></form>"


class _ImageRedirects:
    """Every image URL answers a redirect, one or two in turn, to where the bytes are served.

    Each redirect takes the next code of 302, 301, 303, 307, 308 and the next form of
    Location: an absolute URL, an absolute path, a relative path. `/cdn/<k>/<name>` is k
    redirects from the bytes. The faults break the chain: `hops` more than a client follows,
    or an `end` that is no image: "missing" (404), "page" (a 200 HTML page), "loop" (back to
    the first URL).
    """

    def __init__(self, app: ASGIApp, end: str = "bytes", hops: int | None = None) -> None:
        self.app = app
        self.end = end
        self.hops = hops
        self.files = itertools.count()
        self.redirects = itertools.count()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        root = str(scope.get("root_path", ""))
        route = _path(scope).removeprefix(root)
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
        elif route.startswith(_FILES):
            name = route.removeprefix(_FILES)
            hops = self.hops or 1 + next(self.files) % 2
            await self._redirect(scope, send, f"{root}{_CDN}{hops - 1}/{name}")
        elif route.startswith(_CDN) and route.count("/") == 3:
            left, name = route.removeprefix(_CDN).split("/")
            if left != "0":
                await self._redirect(scope, send, f"{root}{_CDN}{int(left) - 1}/{name}")
            elif self.end == "loop":
                await self._redirect(scope, send, f"{root}{_FILES}{name}")
            else:
                await self._serve(scope, receive, send, f"{root}{_FILES}{name}")
        else:
            await self.app(scope, receive, send)

    async def _redirect(self, scope: Scope, send: Send, target: str) -> None:
        number = next(self.redirects)
        form = number % 3
        if form == 0:
            location = str(URL(scope=scope).replace(path=target, query=""))
        elif form == 1:
            location = target
        else:
            location = posixpath.relpath(target, posixpath.dirname(_path(scope)))
        status = _REDIRECT_CODES[number % len(_REDIRECT_CODES)]
        headers = [(b"location", location.encode()), (b"content-length", b"0")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _serve(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        if self.end == "missing":
            error = {"message": "No such object.", "type": "invalid_request_error",
                     "param": None, "code": "not_found"}  # fmt: skip
            await _send_json(send, 404, {"error": error})
        elif self.end == "page":
            headers = [(b"content-type", b"text/html; charset=utf-8"),
                       (b"content-length", str(len(_SIGN_IN_PAGE)).encode())]  # fmt: skip
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": _SIGN_IN_PAGE, "more_body": False})
        else:
            moved = {**scope, "path": path, "raw_path": path.encode()}
            await self.app(moved, receive, send)


# --- timing variants ---------------------------------------------------------------------
class Delay:
    """Holds every request `seconds` before it reaches the app (without blocking the server)."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await anyio.sleep(self.seconds)
        await self.app(scope, receive, send)


class _SlowFirstByte:
    """Sends the headers of an event stream at once and its first byte `seconds` later."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        waiting = False

        async def delayed(message: Message) -> None:
            nonlocal waiting
            if message["type"] == "http.response.start":
                media = MutableHeaders(scope=message).get("content-type", "")
                waiting = media.startswith("text/event-stream")
            elif message["type"] == "http.response.body" and waiting:
                waiting = False  # the model's time to first token
                await anyio.sleep(self.seconds)
            await send(message)

        await self.app(scope, receive, delayed)


class _RateLimited:
    """Refuses one request in `every` with a 429 that carries no Retry-After."""

    def __init__(self, app: ASGIApp, every: int) -> None:
        self.app = app
        self.every = every
        self.count = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.count += 1
            if self.count % self.every == 0:
                message = "Rate limit reached for requests. Please try again in 1s."
                error = {"message": message, "type": "requests", "param": None,
                         "code": "rate_limit_exceeded"}  # fmt: skip
                await _send_json(send, 429, {"error": error})
                return
        await self.app(scope, receive, send)


_VARIANTS: dict[str, tuple[Callable[..., ASGIApp], dict[str, Any]]] = {
    "variant-slow": (Delay, {"seconds": SLOW_SECONDS}),
    "variant-slow-first-byte": (_SlowFirstByte, {"seconds": FIRST_BYTE_SECONDS}),
    "variant-429": (_RateLimited, {"every": RATE_LIMIT_EVERY}),
    "variant-nulls": (_Rewrite, {"json_edit": _nulls, "event_edit": _data_edit(_null_chunk)}),
    "variant-extras": (
        _Rewrite,
        {
            "json_edit": _extras,
            "event_edit": _data_edit(_add_extra),
            "header_edit": _extra_headers,
        },
    ),
    "variant-framework-errors": (_Rewrite, {"json_edit": _framework_error}),
    "variant-close-errors": (_Rewrite, {"header_edit": _close_on_error}),
    "variant-501-methods": (_Methods, {}),
    # Starlette's GZipMiddleware as a FastAPI app adds it, compressing everything, streams too.
    "variant-gzip": (GZipMiddleware, {"minimum_size": 0, "exclude_content_types": ()}),
    "variant-sse-bytes": (_Rewrite, {"event_edit": _byte_by_byte}),
    "variant-sse-multiline": (_Rewrite, {"event_edit": _multiline}),
    "variant-keepalive": (_Rewrite, {"event_edit": _keepalive}),
    "variant-big-models": (_ExtraModels, {"entries": _BIG, "images": _BIG_IMAGE}),
    "variant-routes": (_ExtraModels, {"entries": _ROUTES}),
    "routes-one-ignores-stop": (
        _ExtraModels,
        {"entries": _ROUTES, "ignores_stop": frozenset({STOP_IGNORING_ROUTE})},
    ),
    "variant-image-redirect": (_ImageRedirects, {}),
    "img-redirect-404": (_ImageRedirects, {"end": "missing"}),
    "img-redirect-not-image": (_ImageRedirects, {"end": "page"}),
    "img-redirect-loop": (_ImageRedirects, {"end": "loop"}),
    "img-redirect-too-many": (_ImageRedirects, {"hops": TOO_MANY_REDIRECTS}),
}
