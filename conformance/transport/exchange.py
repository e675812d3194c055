"""One recorded HTTP exchange: what the suite sent, what came back, and how to reproduce it."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import Any

from conformance.transport.redact import REDACTED, redact_text
from conformance.transport.sse import Event, FramingIssue

TRANSCRIPT_BODY_LIMIT = 2000
# How the configured key is named in transcripts (client.py sends it under this label).
CONFIGURED_KEY = "the configured key"


class NotJSONError(ValueError):
    """The body was due to be JSON and is not."""


@dataclass(frozen=True)
class Credential:
    """What the suite puts in the Authorization header, and how reports name it."""

    header: str | None
    label: str

    def __repr__(self) -> str:
        return f"Credential({self.label!r})"


@dataclass
class Exchange:
    """A request and its response; headers and bodies are already redacted."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: bytes | None
    credential_label: str
    status: int = 0
    response_headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    elapsed: float = 0.0
    # Seconds from sending to the status line and headers: the latency profile's first byte.
    headers_after: float | None = None
    truncated: bool = False
    # Set when the answer started but did not arrive whole (reset, stalled mid-body).
    broken: str | None = None
    # When the request was sent, by the wall clock (time.time()): the HAR's startedDateTime.
    sent_at: float = 0.0

    @property
    def media_type(self) -> str:
        """The response media type without parameters, in lower case."""
        value = self.response_headers.get("content-type", "")
        return value.split(";", 1)[0].strip().lower()

    @property
    def content_type(self) -> str:
        return self.response_headers.get("content-type", "")

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def requested_model(self) -> str:
        """The `model` the request body named ("" when it named none)."""
        try:
            body = json.loads(self.request_body or b"")
        except (UnicodeDecodeError, ValueError):
            return ""
        model = body.get("model") if isinstance(body, dict) else None
        return model if isinstance(model, str) else ""

    def json(self) -> Any:
        """The body parsed as JSON; NotJSONError says what came instead."""
        if self.broken:
            raise NotJSONError(f"the response did not arrive whole: {self.broken}")
        if self.truncated:
            raise NotJSONError(
                f"the response body is larger than the suite's cap ({len(self.body)} bytes read); "
                "a JSON answer this large is not plausible"
            )
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise NotJSONError(
                f"expected a JSON body, got {self.media_type or 'no content type'}: "
                f"{_snippet(self.body, 200)!r} ({exc})"
            ) from exc

    def json_or_none(self) -> Any:
        try:
            return self.json()
        except NotJSONError:
            return None

    def curl(self) -> str:
        """A curl command that repeats the request; the credential stays redacted."""
        parts = ["curl", "-sS", "-X", self.method, shlex.quote(self.url)]
        for name, value in self.request_headers.items():
            parts += ["-H", shlex.quote(f"{name}: {value}")]
        if self.credential_label == CONFIGURED_KEY:
            # Double quotes: the shell fills in the key, so the line runs as pasted.
            parts += ["-H", '"Authorization: Bearer $APEX_API_KEY"']
        elif self.credential_label not in ("none", "no header"):
            parts += ["-H", shlex.quote(f"Authorization: {REDACTED} ({self.credential_label})")]
        if self.request_body is not None:
            parts += ["--data-binary", shlex.quote(redact_text(_decode(self.request_body)))]
        return " ".join(parts)

    def transcript(self, limit: int = TRANSCRIPT_BODY_LIMIT) -> str:
        """Request and response as text, bodies cut at `limit` characters."""
        lines = [f"> {self.method} {self.url}"]
        lines += [f"> {name}: {value}" for name, value in self.request_headers.items()]
        lines.append(f"> Authorization: {REDACTED} ({self.credential_label})")
        if self.request_body is not None:
            lines += [">", "> " + _snippet(self.request_body, limit)]
        lines.append("")
        if self.status:
            lines.append(f"< HTTP {self.status} ({self.elapsed * 1000:.0f} ms)")
            lines += [f"< {name}: {value}" for name, value in self.response_headers.items()]
            lines += ["<", "< " + _snippet(self.body, limit)]
            if self.truncated:
                lines.append("< [body cut off by the suite's response size cap]")
            if self.broken:
                lines.append(f"< [the answer broke off: {self.broken}]")
        else:
            lines.append("< (no response)")
        return redact_text("\n".join(lines))


@dataclass
class StreamExchange(Exchange):
    """A streamed exchange: the events as they arrived, and how the stream ended."""

    events: list[Event] = field(default_factory=list)
    issues: list[FramingIssue] = field(default_factory=list)
    stalled_after: float | None = None
    first_event_after: float | None = None

    def data_events(self) -> list[Event]:
        return [event for event in self.events if event.data != ""]


def _decode(body: bytes) -> str:
    return body.decode("utf-8", errors="replace")


def _snippet(body: bytes, limit: int) -> str:
    text = _decode(body)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... [{len(text) - limit} more characters]"
