"""Request parsing and validation: strict JSON types, documented domains, OpenAI-style errors.

Types follow JSON Schema: a bool is not a number, an integer may be written 16.0, and
strings are never coerced (except under the coercion faults). Null means "omitted".
"""

from __future__ import annotations

import json
import math
import re
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NoReturn

from conformance.reference import case_faults, mutants, strict
from conformance.reference.errors import ApiError, InjectedCrash, invalid, model_not_found
from conformance.reference.faults import Faults
from conformance.reference.served_models import (
    CHAT_MODELS,
    DEFAULT_QUALITY,
    DEFAULT_SIZE,
    DOCUMENTED_SIZES,
    IMAGE_MODELS,
    LEGACY_CHAT_MODEL,
    QUALITIES,
    RESPONSE_FORMATS,
    ImageModel,
)

ROLES = ("system", "user", "assistant", "developer", "tool")
# Documented fields, plus OpenAI ones clients commonly send; the rest count as unknown.
KNOWN_CHAT_FIELDS = frozenset(
    {
        *("model", "messages", "temperature", "top_p", "max_tokens", "stream", "stop"),
        *("stream_options", "n", "user", "seed", "presence_penalty", "frequency_penalty"),
        *("logit_bias", "logprobs", "top_logprobs", "response_format", "tools", "tool_choice"),
        *("parallel_tool_calls", "max_completion_tokens", "metadata", "store"),
    }
)
_MODEL_FORM = re.compile(r"[^/\s]+/\S+")
_SIZE_FORM = re.compile(r"([1-9]\d{0,3})x([1-9]\d{0,3})")
_INT_STRING = re.compile(r"\s*[-+]?\d{1,9}\s*")
_DECIMAL_STRING = re.compile(r"\s*[-+]?\d{1,9}(\.\d{1,9})?\s*")
_MAX_PIXELS = 2048  # the largest edge an any-size fault will render
CHAT_PATH = "/chat/completions"  # the case paths of the generated faults (case_faults.py)
IMAGES_PATH = "/images/generations"
_DOCUMENTED_EDGES = {int(edge) for size in DOCUMENTED_SIZES for edge in size.split("x")}


@dataclass(frozen=True)
class Message:
    """One chat message, its content flattened to text."""

    role: str
    text: str


@dataclass(frozen=True)
class ChatRequest:
    """A validated chat completion request."""

    model: str
    messages: tuple[Message, ...]
    max_tokens: int | None
    stream: bool | None  # None: the field was omitted
    stop: tuple[str, ...]
    include_usage: bool


@dataclass(frozen=True)
class ImageRequest:
    """A validated image generation request."""

    model: str
    prompt: str
    n: int
    width: int
    height: int
    quality: str
    response_format: str
    # The optional parameters the request named: some faults answer only those (images.py).
    named: frozenset[str] = frozenset()


@contextmanager
def _rejections(faults: Faults) -> Iterator[None]:
    """Under err-500-on-rejection, every 4xx the validation raises becomes a crash."""
    try:
        yield
    except ApiError as err:
        if "err-500-on-rejection" in faults:
            raise InjectedCrash(f"fault err-500-on-rejection: {err.message}") from err
        raise


def parse_body(raw: bytes, faults: Faults) -> dict[str, Any]:
    """The request body as a JSON object, or a 400."""
    with _rejections(faults):
        return _parse_body(raw, faults)


def validate_chat(body: dict[str, Any], faults: Faults) -> ChatRequest:
    """Check a chat completion body; raise the first problem as an ApiError."""
    with _rejections(faults):
        if "variant-strict-fields" in faults:
            strict.refuse_undocumented("ChatCompletionRequest", body)
        mutants.refuse(CHAT_PATH, body, faults)
        body = mutants.accept(CHAT_PATH, body, faults)
        return _validate_chat(case_faults.repair(CHAT_PATH, body, faults), faults)


def validate_images(body: dict[str, Any], faults: Faults) -> ImageRequest:
    """Check an image generation body; raise the first problem as an ApiError."""
    with _rejections(faults):
        if "variant-strict-fields" in faults:
            strict.refuse_undocumented("ImageRequest", body)
        mutants.refuse(IMAGES_PATH, body, faults)
        body = mutants.accept(IMAGES_PATH, body, faults)
        return _validate_images(case_faults.repair(IMAGES_PATH, body, faults), faults)


def _parse_body(raw: bytes, faults: Faults) -> dict[str, Any]:
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:  # bad UTF-8, bad JSON, absurd nesting
        if "http-500-malformed-json" in faults:
            raise InjectedCrash("fault http-500-malformed-json") from exc
        if (repaired := case_faults.repair_raw(raw, faults)) is not None:
            return repaired
        raise ApiError(
            400,
            "We could not parse the JSON body of your request. Send a JSON object.",
            code="invalid_json",
        ) from None
    if not isinstance(data, dict):
        raise ApiError(400, "The request body must be a JSON object.", code="invalid_json")
    return data


def _validate_chat(body: dict[str, Any], faults: Faults) -> ChatRequest:
    if "chat-500-unknown-field" in faults and body.keys() - KNOWN_CHAT_FIELDS:
        raise InjectedCrash("fault chat-500-unknown-field")
    if "chat-500-stream-options" in faults and "stream_options" in body:
        raise InjectedCrash("fault chat-500-stream-options")
    model = _chat_model_id(body, faults)
    messages = _messages(body, faults)
    _temperature(body, faults)
    _number(body, "top_p", 2.0 if "chat-accept-top-p-1.5" in faults else 1.0)
    max_tokens = _integer(body, "max_tokens", "chat-coerce-max-tokens-string" in faults)
    if max_tokens is not None and max_tokens < 1 and "chat-accept-max-tokens-0" not in faults:
        _below_min("max_tokens", max_tokens, 1)
    stream = body.get("stream")
    if "chat-stream-truthy" in faults and stream is not None:
        stream = bool(stream)  # a lax reader: "true", 1 (and "false") all mean true
    if "sse-stream-false-streams" in faults and stream is False:
        stream = True  # tests whether the field is there, not what it says
    if stream is not None and not isinstance(stream, bool):
        _wrong_type("stream", "a boolean")
    stop = _stop(body.get("stop"), faults)
    include_usage = _include_usage(body.get("stream_options"))
    _check_chat_model(model, faults)
    return ChatRequest(model, messages, max_tokens, stream, stop, include_usage)


def _validate_images(body: dict[str, Any], faults: Faults) -> ImageRequest:
    model = _model_id(body.get("model"))
    prompt = body.get("prompt")
    if prompt is None and "prompt" not in body and "img-accept-missing-prompt" in faults:
        prompt = ""
    elif prompt is None:
        _missing("prompt")
    elif not isinstance(prompt, str):
        _wrong_type("prompt", "a string")
    elif not prompt.strip():
        raise invalid("prompt", "'prompt' must not be empty.", "empty_string")
    n = _integer(body, "n", "img-coerce-n-string" in faults)
    n = (2 if "img-two-when-n-omitted" in faults else 1) if n is None else n
    if n < 1 and "img-accept-n-0" not in faults:
        _below_min("n", n, 1)
    size = (
        _choice(body, "size", DOCUMENTED_SIZES, DEFAULT_SIZE, "img-accept-any-size" in faults)
        if not _any_edges(body, faults)
        else str(body["size"])
    )
    quality = _choice(
        body, "quality", QUALITIES, DEFAULT_QUALITY, "img-accept-unknown-quality" in faults
    )
    response_format = _choice(body, "response_format", RESPONSE_FORMATS, "url")
    spec = _image_model(model, faults)
    if n > spec.max_n:
        hint = "You must provide n=1 for this model." if spec.max_n == 1 else ""
        message = f"Invalid 'n': {n} is greater than the maximum of {spec.max_n}. {hint}"
        raise invalid("n", message.strip(), "integer_above_max_value")
    if "img-accept-any-size" not in faults and size in DOCUMENTED_SIZES:
        _supported("size", size, _sizes(spec, faults), model)
    if "img-accept-unknown-quality" not in faults:
        _supported("quality", quality, _qualities(spec, faults), model)
    if "img-reject-standard-quality" in faults and body.get("quality") == "standard":
        raise invalid("quality", "Unsupported quality 'standard'; leave it out.", "bad_quality")
    width, height = _dimensions(size)
    named = frozenset(key for key in ("size", "quality") if body.get(key) is not None)
    return ImageRequest(model, prompt, n, width, height, quality, response_format, named)


# --- models ---------------------------------------------------------------------------


def _chat_model_id(body: dict[str, Any], faults: Faults) -> str:
    model = body.get("model")
    if "model" not in body and "chat-default-model" in faults:
        return "openai/gpt-4o-mini"
    if model == LEGACY_CHAT_MODEL.id and "models-bare-id" in faults:
        return LEGACY_CHAT_MODEL.id
    if (
        "chat-accept-bare-model" in faults
        and isinstance(model, str)
        and f"openai/{model}" in CHAT_MODELS
    ):
        return f"openai/{model}"
    return _model_id(model)


def _model_id(model: Any) -> str:
    if model is None:
        _missing("model")
    if not isinstance(model, str):
        _wrong_type("model", "a string")
    if not _MODEL_FORM.fullmatch(model):
        message = f"Invalid model ID {_show(model)}: expected provider/model, e.g. openai/gpt-4o."
        raise invalid("model", message, "invalid_model_id")
    return model


def _check_chat_model(model: str, faults: Faults) -> None:
    if model in CHAT_MODELS or (model == LEGACY_CHAT_MODEL.id and "models-bare-id" in faults):
        return
    if model in IMAGE_MODELS:
        message = f"{model} is an image model; use /v1/images/generations."
        raise invalid("model", message, "model_not_supported")
    if "err-500-unknown-model" in faults:
        raise InjectedCrash("fault err-500-unknown-model")
    if "chat-accept-unknown-model" not in faults:
        raise _not_found(model, faults)


def _image_model(model: str, faults: Faults) -> ImageModel:
    if model in IMAGE_MODELS:
        return IMAGE_MODELS[model]
    if model in CHAT_MODELS:
        message = f"{model} is a chat model; use /v1/chat/completions."
        raise invalid("model", message, "model_not_supported")
    if "err-500-unknown-model" in faults:
        raise InjectedCrash("fault err-500-unknown-model")
    if "img-accept-unknown-model" in faults:
        return IMAGE_MODELS["openai/dall-e-2"]
    raise _not_found(model, faults)


def _not_found(model: str, faults: Faults) -> ApiError:
    if "err-422-unknown-model" in faults:
        return ApiError(422, f"Unknown model {_show(model)}.", param="model", code="unknown_model")
    return model_not_found(model)


def _sizes(spec: ImageModel, faults: Faults) -> tuple[str, ...]:
    if "img-reject-1792" in faults:
        return tuple(s for s in spec.sizes if s != "1792x1024")
    # img-reject-<size>: one documented size refused on every model.
    return tuple(s for s in spec.sizes if f"img-reject-{s}" not in faults)


def _qualities(spec: ImageModel, faults: Faults) -> tuple[str, ...]:
    if "img-reject-hd" in faults:
        return tuple(q for q in spec.qualities if q != "hd")
    return spec.qualities


def _supported(param: str, value: str, supported: tuple[str, ...], model: str) -> None:
    if value not in supported:
        message = f"{param} {value} is not supported by {model}; use one of {', '.join(supported)}."
        raise invalid(param, message, f"unsupported_{param}")


def _any_edges(body: dict[str, Any], faults: Faults) -> bool:
    """img-size-any-documented-edges: each edge is checked alone, not the pair."""
    size = body.get("size")
    if "img-size-any-documented-edges" not in faults or not isinstance(size, str):
        return False
    match = _SIZE_FORM.fullmatch(size)
    return match is not None and {int(match[1]), int(match[2])} <= _DOCUMENTED_EDGES


def _dimensions(size: str) -> tuple[int, int]:
    match = _SIZE_FORM.fullmatch(size)
    if match is None:
        return 1024, 1024  # only reachable under img-accept-any-size
    width, height = int(match[1]), int(match[2])
    if width > _MAX_PIXELS or height > _MAX_PIXELS:
        return 1024, 1024
    return width, height


# --- messages -------------------------------------------------------------------------


def _messages(body: dict[str, Any], faults: Faults) -> tuple[Message, ...]:
    messages = body.get("messages")
    if messages is None:
        _missing("messages")
    if not isinstance(messages, list):
        _wrong_type("messages", "an array")
    if not messages and "chat-accept-empty-messages" not in faults:
        raise invalid("messages", "'messages' must contain at least one message.", "empty_array")
    return tuple(_message(f"messages[{i}]", m, faults) for i, m in enumerate(messages))


def _message(where: str, message: Any, faults: Faults) -> Message:
    if not isinstance(message, dict):
        _wrong_type(where, "an object")
    role = message.get("role")
    if role is None:
        _missing(f"{where}.role")
    if not isinstance(role, str):
        _wrong_type(f"{where}.role", "a string")
    if role not in ROLES:
        message_text = f"Invalid value {_show(role)} for '{where}.role': use one of {ROLES}."
        raise invalid(f"{where}.role", message_text)
    if message.get("content") is None:
        _missing(f"{where}.content")
    text = _content_text(f"{where}.content", message["content"])
    if "http-reject-non-ascii" in faults and not text.isascii():
        raise invalid(f"{where}.content", "Only ASCII text is supported.", "unsupported_text")
    return Message(role, text)


def _content_text(where: str, content: Any) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list) or not content:
        _wrong_type(where, "a string or a non-empty array of text parts")
    texts: list[str] = []
    for i, part in enumerate(content):
        if not (isinstance(part, dict) and part.get("type") == "text"):
            _wrong_type(f"{where}[{i}]", 'a {"type": "text", "text": ...} part')
        if not isinstance(part.get("text"), str):
            _wrong_type(f"{where}[{i}].text", "a string")
        texts.append(part["text"])
    return "\n".join(texts)


# --- parameters -----------------------------------------------------------------------


def _number(body: dict[str, Any], param: str, high: float, high_exclusive: bool = False) -> None:
    value = body.get(param)
    if value is None:
        return
    if not _is_number(value):
        _wrong_type(param, "a number")
    if value < 0:
        message = f"Invalid '{param}': {value} is below the minimum of 0."
        raise invalid(param, message, "decimal_below_min_value")
    if value > high or (high_exclusive and value >= high):
        message = f"Invalid '{param}': {value} is greater than the maximum of {high:g}."
        raise invalid(param, message, "decimal_above_max_value")


def _temperature(body: dict[str, Any], faults: Faults) -> None:
    value: Any = body.get("temperature")
    coerce = "chat-coerce-temperature-string" in faults
    if coerce and isinstance(value, str) and _DECIMAL_STRING.fullmatch(value):
        body = {**body, "temperature": float(value)}  # "0.5" taken as 0.5; "hot" still refused
    if "chat-temperature-float32" in faults and _is_number(value) and abs(value) < 1e38:
        # Compared after a float32 round trip, as a gateway that stores it so would.
        body = {**body, "temperature": struct.unpack("f", struct.pack("f", value))[0]}
    if "chat-accept-negative-temperature" in faults and _is_number(value) and value < 0:
        body = {**body, "temperature": -value}  # checks |temperature| <= 2 only
    high = 3.0 if "chat-accept-temperature-3" in faults else 2.0
    _number(body, "temperature", high, "chat-reject-temperature-2" in faults)
    if "chat-reject-temperature-0" in faults and body.get("temperature") == 0:
        raise invalid(
            "temperature", "Invalid 'temperature': must be above 0.", "decimal_below_min_value"
        )


def _integer(body: dict[str, Any], param: str, coerce: bool) -> int | None:
    value = body.get(param)
    if value is None:
        return None
    if coerce and isinstance(value, str) and _INT_STRING.fullmatch(value):
        return int(value)
    if not _is_integer(value):
        _wrong_type(param, "an integer")
    return int(value)


def _stop(value: Any, faults: Faults) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) and "chat-reject-string-stop" not in faults:
        return (value,)
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        expected = "an array of strings"
        _wrong_type("stop", expected if isinstance(value, str) else f"a string or {expected}")
    if len(value) > 4 and "chat-accept-5-stops" not in faults:
        message = f"Invalid 'stop': an array of {len(value)} items, above the maximum of 4."
        raise invalid("stop", message, "array_above_max_length")
    return tuple(value)


def _include_usage(options: Any) -> bool:
    if options is None:
        return False
    if not isinstance(options, dict):
        _wrong_type("stream_options", "an object")
    include = options.get("include_usage")
    if include is not None and not isinstance(include, bool):
        _wrong_type("stream_options.include_usage", "a boolean")
    return bool(include)


def _choice(
    body: dict[str, Any], param: str, allowed: tuple[str, ...], default: str, lax: bool = False
) -> str:
    value = body.get(param)
    if value is None:
        return default
    if not isinstance(value, str):
        _wrong_type(param, "a string")
    if value not in allowed and not lax:
        message = f"Invalid value {_show(value)} for '{param}': use one of {', '.join(allowed)}."
        raise invalid(param, message, f"invalid_{param}")
    return value


# --- helpers --------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return isinstance(value, int) or math.isfinite(value)  # huge ints overflow isfinite


def _is_integer(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value) and value.is_integer()  # JSON Schema: 16.0 is an integer
    return isinstance(value, int) and not isinstance(value, bool)


def _below_min(param: str, value: int, low: int) -> NoReturn:
    message = f"Invalid '{param}': {value} is below the minimum of {low}."
    raise invalid(param, message, "integer_below_min_value")


def _missing(param: str) -> NoReturn:
    raise invalid(param, f"Missing required parameter: '{param}'.", "missing_required_parameter")


def _wrong_type(param: str, expected: str) -> NoReturn:
    raise invalid(param, f"Invalid type for '{param}': expected {expected}.", "invalid_type")


def _show(value: str) -> str:
    """A quoted, shortened echo of a client value for an error message."""
    return repr(value if len(value) <= 80 else value[:77] + "...")


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")  # json.loads accepts NaN and Infinity
