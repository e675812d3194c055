"""The OpenAPI description of ApexApi, loaded once, and validation against its components.

The file ships inside the package (`conformance/openapi/apexapi.yaml`); the repository's
`openapi/apexapi.yaml` is a symlink to it, so a checkout and an installed package read the
same bytes.
"""

from __future__ import annotations

import copy
import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, TypeGuard, cast

import yaml

# No stubs for jsonschema in the pinned environment; the ignore is harmless once they exist.
from jsonschema import Draft202012Validator  # type: ignore[import-untyped, unused-ignore]
from jsonschema.exceptions import (  # type: ignore[import-untyped, unused-ignore]
    ValidationError,
    best_match,
)
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

# The base URI the spec is registered under, so that `#/components/...` references resolve.
SPEC_URI = "urn:apexapi:openapi"
# A schema keyword listing the keywords beside it that only a SHOULD requirement backs.
SHOULD_MARKER = "x-apex-should"
_MESSAGE_LIMIT = 300


def spec_path() -> Path:
    """Where the OpenAPI file is (inside the installed or checked-out package)."""
    path = Path(str(resources.files("conformance").joinpath("openapi", "apexapi.yaml")))
    if not path.is_file():
        raise FileNotFoundError(f"the OpenAPI description is missing: expected it at {path}")
    return path


@cache
def _load() -> dict[str, Any]:
    loaded = yaml.safe_load(spec_path().read_text("utf-8"))
    if not isinstance(loaded, dict):
        raise ValueError(f"{spec_path()} is not an OpenAPI document")
    return cast(dict[str, Any], loaded)


def spec() -> dict[str, Any]:
    """The OpenAPI document as a dict (a fresh copy: callers may change it)."""
    return copy.deepcopy(_load())


@cache
def _must_only() -> dict[str, Any]:
    return cast(dict[str, Any], strip_should(_load()))


def must_only_spec() -> dict[str, Any]:
    """The document without the keywords `x-apex-should` marks: only what a MUST backs."""
    return copy.deepcopy(_must_only())


def strip_should(node: Any) -> Any:
    """A copy of `node` with every keyword named by a sibling `x-apex-should` removed."""
    if isinstance(node, list):
        return [strip_should(item) for item in node]
    if not isinstance(node, dict):
        return node
    dropped = set(node.get(SHOULD_MARKER, ()))
    return {
        key: strip_should(value)
        for key, value in node.items()
        if key not in dropped and key != SHOULD_MARKER
    }


def enum(component: str, prop: str | None = None) -> tuple[str, ...]:
    """The documented values of a component (or of one of its properties)."""
    schema = _load()["components"]["schemas"][component]
    if prop is not None:
        schema = schema["properties"][prop]
    return tuple(schema["enum"])


@cache
def model_id_pattern() -> re.Pattern[str]:
    """The provider/model form of a model ID, as components/schemas/ModelId states it."""
    return re.compile(str(_load()["components"]["schemas"]["ModelId"]["pattern"]))


def is_integer(value: object) -> TypeGuard[int | float]:
    """A JSON integer as JSON Schema reads one: 16 and 16.0 are, 16.5 and true are not."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def component_names() -> list[str]:
    """The names under components/schemas."""
    return sorted(_load()["components"]["schemas"])


@cache
def _validator(component: str, must_only: bool) -> Draft202012Validator:
    document = _must_only() if must_only else _load()
    if component not in document["components"]["schemas"]:
        raise KeyError(f"no schema {component!r} in {spec_path().name}; known: {component_names()}")
    registry: Registry[Any] = Registry().with_resource(
        SPEC_URI, Resource.from_contents(document, default_specification=DRAFT202012)
    )
    reference = {"$ref": f"{SPEC_URI}#/components/schemas/{component}"}
    return Draft202012Validator(reference, registry=registry)


def validate(component: str, instance: object, *, must_only: bool = False) -> list[str]:
    """Why `instance` does not match components/schemas/`component`; empty when it does.

    Each message starts with the JSON path of the offending value. With `must_only`, the
    keywords only a SHOULD backs (`x-apex-should`) are not applied.
    """
    errors = sorted(
        _validator(component, must_only).iter_errors(instance),
        key=lambda error: [str(part) for part in error.absolute_path],
    )
    return [_describe(error) for error in errors]


def problems_at(
    component: str, instance: object, include: tuple[str, ...], exclude: tuple[str, ...] = ()
) -> list[str]:
    """validate(), keeping the problems at or below the `include` paths and not `exclude`.

    Paths look like `$.choices[*].finish_reason` (`[*]`: any index). A missing required
    property counts at its own path, so each check judges exactly its fields.
    """
    wanted, unwanted = _matcher(include), _matcher(exclude)
    found = []
    for error in _validator(component, False).iter_errors(instance):
        path = _path(error)
        missing = _REQUIRED.match(error.message) if error.validator == "required" else None
        if missing:
            path += f".{missing.group(1)}"
        if wanted.match(path) and not (exclude and unwanted.match(path)):
            found.append(_describe(error))
    return sorted(found)


_REQUIRED = re.compile(r"^'(.+)' is a required property$")


@cache
def _matcher(paths: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = [re.escape(p).replace(r"\[\*\]", r"\[\d+\]") for p in paths]
    return re.compile(rf"^(?:{'|'.join(alternatives)})(?:$|[.\[])")


def _describe(error: ValidationError) -> str:
    # For oneOf/anyOf the top message only says "not valid under any"; a branch of the
    # right JSON type (e.g. the array branch of `stop`) says what is actually wrong.
    chosen = error
    if error.context:
        typed = [branch for branch in error.context if branch.validator != "type"]
        chosen = best_match(typed or error.context)
    message = chosen.message
    if chosen.validator == "required":
        return f"{_path(chosen)}: {message}"
    if len(message) > _MESSAGE_LIMIT:
        message = message[: _MESSAGE_LIMIT - 3] + "..."
    return f"{_path(chosen)}: {message}"


def _path(error: ValidationError) -> str:
    path = "$"
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def validate_schema(schema: dict[str, Any], instance: object) -> list[str]:
    """Why `instance` does not match `schema`, a schema whose `#/components/...` references
    point into the OpenAPI file; empty when it does."""
    anchored = _anchored(schema)
    registry: Registry[Any] = Registry().with_resource(
        SPEC_URI, Resource.from_contents(_load(), default_specification=DRAFT202012)
    )
    validator = Draft202012Validator(anchored, registry=registry)
    return [_describe(error) for error in validator.iter_errors(instance)]


def _anchored(node: Any) -> Any:
    if isinstance(node, list):
        return [_anchored(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {
        key: f"{SPEC_URI}{value}"
        if key == "$ref" and str(value).startswith("#")
        else _anchored(value)
        for key, value in node.items()
    }
