"""One probe of the target before any check, so a user's mistake is never a gateway verdict.

It tells apart what the checks cannot: no OpenAI-format API at the base URL (a wrong URL,
often one without `/v1`), a key the target refuses everywhere, and model options naming a
model the target does not list. Each ends the run early with one short message.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from conformance.session.model_choice import (
    chat_candidates,
    chat_requests,
    image_candidates,
    image_requests,
    listed,
    serves,
)
from conformance.spec import payloads
from conformance.transport.client import ApexClient, CouldNotJudge
from conformance.transport.exchange import Exchange

# An unknown model: rejected before any generation, so the key probe costs nothing.
PROBE_MODEL = "apex-conformance/no-such-model-7f3a"
SHOWN_MODELS = 12


@dataclass
class Stop(Exception):
    """The run cannot go on: `outcome` is a gate outcome word, `message` says what to do."""

    outcome: str
    message: str

    def __str__(self) -> str:
        return self.message


def preflight(client: ApexClient) -> None:
    """Probe GET /models (and POST /chat/completions if the key is refused there)."""
    base = client.settings.base_url
    try:
        listing = client.call("GET", "/models")
        if listing.status in (401, 403):
            _check_key(client, listing)
            return
        if _not_an_api(listing):
            raise Stop(
                "could-not-judge",
                f"no OpenAI-format API at {base}: GET {base}/models answered "
                f"{_answer(listing)}.{_did_you_mean(client, base)}",
            )
    except CouldNotJudge as exc:
        raise Stop(
            "could-not-judge",
            f"could not reach the target {base}: {exc}\n"
            "Check --base-url (or APEX_BASE_URL) and that the server is up.",
        ) from exc
    _check_models(client, listing)


def _not_an_api(exchange: Exchange) -> bool:
    """A missing route or a body that is not JSON: nothing here speaks the OpenAI format.

    A 5xx, or JSON of the wrong shape, is an API answering badly: the checks judge that.
    """
    if exchange.status in (404, 405):
        return True
    return exchange.status < 500 and exchange.json_or_none() is None


def _answer(exchange: Exchange) -> str:
    kind = exchange.media_type or "no content type"
    snippet = " ".join(exchange.text.split())[:80]
    return f"HTTP {exchange.status} ({kind}{': ' + repr(snippet) if snippet else ''})"


def _did_you_mean(client: ApexClient, base: str) -> str:
    """The hint for the commonest mistake: a base URL without its /v1."""
    if base.rstrip("/").endswith("/v1"):
        return ""
    candidate = base.rstrip("/") + "/v1"
    probe = client.call("GET", candidate + "/models")
    answers = listed(probe) is not None or (
        probe.status in (401, 403) and isinstance(probe.json_or_none(), dict)
    )
    return f"\nDid you mean --base-url={candidate} ?" if answers else ""


def _check_key(client: ApexClient, listing: Exchange) -> None:
    """A key refused on the model list and on chat is the user's key, not a verdict."""
    body = payloads.chat(PROBE_MODEL)
    chat = client.call("POST", "/chat/completions", json_body=body)
    if chat.status in (401, 403):
        base = client.settings.base_url
        raise Stop(
            "could-not-judge",
            f"the target refused the key: GET {base}/models -> HTTP {listing.status}, "
            f"POST {base}/chat/completions -> HTTP {chat.status}.\n"
            "Check APEX_API_KEY (or --api-key) for this target.",
        )


def _check_models(client: ApexClient, listing: Exchange) -> None:
    """Model options must name models the target has: a typo is a usage error.

    A model missing from the list that the target serves anyway is no typo: the run goes
    on, and MODELS-09 reports the list for leaving it out.
    """
    entries = listed(listing)
    if entries is None:
        return  # not a list: MODELS-01 judges it, and the options are taken as given
    ids = [str(entry["id"]) for entry in entries]
    settings = client.settings
    options = (
        ("--chat-model", settings.chat_model, chat_requests, chat_candidates(entries)),
        ("--image-model", settings.image_model, image_requests, image_candidates(entries)),
    )
    for flag, model, requests, of_kind in options:
        if model and model not in ids and not serves(client, model, requests):
            # The models of the option's kind: an image model is no answer to --chat-model.
            offered = ", ".join(sorted(of_kind)[:SHOWN_MODELS])
            more = f" and {len(of_kind) - SHOWN_MODELS} more" if len(of_kind) > SHOWN_MODELS else ""
            close = difflib.get_close_matches(model, of_kind or ids, n=1)
            hint = f" Did you mean {flag}={close[0]}?" if close else ""
            raise Stop(
                "usage-error",
                f"{flag}={model} is not in the target's /models list, which offers "
                f"{len(of_kind)} {flag[2:-6]} model(s): {offered or 'none'}{more}.{hint}",
            )
