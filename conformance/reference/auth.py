"""Bearer-key authentication for the /v1 API routes."""

from __future__ import annotations

import hmac
import re

from starlette.requests import Request

from conformance.reference.errors import ApiError
from conformance.reference.faults import Faults

# The documented key form: "ak-" and 45 more characters, 48 in all.
_KEY_FORM = re.compile(r"ak-\S{45}")


def authenticate(request: Request, api_key: str, faults: Faults) -> None:
    """Return when the request carries `Bearer <api_key>`; raise a 401 ApiError otherwise."""
    header = request.headers.get("authorization")
    if header is None:
        if "auth-no-key-accepted" in faults:
            return
        raise _unauthorized(
            "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.",
            None,
            faults,
        )
    scheme, _, credentials = header.strip().partition(" ")
    credentials = credentials.strip()
    if not _scheme_ok(scheme, faults):
        raise _unauthorized(
            "Unsupported authorization scheme; use 'Authorization: Bearer <key>'.", None, faults
        )
    if not credentials:
        raise _unauthorized("The Authorization header carries no API key.", None, faults)
    if _key_ok(credentials, api_key, faults):
        return
    message = "Incorrect API key provided. You can find your API key in your dashboard."
    if "auth-echo-key" in faults:
        message = f"Incorrect API key provided: {credentials}."
    raise _unauthorized(message, "invalid_api_key", faults)


def _scheme_ok(scheme: str, faults: Faults) -> bool:
    if "auth-any-scheme" in faults:
        return bool(scheme)
    if "auth-case-sensitive-scheme" in faults:
        return scheme == "Bearer"
    return scheme.lower() == "bearer"  # RFC 9110 11.1: the scheme is case-insensitive


def _key_ok(given: str, api_key: str, faults: Faults) -> bool:
    if "auth-accept-any-key" in faults:
        return True
    if "auth-accept-malformed" in faults and not _KEY_FORM.fullmatch(given):
        return True
    if "auth-prefix-match" in faults:
        return given[:24] == api_key[:24]
    # Constant-time comparison: the check must not leak how much of a guess was right.
    return hmac.compare_digest(given.encode("utf-8"), api_key.encode("utf-8"))


def _unauthorized(message: str, code: str | None, faults: Faults) -> ApiError:
    challenge = 'Bearer realm="apexapi"'
    if code is not None:
        challenge += ', error="invalid_token"'  # RFC 6750 3.1
    status = 400 if "auth-400" in faults else 401
    return ApiError(status, message, code=code, headers={"WWW-Authenticate": challenge})
