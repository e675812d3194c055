"""The official OpenAI Python SDK against the reference server: proof of OpenAI-format
compatibility beyond hand-made requests."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import openai
import pytest

from conformance.reference import ServerThread, create_app, generate_api_key
from conformance.reference.png import png_size
from conformance.reference.served_models import CHAT_MODELS, IMAGE_MODELS

KEY = generate_api_key()
CHAT_MODEL = "openai/gpt-4o-mini"
MESSAGES: list[openai.types.chat.ChatCompletionMessageParam] = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is the capital of France?"},
]


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    with ServerThread(create_app(KEY)) as running:
        yield running


@pytest.fixture(scope="module")
def client(server: ServerThread) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0, timeout=10) as sdk:
        yield sdk


def test_models_list(client):
    models = list(client.models.list())
    assert [m.id for m in models] == [*CHAT_MODELS, *IMAGE_MODELS]
    for model in models:
        assert model.object == "model"
        assert model.owned_by == "openai"
        assert isinstance(model.created, int)
        assert model.model_extra is not None
        assert {"prompt", "completion"} <= model.model_extra["pricing"].keys()


def test_chat_completion(client):
    completion = client.chat.completions.create(model=CHAT_MODEL, messages=MESSAGES, max_tokens=16)
    assert completion.object == "chat.completion"
    assert completion.model == CHAT_MODEL
    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content is not None
    assert choice.message.content.startswith("Echo: What is the capital of France?")
    assert choice.finish_reason == "length"
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 16
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + 16


@pytest.mark.parametrize("extra", [{}, {"max_tokens": 16}, {"stop": ["capital"]}])
def test_streamed_text_equals_the_non_stream_reply(client, extra):
    expected = client.chat.completions.create(model=CHAT_MODEL, messages=MESSAGES, **extra)
    stream = client.chat.completions.create(
        model=CHAT_MODEL, messages=MESSAGES, stream=True, **extra
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == expected.choices[0].message.content
    assert {c.id for c in chunks} == {chunks[0].id}
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == expected.choices[0].finish_reason


def test_stream_usage(client):
    stream = client.chat.completions.create(
        model=CHAT_MODEL,
        messages=MESSAGES,
        max_tokens=16,
        stream=True,
        stream_options={"include_usage": True},
    )
    last = list(stream)[-1]
    assert last.choices == []
    assert last.usage is not None
    assert last.usage.completion_tokens == 16


def test_image_generation_url(client):
    result = client.images.generate(
        model="openai/dall-e-3", prompt="A serene mountain landscape", size="1792x1024"
    )
    assert result.data is not None
    (image,) = result.data
    assert image.url is not None
    assert image.revised_prompt == "A serene mountain landscape"
    download = httpx.get(image.url, timeout=10)
    assert download.headers["content-type"] == "image/png"
    assert png_size(download.content) == (1792, 1024)


def test_image_generation_b64(client):
    result = client.images.generate(
        model="openai/dall-e-2", prompt="a dot", n=2, size="256x256", response_format="b64_json"
    )
    assert result.data is not None
    assert len(result.data) == 2
    for image in result.data:
        assert image.b64_json is not None
        assert png_size(base64.b64decode(image.b64_json)) == (256, 256)


def test_bad_key_raises_authentication_error(server):
    other = generate_api_key()
    with (
        openai.OpenAI(base_url=server.base_url, api_key=other, max_retries=0) as sdk,
        pytest.raises(openai.AuthenticationError) as caught,
    ):
        sdk.models.list()
    assert caught.value.status_code == 401
    assert caught.value.code == "invalid_api_key"
    assert other not in str(caught.value)


def test_temperature_3_raises_bad_request(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=CHAT_MODEL, messages=MESSAGES, temperature=3)
    assert caught.value.param == "temperature"


def test_unknown_model_raises_not_found(client):
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="openai/no-such-model", messages=MESSAGES)
    assert caught.value.code == "model_not_found"


def test_dall_e_3_refuses_two_images(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.images.generate(model="openai/dall-e-3", prompt="two", n=2)
    assert caught.value.param == "n"
