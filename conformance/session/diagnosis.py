"""What went wrong reaching the target, in words a user can act on.

The preflight's first request fails in a handful of ways that are the user's to fix, not
the gateway's: a certificate signed by a private CA, `http://` against a TLS port or
`https://` against a plain one, a redirect to another address. Each is told apart from the
error itself, confirmed where one cheap request can (the other scheme), and named with
what to do.
"""

from __future__ import annotations

import ssl
from typing import TypeVar
from urllib.parse import urljoin, urlsplit, urlunsplit

from conformance.transport.client import ApexClient, CouldNotJudge
from conformance.transport.exchange import Exchange

E = TypeVar("E", bound=BaseException)
REDIRECTS = (301, 302, 303, 307, 308)
CA_HINT = (
    "If the server's certificate comes from a private CA, pass its PEM file with "
    "--ca-bundle=<file> (or APEX_CA_BUNDLE; SSL_CERT_FILE replaces the default trust store)."
)
# OpenSSL's words for a TLS handshake answered with something that is not TLS.
_NOT_TLS = (
    "wrong version number",
    "record layer failure",
    "packet length too long",
    "http request",
)


def unreachable(client: ApexClient, exc: CouldNotJudge) -> str:
    """The message for a preflight request that got no answer at all."""
    base = client.settings.base_url
    certificate = _cause(exc, ssl.SSLCertVerificationError)
    if certificate is not None:
        reason = certificate.verify_message or str(certificate)
        return f"TLS: the certificate of {_origin(base)} is not trusted ({reason}).\n{CA_HINT}"
    other = _swap_scheme(base)
    if base.startswith("https://") and _not_tls(exc) and _answers(client, other):
        return (
            f"{_origin(base)} does not speak TLS: it answers plain HTTP. "
            f"Use --base-url={other} (http://, not https://)."
        )
    if base.startswith("http://") and _answers(client, other):
        return (
            f"{_origin(base)} did not answer plain HTTP, but the same port speaks TLS: "
            f"use --base-url={other} (https://, not http://)."
        )
    return (
        f"could not reach the target {base}: {exc}\n"
        "Check --base-url (or APEX_BASE_URL) and that the server is up."
    )


def plain_http_to_tls(exchange: Exchange) -> bool:
    """An answer a TLS port gives a plain HTTP request (nginx: 400 "plain HTTP ... HTTPS port")."""
    return exchange.url.startswith("http://") and "https port" in exchange.text.lower()


def redirected(client: ApexClient, exchange: Exchange) -> str | None:
    """The message for a redirect of the model list: the base URL it points at."""
    location = exchange.response_headers.get("location")
    if exchange.status not in REDIRECTS or not location:
        return None
    location = urljoin(exchange.url, location)
    base = client.settings.base_url
    target = location.removesuffix("/").removesuffix("/models")
    upgrade = base.startswith("http://") and location.startswith("https:")
    scheme = " (to https://)" if upgrade else ""
    return (
        f"GET {base}/models answered HTTP {exchange.status}, a redirect{scheme} to {location}. "
        f"The suite does not follow redirects of the API (a POST would not survive them on "
        f"every client): use --base-url={target}"
    )


def scheme_hint(client: ApexClient, exchange: Exchange) -> str:
    """A hint when the answer is what a TLS port says to plain HTTP."""
    if not plain_http_to_tls(exchange):
        return ""
    return f"\nThe port speaks TLS: use --base-url={_swap_scheme(client.settings.base_url)}"


def _answers(client: ApexClient, base: str) -> bool:
    """True when GET <base>/models gets any HTTP answer, or fails on the certificate only."""
    try:
        client.call("GET", base + "/models")
    except CouldNotJudge as exc:
        return _cause(exc, ssl.SSLCertVerificationError) is not None
    return True


def _not_tls(exc: CouldNotJudge) -> bool:
    error = _cause(exc, ssl.SSLError)
    text = str(error if error is not None else exc).lower()
    return any(words in text for words in _NOT_TLS)


def _cause(exc: BaseException, kind: type[E]) -> E | None:
    """The first exception of `kind` in the chain of causes and contexts."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _swap_scheme(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="http" if parts.scheme == "https" else "https"))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
