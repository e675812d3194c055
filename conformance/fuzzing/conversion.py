"""Between schemathesis and the suite's client: a case's wire request, an answer's Response.

A case goes out as schemathesis would send it (its own `as_transport_kwargs`), less the
headers that are only its bookkeeping: requests' defaults, which the client sets its own
way, and the per-case id, which would make every request unique to the client's cache.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass

import httpx
import schemathesis

from conformance.fuzzing.oracle import AnyCase
from conformance.transport.exchange import Exchange


@dataclass(frozen=True)
class WireRequest:
    """What a generated case sends: the key of its answer, and what the client sends."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    content: bytes | None


def wire_request(case: AnyCase, base_url: str) -> WireRequest:
    """The request schemathesis would send for `case` to `base_url`."""
    sent = case.as_transport_kwargs(base_url=base_url)
    if sent.get("cookies") or "files" in sent:
        # The document declares neither; a case that has some is not one of its operations'.
        raise ValueError(f"{case.operation.label}: cookies or files are not sent by the suite")
    own = {name.lower() for name in case.headers or {}} | {"content-type"}
    headers = tuple(
        (str(name), str(value)) for name, value in sent["headers"].items() if name.lower() in own
    )
    content: bytes | None
    if "json" in sent:
        # As requests encodes it: ASCII escapes keep generated lone surrogates sendable.
        content = json.dumps(sent["json"]).encode("utf-8")
    else:
        data = sent.get("data")
        content = data.encode("utf-8") if isinstance(data, str) else data
    url = httpx.URL(str(sent["url"]), params=sent.get("params") or None)
    return WireRequest(str(sent["method"]).upper(), str(url), headers, content)


def as_response(exchange: Exchange) -> schemathesis.Response:
    """The client's answer as the Response `case.validate_response` judges."""
    request = httpx.Request(
        exchange.method,
        exchange.url,
        headers=_raw(exchange.request_headers),
        content=exchange.request_body,
    )
    # The client stored the body decoded: a content-encoding would have httpx decode it again.
    headers = {k: v for k, v in exchange.response_headers.items() if k != "content-encoding"}
    response = httpx.Response(
        exchange.status, headers=_raw(headers), content=exchange.body, request=request
    )
    response.elapsed = datetime.timedelta(seconds=exchange.elapsed)
    return schemathesis.Response.from_httpx(response, verify=True)


def _raw(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    # As bytes: httpx takes str values as ASCII only, and a header may carry UTF-8.
    return [(name.encode("latin-1"), value.encode("utf-8")) for name, value in headers.items()]
