"""GET /models: the list, each entry's shape, ids, pricing."""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal

import pytest

from conformance.contract.assertions import conforms, json_object, shown

DECIMAL = re.compile(r"^\d+(\.\d+)?([eE][-+]?\d+)?$")


@pytest.fixture(scope="module")
def listing(apex):
    """The answer to GET /models and its JSON body (None when it is not JSON)."""
    exchange = apex.call("GET", "/models")
    return exchange, exchange.json_or_none()


def entries(listing):
    """The list's entries; skips (MODELS-01 judges it) when there is no list."""
    _, body = listing
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        pytest.skip("no data array to inspect; MODELS-01 judges the list")
    return [item for item in data if isinstance(item, dict)]


@pytest.mark.requirement("MODELS-01")
def test_list_shape(listing):
    exchange, _ = listing
    assert exchange.status == 200, f"expected 200 from GET /models; got {shown(exchange)}"
    conforms(
        "ModelList", json_object(exchange), "the model list", ("$.object", "$.data"), ("$.data[*]",)
    )


@pytest.mark.requirement("MODELS-02")
def test_model_fields(listing):
    bad_ids = [
        e.get("id") for e in entries(listing) if not isinstance(e.get("id"), str) or not e["id"]
    ]
    assert not bad_ids, f"expected every id to be a non-empty string; got {bad_ids[:20]}"
    fields = ("$.data[*].object", "$.data[*].created", "$.data[*].owned_by")
    conforms("ModelList", {"data": entries(listing)}, "model entries", fields)


@pytest.mark.requirement("MODELS-03")
def test_ids_provider_model(listing):
    conforms("ModelList", {"data": entries(listing)}, "model ids", ("$.data[*].id",))


@pytest.mark.requirement("MODELS-04")
def test_pricing_present(listing):
    conforms("ModelList", {"data": entries(listing)}, "model pricing", ("$.data[*].pricing",))


@pytest.mark.requirement("MODELS-05")
def test_prices_decimal_strings(listing):
    problems = []
    for entry in entries(listing):
        pricing = entry.get("pricing")
        if not isinstance(pricing, dict):
            continue  # MODELS-04 judges a missing pricing object
        for key in ("prompt", "completion"):
            value = pricing.get(key)
            if key in pricing and not (isinstance(value, str) and DECIMAL.match(value)):
                problems.append(f"{entry.get('id')}: pricing.{key} = {value!r}")
    assert not problems, 'expected prices as decimal strings like "0.0025":\n' + "\n".join(
        problems[:20]
    )


@pytest.mark.requirement("MODELS-06")
def test_owned_by_is_provider(listing):
    bad = [
        f"{e['id']} owned_by {e.get('owned_by')!r}"
        for e in entries(listing)
        if isinstance(e.get("id"), str)
        and "/" in e["id"]
        and e.get("owned_by") != e["id"].split("/")[0]
    ]
    assert not bad, "expected owned_by to equal the provider prefix:\n" + "\n".join(bad[:20])


@pytest.mark.requirement("MODELS-07")
def test_ids_unique(listing):
    counts = Counter(str(e.get("id")) for e in entries(listing))
    duplicated = sorted(i for i, n in counts.items() if n > 1)
    assert not duplicated, f"ids listed more than once: {duplicated}"


@pytest.mark.requirement("MODELS-08")
def test_models_used(apex_models, observe):
    lines = list(apex_models.notes)
    for model in filter(None, (apex_models.chat, apex_models.image)):
        price = apex_models.price(model)
        try:
            per_million = {k: f"{Decimal(v) * 1_000_000:f}" for k, v in price.items()}
        except ArithmeticError:
            per_million = {}
        lines.append(f"{model}: pricing {price} (x 1e6 = {per_million}; the unit is not asserted)")
    observe("\n".join(lines))


@pytest.mark.requirement("MODELS-09")
def test_served_models_listed(apex, apex_models, listing):
    """A model that answered a request is available, so "all available models" lists it."""
    listed = {e.get("id") for e in entries(listing)}
    unlisted = []
    for model in {apex_models.chat, apex_models.image} - listed - {None}:
        answered = [
            x for x in apex.answers() if 200 <= x.status < 300 and x.requested_model == model
        ]
        if answered:
            unlisted.append(f"{model}: {shown(answered[0])}")
    assert not unlisted, "models the target serves are missing from GET /models:\n" + "\n".join(
        unlisted
    )
