"""Choosing the chat and image models a run uses, from options or from /models."""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from conformance.spec import payloads
from conformance.transport.client import ApexClient
from conformance.transport.exchange import Exchange

# The document gives no field that tells a chat model from an image model, so names decide.
_IMAGE_NAME = re.compile(
    r"dall-?e|gpt-image|imagen|image|flux|stable-?diffusion|sdxl|midjourney|ideogram|recraft",
    re.IGNORECASE,
)
NOT_CHAT_NAME = re.compile(r"embed|whisper|tts|moderation|rerank|transcribe", re.IGNORECASE)
PROBE_CANDIDATES = 3
# A path no ApexApi target serves: what its "not found" looks like.
MISSING_PATH = "/apex-conformance-no-such-endpoint"
# Model ids for a surface the target lacks and lists nothing for: its 404s are the verdict.
PLACEHOLDER_CHAT_MODEL = "openai/gpt-4o-mini"
PLACEHOLDER_IMAGE_MODEL = "openai/dall-e-2"


@dataclass
class Models:
    """The models a run uses and how they were chosen (shown in the report)."""

    listing: list[dict[str, Any]]
    chat: str | None = None
    image: str | None = None
    # The image request that the chosen model accepted; image checks judge its answer.
    image_request: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    # With --models other than "cheapest": every model the model-dependent checks judge,
    # and the image request each image model accepted.
    chats: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    image_requests: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def per_model(self) -> bool:
        """Whether the model-dependent checks run once per selected model."""
        return bool(self.chats or self.images)

    def image_request_for(self, model: str) -> dict[str, Any] | None:
        if self.per_model:
            return self.image_requests.get(model)
        return self.image_request if model == self.image else None

    def price(self, model_id: str) -> dict[str, str]:
        for entry in self.listing:
            if entry.get("id") == model_id and isinstance(entry.get("pricing"), dict):
                return {str(k): str(v) for k, v in entry["pricing"].items()}
        return {}


def listed(exchange: Exchange) -> list[dict[str, Any]] | None:
    """The entries with a string id of a /models answer; None when it is no model list."""
    body = exchange.json_or_none() if 200 <= exchange.status < 300 else None
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        return None
    return [item for item in data if isinstance(item, dict) and isinstance(item.get("id"), str)]


def list_models(client: ApexClient) -> list[dict[str, Any]]:
    """The target's /models entries that have a string id (empty when unusable)."""
    return listed(client.call("GET", "/models")) or []


def has_image_price(entry: dict[str, Any]) -> bool:
    """A non-null image price: an image model's, or a vision chat model's (images it reads)."""
    pricing = entry.get("pricing")
    return isinstance(pricing, dict) and pricing.get("image") is not None


def is_image_model(entry: dict[str, Any]) -> bool:
    """Named like an image model; an image price alone is no proof (vision chat models)."""
    return bool(_IMAGE_NAME.search(entry["id"]))


def cost(entry: dict[str, Any], keys: tuple[str, ...]) -> Decimal:
    """The entry's price for sorting; unpriced entries sort last."""
    pricing = entry.get("pricing")
    if not isinstance(pricing, dict):
        return Decimal("Infinity")
    total = Decimal(0)
    for key in keys:
        try:
            total += Decimal(str(pricing.get(key, "0")))
        except InvalidOperation:
            return Decimal("Infinity")
    return total


def chat_candidates(listing: list[dict[str, Any]]) -> list[str]:
    """Listed chat models, cheapest first; those with an image price after the others."""
    chat = [e for e in listing if not is_image_model(e) and not NOT_CHAT_NAME.search(e["id"])]
    chat.sort(key=lambda e: (has_image_price(e), cost(e, ("prompt", "completion")), e["id"]))
    return [e["id"] for e in chat]


def image_candidates(listing: list[dict[str, Any]]) -> list[str]:
    """Image models, cheapest first: named ones, then unnamed ones with an image price."""
    images = [e for e in listing if is_image_model(e) or has_image_price(e)]
    images.sort(
        key=lambda e: (
            not is_image_model(e),
            cost(e, ("image",)) if has_image_price(e) else cost(e, ("prompt", "completion")),
            e["id"],
        )
    )
    return [e["id"] for e in images]


def choose_models(client: ApexClient) -> Models:
    """Options first; otherwise the cheapest listed model that answers a real request.

    The chat and the image choice do not wait for each other: with --concurrency above 1
    their probes go out side by side.
    """
    listing = list_models(client)
    models = Models(listing)
    workers = 2 if client.dispatch.concurrent else 1
    with ThreadPoolExecutor(workers, thread_name_prefix="apex-choice") as pool:
        chat = pool.submit(_choose_chat, client, listing)
        image = pool.submit(_choose_image, client, listing)
        models.chat, chat_note = chat.result()
        models.image, models.image_request, image_note = image.result()
    models.notes += [f"chat model: {chat_note}", f"image model: {image_note}"]
    if not listing:
        models.notes.insert(0, "GET /models gave no model list to choose from")
    models.notes += unmetered(models, client.settings.max_cost)
    return models


def unmetered(models: Models, max_cost: float | None) -> list[str]:
    """A note per model whose answers --max-cost cannot charge: the list gives no price."""
    used = dict.fromkeys(filter(None, (models.chat, models.image, *models.chats, *models.images)))
    return [
        f"{model}: --max-cost cannot meter it (GET /models gives no price for it); "
        "--max-requests still bounds the run"
        for model in used
        if max_cost is not None and not models.price(model)
    ]


def _choose_chat(client: ApexClient, listing: list[dict[str, Any]]) -> tuple[str | None, str]:
    if client.settings.chat_model:
        return client.settings.chat_model, f"{client.settings.chat_model} from --chat-model"
    candidates = chat_candidates(listing)
    chosen, _, note = probe(client, candidates, chat_requests)
    if chosen is None and _absent(client, "/chat/completions"):
        # No such endpoint is the target's failure: the checks must see its 404s.
        chosen = candidates[0] if candidates else PLACEHOLDER_CHAT_MODEL
        note = f"POST /chat/completions does not exist on the target; tested with {chosen}"
    return chosen, note


def _choose_image(
    client: ApexClient, listing: list[dict[str, Any]]
) -> tuple[str | None, dict[str, Any] | None, str]:
    option = client.settings.image_model
    images = [option] if option else image_candidates(listing)
    chosen, request, note = probe(client, images, image_requests)
    if option:
        chosen, note = option, f"{option} from --image-model"
    elif chosen is None and _absent(client, "/images/generations"):
        chosen = images[0] if images else PLACEHOLDER_IMAGE_MODEL
        note = f"POST /images/generations does not exist on the target; tested with {chosen}"
    elif chosen is None:
        # Names and prices need not tell an image model: ask the others (a chat model
        # refuses with a 4xx, which costs nothing).
        others = [model for model in chat_candidates(listing) if model not in images]
        found, accepted, _ = probe(client, others, image_requests)
        if found is not None:
            chosen, request = found, accepted
            note = f"{found}, cheapest listed model that accepted an image request"
    return chosen, request, note


class ModelSelectionError(ValueError):
    """--models (or a kind hint beside it) names a model the target does not list."""


Requests = list[tuple[str, dict[str, Any]]]


def chat_requests(model: str) -> Requests:
    """The first chat request of the run: a model that answers it is served."""
    return [("/chat/completions", payloads.chat(model))]


def image_requests(model: str) -> Requests:
    """The image requests tried in turn, the most telling first (payloads.IMAGE_ATTEMPTS)."""
    return [("/images/generations", payloads.image(model, **a)) for a in payloads.IMAGE_ATTEMPTS]


def serves(client: ApexClient, model: str, requests: Callable[[str], Requests]) -> bool:
    """True when the target answers one of the model's first requests (not with a 4xx)."""
    return probe(client, [model], requests)[0] is not None


def _absent(client: ApexClient, path: str) -> bool:
    """True when the endpoint itself is missing, not merely every model refused.

    A body naming no model goes to the endpoint and to a path that surely does not exist:
    the route is missing when both get the same 404 or 405, word for word once each path
    is blanked out. A live route that answers "model not found" with a 404 says so in
    other words, and is then not judged rather than failed.
    """
    here = client.call("POST", path, json_body={})
    nowhere = client.call("POST", MISSING_PATH, json_body={})
    if here.status not in (404, 405) or here.status != nowhere.status:
        return False
    return blank(here, path) == blank(nowhere, MISSING_PATH)


def blank(exchange: Exchange, path: str) -> str:
    return exchange.text.replace(path, "<path>")


def probe(
    client: ApexClient,
    candidates: list[str],
    requests: Callable[[str], Requests],
) -> tuple[str | None, dict[str, Any] | None, str]:
    """The first candidate (cheapest first) whose request is not refused with a 4xx.

    The probe requests are the checks' own first requests, so the cache makes them free.
    A 4xx for every candidate means the guess is unconfirmed, never a verdict on the target.
    """
    if not candidates:
        return None, None, "none found in /models (by name and pricing keys)"
    for model in candidates[:PROBE_CANDIDATES]:
        for path, body in requests(model):
            if not 400 <= client.call("POST", path, json_body=body).status < 500:
                return model, body, f"{model}, cheapest listed by pricing that accepted a request"
    tried = ", ".join(candidates[:PROBE_CANDIDATES])
    return None, None, f"no listed model accepted a request (tried {tried})"
