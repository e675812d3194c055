"""The models the reference server lists, in one place so tests and tools can import them."""

from __future__ import annotations

from dataclasses import dataclass

# Every model shares one fixed creation time: the listing must not change between calls.
CREATED = 1710000000

DOCUMENTED_SIZES: tuple[str, ...] = ("256x256", "512x512", "1024x1024", "1024x1792", "1792x1024")
QUALITIES: tuple[str, ...] = ("standard", "hd")
RESPONSE_FORMATS: tuple[str, ...] = ("url", "b64_json")
DEFAULT_SIZE = "1024x1024"
DEFAULT_QUALITY = "standard"


@dataclass(frozen=True)
class ChatModel:
    """A listed chat model and its price (USD per 1K tokens, as the document's example)."""

    id: str
    prompt_price: str
    completion_price: str


@dataclass(frozen=True)
class ImageModel:
    """A listed image model, what it supports, and its price per image."""

    id: str
    sizes: tuple[str, ...]
    qualities: tuple[str, ...]
    max_n: int
    image_price: str


CHAT_MODELS: dict[str, ChatModel] = {
    m.id: m
    for m in (
        ChatModel("openai/gpt-4o", "0.0025", "0.01"),
        ChatModel("openai/gpt-4o-mini", "0.00015", "0.0006"),
    )
}

IMAGE_MODELS: dict[str, ImageModel] = {
    m.id: m
    for m in (
        ImageModel(
            id="openai/dall-e-2",
            sizes=("256x256", "512x512", "1024x1024"),
            qualities=("standard",),
            max_n=10,
            image_price="0.020",
        ),
        ImageModel(
            id="openai/dall-e-3",
            sizes=("1024x1024", "1792x1024", "1024x1792"),
            qualities=("standard", "hd"),
            max_n=1,
            image_price="0.040",
        ),
    )
}

# Listed (and accepted by chat) only under the `models-bare-id` fault.
LEGACY_CHAT_MODEL = ChatModel("legacy-model", "0.0005", "0.0015")


def provider_of(model_id: str) -> str:
    """The provider prefix of a provider/model id ("" when there is none)."""
    head, sep, _ = model_id.partition("/")
    return head if sep else ""
