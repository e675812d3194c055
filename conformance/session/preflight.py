"""One probe of the target before any check, so a user's mistake is never a gateway verdict.

It tells apart what the checks cannot: no OpenAI-format API at the base URL (a wrong URL,
often one without `/v1`, a wrong scheme, an untrusted certificate), a key the target
refuses everywhere, and model options naming a model the target does not list. Each ends
the run early with one short message. A target without a model list that answers another
documented endpoint as the API is judged: MODELS-01 fails, the rest runs.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from conformance.session.diagnosis import redirected, scheme_hint, unreachable
from conformance.session.model_choice import (
    MISSING_PATH,
    blank,
    chat_candidates,
    chat_requests,
    image_candidates,
    image_requests,
    listed,
    serves,
)
from conformance.spec import payloads
from conformance.transport.client import MAX_BODY_BYTES, ApexClient, CouldNotJudge
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
    """Probe GET /models; when it is no model list, whether another endpoint speaks the API."""
    try:
        listing = client.call("GET", "/models")
        if listing.status in (401, 403):
            _check_key(client, listing)
            return
        moved = redirected(client, listing)
        if moved:
            raise Stop("could-not-judge", moved)
        if _not_an_api(listing) and not _speaks_the_api(client):
            raise Stop("could-not-judge", _no_api(client, listing))
    except CouldNotJudge as exc:
        raise Stop("could-not-judge", unreachable(client, exc)) from exc
    _check_models(client, listing)


def _no_api(client: ApexClient, listing: Exchange) -> str:
    base = client.settings.base_url
    if listing.truncated:
        return (
            f"GET {base}/models answered HTTP {listing.status} with a body larger than the "
            f"suite's cap of {MAX_BODY_BYTES // 2**20} MiB (cut after {len(listing.body)} "
            f"bytes), and POST {base}/chat/completions and /images/generations did not answer "
            "as an OpenAI-format API either. Check --base-url (or APEX_BASE_URL)."
        )
    return (
        f"no OpenAI-format API at {base}: GET {base}/models answered {_answer(listing)}, and "
        f"POST /chat/completions and /images/generations answered no OpenAI-format JSON either."
        f"{scheme_hint(client, listing)}{_did_you_mean(client, base)}"
    )


def _not_an_api(exchange: Exchange) -> bool:
    """A missing route or a body that is not JSON: the model list says no API is here.

    A 5xx, or JSON of the wrong shape, is an API answering badly: the checks judge that.
    """
    if exchange.status in (404, 405):
        return True
    return exchange.status < 500 and exchange.json_or_none() is None


def _speaks_the_api(client: ApexClient) -> bool:
    """True when a documented POST endpoint answers as an OpenAI-format API.

    Then a model list that is missing (or unreadable) is that endpoint's failure, which
    MODELS-01 reports, and the rest is judged. The requests are the checks' own where a
    model is given (free through the cache) and an unknown model's otherwise (refused
    before any generation).
    """
    settings = client.settings
    probes = [
        ("/chat/completions", payloads.chat(settings.chat_model or PROBE_MODEL)),
        ("/images/generations", image_requests(settings.image_model or PROBE_MODEL)[0][1]),
    ]
    return any(_openai_answer(client, path, body) for path, body in probes)


def _openai_answer(client: ApexClient, path: str, body: dict[str, object]) -> bool:
    """A 2xx JSON object, or a 4xx error envelope that a path no API has does not give."""
    answer = client.call("POST", path, json_body=body)
    if answer.status in (401, 403):
        _check_key(client, answer)
    payload = answer.json_or_none()
    if not isinstance(payload, dict) or answer.status >= 500:
        return False
    error = payload.get("error")
    enveloped = isinstance(error, dict) and isinstance(error.get("message"), str)
    if not (200 <= answer.status < 300 or enveloped):
        return False
    # A catch-all that answers every path alike shows no endpoint here.
    nowhere = client.call("POST", MISSING_PATH, json_body=body)
    return answer.status != nowhere.status or blank(answer, path) != blank(nowhere, MISSING_PATH)


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


def _check_key(client: ApexClient, refusal: Exchange) -> None:
    """A key refused on two endpoints (the model list or one probe, and chat) is the
    user's key, not a verdict."""
    body = payloads.chat(PROBE_MODEL)
    chat = client.call("POST", "/chat/completions", json_body=body)
    if chat.status in (401, 403):
        base = client.settings.base_url
        first = f"{refusal.method} {refusal.url} -> HTTP {refusal.status}, "
        raise Stop(
            "could-not-judge",
            f"the target refused the key: {first if refusal is not chat else ''}"
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
    if client.settings.models != "cheapest":
        return  # beside --models they are kind hints (globs), checked where they are read
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
