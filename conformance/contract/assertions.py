"""Assertions shared by the checks; each failure says what was expected and what came back."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.spec.schemas import problems_at
from conformance.transport.exchange import Exchange

SNIPPET = 300


def shown(exchange: Exchange) -> str:
    """One line naming the request and what came back."""
    body = exchange.text.replace("\n", " ")
    if len(body) > SNIPPET:
        body = body[:SNIPPET] + "..."
    return f"{exchange.method} {exchange.url} -> HTTP {exchange.status}: {body}"


def rejected(exchange: Exchange, what: str) -> None:
    """The request was refused with a 4xx (interpretation 3: "Rejected means any 4xx")."""
    assert 400 <= exchange.status < 500, (
        f"expected a 4xx rejecting {what}; got HTTP {exchange.status}\n{shown(exchange)}"
    )


def accepted(exchange: Exchange, what: str) -> None:
    assert 200 <= exchange.status < 300, (
        f"expected a 2xx accepting {what}; got HTTP {exchange.status}\n{shown(exchange)}"
    )


def took(exchange: Exchange) -> bool:
    """Whether the target answered a request with a 2xx (took every field it carried)."""
    return 200 <= exchange.status < 300


def undocumented_taken(exchange: Exchange, field: str) -> None:
    """Judge the answer to a request carrying `field`, which the document does not define,
    only if the target took it: otherwise the check does not apply (a skip, never a verdict).

    Refusing such a field, with any 4xx (400, 404, 422, ...), is the target's right
    (interpretation 4). A 5xx to it is CHAT-22's finding, a SHOULD that resends every such
    request: no MUST rule covers input the document does not define.
    """
    status = exchange.status
    if 400 <= status < 500:
        pytest.skip(
            f"not applicable: the target refuses {field} (HTTP {status}), a request field the "
            "document does not define; refusing it is its right"
        )
    if status >= 500:
        pytest.skip(
            f"not applicable: {field}, a request field the document does not define, got a "
            f"server error (HTTP {status}); CHAT-22 judges that"
        )


def json_object(exchange: Exchange) -> dict[str, Any]:
    body = exchange.json()
    assert isinstance(body, dict), (
        f"expected a JSON object, got {type(body).__name__}\n{shown(exchange)}"
    )
    return body


def reply_text(exchange: Exchange) -> str | None:
    """The first choice's content of a 2xx JSON chat answer, or None."""
    body = exchange.json_or_none() if 200 <= exchange.status < 300 else None
    choices = body.get("choices") if isinstance(body, dict) else None
    first = choices[0] if isinstance(choices, list) and choices else None
    message = first.get("message") if isinstance(first, dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, str) else None


def conforms(
    component: str, body: object, what: str, include: tuple[str, ...], exclude: tuple[str, ...] = ()
) -> None:
    """`body` matches components/schemas/`component` of openapi/apexapi.yaml at these paths."""
    problems = problems_at(component, body, include, exclude)
    assert not problems, f"{what} does not match the documented shape:\n" + "\n".join(problems[:20])
