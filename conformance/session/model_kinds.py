"""--models: which selected models are chat models and which image models.

The document gives no field for a model's kind. The user's hints decide first
(--chat-model / --image-model beside --models, ids or globs); then names and prices where
they settle it (an image model's name, or a price per image with no price per token);
otherwise the target tells, cheaply: the model goes to chat with the chat checks' own first
request (free for a chat model, through the cache), and, when chat refuses it with a 4xx or
it has an image price (a vision chat model, or one that does both), to images with the
image checks' own first requests. A model is judged on each endpoint that accepted it, and
never on one that refused it. One both refuse is judged as a chat model, the default kind,
so that a broken route fails rather than drops out (the note says how to name its kind).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from conformance.session.model_choice import (
    NOT_CHAT_NAME,
    Models,
    ModelSelectionError,
    chat_requests,
    cost,
    has_image_price,
    image_requests,
    is_image_model,
    list_models,
    probe,
    unmetered,
)
from conformance.transport.client import ApexClient

CHAT, IMAGE = "chat", "image"
ENDPOINTS = {CHAT: "/chat/completions", IMAGE: "/images/generations"}


@dataclass
class Kind:
    """What one model is, the image request it accepted, and how that was found out."""

    kinds: frozenset[str]
    image_request: dict[str, Any] | None
    how: str


def hints(raw: str | None) -> list[str]:
    """A --chat-model / --image-model value beside --models: ids and globs, comma-separated."""
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


def select_models(client: ApexClient, spec: str) -> Models:
    """--models=all or a list of ids and globs: every matching listed model, by its kind."""
    listing = list_models(client)
    ids = [entry["id"] for entry in listing]
    chosen = ids if spec == "all" else _matching(ids, hints(spec), f"--models={spec}")
    chat_hints = hints(client.settings.chat_model)
    image_hints = hints(client.settings.image_model)
    _matching(ids, chat_hints, "--chat-model")
    _matching(ids, image_hints, "--image-model")
    entries = [entry for entry in listing if entry["id"] in chosen]
    workers = min(len(entries), client.dispatch.concurrency) or 1
    with ThreadPoolExecutor(workers, thread_name_prefix="apex-kinds") as pool:
        futures = [pool.submit(_kind, client, e, chat_hints, image_hints) for e in entries]
        found = {e["id"]: f.result() for e, f in zip(entries, futures, strict=True)}
    chats = [e["id"] for e in sorted(entries, key=_chat_order) if CHAT in found[e["id"]].kinds]
    images = [e["id"] for e in sorted(entries, key=_image_order) if IMAGE in found[e["id"]].kinds]
    models = Models(listing, chats=chats, images=images)
    models.chat = chats[0] if chats else None
    models.image = images[0] if images else None
    for model in images:
        request = found[model].image_request
        models.image_requests[model] = request or image_requests(model)[0][1]
    models.image_request = models.image_requests.get(models.image or "")
    models.notes.append(f"--models={spec}: {len(chats)} chat, {len(images)} image model(s)")
    models.notes += [f"{model}: {kind.how}" for model, kind in found.items() if kind.how]
    models.notes += unmetered(models, client.settings.max_cost)
    return models


def _matching(ids: list[str], patterns: list[str], flag: str) -> list[str]:
    """The ids some pattern matches; a pattern that matches none is a usage error."""
    missing = [p for p in patterns if not any(fnmatchcase(i, p) for i in ids)]
    if missing:
        shown = ", ".join(sorted(ids)) or "none"
        raise ModelSelectionError(
            f"{flag}: {', '.join(missing)} matches no model in the target's /models list, "
            f"which offers {len(ids)} model(s): {shown}"
        )
    return [i for i in ids if any(fnmatchcase(i, p) for p in patterns)]


def _kind(
    client: ApexClient, entry: dict[str, Any], chat_hints: list[str], image_hints: list[str]
) -> Kind:
    model = entry["id"]
    hinted = {CHAT for p in chat_hints if fnmatchcase(model, p)}
    hinted |= {IMAGE for p in image_hints if fnmatchcase(model, p)}
    if hinted:
        flags = " and ".join(f"--{kind}-model" for kind in sorted(hinted))
        return _with_request(client, model, frozenset(hinted), f"{'/'.join(sorted(hinted))} "
                             f"model by {flags}")  # fmt: skip
    if NOT_CHAT_NAME.search(model):
        return Kind(frozenset(), None, "neither chat nor image by its name; not judged")
    if is_image_model(entry) or _priced_per_image_only(entry):
        return _with_request(client, model, frozenset({IMAGE}), "")
    return _asked(client, entry)


def _asked(client: ApexClient, entry: dict[str, Any]) -> Kind:
    """The target's answers decide: each endpoint that does not refuse the model with a 4xx."""
    model = entry["id"]
    answers = {CHAT: probe(client, [model], chat_requests)[0] is not None}
    request = None
    if not answers[CHAT] or has_image_price(entry):
        _, request, _ = probe(client, [model], image_requests)
        answers[IMAGE] = request is not None
    kinds = frozenset(kind for kind, accepted in answers.items() if accepted)
    seen = ", ".join(
        f"{'accepted' if accepted else 'refused with a 4xx'} by {ENDPOINTS[kind]}"
        for kind, accepted in answers.items()
    )
    if not kinds:
        # Judged where a model the name does not mark goes by default: a broken route must
        # fail, never drop out of the run unseen.
        how = f"{seen}; judged as a chat model (an image model? say so with --image-model)"
        return Kind(frozenset({CHAT}), None, how)
    return Kind(kinds, request, f"{' and '.join(sorted(kinds))} model ({seen})")


def _with_request(client: ApexClient, model: str, kinds: frozenset[str], how: str) -> Kind:
    """An image model is tried with the image requests in turn, so its checks use one it
    accepts (they are those checks' own requests, free through the cache)."""
    request = probe(client, [model], image_requests)[1] if IMAGE in kinds else None
    return Kind(kinds, request, how)


def _priced_per_image_only(entry: dict[str, Any]) -> bool:
    """A price per image and none per token: an image generator, not a vision chat model."""
    if not has_image_price(entry):
        return False
    return cost(entry, ("prompt", "completion")) == 0


def _chat_order(entry: dict[str, Any]) -> tuple[Any, ...]:
    return (has_image_price(entry), cost(entry, ("prompt", "completion")), entry["id"])


def _image_order(entry: dict[str, Any]) -> tuple[Any, ...]:
    priced = has_image_price(entry)
    price = cost(entry, ("image",)) if priced else cost(entry, ("prompt", "completion"))
    return (not is_image_model(entry), price, entry["id"])
