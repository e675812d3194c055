"""Auth wherever a request can reach a handler: every way a router may map a path to an
endpoint, other methods, and a kept-alive connection that just carried the configured key.

A request without a valid key never gets a 2xx carrying the API's answer. A 2xx that is no
API answer (an HTML page a front end serves for any path, an error envelope) is no data,
and passes here; a redirect or any 4xx is a refusal.
"""

from __future__ import annotations

import pytest

from conformance.contract.assertions import shown
from conformance.spec import payloads

# endpoint -> (how the router is reached, method, path): each the same handler, or none.
# A dot segment (/v1/./models) is not among them: the HTTP client resolves it before sending.
ROUTES = (
    ("models", "trailing slash", "GET", "/models/"),
    ("models", "doubled slash", "GET", "//models"),
    ("models", "upper case", "GET", "/MODELS"),
    ("models", "HEAD", "HEAD", "/models"),
    ("models", "POST", "POST", "/models"),
    ("chat", "trailing slash", "POST", "/chat/completions/"),
    ("chat", "doubled slash", "POST", "/chat//completions"),
    ("chat", "upper case", "POST", "/CHAT/COMPLETIONS"),
    ("images", "trailing slash", "POST", "/images/generations/"),
    ("images", "doubled slash", "POST", "//images/generations"),
    ("images", "upper case", "POST", "/IMAGES/GENERATIONS"),
)
API_MEDIA_TYPES = ("application/json", "text/event-stream")
KEEPALIVE_PROMPT = "Say OK. (a request on a kept-alive connection)"


def _body(endpoint, models):
    if endpoint == "chat":
        return payloads.chat(models.chat or "openai/gpt-4o")
    if endpoint == "images":
        return models.image_request or payloads.image(models.image or "openai/dall-e-3")
    return None


def reached(exchange):
    """Whether an answer without a valid key got through: a 2xx that is an API answer.

    A 2xx carrying only an error envelope is a refusal with the wrong status (ERR-02's).
    """
    if not 200 <= exchange.status < 300:
        return False
    if exchange.method == "HEAD":
        return True
    body = exchange.json_or_none()
    if isinstance(body, dict) and "error" in body and not body.keys() & {"data", "choices"}:
        return False
    return exchange.media_type in API_MEDIA_TYPES


@pytest.mark.requirement("AUTH-12")
@pytest.mark.family("auth-reach")
@pytest.mark.parametrize(
    ("endpoint", "method", "path"),
    [pytest.param(e, m, p, id=f"{e}:{how}") for e, how, m, p in ROUTES],
)
def test_no_key_reaches_nothing(apex, apex_models, endpoint, method, path):
    body = _body(endpoint, apex_models) if method in ("POST", "PUT") else None
    credential = apex.credential(None, "no header")
    exchange = apex.call(method, path, json_body=body, credential=credential)
    assert not reached(exchange), (
        f"{method} {path} without a key got an answer; every way to an endpoint needs the "
        f"key.\n{shown(exchange)}"
    )


# Sent after every other check, one after the other, so each pair shares the client's
# kept-alive connection rather than a wave's.
@pytest.mark.after_all
@pytest.mark.requirement("AUTH-12")
@pytest.mark.family("auth-reach")
@pytest.mark.parametrize("endpoint", ["models", "chat"])
def test_refused_after_an_accepted_request(apex, apex_models, endpoint):
    if endpoint == "models":
        method, path, body = "GET", "/models?apex-conformance=keep-alive", None
    else:
        method, path = "POST", "/chat/completions"
        body = payloads.chat(apex_models.chat or "openai/gpt-4o", KEEPALIVE_PROMPT)
    first = apex.call(method, path, json_body=body)
    if not 200 <= first.status < 300:
        pytest.skip(f"the configured key got HTTP {first.status}: nothing to follow")
    second = apex.call(method, path, json_body=body, credential=apex.credential(None, "no header"))
    assert not reached(second), (
        f"right after an accepted request, {method} {path} without a key got an answer on "
        f"the same client.\n{shown(second)}"
    )
