"""The request side of the contract as data: each documented parameter and its value classes.

Derived from the request schemas of openapi/apexapi.yaml, so a parameter added there gets
its families without a hand-written case. For each parameter: the values the document
makes valid (its bounds, its enum, its default, every documented form), the invalid values
closest to them that a lenient parser or router would still take (one step past a bound,
the value as a string, a bool where Python reads a number, another spelling of an enum
value), and every wrong JSON type. Null is never generated: in the OpenAI format an
optional parameter sent as null is "not given" (the response schemas' convention too).

Each invalid value carries the level that backs its rejection, read from the schemas: MUST
when the document's own keywords refuse it, SHOULD when only an `x-apex-should` keyword or
the integer-coercion softening (a numeric string for an integer) does.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from conformance.spec import schemas

Kind = Literal["valid", "near-miss", "wrong-type"]
# The request components and the operation (path relative to the base URL) each describes.
OPERATIONS = {"ChatCompletionRequest": "/chat/completions", "ImageRequest": "/images/generations"}
_NUMERIC = re.compile(r"\s*[-+]?\d+(\.\d+)?\s*")
# One value of every JSON type but null, for the wrong-type family.
_TYPE_SAMPLES: dict[str, Any] = {
    "string": "apex",
    "number": 0.5,
    "boolean": True,
    "array": [],
    "object": {},
}


@dataclass(frozen=True)
class Parameter:
    component: str  # ChatCompletionRequest or ImageRequest
    name: str
    schema: dict[str, Any]  # the property's schema, $ref resolved, SHOULD keywords kept
    required: bool

    @property
    def path(self) -> str:
        return OPERATIONS[self.component]

    @property
    def types(self) -> frozenset[str]:
        return _types(self.schema)


@dataclass(frozen=True)
class Value:
    """One value of a parameter and what the document makes of it."""

    parameter: Parameter
    label: str  # e.g. "temperature 2.0000000000000004"; unique per operation
    value: Any
    kind: Kind
    # Invalid values: the level ("MUST" or "SHOULD") that backs their rejection. Valid
    # values: "MUST" when the document makes refusing them wrong, None when a conforming
    # server may refuse them (then only a 5xx is wrong).
    level: str | None


@cache
def parameters() -> tuple[Parameter, ...]:
    """Every documented request parameter, in the order the OpenAPI file lists them."""
    found = []
    document = schemas.spec()
    for component in OPERATIONS:
        schema = document["components"]["schemas"][component]
        required = set(schema.get("required", ()))
        for name, prop in schema["properties"].items():
            found.append(Parameter(component, name, _resolve(prop, document), name in required))
    return tuple(found)


def parameter(component: str, name: str) -> Parameter:
    return next(p for p in parameters() if p.component == component and p.name == name)


def _resolve(prop: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    if "$ref" not in prop:
        return prop
    target = document
    for part in prop["$ref"].removeprefix("#/").split("/"):
        target = target[part]
    return {**target, **{k: v for k, v in prop.items() if k != "$ref"}}


def _types(schema: dict[str, Any]) -> frozenset[str]:
    if "oneOf" in schema:
        return frozenset().union(*(_types(branch) for branch in schema["oneOf"]))
    declared = schema.get("type", ())
    types = {declared} if isinstance(declared, str) else set(declared)
    if "integer" in types:
        types.add("number-integral")  # 16.0 is a JSON integer
    return frozenset(types - {"null"})


# --- valid values ---------------------------------------------------------------------

# Documented values one model may still refuse with a 4xx (interpretation 3: a model may
# refuse a size or a quality, and the cost section: some providers impose a max_tokens
# floor of 16). Refusing them is legal; a 5xx is not. An image request naming only n
# asks for the model's default size, which that model may not make either (IMG-06 and
# IMG-01, on the request the model accepted, judge acceptance).
MAY_REFUSE = frozenset(
    {
        ("ImageRequest", "size"),
        ("ImageRequest", "quality"),
        ("ImageRequest", "n"),
        ("ChatCompletionRequest", "max_tokens"),
    }
)


def valid_values(param: Parameter) -> list[tuple[str, Any, bool]]:
    """(label, value, must be accepted) of every valid value class the schema documents.

    Bounds, the default, the enum, every documented form; never a value whose cost grows
    (an integer above the default's size is left to the checks that choose it). A value
    must be accepted when a MUST keyword (not `x-apex-should`) or the default names it
    and no freedom lets a model refuse it (MAY_REFUSE).
    """
    schema, name = param.schema, param.name
    may_refuse = (param.component, name) in MAY_REFUSE
    should = set(schema.get(schemas.SHOULD_MARKER, ()))
    if "enum" in schema:
        return [(f"{name} {v}", v, not may_refuse) for v in schema["enum"]]
    if "oneOf" in schema:  # stop: a string, or an array of up to maxItems strings
        array = next(b for b in schema["oneOf"] if b.get("type") == "array")
        found: list[tuple[str, Any, bool]] = [(f"{name} string", "\n\n", True)]
        found += [
            (f"{name} array of {n}", [f"<apex-{name}-{i}>" for i in range(n)], True)
            for n in range(1, array["maxItems"] + 1)
        ]
        return found
    types = param.types
    if "boolean" in types:
        return [(f"{name} {str(v).lower()}", v, True) for v in (True, False)]
    if not types & {"number", "integer"}:
        return []  # strings and arrays (model, messages, prompt): the checks' own shapes
    points: dict[float, bool] = {}
    for keyword in ("minimum", "maximum"):
        if keyword in schema:
            points[schema[keyword]] = keyword not in should and not may_refuse
    if "integer" not in types:
        inside = _between(schema.get("minimum"), schema.get("maximum"))
        if inside is not None:
            points.setdefault(inside, not should & {"minimum", "maximum"} and not may_refuse)
    if "default" in schema:
        points[schema["default"]] = not may_refuse
    return [(f"{name} {_show(v)}", v, points[v]) for v in sorted(points)]


def _between(low: float | None, high: float | None) -> float | None:
    if low is None or high is None:
        return None
    return round(low + (high - low) * 0.35, 2)  # an interior value that is no round number


def _show(value: float) -> str:
    return repr(value) if isinstance(value, float) else str(value)


# --- invalid values -------------------------------------------------------------------


def near_misses(param: Parameter) -> list[tuple[str, Any]]:
    """(label, value): the invalid values a lenient parser or router would still take."""
    schema, name, types = param.schema, param.name, param.types
    found: list[tuple[str, Any]] = []
    if "enum" in schema:
        for v in schema["enum"]:
            found += [
                (f"{name} {v!r} upper-cased", v.upper()),
                (f"{name} {v!r} with a trailing space", v + " "),
                (f"{name} {v!r} with a leading space", " " + v),
            ]
            if "x" in v:  # WxH sizes: another separator, a zero-padded edge
                width, height = v.split("x")
                found += [
                    (f"{name} {v!r} with X", f"{width}X{height}"),
                    (f"{name} {v!r} with a zero-padded width", f"0{width}x{height}"),
                    (f"{name} {v!r} with a unit", f"{v}px"),
                ]
        return _distinct([(label, v) for label, v in found if v not in schema["enum"]])
    if "oneOf" in schema:
        array = next(b for b in schema["oneOf"] if b.get("type") == "array")
        count = array["maxItems"] + 1
        return [
            (f"{name} array of {count}", [f"<apex-{name}-{i}>" for i in range(count)]),
            (f"{name} array holding a number", ["<apex-stop>", 1]),
            (f"{name} array holding an array", [["<apex-stop>"]]),
        ]
    if "boolean" in types:
        return [
            (f'{name} string "true"', "true"),
            (f'{name} string "false"', "false"),
            (f"{name} 0", 0),
            (f"{name} 1", 1),
        ]
    if "number" in types or "integer" in types:
        return _numeric_near_misses(param)
    return []


def _numeric_near_misses(param: Parameter) -> list[tuple[str, Any]]:
    schema, name = param.schema, param.name
    low, high = schema.get("minimum"), schema.get("maximum")
    found: list[tuple[str, Any]] = []
    if high is not None:
        found += [(f"{name} just above {high}", math.nextafter(float(high), math.inf))]
        found += [(f"{name} {high} + 1", high + 1)]
    if low is not None:
        step = 1 if "integer" in param.types else 0.001
        found += [(f"{name} {low} - {step}", low - step)]
    if "integer" in param.types:
        base = schema.get("default", low if low is not None else 1)
        found += [(f"{name} {base} + 0.5", base + 0.5)]
    for label, v, _ in valid_values(param):
        # The value written as a JSON string: a lenient reader takes it as the number.
        found += [(f'{label} as a string "{_show(v)}"', _show(v))]
    # A bool: Python's bool is an int, so isinstance(True, int) lets true in as 1.
    found += [(f"{name} true", True), (f"{name} false", False)]
    return found


def _distinct(found: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """The first label of each value: "256X256" is both upper-cased and written with X."""
    seen: set[str] = set()
    kept = []
    for label, value in found:
        key = repr(value)
        if key not in seen:
            seen.add(key)
            kept.append((label, value))
    return kept


def wrong_types(param: Parameter) -> list[tuple[str, Any]]:
    """(label, value): one value of every JSON type the parameter does not take (null aside)."""
    types = param.types
    found = []
    for json_type, sample in _TYPE_SAMPLES.items():
        if json_type in types:
            continue
        if json_type == "number" and "integer" in types:
            continue  # 0.5 for an integer is a near-miss (base + 0.5), not another type
        if json_type == "boolean" and types & {"number", "integer"}:
            continue  # true and false for a number are near-misses already
        found.append((f"{param.name} of type {json_type}", sample))
    return found


# --- levels ---------------------------------------------------------------------------


def level_of(param: Parameter, value: Any) -> str | None:
    """Which level backs refusing `value` for `param`: MUST, SHOULD, or None (it is valid).

    Judged on the property's own schema (the other fields of a request are valid by
    construction), the way fuzzing.oracle.must_violations judges whole bodies.
    """
    must = schemas.strip_should(param.schema)
    if _invalid(must, value):
        if "integer" in param.types and isinstance(value, str) and _NUMERIC.fullmatch(value):
            # "16" for 16: many real servers coerce it; only a SHOULD (interpretation 3).
            return "SHOULD"
        return "MUST"
    return "SHOULD" if _invalid(param.schema, value) else None


def _invalid(schema: dict[str, Any], value: Any) -> bool:
    wrapper = {"type": "object", "properties": {"v": schema}}
    return bool(schemas.validate_schema(wrapper, {"v": value}))


def values(param: Parameter) -> list[Value]:
    """Every generated value of `param`, each with its kind and level."""
    found = [
        Value(param, label, v, "valid", "MUST" if must else None)
        for label, v, must in valid_values(param)
    ]
    for kind, generate in (("near-miss", near_misses), ("wrong-type", wrong_types)):
        for label, v in generate(param):
            level = level_of(param, v)
            if level is None:
                raise ValueError(f"{label} is valid by the schema; it is no {kind} value")
            found.append(Value(param, label, v, kind, level))  # type: ignore[arg-type]
    return found
