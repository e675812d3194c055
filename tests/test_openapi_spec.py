"""The OpenAPI description against the ApexApi reference it describes.

tests/data/apexapi-documented.yaml transcribes the reference: each parameter's words and
the facts they state. A parameter, bound, enum or default the reference states and the
spec leaves out (or gets wrong) fails here, and so does a transcribed fact its words do
not state.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from openapi_spec_validator import validate as validate_openapi

from conformance.reference.runner import generate_api_key
from conformance.spec import schemas

REPO = Path(__file__).resolve().parents[1]
DOCUMENTED = Path(__file__).resolve().parent / "data" / "apexapi-documented.yaml"
REQUEST_SCHEMAS = {
    "/chat/completions": "ChatCompletionRequest",
    "/images/generations": "ImageRequest",
}
# Which component each example body of the reference is.
EXAMPLE_SCHEMAS = {
    ("Chat Completions", "Request"): "ChatCompletionRequest",
    ("Chat Completions", "Response"): "ChatCompletion",
    ("Image Generation", "Request"): "ImageRequest",
    ("Image Generation", "Response"): "ImagesResponse",
    ("List Models", "Response"): "ModelList",
}
JSON_TYPES = {"string", "number", "integer", "boolean", "array", "object"}
# The facts a parameter's words may state, beside its types and required flag.
FACTS = ("minimum", "maximum", "max_items", "enum", "default", "format", "example")


@dataclass(frozen=True)
class Parameter:
    path: str  # relative to the base URL, as in the spec
    name: str
    types: tuple[str, ...]
    required: bool
    words: str
    facts: dict[str, Any]


@cache
def documented() -> dict[str, Any]:
    loaded = yaml.safe_load(DOCUMENTED.read_text("utf-8"))
    assert isinstance(loaded, dict), f"{DOCUMENTED} is not a mapping"
    return loaded


def relative(path: str) -> str:
    """The reference writes `/v1/models`; the spec's paths are relative to the base URL."""
    base = urlsplit(documented()["base_url"]).path
    assert path.startswith(f"{base}/"), f"{path} is not under the base URL"
    return path.removeprefix(base)


@cache
def parameters() -> tuple[Parameter, ...]:
    """Every documented parameter, with the endpoint it belongs to."""
    return tuple(
        Parameter(
            relative(endpoint["path"]),
            row["name"],
            tuple(row["types"]),
            row["required"],
            row["words"],
            {key: row[key] for key in FACTS if key in row},
        )
        for endpoint in documented()["endpoints"]
        for row in endpoint["parameters"]
    )


def facts_in_words(words: str) -> dict[str, Any]:
    """What a parameter description of the reference states, read from its words."""
    facts: dict[str, Any] = {}
    if match := re.search(r"between (\d+(?:\.\d+)?) and (\d+(?:\.\d+)?)", words):
        facts["minimum"], facts["maximum"] = json.loads(match[1]), json.loads(match[2])
    if match := re.search(r"Up to (\d+)", words):
        facts["max_items"] = int(match[1])
    if match := re.search(r"One of ([^.]+(?:\.\d+)*)\.?$", words):
        facts["enum"] = [v.strip() for v in match[1].split(",")]
    if match := re.search(r"\. (\w+) or (\w+)\.$", words):
        facts["enum"] = [match[1], match[2]]
    if match := re.search(r"Defaults to (\w+)\.", words):
        facts["default"] = json.loads(match[1])
    if "provider/model format" in words:
        facts["format"] = "provider/model"
    if match := re.search(r"e\.g\., ([^)\s]+)\)", words):
        facts["example"] = match[1]
    return facts


def request_schema(path: str) -> dict[str, Any]:
    spec = schemas.spec()
    return spec["components"]["schemas"][REQUEST_SCHEMAS[path]]


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local $ref (one level is all the spec uses for parameters)."""
    ref = node.get("$ref")
    if ref is None:
        return node
    name = ref.rsplit("/", 1)[-1]
    return {
        **schemas.spec()["components"]["schemas"][name],
        **{k: v for k, v in node.items() if k != "$ref"},
    }


def branches(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [resolve(b) for b in schema.get("oneOf", schema.get("anyOf", [schema]))]


def ids(params: tuple[Parameter, ...]) -> list[str]:
    return [f"{p.path}:{p.name}" for p in params]


# --- The spec is a valid OpenAPI 3.1 document ------------------------------------------


def test_spec_is_valid_openapi_31():
    spec = schemas.spec()
    assert spec["openapi"].startswith("3.1")
    validate_openapi(spec)


def test_repository_path_is_the_packaged_file():
    repo_copy = REPO / "openapi" / "apexapi.yaml"
    assert repo_copy.is_file(), f"{repo_copy} is missing"
    assert repo_copy.resolve() == schemas.spec_path().resolve(), (
        "openapi/apexapi.yaml must link to the packaged file"
    )


def test_operations_and_security():
    spec = schemas.spec()
    scheme = spec["components"]["securitySchemes"]["apexKey"]
    documented_scheme = documented()["authentication"]["scheme"].lower()
    assert (scheme["type"], scheme["scheme"]) == ("http", documented_scheme)
    operations = {
        f"{method.upper()} {path}": operation
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    }
    endpoints = {f"{e['method']} {relative(e['path'])}" for e in documented()["endpoints"]}
    assert set(operations) == endpoints
    for label, operation in operations.items():
        assert operation.get("security") == [{"apexKey": []}], (
            f"{label} must require the bearer key"
        )
        responses = operation["responses"]
        for status in ("200", "401", "4XX"):
            assert status in responses, f"{label} does not document {status}"


def test_server_is_the_documented_base_url():
    assert [server["url"] for server in schemas.spec()["servers"]] == [documented()["base_url"]]


def test_key_format():
    auth = documented()["authentication"]
    prefix, length = auth["key_prefix"], auth["key_length"]
    assert f"`{prefix}`" in auth["words"] and f"{length} characters" in auth["words"]
    spec = schemas.spec()
    description = " ".join(spec["info"]["description"].split())
    assert f"start with `{prefix}` and are {length} characters long" in description
    scheme = spec["components"]["securitySchemes"]["apexKey"]["description"]
    assert f"`{prefix}` followed by {length - len(prefix)} characters" in scheme
    # The embedded reference's keys are what a real one looks like.
    key = generate_api_key()
    assert (key[: len(prefix)], len(key)) == (prefix, length)


def test_paths_are_relative_to_the_base_url():
    # The base URL ends in /v1; schemathesis and the client append the path to it, so a /v1
    # path key would ask for /v1/v1/models.
    assert not [path for path in schemas.spec()["paths"] if path.startswith("/v1")]


def test_stream_response_is_documented_per_event():
    content = schemas.spec()["paths"]["/chat/completions"]["post"]["responses"]["200"]["content"]
    assert set(content) == {"application/json", "text/event-stream"}
    event = resolve(content["text/event-stream"]["schema"])
    chunk_branch = next(b for b in event["oneOf"] if b.get("title") == "Chunk")
    data = chunk_branch["properties"]["data"]
    assert data["contentMediaType"] == "application/json"
    assert "contentSchema" in data


# --- Every documented parameter, type, bound and enum ------------------------------------


def test_document_tables_were_found():
    found = {(p.path, p.name) for p in parameters()}
    assert ("/chat/completions", "temperature") in found
    assert ("/images/generations", "quality") in found
    assert len(found) == 12, f"expected the 7 chat and 5 image parameters, found {sorted(found)}"


@pytest.mark.parametrize("param", parameters(), ids=ids(parameters()))
def test_transcribed_facts_are_the_words(param: Parameter):
    # Each fact of the data file is what its words say: none missing, none added.
    assert param.facts == facts_in_words(param.words)


@pytest.mark.parametrize("param", parameters(), ids=ids(parameters()))
def test_parameter_is_described(param: Parameter):
    schema = request_schema(param.path)
    assert param.name in schema["properties"], f"{param.name} is not a property of {param.path}"
    assert (param.name in schema.get("required", [])) == param.required, (
        f"{param.name}: required mismatch"
    )
    documented_types = set(param.types)
    assert documented_types <= JSON_TYPES, f"unknown type in the reference: {param.types}"
    described = {b["type"] for b in branches(resolve(schema["properties"][param.name]))}
    assert described == documented_types, (
        f"{param.name}: the reference says {param.types}, the spec {described}"
    )


@pytest.mark.parametrize("param", parameters(), ids=ids(parameters()))
def test_parameter_bounds_and_enums(param: Parameter):
    prop = resolve(request_schema(param.path)["properties"][param.name])
    facts = param.facts
    for keyword in ("minimum", "maximum", "enum", "default"):
        if keyword in facts:
            assert prop.get(keyword) == facts[keyword], f"{param.name}: {keyword}"
    if "max_items" in facts:
        arrays = [b for b in branches(prop) if b["type"] == "array"]
        assert [b.get("maxItems") for b in arrays] == [facts["max_items"]]
    if "example" in facts and "pattern" in prop:
        pattern = re.compile(prop["pattern"])
        assert pattern.search(facts["example"]), (
            f"the pattern rejects the reference's own {facts['example']}"
        )
    if facts.get("format") == "provider/model":
        pattern = re.compile(prop["pattern"])
        assert not pattern.search(facts["example"].split("/", 1)[1]), (
            "the pattern accepts a bare id"
        )


def test_every_stated_bound_was_checked():
    # The facts above must keep covering what the reference states, or the test is vacuous.
    texts = " ".join(p.words for p in parameters())
    assert re.search(r"between 0 and 2", texts)
    assert "Up to 4" in texts
    assert "One of 256x256" in texts
    assert "standard or hd" in texts
    assert texts.count("Defaults to") == 4
    stated = [key for p in parameters() for key in p.facts]
    assert sorted(stated) == sorted(
        ["minimum", "maximum", "max_items", "enum", "enum", "format"]
        + ["default"] * 4
        + ["example"] * 2
    )


def test_interpretation_bounds():
    # Interpretation 3: max_tokens < 1 and n < 1 are rejected; top_p [0, 1] is a SHOULD.
    chat = request_schema("/chat/completions")["properties"]
    images = request_schema("/images/generations")["properties"]
    assert chat["max_tokens"]["minimum"] == 1
    assert images["n"]["minimum"] == 1
    assert (chat["top_p"]["minimum"], chat["top_p"]["maximum"]) == (0, 1)
    assert set(chat["top_p"]["x-apex-should"]) == {"minimum", "maximum"}
    assert request_schema("/chat/completions")["properties"]["messages"]["minItems"] == 1


# --- Bodies --------------------------------------------------------------------------------


def document_examples() -> list[tuple[str, str, Any]]:
    """(section, Request|Response, body) for each example body of the reference."""
    return [
        (endpoint["section"], label, body)
        for endpoint in documented()["endpoints"]
        for label, body in endpoint["examples"].items()
    ]


def test_document_examples_were_found():
    assert {(s, label) for s, label, _ in document_examples()} == set(EXAMPLE_SCHEMAS)


@pytest.mark.parametrize(
    ("section", "label", "body"),
    document_examples(),
    ids=[f"{s}:{kind}" for s, kind, _ in document_examples()],
)
def test_document_example_validates(section: str, label: str, body: Any):
    assert schemas.validate(EXAMPLE_SCHEMAS[section, label], body) == []


CHUNK = {
    "id": "gen-1",
    "object": "chat.completion.chunk",
    "created": 1710000000,
    "model": "openai/gpt-4o",
    "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}],
}


@pytest.mark.parametrize(
    ("component", "body"),
    [
        (
            "ErrorResponse",
            {
                "error": {
                    "message": "Invalid 'temperature'",
                    "type": "invalid_request_error",
                    "param": "temperature",
                    "code": None,
                }
            },
        ),
        ("ErrorResponse", {"error": {"message": "not a valid model ID", "code": 400}}),
        ("ChatCompletionChunk", CHUNK),
        (
            "ChatCompletionChunk",
            {
                **CHUNK,
                "choices": [],
                "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
            },
        ),
        ("ChatCompletionStreamEvent", {"data": json.dumps(CHUNK), "event": "message"}),
        ("ChatCompletionStreamEvent", {"data": "[DONE]"}),
        ("StreamError", {"error": {"message": "upstream failed", "type": "server_error"}}),
        ("ImagesResponse", {"created": 1, "data": [{"b64_json": "iVBORw0KGgo="}]}),
    ],
    ids=["error", "error-int-code", "chunk", "usage-chunk", "event", "done", "stream-error", "b64"],
)
def test_valid_bodies(component: str, body: Any):
    assert schemas.validate(component, body) == []


@pytest.mark.parametrize(
    ("component", "body", "where"),
    [
        (
            "ChatCompletionRequest",
            {
                "model": "openai/gpt-4o",
                "messages": [{"role": "user", "content": "hi"}],
                "temperature": 3,
            },
            "$.temperature",
        ),
        (
            "ChatCompletionRequest",
            {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
            "$.model",
        ),
        (
            "ChatCompletionRequest",
            {
                "model": "a/b",
                "messages": [{"role": "user", "content": "x"}],
                "stop": ["1", "2", "3", "4", "5"],
            },
            "$.stop",
        ),
        ("ImageRequest", {"model": "openai/dall-e-3", "prompt": "x", "size": "100x100"}, "$.size"),
        ("ErrorResponse", {"message": "no envelope"}, "$"),
        ("ChatCompletionChunk", {**CHUNK, "object": "chat.completion"}, "$.object"),
        ("Image", {"revised_prompt": "no image"}, "$"),
    ],
    ids=[
        "temperature-3",
        "bare-model",
        "five-stops",
        "size",
        "no-envelope",
        "chunk-object",
        "no-image",
    ],
)
def test_invalid_bodies_say_where(component: str, body: Any, where: str):
    problems = schemas.validate(component, body)
    assert problems, f"{body} should not match {component}"
    assert any(p.startswith(f"{where}:") for p in problems), problems


def test_must_only_drops_should_keywords():
    body = {"model": "a/b", "messages": [], "top_p": 1.5}
    assert len(schemas.validate("ChatCompletionRequest", body)) == 2
    assert schemas.validate("ChatCompletionRequest", body, must_only=True) == []
    assert "x-apex-should" not in json.dumps(schemas.must_only_spec())


def test_unknown_component_is_named():
    with pytest.raises(KeyError, match="known:"):
        schemas.validate("Nope", {})
