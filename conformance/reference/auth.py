"""Bearer-key authentication for the /v1 API routes."""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable

from starlette.requests import Request

from conformance.reference.errors import ApiError, InjectedCrash
from conformance.reference.faults import Faults

# The documented key form: "ak-" and 45 more characters, 48 in all.
KEY_FORM = re.compile(r"ak-\S{45}")


def authenticate(request: Request, api_key: str, faults: Faults) -> None:
    """Return when the request carries `Bearer <api_key>`; raise a 401 ApiError otherwise."""
    header = request.headers.get("authorization")
    if header is None:
        if "auth-no-key-accepted" in faults:
            return
        if "auth-500-no-key" in faults:
            raise InjectedCrash("fault auth-500-no-key")
        raise _unauthorized(
            "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.",
            None,
            faults,
        )
    scheme, _, credentials = header.strip().partition(" ")
    credentials = credentials.strip()
    if "auth-scheme-optional" in faults and not credentials and _key_ok(scheme, api_key, faults):
        return  # the bare key, without a scheme word
    if not _scheme_ok(scheme, faults):
        message = "Unsupported authorization scheme; use 'Authorization: Bearer <key>'."
        if "auth-echo-header" in faults:
            message = f"Unsupported authorization header {header!r}; use 'Bearer <key>'."
        raise _unauthorized(message, None, faults)
    if not credentials:
        if "auth-empty-token-accepted" in faults:
            return  # "if token and token != key": an empty token is never compared
        raise _unauthorized("The Authorization header carries no API key.", None, faults)
    if _key_ok(credentials, api_key, faults) and not _refused_here(request, faults):
        return
    message = "Incorrect API key provided. You can find your API key in your dashboard."
    if "auth-echo-key" in faults:
        message = f"Incorrect API key provided: {credentials}."
    raise _unauthorized(message, "invalid_api_key", faults)


def _refused_here(request: Request, faults: Faults) -> bool:
    """auth-reject-valid-models/-chat: one route's key lookup is broken."""
    path = request.url.path
    return ("auth-reject-valid-models" in faults and path.endswith("/models")) or (
        "auth-reject-valid-chat" in faults and path.endswith("/chat/completions")
    )


def _scheme_ok(scheme: str, faults: Faults) -> bool:
    if "auth-any-scheme" in faults:
        return bool(scheme)
    if "auth-case-sensitive-scheme" in faults:
        return scheme == "Bearer"
    if "auth-scheme-two-spellings" in faults:
        return scheme in ("Bearer", "bearer")
    return scheme.lower() == "bearer"  # RFC 9110 11.1: the scheme is case-insensitive


def _key_ok(given: str, api_key: str, faults: Faults) -> bool:
    if "auth-accept-any-key" in faults:
        return True
    if "auth-accept-malformed" in faults and not KEY_FORM.fullmatch(given):
        return True
    if "auth-prefix-match" in faults:
        return given[:24] == api_key[:24]
    lax = _lax_compare(faults)
    if lax is not None:
        return lax(given, api_key)
    # Constant-time comparison: the check must not leak how much of a guess was right.
    return hmac.compare_digest(given.encode("utf-8"), api_key.encode("utf-8"))


# Comparisons a gateway gets wrong; each lets in one kind of near miss of the real key.
_LAX: dict[str, Callable[[str, str], bool]] = {
    "auth-key-case-insensitive": lambda given, key: given.lower() == key.lower(),
    "auth-key-startswith": lambda given, key: given.startswith(key),
    "auth-key-prefix-optional": lambda given, key: given.removeprefix("ak-") == key[3:],
    # strncmp(given, key, strlen(given)): only as many characters as were sent.
    "auth-key-truncated-compare": lambda given, key: bool(given) and key.startswith(given),
    "auth-key-off-by-one": lambda given, key: len(given) == len(key) and given[:-1] == key[:-1],
}


def _lax_compare(faults: Faults) -> Callable[[str, str], bool] | None:
    return next((compare for name, compare in _LAX.items() if name in faults), None)


def _unauthorized(message: str, code: str | None, faults: Faults) -> ApiError:
    challenge = 'Bearer realm="apexapi"'
    if code is not None:
        challenge += ', error="invalid_token"'  # RFC 6750 3.1
    status = 400 if "auth-400" in faults else 401
    if "auth-404" in faults:
        status = 404  # hides the route from callers without a valid key
    if "auth-error-as-200" in faults:
        status = 200
    return ApiError(status, message, code=code, headers={"WWW-Authenticate": challenge})
