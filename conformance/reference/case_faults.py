"""Generated faults: for each invalid-request case of the suite, a server that accepts exactly it.

A real gateway breaks validation in one place: it forgets one bound, coerces one type,
defaults one missing field. Each `case-accept-*` server does that for one case of
conformance/contract/cases.py, recognised by the case's change to a valid body, and answers
the request as if the offending field were absent (or defaulted). Every other request,
including the other cases, is validated as usual: only that case's checks can see it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from conformance.catalogue import check_id, slug
from conformance.contract.cases import (
    BARE_MODEL,
    CASES,
    CHAT,
    DROP,
    UNKNOWN_PROVIDER_MODEL,
    Case,
)
from conformance.reference.served_models import CHAT_MODELS, DEFAULT_SIZE, IMAGE_MODELS

PREFIX = "case-accept-"
_REQUIRED = {"model", "messages", "prompt"}
_DEFAULT_MESSAGES = [{"role": "user", "content": "Say OK."}]
_DEFAULT_PROMPT = "A lighthouse at dusk."


def fault_name(case: Case) -> str:
    return PREFIX + slug(case.id)


def rejection_check(case: Case) -> str:
    """The check ID of the case's own rejection check (test_*::test_invalid_request_rejected)."""
    return check_id(case.requirement, "invalid_request_rejected", case.id)


def case_checks(requirement: str, function: str, cases: Iterable[Case] = CASES) -> tuple[str, ...]:
    """The check IDs of a check parametrized over the cases (test_http_errors.py)."""
    return tuple(check_id(requirement, function, case.id) for case in cases)


# The cases whose model does not exist: the reference answers them 404, the others 400.
UNKNOWN_MODEL_CASES = tuple(
    c
    for c in CASES
    if isinstance(c.change, dict) and c.change.get("model") == UNKNOWN_PROVIDER_MODEL
)
OTHER_CASES = tuple(c for c in CASES if c not in UNKNOWN_MODEL_CASES)


CASE_FAULTS: dict[str, Case] = {fault_name(case): case for case in CASES}


def specs() -> list[tuple[str, str, tuple[str, ...], str, tuple[str, ...], tuple[str, ...]]]:
    """(name, description, breaks, profile, checks, scope) of every generated fault.

    Only the checks parametrized with the case send its request, so a run against the
    fault may be narrowed to them (the scope: every check ID ending in the case's slug).
    """
    return [
        (
            name,
            f"Accepts exactly the invalid request {case.id!r} of the suite, as if valid.",
            (case.requirement,),
            case.profile,
            (rejection_check(case),),
            (f"*/*/{slug(case.id)}",),
        )
        for name, case in CASE_FAULTS.items()
    ]


def repair_raw(raw: bytes, faults: frozenset[str]) -> dict[str, Any] | None:
    """A valid body in place of an unparsable one that an active fault accepts; else None."""
    for case in _active(faults):
        if isinstance(case.change, bytes) and raw == case.change:
            return _default_body(case.path)
    return None


def repair(path: str, body: dict[str, Any], faults: frozenset[str]) -> dict[str, Any]:
    """`body`, with the offending fields of an active fault's case dropped or defaulted."""
    for case in _active(faults):
        if (fixed := accepted(case, path, body)) is not None:
            return fixed
    return body


def accepted(case: Case, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
    """`body` as a server that accepts `case` reads it (offending fields dropped or
    defaulted), or None when `body` is not the case's request."""
    if case.path == path and isinstance(case.change, dict) and _matches(case.change, body):
        fixed = {k: v for k, v in body.items() if k not in case.change}
        for key in case.change.keys() & _REQUIRED:
            fixed[key] = _default_body(path, fixed.get("size"))[key]
        return fixed
    return None


def _active(faults: frozenset[str]) -> list[Case]:
    return [CASE_FAULTS[name] for name in faults if name in CASE_FAULTS]


def _matches(change: dict[str, Any], body: dict[str, Any]) -> bool:
    for key, value in change.items():
        if value is DROP:
            if key in body:
                return False
        elif value is BARE_MODEL:
            if not (isinstance(body.get(key), str) and "/" not in body[key]):
                return False
        # Compared as JSON text: 1, 1.0, true and "1" are four different requests.
        elif key not in body or json.dumps(body[key]) != json.dumps(value):
            return False
    return True


def _default_body(path: str, size: Any = None) -> dict[str, Any]:
    if path == CHAT:
        return {"model": next(iter(CHAT_MODELS)), "messages": _DEFAULT_MESSAGES}
    wanted = size if isinstance(size, str) else DEFAULT_SIZE
    model = next(
        (m.id for m in IMAGE_MODELS.values() if wanted in m.sizes), next(iter(IMAGE_MODELS))
    )
    return {"model": model, "prompt": _DEFAULT_PROMPT}
