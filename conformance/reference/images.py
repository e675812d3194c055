"""Image generation responses and the download route they point at."""

from __future__ import annotations

import base64
import re
import time
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from conformance.reference.errors import ApiError
from conformance.reference.faults import Faults
from conformance.reference.png import solid_png
from conformance.reference.validation import ImageRequest
from conformance.reference.variants import gif

FILES_PATH = "/v1/images/files"
# File names carry their own size, so the download route needs no shared state.
_FILE_NAME = re.compile(r"img-[0-9a-f]{16}-([1-9]\d{0,3})x([1-9]\d{0,3})\.png")
_MAX_EDGE = 2048


def images_body(spec: ImageRequest, request: Request, faults: Faults) -> dict[str, Any]:
    """The images response: `n` items, each a download URL or inline base64 PNG."""
    count = max(spec.n, 0)
    # One image short above n=1 (img-fewer-than-n) or above n=2 (img-fewer-above-2).
    short_above = 1 if "img-fewer-than-n" in faults else 2 if "img-fewer-above-2" in faults else 0
    if short_above and spec.n > short_above:
        count = spec.n - 1
    if _for_offer("img-empty-for", spec, faults):
        count = 0
    items = [_item(spec, request, faults) for _ in range(count)]
    body: dict[str, Any] = {"data": items}
    if "img-no-created" not in faults:
        body = {"created": int(time.time()), **body}
    if "variant-freedoms" in faults:  # fields newer OpenAI image responses carry
        body.update(size=f"{spec.width}x{spec.height}", quality=spec.quality, output_format="png")
    return body


def _for_offer(fault: str, spec: ImageRequest, faults: Faults) -> bool:
    """`<fault>-<value>`: broken only for requests naming that size or quality."""
    named = []
    if "size" in spec.named:
        named.append(f"{spec.width}x{spec.height}")
    if "quality" in spec.named:
        named.append(spec.quality)
    return any(f"{fault}-{value}" in faults for value in named)


def image_file(request: Request, faults: Faults) -> Response:
    """GET /v1/images/files/<name>: the PNG behind a returned URL (no key needed)."""
    match = _FILE_NAME.fullmatch(request.path_params["name"])
    if "img-broken-url" in faults or match is None:
        raise ApiError(404, "No such image.", code="not_found")
    width, height = int(match[1]), int(match[2])
    if width > _MAX_EDGE or height > _MAX_EDGE:
        raise ApiError(404, "No such image.", code="not_found")
    return Response(_png(width, height, faults), media_type="image/png")


def _item(spec: ImageRequest, request: Request, faults: Faults) -> dict[str, Any]:
    item: dict[str, Any] = {}
    if "img-no-url" in faults or _for_offer("img-no-image-for", spec, faults):
        pass  # the item carries no image at all
    elif "variant-b64-images" in faults:  # inline, and a GIF: any image format is an image
        item["b64_json"] = base64.b64encode(gif(spec.width, spec.height)).decode("ascii")
    elif "variant-data-url-images" in faults or "img-data-url-not-image" in faults:
        # The bytes inline, in the url field; the fault's are a text, not an image.
        png = _png(spec.width, spec.height, faults)
        raw = b"image unavailable" if "img-data-url-not-image" in faults else png
        item["url"] = f"data:image/png;base64,{base64.b64encode(raw).decode('ascii')}"
    elif spec.response_format == "b64_json":
        item["b64_json"] = base64.b64encode(_png(spec.width, spec.height, faults)).decode("ascii")
    else:
        name = f"img-{uuid.uuid4().hex[:16]}-{spec.width}x{spec.height}.png"
        item["url"] = _file_url(request, name)
    if "variant-freedoms" not in faults:  # revised_prompt is optional: the variant omits it
        item["revised_prompt"] = spec.prompt
    return item


def _file_url(request: Request, name: str) -> str:
    # root_path holds any mount prefix (the zoo's /faults/<name>), so the URL stays on
    # this very app wherever it is mounted.
    path = f"{request.scope.get('root_path', '')}{FILES_PATH}/{name}"
    return str(request.url.replace(path=path, query=""))


def _png(width: int, height: int, faults: Faults) -> bytes:
    if "img-wrong-size" in faults:
        # Half of what was asked: wrong for every size, the 256x256 a cheap run asks included.
        width, height = width // 2, height // 2
    return solid_png(width, height)
