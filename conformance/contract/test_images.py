"""POST /images/generations: n items, URLs or base64, real images of the asked size, rejections."""

from __future__ import annotations

import base64
import binascii
import io

import pytest
from PIL import Image, UnidentifiedImageError

from conformance import payloads
from conformance.checks import accepted, conforms, json_object, rejected, shown
from conformance.contract.cases import IMAGES, rejection_params
from conformance.discovery import image_candidates

IMAGE_FORMATS = {"PNG", "JPEG", "WEBP"}


@pytest.fixture(scope="module")
def generated(apex, apex_models, image_model):
    """The image request the model accepted during discovery (answered from the cache)."""
    body = apex_models.image_request or payloads.image(image_model)
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
        if isinstance(item.get("url"), str) and item["url"]:
            fetched = apex.fetch(item["url"])
            found.append((fetched, f"data[{position}].url"))
        elif isinstance(item.get("b64_json"), str):
            found.append((item["b64_json"], f"data[{position}].b64_json"))
    if not found:
        pytest.skip("no url or b64_json to fetch; IMG-03 judges it")
    return found


def _decode(picture):
    """Image bytes, or a reason they could not be had."""
    source, where = picture
    if isinstance(source, str):
        try:
            return base64.b64decode(source, validate=True), ""
        except (binascii.Error, ValueError) as exc:
            return None, f"{where} is not valid base64: {exc}"
    if source.status != 200:
        return None, f"{where}: fetching it gave HTTP {source.status}\n{shown(source)}"
    return source.body, ""


@pytest.mark.requirement("IMG-01")
def test_generation_answered(generated):
    _, exchange = generated
    accepted(exchange, "an image request with model and prompt")
    body = json_object(exchange)
    conforms("ImagesResponse", body, "the answer", ("$.created", "$.data"), ("$.data[*]",))


@pytest.mark.requirement("IMG-02")
@pytest.mark.parametrize(
    "variant", ["as requested", pytest.param("n omitted", marks=pytest.mark.profile("full"))]
)
def test_exactly_n_items(apex, generated, image_model, variant):
    body, exchange = generated
    if variant == "n omitted":
        body = {k: v for k, v in body.items() if k != "n"}
        exchange = apex.call("POST", IMAGES, json_body=body)
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


@pytest.mark.requirement("IMG-04")
def test_image_fetchable(pictures):
    problems = []
    for picture in pictures:
        data, problem = _decode(picture)
        if data is None:
            problems.append(problem)
            continue
        try:
            kind = Image.open(io.BytesIO(data)).format
        except UnidentifiedImageError:
            kind = None
        if kind not in IMAGE_FORMATS:
            problems.append(f"{picture[1]} is not a PNG, JPEG or WebP image (starts {data[:12]!r})")
    assert not problems, "\n".join(problems)


@pytest.mark.requirement("IMG-05")
def test_image_size(generated, pictures):
    body, _ = generated
    if "size" not in body:
        pytest.skip("the request named no size")
    width, height = map(int, body["size"].split("x"))
    problems = []
    for picture in pictures:
        data, _ = _decode(picture)
        try:
            size = Image.open(io.BytesIO(data or b"")).size
        except UnidentifiedImageError:
            continue  # IMG-04 judges what is not an image
        if size != (width, height):
            problems.append(f"{picture[1]} is {size[0]}x{size[1]}, asked for {body['size']}")
    assert not problems, "\n".join(problems)


def _accepted_by_some_model(apex, apex_models, **params):
    """The first listed image model that accepts the parameters, and every refusal seen."""
    refusals = []
    # The run's image model first: the name heuristics need not recognise a configured one.
    candidates = [apex_models.image, *image_candidates(apex_models.listing)]
    for model in dict.fromkeys(candidates):
        exchange = apex.call("POST", IMAGES, json_body=payloads.image(model, n=1, **params))
        if 200 <= exchange.status < 300:
            return model, refusals
        refusals.append(shown(exchange))
    return None, refusals


@pytest.mark.requirement("IMG-06")
@pytest.mark.parametrize("size", payloads.DOCUMENTED_SIZES)
def test_every_size_offered(apex, apex_models, image_model, size):
    model, refusals = _accepted_by_some_model(apex, apex_models, size=size)
    assert model, f"no listed image model accepted size {size}:\n" + "\n".join(refusals)


@pytest.mark.requirement("IMG-07")
@pytest.mark.parametrize("quality", payloads.DOCUMENTED_QUALITIES)
def test_every_quality_offered(apex, apex_models, image_model, quality):
    model, refusals = _accepted_by_some_model(apex, apex_models, quality=quality)
    assert model, f"no listed image model accepted quality {quality}:\n" + "\n".join(refusals)


@pytest.mark.parametrize("case", rejection_params(IMAGES))
def test_invalid_request_rejected(apex, apex_models, case):
    rejected(case.send(apex, apex_models), case.what)
