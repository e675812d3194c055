"""The request bodies checks send: small, cheap, and shared so the run's cache reuses answers."""

from __future__ import annotations

import re
from typing import Any

from conformance.spec import schemas

# 16 is the floor some providers enforce (OpenRouter docs), and it keeps every reply cheap.
MAX_TOKENS = 16
SYSTEM = {"role": "system", "content": "You are a terse assistant."}
COUNT_PROMPT = "Count from 1 to 100, separated by spaces."
STOP_PROMPT = "Repeat exactly, without quotes: alpha beta gamma delta epsilon"
NON_ASCII_PROMPT = "Repeat exactly: café ☕ naïve 東京"
# Asks for a reply of a token or two, so a request with a huge max_tokens stays cheap.
SHORT_PROMPT = "Reply with the single word OK."
# Outside the Basic Multilingual Plane: 4 bytes in UTF-8, a surrogate pair in JSON escapes.
NON_BMP_PROMPT = "Say OK. 🙂 𝄞 🚀"
IMAGE_PROMPT = "A small red square centred on a white background"
DOCUMENTED_SIZES = schemas.enum("ImageRequest", "size")
DOCUMENTED_QUALITIES = schemas.enum("ImageRequest", "quality")

# Stop sequences no reply plausibly contains: they fill the other places of a stop array,
# so that only the one word taken from the reply can cut it.
STOP_DECOYS = ("<apex-stop-1>", "<apex-stop-2>", "<apex-stop-3>")
# Used when the reply offers no word: still a valid stop, judged by its absence alone.
FALLBACK_STOP_WORD = "gamma"
FALLBACK_NON_ASCII_STOP = "naïve"
WHITESPACE_STOP = " "
_WORD = re.compile(r"[^\W_]{2,}")


def chat(model: str, prompt: str = "Say OK.", **extra: Any) -> dict[str, Any]:
    """A chat request with a system and a user message and a small max_tokens."""
    body: dict[str, Any] = {
        "model": model,
        "messages": [SYSTEM, {"role": "user", "content": prompt}],
        "max_tokens": MAX_TOKENS,
    }
    body.update(extra)
    return body


# Request fields the document does not define, which some checks send: OpenAI's
# stream_options, and a name no server knows. A target may refuse them (interpretation 4).
INCLUDE_USAGE = {"stream_options": {"include_usage": True}}
UNKNOWN_FIELD = {"apex_conformance_unknown_field": True}


def include_usage_stream(model: str) -> dict[str, Any]:
    """The counting request, streamed, asking for a usage chunk (SSE-13; CHAT-22 resends it)."""
    return chat(model, COUNT_PROMPT, temperature=0, stream=True, **INCLUDE_USAGE)


def stop_baseline(model: str, prompt: str = STOP_PROMPT) -> dict[str, Any]:
    """The request whose reply, sent without stop, supplies the stop word (same body, cached)."""
    return chat(model, prompt, temperature=0)


def stop_word(reply: str, *, non_ascii: bool = False) -> str | None:
    """A word from the middle of `reply` that a stop sequence can cut it at, or None.

    Not the reply's first word (cutting there would leave nothing); with `non_ascii`, only
    words with a non-ASCII character. Stop sequences match text, so any word will do, and a
    target whose reply is a fixed text still shows whether it honours stop.
    """
    words = []
    for match in _WORD.finditer(reply):
        word = match.group()
        if reply.find(word) <= 0 or word in words or (non_ascii and word.isascii()):
            continue
        words.append(word)
    return words[len(words) // 2] if words else None


def stop_forms(word: str) -> dict[str, str | list[str]]:
    """Every documented shape of `stop`, each cutting only at `word` (decoys fill the arrays).

    The word is last in arrays of 2 to 4, so a server that applies only the first element
    keeps it, and first in one array of 4, for one that applies only the last.
    """
    d1, d2, d3 = STOP_DECOYS
    return {
        "string": word,
        "array of 1": [word],
        "array of 2": [d1, word],
        "array of 3": [d1, d2, word],
        "array of 4": [d1, d2, d3, word],
        "array of 4, word first": [word, d1, d2, d3],
    }


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
