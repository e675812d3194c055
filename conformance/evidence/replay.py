"""Answers from a recording: a re-judging run's client asks here instead of the network."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from conformance.evidence.har import body_of, request_id
from conformance.evidence.masking import unmask
from conformance.transport.client import CouldNotJudge
from conformance.transport.exchange import Credential, Exchange, StreamExchange
from conformance.transport.sse import Event, EventStreamReader

RECORDING = "recording.har.gz"
NOT_RECORDED = "not judged (not recorded)"


class RecordingError(ValueError):
    """The recording cannot be read; the message says why."""


def recording_path(source: Path) -> Path:
    """The recording a run's report folder holds, or `source` itself (a .har or .har.gz)."""
    return source / RECORDING if source.is_dir() else source


def load_recording(source: Path) -> dict[str, Any]:
    """The HAR log of a recording (the `log` object), checked for what re-judging needs."""
    path = recording_path(source)
    try:
        raw = path.read_bytes()
        data = json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read the recording ({exc.strerror or exc})") from exc
    except (ValueError, EOFError, gzip.BadGzipFile) as exc:
        raise RecordingError(f"{path}: not a HAR file ({exc})") from exc
    log = data.get("log") if isinstance(data, dict) else None
    if not isinstance(log, dict) or not isinstance(log.get("entries"), list):
        raise RecordingError(f"{path}: not a HAR file (no log.entries)")
    if not isinstance(log.get("_apexRun"), dict):
        raise RecordingError(
            f"{path}: a HAR without the suite's run facts (_apexRun): only a HAR written "
            "by apex-conformance can be re-judged"
        )
    result: dict[str, Any] = log
    return result


class Replay:
    """The recorded answer to each request, rebuilt for this run's key and credentials."""

    def __init__(self, log: dict[str, Any], key: str) -> None:
        self._key = key
        self._entries = {str(entry.get("_apexId")): entry for entry in log["entries"]}
        self.served = 0

    def __call__(
        self, method: str, url: str, body: bytes | None, credential: Credential, stream: bool
    ) -> Exchange:
        entry = self._entries.get(request_id(method, url, body, credential.label, stream))
        if entry is None:
            kind = "streamed " if stream else ""
            raise CouldNotJudge(
                f"{NOT_RECORDED}: the recording has no {kind}{method} {url} with {credential.label}"
            )
        self.served += 1
        token = credential.header.split(" ", 1)[-1] if credential.header else None
        return _exchange(entry, method, url, body, credential.label, stream, self._key, token)


def _exchange(
    entry: dict[str, Any],
    method: str,
    url: str,
    body: bytes | None,
    label: str,
    stream: bool,
    key: str,
    token: str | None,
) -> Exchange:
    response, times = entry["response"], entry.get("_apexTimes", {})
    request_headers = {
        h["name"]: h["value"] for h in entry["request"]["headers"] if h["name"] != "Authorization"
    }
    exchange = Exchange(
        method,
        url,
        request_headers,
        body,
        label,
        status=int(response["status"]),
        response_headers={h["name"]: h["value"] for h in response["headers"]},
        body=unmask(body_of(response["content"], "encoding"), key, token),
        elapsed=float(times.get("elapsed", entry["time"] / 1000)),
        headers_after=times.get("headers_after"),
        truncated=bool(times.get("truncated")),
        broken=times.get("broken"),
    )
    if not stream:
        return exchange
    return _stream(exchange, entry.get("_apexStream") or {})


def _stream(exchange: Exchange, recorded: dict[str, Any]) -> StreamExchange:
    """The events read again from the recorded bytes, chunk by chunk as they arrived, by
    this suite's own reader: a newer reader judges the same bytes its own way."""
    streamed = StreamExchange(**vars(exchange))
    reader, events, start = EventStreamReader(), list[Event](), 0
    raw = streamed.body
    for end, arrived in recorded.get("chunks", []):
        if end > start:
            events += reader.feed(raw[start:end], float(arrived))
            start = end
    if start < len(raw):
        events += reader.feed(raw[start:], streamed.elapsed)
    streamed.stalled_after = recorded.get("stalled_after")
    if streamed.stalled_after is None and not streamed.truncated:
        events += reader.close()
    streamed.events = events
    streamed.issues = list(reader.issues)
    streamed.first_event_after = events[0].received_at if events else None
    return streamed
