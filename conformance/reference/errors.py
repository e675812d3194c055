"""API errors and the OpenAI-format error envelope (with the faults that distort it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import PlainTextResponse, Response

from conformance.reference.faults import Faults
from conformance.reference.responses import json_response


class ApiError(Exception):
    """A request the server refuses; rendered as {"error": {...}} by `error_response`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",  # the envelope's own key name
        param: str | None = None,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = dict(headers or {})

    def envelope(self) -> dict[str, Any]:
        """The OpenAI ErrorResponse body."""
        error = {"message": self.message, "type": self.type, "param": self.param}
        return {"error": {**error, "code": self.code}}


def invalid(param: str | None, message: str, code: str = "invalid_value") -> ApiError:
    """A 400 for one bad request parameter."""
    return ApiError(400, message, param=param, code=code)


def model_not_found(model: str, param: str = "model") -> ApiError:
    """The 404 OpenAI sends for a model that does not exist."""
    message = f"The model '{model}' does not exist or you do not have access to it."
    return ApiError(404, message, param=param, code="model_not_found")


class InjectedCrash(RuntimeError):
    """Raised on purpose by a fault that makes the server crash (an expected 500)."""


def server_error() -> ApiError:
    """The 500 for an unexpected exception: still a JSON envelope, never a traceback."""
    message = "The server had an error while processing your request."
    return ApiError(500, message, type="server_error")


def error_response(err: ApiError, faults: Faults, *, from_router: bool = False) -> Response:
    """Render `err`, applying the error faults; router 404/405s keep their status."""
    status, body = err.status, err.envelope()
    # A rejected request (not auth, not a crash, not routing) is what the status faults bend.
    rejection = 400 <= status < 500 and not from_router and not _is_auth(err)
    if rejection and "err-422" in faults and status == 400:
        status = 422
    if rejection and "err-error-as-200" in faults:
        status = 200
    if "variant-freedoms" in faults:
        if err.code == "model_not_found":
            status = 400  # OpenRouter's choice for an unknown model
        body["error"]["code"] = status  # integer codes, as OpenRouter and vLLM send
        body["error"]["metadata"] = {"reference": True}
    if "err-no-envelope" in faults:
        body = body["error"]
    elif "err-bare-envelope" in faults:
        body = {"error": {"message": err.message}}
    if "http-text-errors" in faults:
        return PlainTextResponse(f"error: {err.message}", status, headers=err.headers)
    return json_response(body, faults, status, err.headers)


def _is_auth(err: ApiError) -> bool:
    # Auth failures carry WWW-Authenticate, even when a fault answers them with 400.
    return "WWW-Authenticate" in err.headers
