"""Keeping secrets out of everything the suite prints, logs or writes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

REDACTED = "[REDACTED]"

# Header names whose values are credentials, compared in lower case.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "api-key"})

_registered: set[str] = set()


def register_secret(value: str) -> None:
    """Remember a secret so that every later redaction removes it."""
    if len(value) >= 8:
        _registered.add(value)


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace every registered secret (and `secrets`) in `text`."""
    for secret in sorted({*_registered, *secrets}, key=len, reverse=True):
        if secret and secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact_headers(headers: Mapping[str, str], secrets: Iterable[str] = ()) -> dict[str, str]:
    """A copy of `headers` with credential headers replaced and secrets removed from values."""
    extra = tuple(secrets)
    return {
        name: REDACTED if name.lower() in SECRET_HEADERS else redact_text(value, extra)
        for name, value in headers.items()
    }
