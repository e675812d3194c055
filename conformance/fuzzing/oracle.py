"""The fuzz checks, true to the requirement levels: what the document makes a MUST.

Invalid requests are judged only for what a MUST backs (`x-apex-should` keywords and lax
"16"-for-16 coercion are SHOULD, checked elsewhere); response bodies are judged only on
success: error envelopes and content types of errors are SHOULD (ERR-03, HTTP-02), and
streams are the SSE checks' job.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

import schemathesis

from conformance.internals import (
    NotSet,
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from conformance.spec import schemas

CHAT = "POST /chat/completions"
IMAGES = "POST /images/generations"
# The request body schema of each operation, by label.
REQUEST_COMPONENT = {CHAT: "ChatCompletionRequest", IMAGES: "ImageRequest"}
# Integer fields whose "16"-for-16 coercion is a SHOULD failure, not a MUST (interpretation 3).
LAX_INTEGER_FIELDS = {CHAT: ("max_tokens",), IMAGES: ("n",)}
_NUMERIC = re.compile(r"^\s*[-+]?\d+(\.0*)?\s*$")

AnyCase = schemathesis.Case[Any]
CheckFunction = Callable[[schemathesis.CheckContext, schemathesis.Response, AnyCase], Any]


def is_model_id(value: object) -> bool:
    return isinstance(value, str) and schemas.model_id_pattern().match(value) is not None


def must_violations(label: str, body: Any, known_models: frozenset[str] = frozenset()) -> list[str]:
    """Why the document (MUST level) makes this request body invalid; empty when it does not.

    With `known_models` (the listed ids), a well-formed id that is not listed is invalid
    too: "a model that does not exist" must be rejected (interpretation 3).
    """
    component = REQUEST_COMPONENT.get(label)
    if component is None:
        return []
    model = body.get("model") if isinstance(body, dict) else None
    if known_models and is_model_id(model) and model not in known_models:
        return [f"$.model: {model!r} is not a listed model"]
    instance = None if isinstance(body, NotSet) else body
    if isinstance(instance, dict):
        # In the OpenAI format an optional parameter set to null means "not given" (its
        # schema marks them nullable); only a null required field is wrong.
        required = _required(component)
        instance = {k: v for k, v in instance.items() if v is not None or k in required}
    problems = schemas.validate(component, instance, must_only=True)
    if problems and isinstance(instance, dict):
        # "16" accepted as 16 is a SHOULD failure (CHAT-15, IMG-13): judge the body as if
        # the numeric strings in integer fields were numbers.
        lax = _numbers_for_numeric_strings(label, instance)
        if lax != instance and not schemas.validate(component, lax, must_only=True):
            return []
    return problems


def _numbers_for_numeric_strings(label: str, instance: dict[str, Any]) -> dict[str, Any]:
    return {
        key: int(float(value))
        if key in LAX_INTEGER_FIELDS[label] and isinstance(value, str) and _NUMERIC.match(value)
        else value
        for key, value in instance.items()
    }


@cache
def _required(component: str) -> frozenset[str]:
    return frozenset(schemas.spec()["components"]["schemas"][component].get("required", ()))


def negative_checks(known_models: frozenset[str]) -> list[CheckFunction]:
    """The checks of an invalid request (FUZZ-01): never a 5xx, rejected where a MUST says so."""
    return [not_a_server_error, rejection_check(known_models)]


def rejection_check(known_models: frozenset[str]) -> CheckFunction:
    """The FUZZ-01 check: a request the document makes invalid is rejected with a 4xx.

    It replaces schemathesis' negative_data_rejection, which would also demand rejection
    of what only a SHOULD backs (top_p above 1, an empty messages array, "16" for 16),
    and which cannot know which model ids exist. A 5xx is not_a_server_error's to report.
    """

    def must_reject_invalid(
        ctx: schemathesis.CheckContext, response: schemathesis.Response, case: AnyCase
    ) -> bool | None:
        if response.status_code >= 400:
            return None
        problems = must_violations(case.operation.label, case.body, known_models)
        if not problems:
            return None
        raise AssertionError(
            f"Invalid request accepted with {response.status_code}: expected a 4xx.\n"
            "Invalid by the document: " + "; ".join(problems)
        )

    return must_reject_invalid


def success_content_type(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: AnyCase
) -> bool | None:
    """content_type_conformance on 2xx only: the media type of errors is HTTP-02, a SHOULD."""
    if not 200 <= response.status_code < 300:
        return None
    result: bool | None = content_type_conformance(ctx, response, case)
    return result


def success_body_schema(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: AnyCase
) -> bool | None:
    """response_schema_conformance on 2xx JSON only.

    Error envelopes are ERR-03/ERR-04 (SHOULD). Event streams are left to the suite's own
    SSE reader (SSE-*): it follows WHATWG to the letter (CR line ends, comments, `data:`
    without a space, a usage chunk before [DONE]) and levels each chunk rule on its own,
    where one schema verdict here would be MUST for SHOULD-level chunk fields.
    """
    if not 200 <= response.status_code < 300 or _media_type(response) == "text/event-stream":
        return None
    result: bool | None = response_schema_conformance(ctx, response, case)
    return result


# The checks of a valid request (FUZZ-02).
POSITIVE_CHECKS: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    success_content_type,
    success_body_schema,
]


def _media_type(response: schemathesis.Response) -> str:
    values = response.headers.get("content-type") or [""]
    return values[0].split(";", 1)[0].strip().lower()
