"""The request bodies checks send: small, cheap, and shared so the run's cache reuses answers."""

from __future__ import annotations

from typing import Any

from conformance import schemas

# 16 is the floor some providers enforce (OpenRouter docs), and it keeps every reply cheap.
MAX_TOKENS = 16
SYSTEM = {"role": "system", "content": "You are a terse assistant."}
COUNT_PROMPT = "Count from 1 to 100, separated by spaces."
STOP_PROMPT = "Repeat exactly, without quotes: alpha beta gamma delta epsilon"
NON_ASCII_PROMPT = "Repeat exactly: café ☕ naïve 東京"
IMAGE_PROMPT = "A small red square centred on a white background"
DOCUMENTED_SIZES = schemas.enum("ImageRequest", "size")
DOCUMENTED_QUALITIES = schemas.enum("ImageRequest", "quality")


def chat(model: str, prompt: str = "Say OK.", **extra: Any) -> dict[str, Any]:
    """A chat request with a system and a user message and a small max_tokens."""
    body: dict[str, Any] = {
        "model": model,
        "messages": [SYSTEM, {"role": "user", "content": prompt}],
        "max_tokens": MAX_TOKENS,
    }
    body.update(extra)
    return body


def image(model: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "prompt": IMAGE_PROMPT}
    body.update(extra)
    return body


# The image request the run tries first, then cheaper-to-support fallbacks: n=2 proves
# "exactly n" on one request; a model that only makes one image rejects it for free.
IMAGE_ATTEMPTS: tuple[dict[str, Any], ...] = (
    {"n": 2, "size": "256x256"},
    {"n": 1, "size": "1024x1024"},
    {},
)
