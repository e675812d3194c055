"""The Starlette app factories: one reference server, or a zoo of all its faults."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from conformance.reference import images, mutants, reach, variants
from conformance.reference.auth import authenticate
from conformance.reference.chat import complete, completion_body
from conformance.reference.errors import ApiError, InjectedCrash, error_response, server_error
from conformance.reference.faults import FAULTS, VARIANTS, Faults, check_names
from conformance.reference.models import models_body
from conformance.reference.responses import json_response
from conformance.reference.stream import error_stream, stream_response
from conformance.reference.validation import parse_body, validate_chat, validate_images

Endpoint = Callable[[Request], Awaitable[Response]]

MAX_BODY_BYTES = 4 * 1024 * 1024
_log = logging.getLogger("conformance.reference")


def create_app(api_key: str, faults: Iterable[str] = ()) -> Starlette:
    """The ApexApi reference server under /v1, broken by the named faults (or variants)."""
    api = _Api(api_key, check_names(faults))
    return Starlette(
        routes=api.routes(),
        middleware=[*variants.middleware(api.faults), *reach.middleware(api.faults)],
        exception_handlers={HTTPException: api.routing_error},
    )


def create_zoo_app(api_key: str) -> Starlette:
    """One app hosting them all: /clean/v1 and /faults/<name>/v1 for every fault and variant."""
    routes = [Mount("/clean", app=create_app(api_key))]
    for name in (*FAULTS, *VARIANTS):
        routes.append(Mount(f"/faults/{name}", app=create_app(api_key, [name])))
    clean = _Api(api_key, frozenset())
    return Starlette(routes=routes, exception_handlers={HTTPException: clean.routing_error})


class _Api:
    """The endpoints of one server, bound to its key and faults."""

    def __init__(self, api_key: str, faults: Faults) -> None:
        self.api_key = api_key
        self.faults = faults
        self.trusted: set[object] = set()  # connections auth-reach-keepalive trusts

    def routes(self) -> list[Route]:
        guard = self._guarded
        routes = [
            Route("/v1/models", guard(self.list_models), methods=reach.model_methods(self.faults)),
            Route("/v1/chat/completions", guard(self.chat_completions), methods=["POST"]),
            Route("/v1/images/generations", guard(self.generate_images), methods=["POST"]),
            Route(images.FILES_PATH + "/{name}", guard(self.image_file), methods=["GET"]),
        ]
        if "img-no-endpoint" in self.faults:
            # A gateway that lists image models but never mounted the route.
            routes = [r for r in routes if r.path != "/v1/images/generations"]
        return routes

    async def list_models(self, request: Request) -> Response:
        if "auth-models-public" not in self.faults:
            self._authenticate(request)
        return json_response(models_body(self.faults), self.faults)

    async def chat_completions(self, request: Request) -> Response:
        body = await self._body(request)
        try:
            chat = validate_chat(body, self.faults)
        except ApiError as err:
            if "sse-error-as-stream" in self.faults and body.get("stream") is True:
                return error_stream(err)
            raise
        self._late_auth(request)
        completion = complete(chat, self.faults)
        model, completion = mutants.corrupt(body, chat.model, completion, self.faults)
        chat = replace(chat, model=model)
        stream = chat.stream if chat.stream is not None else "sse-stream-default" in self.faults
        if stream and "sse-stream-ignored" not in self.faults:
            return stream_response(chat, completion, self.faults)
        return json_response(completion_body(chat, completion, self.faults), self.faults)

    async def generate_images(self, request: Request) -> Response:
        if "auth-reject-valid-images" in self.faults:
            raise ApiError(401, "Incorrect API key provided.", code="invalid_api_key")
        spec = validate_images(await self._body(request), self.faults)
        self._late_auth(request)
        return json_response(images.images_body(spec, request, self.faults), self.faults)

    async def image_file(self, request: Request) -> Response:
        # A download URL the API handed out: not an API request, so no key.
        return images.image_file(request, self.faults)

    async def routing_error(self, request: Request, exc: Exception) -> Response:
        """Starlette's 404/405 (and other HTTPExceptions) as JSON error envelopes."""
        assert isinstance(exc, HTTPException)
        status, headers = exc.status_code, dict(exc.headers or {})
        where = f"{request.method} {request.url.path}"
        if status == 404:
            if "http-500-unknown-path" in self.faults:
                return error_response(server_error(), self.faults)
            status = 400 if "http-unknown-path-400" in self.faults else 404
            status = 200 if "http-unknown-path-200" in self.faults else status
            err = ApiError(status, f"Invalid URL ({where}).", code="unknown_url")
        elif status == 405:
            err = ApiError(405, f"Method not allowed ({where}).", code="method_not_allowed")
        else:
            err = ApiError(status, exc.detail)
        err.headers.update(headers)
        return error_response(err, self.faults, from_router=True)

    async def _body(self, request: Request) -> dict[str, Any]:
        """Authenticate (unless a fault defers it), then parse the JSON object body."""
        if "auth-after-validation" not in self.faults:
            self._authenticate(request)
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            raise ApiError(413, "The request body is too large.", code="request_too_large")
        return parse_body(raw, self.faults)

    def _late_auth(self, request: Request) -> None:
        if "auth-after-validation" in self.faults:
            self._authenticate(request)

    def _authenticate(self, request: Request) -> None:
        if not reach.bypassed(request, self.faults, self.trusted):
            authenticate(request, self.api_key, self.faults)
            reach.remember(request, self.faults, self.trusted)

    def _guarded(self, endpoint: Endpoint) -> Endpoint:
        """`endpoint`, with every error turned into a JSON envelope (never a traceback)."""

        async def run(request: Request) -> Response:
            try:
                return await endpoint(request)
            except ApiError as err:
                return error_response(err, self.faults)
            except ClientDisconnect:  # nobody is left to read the reply below
                _log.debug("client left during %s %s", request.method, request.url.path)
            except InjectedCrash as exc:
                _log.debug("fault crash: %s", exc)
            except Exception:
                _log.exception("unexpected error on %s %s", request.method, request.url.path)
            return error_response(server_error(), self.faults)

        return run
