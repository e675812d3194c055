"""POST /images/generations: n items, URLs or base64, real images of the asked size, rejections."""

from __future__ import annotations

import base64
import binascii
import io
import json
from urllib.parse import unquote_to_bytes

import pytest
from PIL import Image, UnidentifiedImageError

from conformance.contract.assertions import accepted, conforms, json_object, rejected, shown
from conformance.contract.cases import IMAGES, rejection_params
from conformance.session.model_choice import image_candidates
from conformance.spec import payloads


@pytest.fixture(scope="module")
def generated(apex, apex_models, image_model):
    """The image request the model accepted during model choice (answered from the cache)."""
    body = apex_models.image_request_for(image_model) or payloads.image(image_model)
    return body, apex.call("POST", IMAGES, json_body=body)


@pytest.fixture(scope="module")
def items(generated):
    _, exchange = generated
    body = exchange.json_or_none() if 200 <= exchange.status < 300 else None
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list) or not data:
        pytest.skip("no images to inspect; IMG-01 and IMG-02 judge the answer")
    return [item for item in data if isinstance(item, dict)]


@pytest.fixture(scope="module")
def pictures(apex, items):
    """(bytes, where-from) for every returned image that could be obtained."""
    found = []
    for position, item in enumerate(items):
        url = item.get("url")
        if isinstance(url, str) and url.lower().startswith("data:"):
            # Inline bytes (RFC 2397): a client decodes them, it sends no request.
            found.append((_data_url(url), f"data[{position}].url"))
        elif isinstance(url, str) and url:
            found.append((apex.fetch(url), f"data[{position}].url"))
        elif isinstance(item.get("b64_json"), str):
            found.append((item["b64_json"], f"data[{position}].b64_json"))
    if not found:
        pytest.skip("no url or b64_json to fetch; IMG-03 judges it")
    return found


def _data_url(url):
    """The payload of a data: URL as base64 text (percent-encoded payloads re-encoded)."""
    header, _, payload = url.partition(",")
    if header.lower().endswith(";base64"):
        return payload
    return base64.b64encode(unquote_to_bytes(payload)).decode("ascii")


def _via(picture):
    """The redirects a download went through, for a message ("" when there were none)."""
    source, _ = picture
    return "" if isinstance(source, str) or not source.redirected else f" ({source.chain()})"


def _decode(picture):
    """Image bytes, or a reason they could not be had."""
    source, where = picture
    if isinstance(source, str):
        try:
            return base64.b64decode(source, validate=True), ""
        except (binascii.Error, ValueError) as exc:
            return None, f"{where} is not valid base64: {exc}"
    if source.problem:
        return None, f"{where}: fetching it led to {source.problem}: {source.chain()}"
    final = source.final
    if final.status != 200:
        gave = f"HTTP {final.status}{_via(picture)}"
        return None, f"{where}: fetching it gave {gave}\n{shown(final)}"
    return final.body, ""


@pytest.mark.requirement("IMG-01")
def test_generation_answered(generated):
    _, exchange = generated
    accepted(exchange, "an image request with model and prompt")
    body = json_object(exchange)
    conforms("ImagesResponse", body, "the answer", ("$.created", "$.data"), ("$.data[*]",))


@pytest.mark.requirement("IMG-02")
@pytest.mark.parametrize(
    "variant",
    [
        "as requested",
        pytest.param("n omitted", marks=pytest.mark.profile("full")),
        # Tried once: each of the three images is paid.
        pytest.param("n 3", marks=pytest.mark.profile("full")),
    ],
)
def test_exactly_n_items(apex, generated, image_model, variant):
    body, exchange = generated
    if variant == "n omitted":
        body = {k: v for k, v in body.items() if k != "n"}
        exchange = apex.call("POST", IMAGES, json_body=body)
    elif variant == "n 3":
        body = {**body, "n": 3}
        exchange = apex.call("POST", IMAGES, json_body=body)
        if 400 <= exchange.status < 500:
            pytest.skip(f"n=3 refused (HTTP {exchange.status}): a model may refuse n above 1")
    if not 200 <= exchange.status < 300:
        pytest.skip(f"not answered (HTTP {exchange.status}); IMG-01 judges it")
    data = json_object(exchange).get("data")
    expected = body.get("n", 1)
    count = len(data) if isinstance(data, list) else 0
    assert count == expected, (
        f"asked for n={expected} (n {'given' if 'n' in body else 'omitted'}), got {count} items"
    )


@pytest.mark.requirement("IMG-03")
def test_items_have_image(items):
    conforms("ImagesResponse", {"data": items}, "the image items", ("$.data[*]",))


def _open(data):
    """The image in `data` (any format Pillow identifies: PNG, JPEG, WebP, GIF, ...), or None."""
    try:
        return Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError, ValueError):
        return None


@pytest.mark.requirement("IMG-04")
def test_image_fetchable(pictures):
    problems = []
    for picture in pictures:
        data, problem = _decode(picture)
        if data is None:
            problems.append(problem)
        elif _open(data) is None:
            start = data[:12]
            problems.append(f"{picture[1]} is not an image (starts {start!r}){_via(picture)}")
    assert not problems, "\n".join(problems)


@pytest.mark.requirement("IMG-05")
def test_image_size(generated, pictures):
    body, _ = generated
    if "size" not in body:
        pytest.skip("the request named no size")
    width, height = map(int, body["size"].split("x"))
    sizes = []
    for picture in pictures:
        data, _ = _decode(picture)
        image = _open(data) if data is not None else None
        if image is not None:  # what could not be had or is no image is IMG-04's finding
            sizes.append((picture[1], image.size))
    if not sizes:
        pytest.skip("no returned image could be fetched and decoded; IMG-04 judges it")
    problems = [
        f"{where} is {size[0]}x{size[1]}, asked for {body['size']}"
        for where, size in sizes
        if size != (width, height)
    ]
    assert not problems, "\n".join(problems)


def _accepted_by_some_model(apex, apex_models, **params):
    """The first answer (2xx) of a listed image model to the parameters, and every refusal."""
    refusals = []
    # The run's image models first: the name heuristics need not recognise a configured one.
    # Before a failure, every other listed model too: names and prices need not tell an
    # image model (a chat model refuses with a 4xx, which costs nothing).
    known = [apex_models.image, *apex_models.images, *image_candidates(apex_models.listing)]
    others = [str(e["id"]) for e in apex_models.listing]
    for model in dict.fromkeys([*known, *others]):
        exchange = apex.call("POST", IMAGES, json_body=payloads.image(model, n=1, **params))
        if 200 <= exchange.status < 300:
            return exchange, refusals
        refusals.append(shown(exchange))
    return None, refusals


@pytest.mark.requirement("IMG-06")
@pytest.mark.parametrize("size", payloads.DOCUMENTED_SIZES)
def test_every_size_offered(apex, apex_models, image_model, size):
    answer, refusals = _accepted_by_some_model(apex, apex_models, size=size)
    assert answer, f"no listed image model accepted size {size}:\n" + "\n".join(refusals)


@pytest.mark.requirement("IMG-07")
@pytest.mark.parametrize("quality", payloads.DOCUMENTED_QUALITIES)
def test_every_quality_offered(apex, apex_models, image_model, quality):
    answer, refusals = _accepted_by_some_model(apex, apex_models, quality=quality)
    assert answer, f"no listed image model accepted quality {quality}:\n" + "\n".join(refusals)


# Every documented size and quality is judged by the answer that accepted it (IMG-06 and
# IMG-07 send it, n=1), not by its status only: a gateway may break a rule on one of them.
OFFERS = [
    pytest.param(key, value, id=f"{key} {value}", marks=pytest.mark.profile("full"))
    for key, values in (("size", payloads.DOCUMENTED_SIZES),
                        ("quality", payloads.DOCUMENTED_QUALITIES))
    for value in values
]  # fmt: skip


def _offer_items(apex, apex_models, key, value):
    answer, _ = _accepted_by_some_model(apex, apex_models, **{key: value})
    if answer is None:
        pytest.skip(f"no listed image model accepted {key} {value}; IMG-06/IMG-07 judge it")
    data = json_object(answer).get("data")
    return answer, data if isinstance(data, list) else []


@pytest.mark.requirement("IMG-02")
@pytest.mark.parametrize(("key", "value"), OFFERS)
def test_n_items_for_every_offer(apex, apex_models, image_model, key, value):
    answer, data = _offer_items(apex, apex_models, key, value)
    got = f"asked for n=1 with {key} {value}, got {len(data)} items"
    assert len(data) == 1, f"{got}\n{shown(answer)}"


def _usable(item):
    """Why an item gives no image a client can use ("" when it does)."""
    url, inline = item.get("url"), item.get("b64_json")
    if isinstance(url, str) and url.split(":", 1)[0].lower() in ("http", "https", "data"):
        return ""
    if isinstance(inline, str) and inline:
        try:
            base64.b64decode(inline, validate=True)
            return ""
        except (binascii.Error, ValueError):
            return f"b64_json is not base64: {inline[:40]!r}"
    return f"no absolute url and no b64_json: {json.dumps(item)[:200]}"


@pytest.mark.requirement("IMG-03")
@pytest.mark.parametrize(("key", "value"), OFFERS)
def test_image_for_every_offer(apex, apex_models, image_model, key, value):
    answer, data = _offer_items(apex, apex_models, key, value)
    problems = [
        f"data[{i}]: {why}"
        for i, item in enumerate(data)
        if (why := _usable(item) if isinstance(item, dict) else "not an object")
    ]
    assert not problems, f"with {key} {value}:\n" + "\n".join(problems) + "\n" + shown(answer)


@pytest.mark.parametrize("case", rejection_params(IMAGES))
def test_invalid_request_rejected(apex, apex_models, case):
    rejected(case.send(apex, apex_models), case.what)
