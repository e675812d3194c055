"""Authentication on every endpoint: which credentials are refused, how, and what leaks."""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from typing import Any

import pytest

from conformance.contract.assertions import rejected, shown
from conformance.session.model_choice import Models
from conformance.spec import payloads
from conformance.transport.client import ApexClient
from conformance.transport.exchange import Exchange

ENDPOINTS = ("models", "chat", "images")


@dataclass(frozen=True)
class Variant:
    name: str
    requirement: str
    profile: str


VARIANTS = (
    Variant("no header", "AUTH-01", "smoke"),
    Variant("unknown ak- key", "AUTH-02", "smoke"),
    Variant("sk- prefix", "AUTH-03", "standard"),
    Variant("ak- too short", "AUTH-03", "standard"),
    Variant("ak- 200 chars", "AUTH-03", "full"),
    Variant("empty credentials", "AUTH-03", "standard"),
    Variant("Token scheme", "AUTH-04", "standard"),
    Variant("no scheme", "AUTH-04", "full"),
    Variant("last character changed", "AUTH-05", "smoke"),
    Variant("middle character changed", "AUTH-05", "standard"),
    # Keys compare exactly: not by case, prefix, or the part a lax comparison looks at.
    Variant("key upper-cased", "AUTH-05", "standard"),
    Variant("key lower-cased", "AUTH-05", "standard"),
    Variant("characters appended", "AUTH-05", "standard"),
    Variant("ak- prefix removed", "AUTH-05", "standard"),
    Variant("first 24 characters", "AUTH-05", "standard"),
)
# Variants that submit no key: nothing of theirs can be echoed (AUTH-09).
NO_KEY_SENT = ("no header", "empty credentials")
# The scheme word in other cases (AUTH-08); each id names the case, as check IDs lower-case it.
SCHEMES = {
    "lower-case bearer": "bearer",
    "upper-case BEARER": "BEARER",
    "mixed-case bEaReR": "bEaReR",
}


def _changed(key: str, position: int) -> str:
    replacement = "a" if key[position] != "a" else "b"
    return key[:position] + replacement + key[position + 1 :]


def header_for(variant: str, key: str, seed: int) -> str | None:
    """The Authorization header value for a credential variant (None: no header)."""
    rng = random.Random(f"{seed}-{variant}")
    alnum = string.ascii_letters + string.digits

    def random_text(n: int) -> str:
        return "".join(rng.choice(alnum) for _ in range(n))

    return {
        "no header": None,
        "unknown ak- key": f"Bearer ak-{random_text(45)}",
        "sk- prefix": f"Bearer sk-{random_text(45)}",
        "ak- too short": f"Bearer ak-{random_text(10)}",
        "ak- 200 chars": f"Bearer ak-{random_text(197)}",
        "empty credentials": "Bearer",
        "Token scheme": f"Token {key}",
        "no scheme": key,
        "last character changed": f"Bearer {_changed(key, len(key) - 1)}",
        "middle character changed": f"Bearer {_changed(key, len(key) // 2)}",
        "key upper-cased": f"Bearer {key.upper()}",
        "key lower-cased": f"Bearer {key.lower()}",
        "characters appended": f"Bearer {key}{random_text(3)}",
        "ak- prefix removed": f"Bearer {key.removeprefix('ak-')}",
        "first 24 characters": f"Bearer {key[:24]}",
    }[variant]


def request_for(endpoint: str, models: Models) -> tuple[str, str, Any]:
    """A request that would be valid with the right key, so only the credential is wrong."""
    if endpoint == "models":
        return "GET", "/models", None
    if endpoint == "chat":
        return "POST", "/chat/completions", payloads.chat(models.chat or "openai/gpt-4o")
    # The request model choice already sent: with the right key it is answered from the cache.
    body = models.image_request or payloads.image(models.image or "openai/dall-e-3")
    return "POST", "/images/generations", body


def send(apex: ApexClient, models: Models, endpoint: str, variant: str) -> Exchange:
    key = apex.settings.api_key
    header = header_for(variant, key, apex.settings.seed)
    if header == f"Bearer {key}":
        pytest.skip(f"{variant} leaves the configured key as it is: nothing to refuse")
    method, path, body = request_for(endpoint, models)
    return apex.call(method, path, json_body=body, credential=apex.credential(header, variant))


def params(*, own_requirement: bool, skip: tuple[str, ...] = ()) -> list[Any]:
    """Every endpoint with every variant; marked with the variant's requirement if asked."""
    return [
        pytest.param(
            endpoint,
            v.name,
            id=f"{endpoint}:{v.name}",
            marks=[pytest.mark.profile(v.profile)]
            + ([pytest.mark.requirement(v.requirement)] if own_requirement else []),
        )
        for v in VARIANTS
        if v.name not in skip
        for endpoint in ENDPOINTS
    ]


def unserved(apex: ApexClient, models: Models, endpoint: str, exchange: Exchange) -> None:
    """Skip when a 404 only says the route is missing: the configured key gets 404 there too.

    A route the target does not serve answers 404 before any authentication; that is the
    surface's failure (its own checks report it), not a refusal status or a scheme finding.
    """
    if exchange.status != 404:
        return
    method, path, body = request_for(endpoint, models)
    if apex.call(method, path, json_body=body).status == 404:
        pytest.skip(
            f"{method} {path} answers 404 to the configured key too: the route is "
            "not served, which the surface's own checks judge"
        )


@pytest.mark.parametrize(("endpoint", "variant"), params(own_requirement=True))
def test_credentials_refused(apex, apex_models, endpoint, variant):
    exchange = send(apex, apex_models, endpoint, variant)
    rejected(exchange, f"a request with credentials: {variant}")


@pytest.mark.requirement("AUTH-06")
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_configured_key_accepted(apex, apex_models, endpoint):
    method, path, body = request_for(endpoint, apex_models)
    exchange = apex.call(method, path, json_body=body)
    # Only an auth refusal judges this rule; other statuses belong to other checks.
    assert exchange.status not in (401, 403), (
        f"expected the configured key to be accepted; got HTTP {exchange.status}\n{shown(exchange)}"
    )


@pytest.mark.requirement("AUTH-07")
@pytest.mark.parametrize(("endpoint", "variant"), params(own_requirement=False))
def test_refusal_is_401(apex, apex_models, endpoint, variant):
    exchange = send(apex, apex_models, endpoint, variant)
    if exchange.status < 400 or exchange.status >= 500:
        pytest.skip(f"not refused (HTTP {exchange.status}); the refusal check reports it")
    unserved(apex, apex_models, endpoint, exchange)
    assert exchange.status == 401, f"expected 401 for credentials: {variant}; got {shown(exchange)}"


@pytest.mark.requirement("AUTH-08")
@pytest.mark.parametrize(
    ("endpoint", "scheme"),
    [
        pytest.param(
            endpoint,
            scheme,
            id=f"{endpoint}:{name}",
            # Accepted means answered: each image answer is a paid image.
            marks=[pytest.mark.profile("full" if endpoint == "images" else "standard")],
        )
        for name, scheme in SCHEMES.items()
        for endpoint in ENDPOINTS
    ],
)
def test_scheme_any_case_accepted(apex, apex_models, endpoint, scheme):
    method, path, body = request_for(endpoint, apex_models)
    plain = apex.call(method, path, json_body=body)
    if not 200 <= plain.status < 300:
        pytest.skip(f"the same request with 'Bearer' got HTTP {plain.status}: nothing to compare")
    credential = apex.credential(
        f"{scheme} {apex.settings.api_key}", f"the configured key, scheme {scheme!r}"
    )
    exchange = apex.call(method, path, json_body=body, credential=credential)
    assert 200 <= exchange.status < 300, (
        f"the configured key under the scheme word {scheme!r} was not accepted (RFC 9110 11.1: "
        f"the scheme is case-insensitive; with 'Bearer' the request got HTTP {plain.status}); "
        f"got {shown(exchange)}"
    )


@pytest.mark.requirement("AUTH-09")
@pytest.mark.parametrize(("endpoint", "variant"), params(own_requirement=False, skip=NO_KEY_SENT))
def test_key_not_echoed(apex, apex_models, endpoint, variant):
    exchange = send(apex, apex_models, endpoint, variant)
    header = header_for(variant, apex.settings.api_key, apex.settings.seed) or ""
    token = header.split(" ", 1)[-1]
    body = exchange.body.decode("utf-8", errors="replace")
    leaked = [t for t in {token, apex.settings.api_key} if len(t) >= 8 and t in body]
    assert not leaked, (
        f"the response body echoes the whole submitted key ({variant}); it should mask it.\n"
        f"{shown(exchange)}"
    )


@pytest.mark.requirement("AUTH-10")
@pytest.mark.parametrize("path", ["/chat/completions", "/images/generations"])
def test_auth_before_validation(apex, path):
    credential = apex.credential(None, "no header")
    exchange = apex.call("POST", path, content=b'{"model": ', credential=credential)
    assert exchange.status == 401, (
        f"expected 401 for a request with no key and a malformed body (auth first); "
        f"got {shown(exchange)}"
    )


@pytest.mark.requirement("AUTH-11")
def test_www_authenticate_on_401(apex, apex_models):
    exchange = send(apex, apex_models, "models", "no header")
    if exchange.status != 401:
        pytest.skip(f"no 401 to inspect (HTTP {exchange.status})")
    value = exchange.response_headers.get("www-authenticate")
    assert value, "401 without WWW-Authenticate (RFC 9110 11.6.1 asks for it)"
