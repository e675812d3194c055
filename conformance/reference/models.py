"""The GET /v1/models body."""

from __future__ import annotations

from typing import Any

from conformance.reference.faults import Faults
from conformance.reference.served_models import (
    CHAT_MODELS,
    CREATED,
    IMAGE_MODELS,
    LEGACY_CHAT_MODEL,
    ChatModel,
    ImageModel,
    provider_of,
)


def models_body(faults: Faults) -> dict[str, Any]:
    """The model list, OpenAI format plus ApexApi's pricing, bent by the models-* faults."""
    listed: list[ChatModel | ImageModel] = [*CHAT_MODELS.values(), *IMAGE_MODELS.values()]
    if "models-unlisted-images" in faults:
        # A gateway whose list is built from its chat providers only; images are served.
        listed = list(CHAT_MODELS.values())
    if "models-bare-id" in faults:
        listed.append(LEGACY_CHAT_MODEL)
    data = [_entry(model, faults) for model in listed]
    if "models-duplicate-ids" in faults:
        data.append(dict(data[0]))
    return {"object": "models" if "models-wrong-list-object" in faults else "list", "data": data}


def _entry(model: ChatModel | ImageModel, faults: Faults) -> dict[str, Any]:
    owned_by = provider_of(model.id) or "apexapi"
    if "models-owned-by-mismatch" in faults:
        owned_by = "apexapi"
    entry: dict[str, Any] = {
        "id": model.id,
        "object": "model",
        "created": str(CREATED) if "models-created-string" in faults else CREATED,
        "owned_by": owned_by,
    }
    if "models-no-pricing" not in faults:
        entry["pricing"] = _pricing(model, faults)
    if "variant-freedoms" in faults:
        entry["name"] = model.id.rpartition("/")[2]
        entry["context_length"] = 128000 if isinstance(model, ChatModel) else None
    return entry


def _pricing(model: ChatModel | ImageModel, faults: Faults) -> dict[str, Any]:
    if isinstance(model, ChatModel):
        pricing = {"prompt": model.prompt_price, "completion": model.completion_price}
    else:
        pricing = {"prompt": "0", "completion": "0", "image": model.image_price}
    if "variant-freedoms" in faults:
        pricing["request"] = "0"
    if "models-numeric-prices" in faults:
        return {key: float(value) for key, value in pricing.items()}
    return pricing
