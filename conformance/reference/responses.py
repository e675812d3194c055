"""JSON responses, with the one place that decides their Content-Type."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from conformance.reference.faults import Faults


def dump_json(data: Any) -> bytes:
    """Compact UTF-8 JSON (non-ASCII kept as is, NaN refused)."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.encode("utf-8")


def json_response(
    data: Any, faults: Faults, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON response; the freedoms variant adds a charset parameter, as OpenAI does."""
    media_type = "application/json"
    if "variant-freedoms" in faults:
        media_type += "; charset=utf-8"
    if "http-json-as-text" in faults:
        media_type = "text/plain"  # the body is still JSON
    return Response(dump_json(data), status, headers=headers, media_type=media_type)
