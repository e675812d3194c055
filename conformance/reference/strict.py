"""variant-strict-fields: a server that refuses every request field the document does not define.

Such a server keeps the freedom of interpretation 4 ("unknown request fields ignored or
rejected") in its strictest form, as pydantic models with `extra="forbid"` do: any other
top-level field, any message field but role and content, content that is not a string and a
role the document's example does not use are refused with a 400 in the OpenAI envelope.
A documented optional field sent as null is still "not given" and accepted.
"""

from __future__ import annotations

from functools import cache
from typing import Any, NoReturn

from conformance.reference.errors import invalid
from conformance.spec import schemas

# The roles of the document's example, and the assistant's own (a conversation's history).
ROLES = ("system", "user", "assistant")
MESSAGE_FIELDS = frozenset({"role", "content"})


@cache
def documented_fields(component: str) -> frozenset[str]:
    """The request fields openapi/apexapi.yaml (the document's parameters) gives `component`."""
    return frozenset(schemas.spec()["components"]["schemas"][component]["properties"])


def refuse_undocumented(component: str, body: dict[str, Any]) -> None:
    """Raise a 400 naming the first field (or message value) the document does not define."""
    for field in body.keys() - documented_fields(component):
        _unrecognized(field)
    messages = body.get("messages") if component == "ChatCompletionRequest" else None
    for number, message in enumerate(messages if isinstance(messages, list) else []):
        if not isinstance(message, dict):
            continue  # the validation proper refuses it
        where = f"messages[{number}]"
        for field in message.keys() - MESSAGE_FIELDS:
            _unrecognized(f"{where}.{field}")
        role, content = message.get("role"), message.get("content")
        if isinstance(role, str) and role not in ROLES:
            raise invalid(f"{where}.role", f"Unsupported role {role!r}; use one of {ROLES}.")
        if content is not None and not isinstance(content, str):
            raise invalid(f"{where}.content", f"'{where}.content' must be a string.")


def _unrecognized(field: str) -> NoReturn:
    # OpenAI's own wording for a field it does not know.
    message = f"Unrecognized request argument supplied: {field}"
    raise invalid(field, message, "unknown_parameter")
