"""The run's exchanges as a HAR 1.2 log: what a browser's devtools and HAR viewers open.

The same log, gzipped, is the run's recording (`recording.har.gz`): custom fields (HAR 1.2
allows any field whose name starts with `_`) carry what re-judging needs beyond HAR's own:
the credential's label, the check IDs that used an exchange, the arrival time of each
stream chunk and the suite's exact timings.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from conformance import __version__
from conformance.evidence.masking import mask
from conformance.transport.exchange import Exchange, StreamExchange
from conformance.transport.redact import REDACTED, redact_headers


def request_id(method: str, url: str, body: bytes | None, label: str, stream: bool) -> str:
    """A short stable name of a request: the same in the run, its HAR and a re-judging run."""
    digest = hashlib.sha256(
        json.dumps([method, url, (body or b"").hex(), body is None, label, stream]).encode()
    )
    return digest.hexdigest()[:12]


def id_of(exchange: Exchange) -> str:
    return request_id(
        exchange.method,
        exchange.url,
        exchange.request_body,
        exchange.credential_label,
        isinstance(exchange, StreamExchange),
    )


@dataclass(frozen=True)
class Sent:
    """One exchange of the run, the Authorization value it went with, the checks that used it."""

    exchange: Exchange
    authorization: str | None
    checks: tuple[str, ...] = ()


def har_log(sent: Iterable[Sent], key: str, run: Mapping[str, Any]) -> dict[str, Any]:
    """A HAR 1.2 document of `sent`, secrets masked; `run` goes in `log._apexRun`."""
    entries = [_entry(s, key) for s in sorted(sent, key=lambda s: s.exchange.sent_at)]
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "apex-conformance", "version": __version__},
            "entries": entries,
            "comment": "Credentials are redacted; <K###> marks the key, <C###> the request's "
            "credential, each as long as what it replaces.",
            "_apexRun": dict(run),
        }
    }


def _entry(sent: Sent, key: str) -> dict[str, Any]:
    exchange = sent.exchange
    token = sent.authorization.split(" ", 1)[-1] if sent.authorization else None
    wait = (exchange.headers_after or 0.0) * 1000
    receive = max(0.0, exchange.elapsed * 1000 - wait)
    entry: dict[str, Any] = {
        "startedDateTime": datetime.fromtimestamp(exchange.sent_at, UTC).isoformat(
            timespec="milliseconds"
        ),
        "time": wait + receive,
        "request": _request(exchange, key, token),
        "response": _response(exchange, key, token),
        "cache": {},
        "timings": {"send": 0, "wait": wait, "receive": receive},
        "_apexId": id_of(exchange),
        "_apexChecks": sorted(sent.checks),
        "_apexCredential": exchange.credential_label,
        "_apexTimes": {
            "elapsed": exchange.elapsed,
            "headers_after": exchange.headers_after,
            "truncated": exchange.truncated,
            "broken": exchange.broken,
        },
    }
    if isinstance(exchange, StreamExchange):
        entry["_apexStream"] = {
            # Each chunk ends where an event was dispatched, at the time it arrived.
            "chunks": [[event.offset, event.received_at] for event in exchange.events],
            "first_event_after": exchange.first_event_after,
            "stalled_after": exchange.stalled_after,
        }
    return entry


def _headers(headers: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in redact_headers(headers).items()]


def _request(exchange: Exchange, key: str, token: str | None) -> dict[str, Any]:
    headers = _headers(exchange.request_headers)
    if exchange.credential_label not in ("none", "no header"):
        headers.append(
            {"name": "Authorization", "value": f"{REDACTED} ({exchange.credential_label})"}
        )
    url = mask(exchange.url.encode(), key, token).decode("latin-1")
    request: dict[str, Any] = {
        "method": exchange.method,
        "url": url,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": headers,
        "queryString": [{"name": n, "value": v} for n, v in parse_qsl(urlsplit(url).query)],
        "headersSize": -1,
        "bodySize": len(exchange.request_body or b""),
    }
    if exchange.request_body is not None:
        text, encoding = _text(mask(exchange.request_body, key, token))
        request["postData"] = {
            "mimeType": exchange.request_headers.get("Content-Type", "application/json"),
            "text": text,
            **({"_apexEncoding": encoding} if encoding else {}),
        }
    return request


def _response(exchange: Exchange, key: str, token: str | None) -> dict[str, Any]:
    text, encoding = _text(mask(exchange.body, key, token))
    content: dict[str, Any] = {
        "size": len(exchange.body),
        "mimeType": exchange.content_type or "x-unknown",
        "text": text,
    }
    if encoding:
        content["encoding"] = encoding
    try:
        reason = HTTPStatus(exchange.status).phrase
    except ValueError:
        reason = ""
    return {
        "status": exchange.status,
        "statusText": reason,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": _headers(exchange.response_headers),
        "content": content,
        "redirectURL": exchange.response_headers.get("location", ""),
        "headersSize": -1,
        "bodySize": len(exchange.body),
    }


def _text(data: bytes) -> tuple[str, str | None]:
    """The body as HAR text: itself when it is UTF-8, else base64."""
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        return base64.b64encode(data).decode("ascii"), "base64"


def body_of(holder: Mapping[str, Any], encoding_field: str) -> bytes:
    """The bytes a `content` or `postData` object of this log holds."""
    text = str(holder.get("text", ""))
    if holder.get(encoding_field) == "base64":
        return base64.b64decode(text)
    return text.encode("utf-8")
