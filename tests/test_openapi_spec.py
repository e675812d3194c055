"""The OpenAPI description against the ApexApi document it describes.

The document's parameter tables are parsed here, so a parameter, bound or enum the
document states and the spec leaves out (or gets wrong) fails this test.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate as validate_openapi

from conformance import schemas

REPO = Path(__file__).resolve().parents[1]
# shared/ sits beside the repository (../shared), in a workspace and in CI alike.
DOCUMENT = Path(
    os.environ.get("APEX_REFERENCE_DOC", REPO.parent / "shared" / "spec" / "apexapi-reference.md")
)
REQUEST_SCHEMAS = {
    "/chat/completions": "ChatCompletionRequest",
    "/images/generations": "ImageRequest",
}
# Which component each response example of the document is.
EXAMPLE_SCHEMAS = {
    ("Chat Completions", "Request"): "ChatCompletionRequest",
    ("Chat Completions", "Response"): "ChatCompletion",
    ("Image Generation", "Request"): "ImageRequest",
    ("Image Generation", "Response"): "ImagesResponse",
    ("List Models", "Response"): "ModelList",
}
JSON_TYPES = {"string", "number", "integer", "boolean", "array", "object"}


@dataclass(frozen=True)
class Parameter:
    path: str  # relative to the base URL, as in the spec
    name: str
    types: tuple[str, ...]
    required: bool
    description: str


@cache
def document() -> str:
    if not DOCUMENT.is_file():
        pytest.fail(
            f"the ApexApi reference document is missing: expected {DOCUMENT} "
            "(shared/ beside the repository, or APEX_REFERENCE_DOC)",
            pytrace=False,
        )
    return DOCUMENT.read_text("utf-8")


def _cells(line: str) -> list[str]:
    # Split on pipes that are not escaped (`string \| array`).
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", line)[1:-1]]


@cache
def parameters() -> tuple[Parameter, ...]:
    """Every row of every parameter table, with the endpoint it belongs to."""
    found: list[Parameter] = []
    path: str | None = None
    header: list[str] | None = None
    for line in document().splitlines():
        endpoint = re.fullmatch(r"`(?:GET|POST) (?:/v1)?(/\S+)`", line.strip())
        if endpoint:
            path, header = endpoint.group(1), None
            continue
        if not line.startswith("|"):
            header = None
            continue
        cells = _cells(line)
        if header is None:
            header = [cell.lower() for cell in cells]
        elif not set("".join(cells)) <= set("-: "):
            row = dict(zip(header, cells, strict=True))
            assert path is not None, f"a parameter table before any endpoint: {line}"
            types = tuple(t.strip() for t in row["type"].split("|"))
            found.append(
                Parameter(
                    path, row["parameter"], types, row["required"] == "required", row["description"]
                )
            )
    return tuple(found)


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
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    operations = {
        f"{method.upper()} {path}": operation
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    }
    assert set(operations) == {"GET /models", "POST /chat/completions", "POST /images/generations"}
    for label, operation in operations.items():
        assert operation.get("security") == [{"apexKey": []}], (
            f"{label} must require the bearer key"
        )
        responses = operation["responses"]
        for status in ("200", "401", "4XX"):
            assert status in responses, f"{label} does not document {status}"


def test_paths_are_relative_to_the_base_url():
    # The base URL ends in /v1; a /v1 path key would double it (research: pitfall 3).
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
def test_parameter_is_described(param: Parameter):
    schema = request_schema(param.path)
    assert param.name in schema["properties"], f"{param.name} is not a property of {param.path}"
    assert (param.name in schema.get("required", [])) == param.required, (
        f"{param.name}: required mismatch"
    )
    documented = set(param.types)
    assert documented <= JSON_TYPES, f"unknown type in the document: {param.types}"
    described = {b["type"] for b in branches(resolve(schema["properties"][param.name]))}
    assert described == documented, (
        f"{param.name}: the document says {param.types}, the spec {described}"
    )


@pytest.mark.parametrize("param", parameters(), ids=ids(parameters()))
def test_parameter_bounds_and_enums(param: Parameter):
    prop = resolve(request_schema(param.path)["properties"][param.name])
    text = param.description
    if match := re.search(r"between (\d+(?:\.\d+)?) and (\d+(?:\.\d+)?)", text):
        assert (prop.get("minimum"), prop.get("maximum")) == (float(match[1]), float(match[2]))
    if match := re.search(r"Up to (\d+)", text):
        arrays = [b for b in branches(prop) if b["type"] == "array"]
        assert [b.get("maxItems") for b in arrays] == [int(match[1])]
    if match := re.search(r"One of ([^.]+(?:\.\d+)*)\.?$", text):
        assert prop.get("enum") == [v.strip() for v in match[1].split(",")]
    if match := re.search(r"\. (\w+) or (\w+)\.$", text):
        assert prop.get("enum") == [match[1], match[2]]
    if match := re.search(r"Defaults to (\w+)\.", text):
        assert prop.get("default") == json.loads(match[1])
    if "provider/model format" in text:
        example = re.search(r"e\.g\., ([^)\s]+)\)", text)
        assert example is not None
        pattern = re.compile(prop["pattern"])
        assert pattern.search(example[1]), f"the pattern rejects the document's own {example[1]}"
        assert not pattern.search(example[1].split("/", 1)[1]), "the pattern accepts a bare id"


def test_every_stated_bound_was_checked():
    # The regexes above must keep finding what the document states, or the test is vacuous.
    texts = " ".join(p.description for p in parameters())
    assert re.search(r"between 0 and 2", texts)
    assert "Up to 4" in texts
    assert "One of 256x256" in texts
    assert "standard or hd" in texts
    assert texts.count("Defaults to") == 4


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
    """(section, Request|Response, parsed JSON) for each JSON block of the document."""
    found = []
    section = label = ""
    lines = document().splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("## "):
            section = line[3:].strip()
        elif line.strip() in ("Request", "Response"):
            label = line.strip()
        elif line.startswith("```json"):
            end = lines.index("```", index + 1)
            found.append((section, label, json.loads("\n".join(lines[index + 1 : end]))))
            index = end
        index += 1
    return found


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
