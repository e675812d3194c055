"""Check families generated from the contract model (spec/contract_model.py), sampled per profile.

Four families of requests, each case pinned to the requirement that judges it:
- near-miss and wrong-type: invalid values a lenient parser would take; refused with a 4xx.
  Each is a `Case` (a change to a valid body, like cases.py), so it costs no generation and
  the reference's generated faults (reference/mutants.py) can accept exactly it;
- valid-value, valid-combination and valid-shape: valid requests, cheap (max_tokens 16, a
  prompt of one word's reply, the cheapest image): accepted when the document makes refusing
  them wrong, else (a freedom: a model's sizes, a provider's max_tokens floor) never a 5xx.

A run checks every case of a family in `full`; `smoke` and `standard` take a sample of fixed
size, chosen by the run's --seed, so the spend is bounded and another seed looks elsewhere.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from typing import Any

from conformance.contract.cases import CASES, CHAT, IMAGES, Case
from conformance.session.model_choice import Models
from conformance.spec import contract_model, payloads
from conformance.spec.contract_model import Value
from conformance.transport.client import ApexClient, CouldNotJudge
from conformance.transport.exchange import Exchange

CHAT_REQUEST, IMAGE_REQUEST = "ChatCompletionRequest", "ImageRequest"
# The requirement that judges refusing an invalid value: (component, parameter, level).
REJECTING: dict[tuple[str, str, str], str] = {
    (CHAT_REQUEST, "model", "MUST"): "CHAT-17",
    (CHAT_REQUEST, "messages", "MUST"): "CHAT-17",
    (CHAT_REQUEST, "temperature", "MUST"): "CHAT-12",
    (CHAT_REQUEST, "max_tokens", "MUST"): "CHAT-14",
    (CHAT_REQUEST, "max_tokens", "SHOULD"): "CHAT-15",
    (CHAT_REQUEST, "stream", "MUST"): "CHAT-24",
    (CHAT_REQUEST, "top_p", "MUST"): "CHAT-25",
    (CHAT_REQUEST, "top_p", "SHOULD"): "CHAT-13",
    (CHAT_REQUEST, "stop", "MUST"): "CHAT-25",
    (IMAGE_REQUEST, "model", "MUST"): "IMG-11",
    (IMAGE_REQUEST, "prompt", "MUST"): "IMG-11",
    (IMAGE_REQUEST, "n", "MUST"): "IMG-10",
    (IMAGE_REQUEST, "n", "SHOULD"): "IMG-13",
    (IMAGE_REQUEST, "size", "MUST"): "IMG-08",
    (IMAGE_REQUEST, "quality", "MUST"): "IMG-09",
}
STOP_COUNT = "CHAT-16"  # more stop sequences than the document allows has its own rule
# The requirement that judges a valid request: (path, must be accepted).
ACCEPTING = {
    (CHAT, True): "CHAT-26",
    (CHAT, False): "CHAT-23",
    (IMAGES, True): "IMG-14",
    (IMAGES, False): "IMG-14",
}
# Cases per family a profile samples (full takes them all). Images answered are paid.
QUOTAS: dict[str, dict[str, int]] = {
    "near-miss": {"smoke": 4, "standard": 24},
    "wrong-type": {"smoke": 2, "standard": 10},
    "valid-value": {"smoke": 2, "standard": 8},
    "valid-combination": {"smoke": 1, "standard": 3},
    "valid-shape": {"smoke": 1, "standard": 2},
}
# The prompt of every valid probe: a one-word reply, and a body no other check sends, so a
# generated fault can refuse exactly the probe (reference/mutants.py).
PROBE_PROMPT = "Reply with the word OK and nothing else."
PROBE_IMAGE_PROMPT = "A plain blue square"
SHAPES: dict[str, tuple[list[dict[str, str]], bool]] = {
    # The document's example has a system and a user message; the shapes beside it.
    "one user message": ([{"role": "user", "content": PROBE_PROMPT}], True),
    # Roles beyond system and user are OpenAI practice: refusing them is no MUST failure.
    "user, assistant, user": (
        [
            {"role": "user", "content": "Hello."},
            {"role": "assistant", "content": "Hello! How can I help?"},
            {"role": "user", "content": PROBE_PROMPT},
        ],
        False,
    ),
}


@dataclass(frozen=True)
class Generated:
    """One generated case: an invalid `Case`, or a valid probe (`must_accept` set)."""

    family: str
    case: Case
    must_accept: bool | None = None  # None: an invalid request

    @property
    def id(self) -> str:
        return self.case.id

    @property
    def requirement(self) -> str:
        return self.case.requirement


# --- invalid requests -----------------------------------------------------------------


def _rejecting(value: Value) -> str:
    param = value.parameter
    limit = next((b.get("maxItems") for b in param.schema.get("oneOf", ()) if "maxItems" in b), 0)
    if isinstance(value.value, list) and limit and len(value.value) > limit:
        return STOP_COUNT
    return REJECTING[(param.component, param.name, str(value.level))]


@cache
def invalid_cases() -> tuple[Generated, ...]:
    """Every near-miss and wrong-type value as a Case; none that cases.py already sends."""
    known = {(c.path, _key(c.change)) for c in CASES}
    found = []
    for param in contract_model.parameters():
        for value in contract_model.values(param):
            if value.kind == "valid":
                continue
            change = {param.name: value.value}
            if (param.path, _key(change)) in known:
                continue
            case = Case(_rejecting(value), param.path, value.label, change)
            found.append(Generated(value.kind, case))
    return tuple(found)


def _key(change: Any) -> str:
    return repr(change) if isinstance(change, bytes) else repr(sorted(change.items()))


# --- valid requests -------------------------------------------------------------------


@cache
def valid_probes() -> tuple[Generated, ...]:
    """Every valid value alone, the values combined, and the request shapes beside the typical."""
    found = []
    by_param: dict[str, list[Value]] = {}
    for param in contract_model.parameters():
        for value in contract_model.values(param):
            if value.kind != "valid":
                continue
            must = value.level == "MUST"
            found.append(
                _probe("valid-value", param.path, value.label, {param.name: value.value}, must)
            )
            if param.path == CHAT and must:
                by_param.setdefault(param.name, []).append(value)
    found += _combinations(by_param)
    for label, (messages, must) in SHAPES.items():
        found.append(_probe("valid-shape", CHAT, f"messages {label}", {"messages": messages}, must))
    return tuple(found)


def _combinations(by_param: dict[str, list[Value]]) -> list[Generated]:
    """Every chat value that must be accepted, in a request with one of every other parameter.

    Row i takes each parameter's i-th value (cycling), so as many requests as the longest
    list of values cover every value in combination.
    """
    rows = max(len(v) for v in by_param.values())
    found = []
    for i in range(rows):
        chosen = [values[i % len(values)] for values in by_param.values()]
        change = {v.parameter.name: v.value for v in chosen}
        label = "combination " + ", ".join(v.label for v in chosen)
        found.append(_probe("valid-combination", CHAT, label, change, True))
    return found


def _probe(family: str, path: str, what: str, change: dict[str, Any], must: bool) -> Generated:
    requirement = ACCEPTING[(path, must)]
    return Generated(family, Case(requirement, path, what, change), must)


def probe_body(path: str, change: dict[str, Any], model: str) -> dict[str, Any]:
    """The body of a valid probe: the cheap base request of its endpoint, changed."""
    if path == CHAT:
        return payloads.chat(model, PROBE_PROMPT, **change)
    return payloads.image(model, prompt=PROBE_IMAGE_PROMPT, **change)


def send_probe(probe: Generated, client: ApexClient, models: Models, model: str | None) -> Exchange:
    """Send a valid probe with `model` (the check's model) or the run's model of its kind."""
    case = probe.case
    chosen = model or (models.chat if case.path == CHAT else models.image)
    if chosen is None:
        kind = "chat" if case.path == CHAT else "image"
        raise CouldNotJudge(f"no {kind} model to send this request with; pass --{kind}-model=<id>")
    body = probe_body(case.path, dict(case.change), chosen)  # type: ignore[arg-type]
    if body.get("stream") is True:  # read as a stream, so the invariants judge its events
        return client.stream(case.path, body)
    return client.call("POST", case.path, json_body=body)


# --- sampling -------------------------------------------------------------------------


def profile_of(generated: Generated, seed: int) -> str:
    """The smallest profile that checks `generated` under `seed` (see QUOTAS)."""
    return _profiles(seed)[(generated.family, generated.id)]


@cache
def _profiles(seed: int) -> dict[tuple[str, str], str]:
    chosen: dict[tuple[str, str], str] = {}
    every = (*invalid_cases(), *valid_probes())
    for family, quota in QUOTAS.items():
        # Answered images are paid: valid image probes only run in full.
        members = [g for g in every if g.family == family and not _paid_image(g)]
        members.sort(key=lambda g: hashlib.sha256(f"{seed}:{family}:{g.id}".encode()).digest())
        for rank, member in enumerate(members):
            smoke, standard = quota["smoke"], quota["smoke"] + quota["standard"]
            chosen[(family, member.id)] = (
                "smoke" if rank < smoke else "standard" if rank < standard else "full"
            )
    for g in every:
        chosen.setdefault((g.family, g.id), "full")
    return chosen


def _paid_image(generated: Generated) -> bool:
    return generated.must_accept is not None and generated.case.path == IMAGES


def sizes(profile: str, seed: int) -> dict[str, int]:
    """How many cases of each family a profile checks."""
    from conformance.vocabulary import PROFILES

    wanted = PROFILES[: PROFILES.index(profile) + 1]
    counts: dict[str, int] = {}
    for (family, _), needed in _profiles(seed).items():
        if needed in wanted:
            counts[family] = counts.get(family, 0) + 1
    return counts
